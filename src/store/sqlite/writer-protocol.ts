/**
 * What the main thread and the SQLite writer thread (writer-thread.ts) say to each other. Only
 * structured-cloneable data crosses: a write is a Store method's name and its arguments, an answer
 * its result or its error flattened to data (an error's class does not survive postMessage, and the
 * callers decide by class: ConflictError is a 409, a SqliteError code a constraint, …).
 */
import Database from 'better-sqlite3';
import * as apiErrors from '../../errors.ts';

export interface WriterInit {
  file: string;
  maxBatch: number;
  maxQueued: number;
}

/** One write: `method` of the writer's store, called with `args`. */
export interface WriteRequest {
  id: number;
  method: string;
  args: unknown[];
}

/**
 * The writes whose arguments are plain JSON data by their types: strings, numbers, booleans, null,
 * arrays and plain objects (a status change, an audit record), never bytes, a Date or a Map. A
 * message whose writes are all of these crosses as one JSON text: for the hot write, a status change with its
 * record, that costs the event loop about a third less to send than the structured clone of the same
 * objects, and the writer a third as much to read. What JSON changes is what no write of these reads:
 * an undefined field is left out (as the audit hash leaves it out, canonicalJson in audit-hash.ts).
 */
const JSON_WRITES: ReadonlySet<string> = new Set(['commitVersionChanges', 'appendAudit', 'appendAuditBatch']);

/** The writes of one message as they cross to the writer: a JSON text when every one is plain data, else the objects. */
export function encodeWrites(requests: WriteRequest[]): WriteRequest[] | string {
  for (const r of requests) if (!JSON_WRITES.has(r.method)) return requests;
  return JSON.stringify(requests);
}

export function decodeWrites(message: WriteRequest[] | string): WriteRequest[] {
  return typeof message === 'string' ? (JSON.parse(message) as WriteRequest[]) : message;
}

export interface WriteAnswer {
  id: number;
  ok: boolean;
  value?: unknown;
  error?: FlatError;
}

/** From the writer: the answers of one batch, and the commits made since the last message (metrics). */
export interface WriterMessage {
  answers: WriteAnswer[];
  commits: number[];
}

export interface FlatError {
  className: string;
  message: string;
  stack?: string | undefined;
  /** The error's own fields (code, resource type, …). */
  fields: Record<string, unknown>;
}

/** Only its prototype is used: a revived error is made with Object.create, its constructor never runs. */
type ErrorClass = { prototype: Error };

/** Every error class a store write may throw that a caller tells apart by class. */
const REVIVABLE: ReadonlyMap<string, ErrorClass> = new Map<string, ErrorClass>([
  ...Object.entries(apiErrors as Record<string, unknown>).filter((e): e is [string, ErrorClass] => typeof e[1] === 'function' && e[1].prototype instanceof Error),
  ['SqliteError', Database.SqliteError],
]);

export function flattenError(err: unknown): FlatError {
  if (!(err instanceof Error)) return { className: 'Error', message: String(err), fields: {} };
  const fields: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(err)) {
    try {
      structuredClone(v);
      fields[k] = v;
    } catch {
      // A field that cannot cross (a function, a socket) is not one a caller decides by.
    }
  }
  return { className: err.constructor.name, message: err.message, stack: err.stack, fields };
}

/** The error again, of its own class when it is one callers know (otherwise a plain Error with its name). */
export function reviveError(flat: FlatError): Error {
  const cls = REVIVABLE.get(flat.className);
  const err: Error = cls ? (Object.create(cls.prototype) as Error) : new Error(flat.message);
  Object.defineProperty(err, 'message', { value: flat.message, writable: true, configurable: true, enumerable: false });
  if (!cls) err.name = flat.className;
  Object.assign(err, flat.fields);
  if (flat.stack !== undefined) Object.defineProperty(err, 'stack', { value: flat.stack, writable: true, configurable: true, enumerable: false });
  return err;
}
