/**
 * How a write transaction starts on a connection: its database file must still be the one it opened,
 * and the write lock is waited for as below.
 *
 * The file. Removing the data directory, or restoring a backup by moving another file into its place,
 * while the gateway runs leaves the connection on the old file (unlinked, or moved aside): every change
 * acknowledged from then on would be lost to whoever opens the path next. So each write transaction
 * first checks (one stat(2)) that the path still names the file opened, and is refused otherwise
 * (503), as the store's ping is (so /readyz fails): the gateway must be restarted to open the file now
 * at that path.
 *
 * The lock, when another process holds it (an operator's `sqlite3` shell in a transaction, a backup
 * tool, a second gateway or a bootstrap command on the same data directory). Every write transaction
 * begins with BEGIN IMMEDIATE, which waits up to the busy timeout. Writes are made one transaction at
 * a time, so the ones that queue behind a wait that ends in vain would each wait as long again in
 * turn: a request queued behind two sync claims waited three times the timeout. So once one
 * transaction has waited the whole timeout in vain, those that begin within the next timeout do not
 * wait at all: refused at once while the lock is still held (a 503, sqlite-unavailable.ts), made as
 * usual as soon as it is free.
 */
import { statSync, type Stats } from 'node:fs';
import Database from 'better-sqlite3';
import { ServiceUnavailableError } from '../../errors.ts';

/**
 * Long enough for a bootstrap command's or another gateway's transactions. With the writes on the
 * event loop (`--commit-thread off`) it is also how long the event loop can stand still behind such
 * a lock.
 */
export const BUSY_TIMEOUT_MS = 5_000;

function isBusy(err: unknown): boolean {
  return err instanceof Database.SqliteError && err.code.startsWith('SQLITE_BUSY');
}

export class TransactionStart {
  readonly #sqlite: Database.Database;
  readonly #file: string | undefined;
  /** The file as it was opened; none for a database in memory (or a caller that names no file). */
  readonly #opened: Stats | undefined;
  /** When a transaction last waited the whole busy timeout in vain (performance.now()). */
  #lockedOutAt = Number.NEGATIVE_INFINITY;

  /** Sets the connection's busy timeout; `file` is the path it opened, which it must go on naming. */
  constructor(sqlite: Database.Database, file?: string) {
    this.#sqlite = sqlite;
    sqlite.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    if (file !== undefined && file !== ':memory:' && file !== '') {
      this.#file = file;
      this.#opened = statSync(file);
    }
  }

  /** Throws the 503 above when the path no longer names the file the connection opened. */
  checkFile(): void {
    if (!this.#file) return;
    const now = statSync(this.#file, { throwIfNoEntry: false });
    if (now && now.ino === this.#opened!.ino && now.dev === this.#opened!.dev) return;
    throw new ServiceUnavailableError(`The database file was ${now ? 'replaced' : 'removed'} while versiongate ran: nothing was changed, and no change can be made until versiongate is restarted.`);
  }

  /** Runs a write transaction (whose BEGIN IMMEDIATE may wait for the lock) under the rules above. */
  run<T>(transaction: () => T): T {
    this.checkFile();
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
