/**
 * The reads made on the main thread's connection during one turn of the event loop share one read
 * transaction.
 *
 * Why: on this machine a lone read spends most of its time opening and closing its transaction:
 * - two fcntl locks on the WAL index, and a check of its header;
 * - ~8 µs for a one-row SELECT, against ~0.7 µs for the same SELECT inside an open transaction.
 * Under load one turn answers many requests, and an audited read makes three reads of its own.
 *
 * What a read sees: every commit made before its snapshot began. A snapshot begins with the first
 * read after the last one ended, and ends at whichever comes first:
 * - the end of the turn (setImmediate);
 * - a millisecond after it began;
 * - the writer thread's answers arriving. The store ends it before it acknowledges anything, so a
 *   read made after a write was acknowledged sees that write, in the same turn too.
 * A request that arrives after a commit is read after that commit, as before. Another process writing
 * the same file (the CLI) is seen within the turn, or the millisecond, after its commit: a read can
 * only miss a commit made while it was already under way, as any read could.
 *
 * Only for a connection that never writes: a write in a deferred read transaction could fail on a
 * stale snapshot. The threaded store's reader is one; its writes all go to the writer thread.
 */
import type Database from 'better-sqlite3';

/** The longest a snapshot serves reads, however long its turn. */
export const SNAPSHOT_MAX_AGE_MS = 1;

export class TurnSnapshot {
  readonly #sqlite: Database.Database;
  readonly #begin: Database.Statement;
  readonly #commit: Database.Statement;
  #openedAt: number | undefined;
  readonly #endOfTurn = () => this.end();

  readonly #now: () => number;

  /** `now` in milliseconds, monotonic (tests pass their own). */
  constructor(sqlite: Database.Database, now: () => number = () => performance.now()) {
    this.#sqlite = sqlite;
    this.#now = now;
    this.#begin = sqlite.prepare('BEGIN');
    this.#commit = sqlite.prepare('COMMIT');
  }

  /** Called before every read: opens a snapshot unless one younger than the limit is open. */
  enter(): void {
    if (this.#openedAt !== undefined) {
      if (this.#now() - this.#openedAt < SNAPSHOT_MAX_AGE_MS) return;
      this.end();
    }
    this.#begin.run();
    this.#openedAt = this.#now();
    setImmediate(this.#endOfTurn);
  }

  /**
   * Ends the open snapshot, if any: the next read begins a fresh one. Never throws: it runs where an
   * exception would skip the writer's answers or end the process, and a read transaction has nothing
   * to keep, so one that will not commit is rolled back.
   */
  end(): void {
    if (this.#openedAt === undefined) return;
    this.#openedAt = undefined;
    // A failed statement can have rolled the transaction back already (SQLite does for I/O errors).
    if (!this.#sqlite.inTransaction) return;
    try {
      this.#commit.run();
    } catch {
      try {
        if (this.#sqlite.inTransaction) this.#sqlite.exec('ROLLBACK');
      } catch {
        // The connection is closed or broken: its next read fails on its own, as a rejection.
      }
    }
  }
}
