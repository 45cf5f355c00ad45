/**
 * Structured logs: pino, one JSON object per line, info and debug on stdout, warnings and errors
 * on stderr. Callers pass fields, never tokens or Authorization headers; as a second line of defence
 * the fields that could hold one are redacted wherever they appear at the top two levels.
 */
import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';

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

/** Request lines gathered before a write to stdout. */
const STDOUT_BATCH_BYTES = 4096;
/** The longest a line waits on stdout when fewer than STDOUT_BATCH_BYTES are waiting. */
const STDOUT_FLUSH_MS = 100;

export function createLogger(levelOrOptions: LogLevel | LoggerOptions = 'info'): Logger {
  const { level = 'info', destination } = typeof levelOrOptions === 'string' ? { level: levelOrOptions } : levelOrOptions;
  const options = {
    level,
    // The process, not the host: a container's hostname says nothing an orchestrator does not know.
    base: undefined,
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }), log: redactSecrets },
  };
  const out: PinoLogger =
    destination !== undefined
      ? pino(options, destination)
      : pino(
          options,
          // Warnings and errors are written synchronously: the last of them before an exit (a failed
          // start, a crash) are never lost. The per-request lines on stdout are written asynchronously
          // and gathered: a write when 4 KiB are waiting, or every STDOUT_FLUSH_MS, whichever comes
          // first, so a busy gateway does not pay a write(2) per request (at ~2,500 requests a second
          // that was ~5% of the event loop) and an idle one still shows each line within a moment.
          // pino flushes what waits on exit; a SIGKILL can lose up to the last 4 KiB of request lines,
          // never an audit record (those are in the database, committed before the answer).
          pino.multistream(
            [
              { level: 'debug', stream: pino.destination({ dest: 1, sync: false, minLength: STDOUT_BATCH_BYTES, periodicFlush: STDOUT_FLUSH_MS }) },
              { level: 'warn', stream: pino.destination({ dest: 2, sync: true }) },
            ],
            { dedupe: true },
          ),
        );
  return {
    debug: (msg, fields) => out.debug(fields ?? {}, msg),
    info: (msg, fields) => out.info(fields ?? {}, msg),
    warn: (msg, fields) => out.warn(fields ?? {}, msg),
    error: (msg, fields) => out.error(fields ?? {}, msg),
  };
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
