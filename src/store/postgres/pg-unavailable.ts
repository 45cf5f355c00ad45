/**
 * What a lost connection to PostgreSQL means to a client: PostgreSQL restarting, failing over, or an
 * administrator ending the sessions is an outage to retry through (503, Retry-After), not a fault
 * of the gateway (500, "an internal error occurred"). Whether a write was made is said only when it
 * is known: a write whose connection broke before COMMIT left was not made; one whose connection
 * broke after is checked against the audit chain first (pg-group-commit.ts).
 */
import pg from 'pg';
import { ServiceUnavailableError, WriteOutcomeUnknownError } from '../../errors.ts';

/**
 * An error PostgreSQL reported, as opposed to one of the connection's. (Not "a five-character code":
 * a socket's EPIPE has one too.)
 */
export function isSqlError(err: unknown): err is pg.DatabaseError {
  return err instanceof pg.DatabaseError;
}

/**
 * The session is gone: class 08 (connection exception), 57P01–57P05 (the server ended it: an
 * administrator, a shutdown, a crash, its database dropped, an idle timeout) or any FATAL. Not the
 * rest of class 57: 57014 is a cancelled statement, on a session that goes on.
 */
function sessionEnded({ code = '', severity }: { code?: string | undefined; severity?: string | undefined }): boolean {
  return code.startsWith('08') || code.startsWith('57P') || severity === 'FATAL' || severity === 'PANIC';
}

/** The socket's own failures: the server refused, reset or stopped answering the connection. */
const SOCKET_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/**
 * node-postgres's own words for a connection that ended, one that cannot be used after that, a pool
 * that could not get one in time, and a statement not answered in time (QUERY_TIMEOUT_MS) (test/store/pg-unavailable.test.ts provokes each for real, so
 * a driver that words them differently fails there).
 */
const DRIVER_MESSAGES = /^(Connection terminated|Client has encountered a connection error and is not queryable|Client was closed and is not queryable|timeout exceeded when trying to connect|Query read timeout)/;

/** Whether `err` says PostgreSQL could not be reached, or its connection was lost. */
export function databaseUnreachable(err: unknown): boolean {
  if (isSqlError(err)) return sessionEnded(err);
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  return (typeof code === 'string' && SOCKET_ERRORS.has(code)) || DRIVER_MESSAGES.test(err.message);
}

/**
 * A query failed because its connection did: not a SQL error, or one that ends the session. Only for
 * errors a query rejected with, where anything PostgreSQL did not answer is the connection's.
 */
export function connectionLost(err: unknown): boolean {
  return !isSqlError(err) || sessionEnded(err);
}

/**
 * A lock another replica held past the batch's wait (BEGIN's lock_timeout, 55P03): the write was not
 * made, and may well be made on a retry. A 503, not a 500: nothing is wrong with the gateway.
 */
export function lockNotGranted(err: unknown): ServiceUnavailableError | undefined {
  if (!isSqlError(err) || err.code !== '55P03') return undefined;
  return new ServiceUnavailableError('The database was busy: a lock another writer held was not granted in time, and the write was not made; try again shortly.', { cause: err });
}

/**
 * The write chosen as a deadlock's victim (40P01): another replica's transaction held rows it needed
 * while waiting for rows it held, and PostgreSQL rolled this statement back to end the wait (the
 * group commit rolls the write's savepoint back with it). Writes that lose such a race are read
 * again and retried where they can be (a status change's, a tenancy change's); any other is a 503
 * to retry, never a 500.
 */
export function deadlockVictim(err: unknown): ServiceUnavailableError | undefined {
  if (!isSqlError(err) || err.code !== '40P01') return undefined;
  return new ServiceUnavailableError('The database ended a deadlock with another writer by rolling this write back: it was not made; try again shortly.', { cause: err });
}

/**
 * A database that takes no writes (25006): a hot standby, where a failover left the replica's
 * connections on the old primary, or `default_transaction_read_only` set for maintenance. Nothing
 * the statement's transaction tried to write was written. A 503 to retry, not a 500.
 */
export function readOnly(err: unknown): ServiceUnavailableError | undefined {
  if (!isSqlError(err) || err.code !== '25006') return undefined;
  return new ServiceUnavailableError(`The database takes no writes now (${err.message}): the write was not made; try again shortly.`, { cause: err });
}

/** What is known of the write a lost connection interrupted ('no write': the call claims nothing of one). */
export type WriteOutcome = 'not made' | 'unknown' | 'no write';

const SAYS: Record<WriteOutcome, string> = {
  'not made': ' before the write committed: the write was not made; try again shortly',
  unknown: ' as the write committed, and whether it was made could not be checked: read it before trying again',
  'no write': ': try again shortly',
};

/**
 * What a client is told of why: a socket's error by its code alone, since its message names the
 * database's host and port (`connect ECONNREFUSED 10.0.3.7:5432`, `getaddrinfo ENOTFOUND db.internal`),
 * which are the operator's to know, not the client's; otherwise the driver's or PostgreSQL's words.
 */
function reasonForClients(cause: unknown): string {
  const code = (cause as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string' && SOCKET_ERRORS.has(code)) return code;
  return cause instanceof Error ? cause.message : String(cause);
}

/** The 503 a lost connection answers, its cause (with all its detail) kept for the log. */
export function databaseUnavailable(cause: unknown, outcome: WriteOutcome): ServiceUnavailableError {
  const why = reasonForClients(cause);
  const message = `The connection to the database failed (${why})${SAYS[outcome]}.`;
  return outcome === 'unknown' ? new WriteOutcomeUnknownError(message, { cause }) : new ServiceUnavailableError(message, { cause });
}

/**
 * What a store or blob-store call answers that failed for want of PostgreSQL, or of one that takes
 * writes (answeringUnavailable in ../answering-unavailable.ts). The group commit already says what
 * became of a write it lost the connection under (its errors are 503s by then); the rest are reads,
 * uploads of bytes not yet published, and single statements whose outcome the message does not claim.
 */
export function pgUnavailableAs(err: unknown): ServiceUnavailableError | undefined {
  return databaseUnreachable(err) ? databaseUnavailable(err, 'no write') : (readOnly(err) ?? deadlockVictim(err));
}
