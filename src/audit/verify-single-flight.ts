/**
 * One chain walk at a time in the gateway. Each walk yields the event loop every few milliseconds, so
 * walks side by side took turns with each other and with every request: six verifies of 400,000
 * records held /healthz to ~5 answers a second for minutes. Now a caller asking for the walk already
 * running or waiting (the same check: the same saved head or none, with or without the registry's
 * state) joins it and shares its result; one asking for another check waits for the walk before it,
 * then runs its own.
 */

/** What a walk checks: a caller asking for the same check shares its walk. */
export interface WalkKey {
  /** The saved head it checks against, SEQ:HASH, if any. */
  head?: string | undefined;
  /** Whether it compares the registry's state with the log too (`--state`). */
  state?: boolean | undefined;
}

export class VerifySingleFlight {
  /** Walks running or waiting, by what they check. */
  readonly #walks = new Map<string, Promise<unknown>>();
  /** Settles when the last walk started or queued has ended: the next one starts after it. */
  #tail: Promise<unknown> = Promise.resolve();

  /** The result of a walk for `what`: one already running or waiting for it, or a new one queued after the others. */
  run<T>(what: WalkKey, walk: () => Promise<T>): Promise<T> {
    const key = `${what.state ? 'state' : 'chain'} ${what.head ?? ''}`;
    const joined = this.#walks.get(key);
    if (joined) return joined as Promise<T>;
    const result = this.#tail.then(() => {
      // Once it runs, a caller arriving with this head joins a walk that may have read past its
      // arrival; that is no less than it asked for. A walk that ended leaves the map for the next.
      return walk();
    });
    const settled = result.finally(() => {
      if (this.#walks.get(key) === result) this.#walks.delete(key);
    });
    this.#walks.set(key, result);
    this.#tail = settled.catch(() => undefined);
    return result;
  }
}
