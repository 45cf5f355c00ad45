/**
 * What SQLite's refusals mean to a client. Another process holding the database file's write lock (an
 * operator's `sqlite3` shell in a transaction, a backup tool, a second gateway or a bootstrap command
 * on the same data directory) past the busy timeout, a full disk, or a file that cannot be written
 * are conditions to retry through or for an operator to fix (503, Retry-After), not faults of the
 * gateway (500, "an internal error occurred"). In each, SQLite made nothing of the statement or of
 * the transaction it was in (a group commit rolls back a write's savepoint, or the whole batch when
 * SQLite ended the transaction), so the answer says nothing was changed.
 */
import Database from 'better-sqlite3';
import { ServiceUnavailableError, WriteOutcomeUnknownError } from '../../errors.ts';
import { BUSY_TIMEOUT_MS } from './transaction-start.ts';

/** SQLite's primary codes (the extended ones, SQLITE_BUSY_SNAPSHOT and the like, start with them) and what each means to a client. */
const REFUSALS: ReadonlyArray<[prefix: string, says: string]> = [
  ['SQLITE_BUSY', `The database file is locked by another process, which held it past the ${BUSY_TIMEOUT_MS / 1000} s this gateway waits`],
  ['SQLITE_LOCKED', 'The database file is locked'],
  ['SQLITE_FULL', "The database's disk is full"],
  ['SQLITE_READONLY', 'The database file cannot be written'],
];

/** The 503 a SQLite refusal answers, its cause kept for the log; undefined for any other error. */
export function sqliteUnavailableAs(err: unknown): ServiceUnavailableError | undefined {
  if (!(err instanceof Database.SqliteError)) return undefined;
  const code = String(err.code);
  const says = REFUSALS.find(([prefix]) => code === prefix || code.startsWith(`${prefix}_`))?.[1];
  return says === undefined ? undefined : new ServiceUnavailableError(`${says} (${err.message}): nothing was changed; try again shortly.`, { cause: err });
}

/**
 * What a COMMIT that failed with an I/O error (SQLITE_IOERR_FSYNC, SQLITE_IOERR_WRITE: a disk that
 * failed to write or to flush) leaves behind is not known. In WAL mode the transaction's frames,
 * its commit frame among them, may already be in the log file when the flush fails: SQLite rolls
 * the transaction back in memory, so nobody sees it while the gateway runs and the next commit
 * writes over it, but if the process stops first, the next start recovers it from the log (test/
 * security/commit-io-error.test.ts shows both). So the writes of such a batch are answered as a lost
 * connection at COMMIT is on PostgreSQL: 503, read before trying again; never "not applied".
 * Undefined for any other error (a full disk or a lock refused at COMMIT wrote no commit frame).
 */
export function commitFailureAs(err: unknown): WriteOutcomeUnknownError | undefined {
  if (!(err instanceof Database.SqliteError) || !String(err.code).startsWith('SQLITE_IOERR')) return undefined;
  return new WriteOutcomeUnknownError(`The disk failed as the write committed (${err.code}: ${err.message}), and whether it was made could not be checked: read it before trying again.`, { cause: err });
}
