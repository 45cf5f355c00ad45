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
import { ServiceUnavailableError } from '../../errors.ts';
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
