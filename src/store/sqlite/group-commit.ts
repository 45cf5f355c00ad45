/**
 * Group commit for SQLite: the writes that requests submit while one turn of the event loop runs are
 * committed together, in one BEGIN IMMEDIATE … COMMIT and so one fsync, each in a savepoint of its
 * own. A write that throws (a stale revision guard, a constraint) rolls back its savepoint only: its
 * neighbours in the batch still commit. Every submitter learns its outcome only after the COMMIT that
 * holds its write has returned, so nothing is acknowledged before it is durable (synchronous=FULL).
 * If the COMMIT itself fails, every write of the batch that it would have made fails with it: none is
 * visible, and none is durable unless the failure was the disk's I/O after the commit was written
 * (sqlite-unavailable.ts, commitFailureAs), which is answered as an unknown outcome.
 *
 * better-sqlite3 is synchronous, so a batch runs start to finish without yielding: the work functions
 * must not await (a returned promise is refused by better-sqlite3 itself).
 */
import type Database from 'better-sqlite3';
import { ServiceUnavailableError } from '../../errors.ts';
import { commitFailureAs } from './sqlite-unavailable.ts';
import { TransactionStart } from './transaction-start.ts';

export interface GroupCommitOptions {
  /** The most writes in one transaction; more wait for the next one (that follows at once). */
  maxBatch: number;
  /** The most writes waiting; beyond it a write is refused with 503 rather than queued without bound. */
  maxQueued: number;
  /** Told the size of every batch that committed (metrics). */
  onCommit?: ((batchSize: number, seconds: number) => void) | undefined;
}

export const DEFAULT_GROUP_COMMIT: GroupCommitOptions = { maxBatch: 256, maxQueued: 10_000 };

/** A write's own conditions, checked when its batch runs: if it should not run any more, `skip` runs instead. */
export interface WriteGuard<T> {
  /** True when the write must not be made (its request ran out of time while it waited). */
  cancelled(): boolean;
  /** Runs in the write's place (in its savepoint) when it was cancelled; its result is the write's. */
  instead(): T;
}

interface Pending {
  work: () => unknown;
  guard: WriteGuard<unknown> | undefined;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

export class GroupCommitter {
  readonly #sqlite: Database.Database;
  readonly #options: GroupCommitOptions;
  #queue: Pending[] = [];
  #scheduled = false;
  #closed = false;
  readonly #begin: Database.Statement;
  readonly #commit: Database.Statement;
  readonly #rollback: Database.Statement;
  /** Runs a function in a savepoint of the open transaction (better-sqlite3 nests as SAVEPOINT). */
  readonly #inSavepoint: (fn: () => unknown) => unknown;
  /** How BEGIN starts: the file still the one opened, the lock waited for (transaction-start.ts). */
  readonly #transactionStart: TransactionStart;

  constructor(sqlite: Database.Database, options: GroupCommitOptions = DEFAULT_GROUP_COMMIT, transactionStart = new TransactionStart(sqlite)) {
    if (!Number.isInteger(options.maxBatch) || options.maxBatch < 1) throw new Error(`group commit: maxBatch must be a positive integer, got ${options.maxBatch}`);
    if (!Number.isInteger(options.maxQueued) || options.maxQueued < 1) throw new Error(`group commit: maxQueued must be a positive integer, got ${options.maxQueued}`);
    this.#sqlite = sqlite;
    this.#options = options;
    this.#transactionStart = transactionStart;
    this.#begin = sqlite.prepare('BEGIN IMMEDIATE');
    this.#commit = sqlite.prepare('COMMIT');
    this.#rollback = sqlite.prepare('ROLLBACK');
    this.#inSavepoint = sqlite.transaction((fn: () => unknown) => fn());
  }

  /** How many writes wait for their batch. */
  get queued(): number {
    return this.#queue.length;
  }

  /**
   * Runs `work` in the next batch, in a savepoint of its own; resolves with its result once the batch
   * is durable, or rejects with what it threw (its savepoint rolled back) or with the commit's error.
   */
  submit<T>(work: () => T, guard?: WriteGuard<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new Error('the store is closed'));
    if (this.#queue.length >= this.#options.maxQueued) {
      return Promise.reject(new ServiceUnavailableError(`The gateway has ${this.#queue.length} writes waiting to commit; try again shortly.`));
    }
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ work, guard, resolve: resolve as (v: unknown) => void, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        // One turn of the event loop: every request whose work reaches this point in the meantime joins.
        setImmediate(() => this.#flushAll());
      }
    });
  }

  /** Commits what waits, then refuses new writes. */
  close(): void {
    this.#flushAll();
    this.#closed = true;
  }

  #flushAll(): void {
    this.#scheduled = false;
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, this.#options.maxBatch);
      this.#runBatch(batch);
    }
  }

  #runBatch(batch: Pending[]): void {
    const started = performance.now();
    try {
      this.#transactionStart.run(() => this.#begin.run());
    } catch (err) {
      for (const p of batch) p.reject(err);
      return;
    }
    const outcomes: Outcome[] = [];
    try {
      for (const p of batch) outcomes.push(this.#runOne(p));
    } catch (err) {
      // An error that ended the transaction (SQLITE_FULL, SQLITE_IOERR): nothing of the batch is in
      // the database, so nobody in it may be told otherwise.
      this.#rollBack();
      for (const p of batch) p.reject(err);
      return;
    }
    try {
      this.#commit.run();
    } catch (err) {
      this.#rollBack();
      // Writes whose savepoint failed were not made whatever became of the COMMIT; the others share
      // its fate, which after a disk's I/O error is not known (commitFailureAs).
      const failure = commitFailureAs(err) ?? err;
      for (let i = 0; i < batch.length; i++) {
        const o = outcomes[i]!;
        batch[i]!.reject(o.ok ? failure : o.error);
      }
      return;
    }
    this.#options.onCommit?.(batch.length, (performance.now() - started) / 1000);
    for (let i = 0; i < batch.length; i++) {
      const o = outcomes[i]!;
      if (o.ok) batch[i]!.resolve(o.value);
      else batch[i]!.reject(o.error);
    }
  }

  #rollBack(): void {
    if (!this.#sqlite.inTransaction) return;
    try {
      this.#rollback.run();
    } catch {
      // The connection has already rolled back; the error that matters is the one that ended it.
    }
  }

  #runOne(p: Pending): Outcome {
    try {
      const fn = p.guard?.cancelled() ? p.guard.instead : p.work;
      return { ok: true, value: this.#inSavepoint(fn) };
    } catch (error) {
      // SQLITE_FULL, SQLITE_IOERR and the like can end the whole transaction, not only the savepoint:
      // then no later write of the batch can be made, and the earlier ones are gone too.
      if (!this.#sqlite.inTransaction) throw error;
      return { ok: false, error };
    }
  }
}
