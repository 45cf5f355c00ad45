/**
 * Structured logs: pino, one JSON object per line, info and debug on stdout, warnings and errors
 * on stderr. Callers pass fields, never tokens or Authorization headers; as a second line of defence
 * the fields that could hold one are redacted wherever they appear at the top two levels.
 */
import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';
import { fdLines, type LineSink } from './fd-lines.ts';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export interface LoggerOptions {
  level?: LogLevel;
  /** Where every line goes (tests capture it); default: stdout below warn, stderr from warn up. */
  destination?: DestinationStream;
}

const SECRET_FIELDS = new Set(['authorization', 'Authorization', 'token', 'cookie', 'headers', 'password', 'secret']);
export const REDACTED = '[redacted]';

/**
 * The fields that could hold a secret, replaced wherever they appear at the top two levels. A plain
 * walk over the keys: pino's own `redact` with `*.field` paths cost ~14 µs a line, more than the
 * rest of the line, on every request. The caller's objects are copied, never changed.
 */
export function redactSecrets(fields: Record<string, unknown>): Record<string, unknown> {
  let out: Record<string, unknown> | undefined;
  for (const key in fields) {
    const value = fields[key];
    let replacement: unknown = value;
    if (SECRET_FIELDS.has(key)) replacement = REDACTED;
    else if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      let inner: Record<string, unknown> | undefined;
      for (const k in value as Record<string, unknown>) {
        if (SECRET_FIELDS.has(k)) (inner ??= { ...(value as Record<string, unknown>) })[k] = REDACTED;
      }
      if (inner) replacement = inner;
    }
    if (replacement !== value) (out ??= { ...fields })[key] = replacement;
  }
  return out ?? fields;
}

/** pino's options for a logger at this level (exported so the tests can hold the plain lines below to pino's). */
export function pinoOptions(level: LogLevel) {
  return {
    level,
    // The process, not the host: a container's hostname says nothing an orchestrator does not know.
    base: undefined,
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }), log: redactSecrets },
  };
}

export function createLogger(levelOrOptions: LogLevel | LoggerOptions = 'info'): Logger {
  const { level = 'info', destination } = typeof levelOrOptions === 'string' ? { level: levelOrOptions } : levelOrOptions;
  const options = pinoOptions(level);
  const out: PinoLogger =
    destination !== undefined
      ? pino(options, destination)
      : pino(
          options,
          // Warnings and errors are written synchronously: the last of them before an exit (a failed
          // start, a crash) are never lost. The per-request lines on stdout are gathered for a turn
          // of the event loop and written together when it ends (see turnBatched and fd-lines.ts), so
          // a busy gateway does not make a write(2) per request; they are flushed on exit.
          pino.multistream(
            [
              { level: 'debug', stream: stdoutLines() },
              { level: 'warn', stream: pino.destination({ dest: 2, sync: true }) },
            ],
            { dedupe: true },
          ),
        );
  // Info and debug lines whose fields are plain values (every request's line) are written here, as
  // pino writes them (test/ops/logs.test.ts holds the two to the same text): pino's general path
  // cost the 401 flood ~25 µs of event loop a request (bench/ab.ts: 165 against 137 µs a refusal),
  // and one JSON.stringify of the same object costs ~2. Anything else goes through pino.
  const lines = destination ?? stdoutLines();
  const plainLine = (label: 'info' | 'debug', msg: string, fields: Record<string, unknown> = {}): boolean => {
    // A line below the level is written by neither path: nothing to look at.
    if (!out.isLevelEnabled(label)) return true;
    if (!isPlain(fields)) return false;
    lines.write(`${JSON.stringify({ level: label, time: new Date().toISOString(), ...fields, msg })}\n`);
    return true;
  };
  return {
    debug: (msg, fields) => plainLine('debug', msg, fields) || out.debug(fields ?? {}, msg),
    info: (msg, fields) => plainLine('info', msg, fields) || out.info(fields ?? {}, msg),
    warn: (msg, fields) => out.warn(fields ?? {}, msg),
    error: (msg, fields) => out.error(fields ?? {}, msg),
  };
}

/** Fields pino would write as they are: strings, finite numbers, booleans, null or undefined, none secret or named like pino's own. */
function isPlain(fields: Record<string, unknown>): boolean {
  for (const key in fields) {
    if (SECRET_FIELDS.has(key) || key === 'level' || key === 'time' || key === 'msg') return false;
    const v = fields[key];
    if (v !== null && v !== undefined && typeof v !== 'string' && typeof v !== 'boolean' && !(typeof v === 'number' && Number.isFinite(v))) return false;
  }
  return true;
}

let stdout: LineSink | undefined;

/** The process's one stream of stdout lines (every logger of the process shares it). */
function stdoutLines(): LineSink {
  return (stdout ??= turnBatched(fdLines(1)));
}

/**
 * Lines written during one turn of the event loop, handed on as one write when the turn ends. Under
 * load a turn answers a whole group commit's requests at once, and a write per line (a libuv request
 * each, a write(2) each) was a tenth of the event loop's time. A line is late by at most the rest of
 * its turn (a size threshold with a 100 ms timer made lines late enough that a reader of the log
 * missed them); lines still gathered when the process exits are written synchronously. Ending it
 * only flushes: the stream it writes to is the process's stdout.
 */
export function turnBatched(out: LineSink): LineSink {
  let pending = '';
  const handOn = () => {
    if (pending === '') return;
    const text = pending;
    pending = '';
    out.write(text);
  };
  const flushSync = () => {
    handOn();
    out.flushSync();
  };
  process.once('exit', () => {
    try {
      flushSync();
    } catch {
      // stdout is gone (a closed pipe): nothing more can be written to it, and exiting goes on.
    }
  });
  return {
    write(line: string) {
      if (pending === '') setImmediate(handOn);
      pending += line;
    },
    flush(cb) {
      handOn();
      out.flush(cb);
    },
    flushSync,
    end: flushSync,
  };
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
