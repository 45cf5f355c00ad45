/**
 * How long a write waits for the database file's write lock when another process holds it (an
 * operator's `sqlite3` shell in a transaction, a backup tool, a second gateway or a bootstrap command
 * on the same data directory), and what happens after one such wait ends in vain.
 *
 * Every write transaction of a connection (a group commit's batch, a sync job's claim) begins with
 * BEGIN IMMEDIATE, which waits up to the busy timeout. Writes are made one transaction at a time, so
 * the ones that queue behind a wait that ends in vain would each wait as long again in turn: a
 * request queued behind two sync claims waited three times the timeout. So once one transaction has
 * waited the whole timeout in vain, those that begin within the next timeout do not wait at all:
 * refused at once while the lock is still held (a 503, sqlite-unavailable.ts), made as usual as soon
 * as it is free.
 */
import Database from 'better-sqlite3';

/**
 * Long enough for a bootstrap command's or another gateway's transactions. With the writes on the
 * event loop (`--commit-thread off`) it is also how long the event loop can stand still behind such
 * a lock.
 */
export const BUSY_TIMEOUT_MS = 5_000;

function isBusy(err: unknown): boolean {
  return err instanceof Database.SqliteError && err.code.startsWith('SQLITE_BUSY');
}

export class LockWait {
  readonly #sqlite: Database.Database;
  /** When a transaction last waited the whole busy timeout in vain (performance.now()). */
  #lockedOutAt = Number.NEGATIVE_INFINITY;

  /** Sets the connection's busy timeout. */
  constructor(sqlite: Database.Database) {
    this.#sqlite = sqlite;
    sqlite.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  }

  /** Runs a write transaction (whose BEGIN IMMEDIATE may wait for the lock) under the rule above. */
  run<T>(transaction: () => T): T {
    const lockedOutRecently = performance.now() - this.#lockedOutAt < BUSY_TIMEOUT_MS;
    if (lockedOutRecently) this.#sqlite.pragma('busy_timeout = 0');
    try {
      const result = transaction();
      this.#lockedOutAt = Number.NEGATIVE_INFINITY;
      return result;
    } catch (err) {
      if (!isBusy(err)) this.#lockedOutAt = Number.NEGATIVE_INFINITY;
      else if (!lockedOutRecently) this.#lockedOutAt = performance.now();
      throw err;
    } finally {
      if (lockedOutRecently) this.#sqlite.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    }
  }
}
