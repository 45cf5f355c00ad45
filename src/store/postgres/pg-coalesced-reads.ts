/**
 * Reads that arrive in one turn of the event loop, answered by one statement. Under load many
 * requests make the same kind of read at nearly the same moment (readPackage, before each write):
 * one statement for all of them costs PostgreSQL one execution and node-postgres one query, where
 * one statement each cost both of them that many times over.
 *
 * A read waits at most for the end of the turn it was asked in (setImmediate: after that turn's
 * I/O callbacks, where the other requests' reads are asked). Each caller gets its own answer. If
 * the shared statement fails, every read in it is run again on its own, so that a read that fails
 * (bad input, a lost connection) fails alone and the others still get their answers.
 */

/** Runs the reads of `keys` in one statement: one answer per key, in the keys' order. */
export type ReadMany<K, R> = (keys: readonly K[]) => Promise<R[]>;

interface Waiting<K, R> {
  key: K;
  resolve: (value: R) => void;
  reject: (err: unknown) => void;
}

export class CoalescedReads<K, R> {
  #waiting: Array<Waiting<K, R>> = [];
  #inFlight = new Set<Promise<void>>();
  #closed = false;

  /** `maxKeys`: at most this many reads share one statement (more are split across several). */
  constructor(
    private readonly readMany: ReadMany<K, R>,
    private readonly maxKeys: number,
  ) {
    if (!Number.isInteger(maxKeys) || maxKeys < 1) throw new Error(`coalesced reads: maxKeys must be a positive integer, got ${maxKeys}`);
  }

  read(key: K): Promise<R> {
    if (this.#closed) return Promise.reject(new Error('the store is closed'));
    return new Promise<R>((resolve, reject) => {
      if (this.#waiting.push({ key, resolve, reject }) === 1) setImmediate(() => this.#flush());
    });
  }

  #flush(): void {
    const waiting = this.#waiting;
    this.#waiting = [];
    for (let i = 0; i < waiting.length; i += this.maxKeys) {
      const run = this.#run(waiting.slice(i, i + this.maxKeys));
      this.#inFlight.add(run);
      void run.finally(() => this.#inFlight.delete(run));
    }
  }

  async #run(group: Array<Waiting<K, R>>): Promise<void> {
    let answers: R[];
    try {
      answers = await this.readMany(group.map((w) => w.key));
      if (answers.length !== group.length) throw new Error(`coalesced reads: ${answers.length} answers for ${group.length} reads`);
    } catch (err) {
      if (group.length === 1) return group[0]!.reject(err);
      // Whose read made the shared statement fail is unknown: each runs again alone, and so
      // gets its own answer or its own error.
      await Promise.all(group.map((w) => this.#run([w])));
      return;
    }
    group.forEach((w, i) => w.resolve(answers[i]!));
  }

  /** Answers the reads already asked for, then refuses new ones. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#waiting.length > 0) this.#flush();
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }
}
