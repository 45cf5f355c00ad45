/**
 * How many connections the server holds at once. Every connection is a file descriptor, and so are the
 * gateway's own files: the database and its log, the asset bytes each download and upload streams,
 * the worker threads a policy reload starts. Without a cap, a flood of idle connections (one client
 * opening sockets and sending nothing, well within the headers timeout) takes every descriptor the
 * process may have, and then the gateway's own work fails: a download of an asset on a connection
 * opened earlier answered 500 (EMFILE), and a policy reload was refused.
 *
 * Past the cap, a few more connections (OVERFLOW) are accepted so that a client gets an answer
 * instead of a reset: its request is answered 503 ServiceUnavailableException with Retry-After and
 * the connection closed (the app asks `refuses`), unless a place has come free by then; one that
 * sends nothing is closed after OVERFLOW_IDLE_MS. Past the overflow too, Node closes a new
 * connection as soon as it is accepted ('drop'). Either way the descriptors the gateway needs stay free.
 *
 * By default the cap comes from the process's open-file limit (Node raises the soft limit to the hard
 * one as it starts): what is left after RESERVED_FILES for the gateway's own, halved, since each
 * connection may stream an asset file too.
 */
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from '../log.ts';

/** Descriptors kept for the gateway itself (~30 at rest; worker threads, sync lanes, the metrics listener's connections, the OVERFLOW past the cap). */
export const RESERVED_FILES = 256;
/**
 * The metrics listener's cap (VERSIONGATE_METRICS=HOST:PORT), part of RESERVED_FILES: a scraper holds
 * one connection, and a flood of that port must not take the gateway's descriptors either.
 */
export const METRICS_MAX_CONNECTIONS = 32;
/** Connections accepted past the cap to be answered 503 (part of RESERVED_FILES). */
export const OVERFLOW = 16;
/** How long a connection accepted past the cap may wait to send its request before it is closed. */
export const OVERFLOW_IDLE_MS = 2_000;
/** A cap below this is a limit too low to serve with, said at start; the cap is never lower. */
export const MIN_CONNECTIONS = 16;
/** How often, at most, a refused connection is logged (with how many were refused since). */
const DROP_LOG_INTERVAL_MS = 10_000;

/** The process's open-file limit from /proc/self/limits; undefined where there is none to read (not Linux) or it is unlimited. */
export function openFileLimit(limits = '/proc/self/limits'): number | undefined {
  let text: string;
  try {
    text = readFileSync(limits, 'utf8');
  } catch {
    return undefined;
  }
  const soft = /^Max open files\s+(\S+)/m.exec(text)?.[1];
  return soft === undefined || !/^\d+$/.test(soft) ? undefined : Number(soft);
}

/** The cap the open-file limit leaves room for; undefined (no cap) when the limit is not known. */
export function connectionCapFor(fileLimit: number | undefined): number | undefined {
  if (fileLimit === undefined) return undefined;
  return Math.max(MIN_CONNECTIONS, Math.floor((fileLimit - RESERVED_FILES) / 2));
}

/** What the app asks of a connection: whether its requests are refused for want of room. */
export interface ConnectionRoom {
  /** True for a connection accepted past the cap while the server still holds more than the cap (counted as refused). */
  refuses(socket: Socket): boolean;
}

/** No cap: every connection has room. */
export const UNCAPPED: ConnectionRoom = { refuses: () => false };

/**
 * Caps the server's connections, and logs (at most every 10 s) and counts those it refuses. With
 * `overflow`, connections past the cap are held for the app to answer 503 (see above); without it
 * (the metrics listener: a scraper retries), they are closed as they are accepted.
 */
export function capConnections(
  server: Server,
  cap: number | undefined,
  o: {
    logger: Logger;
    onRefuse?: () => void;
    /** Which listener, in the log line: 'gateway' or 'metrics'. */
    listener: string;
    /** The setting that raises the cap, named in the log line; none for a fixed cap. */
    setting?: string | undefined;
    /** Hold OVERFLOW connections past the cap for a 503 answer. */
    overflow?: boolean;
  },
): ConnectionRoom {
  if (cap === undefined) return UNCAPPED;
  const overflow = o.overflow === true ? OVERFLOW : 0;
  server.maxConnections = cap + overflow;
  let refused = 0;
  let loggedAt = Number.NEGATIVE_INFINITY;
  const refuse = () => {
    refused++;
    o.onRefuse?.();
    const now = performance.now();
    if (now - loggedAt < DROP_LOG_INTERVAL_MS) return;
    o.logger.warn('connections refused: the most the server holds at once are open', { listener: o.listener, maxConnections: cap, refused, ...(o.setting ? { setting: o.setting } : {}) });
    loggedAt = now;
    refused = 0;
  };
  server.on('drop', refuse);
  if (overflow === 0) return UNCAPPED;

  let open = 0;
  const past = new WeakSet<Socket>();
  server.on('connection', (socket: Socket) => {
    open++;
    socket.once('close', () => open--);
    if (open <= cap) return;
    past.add(socket);
    // Until its request comes: an idle one must not hold an overflow place for the headers timeout.
    socket.setTimeout(OVERFLOW_IDLE_MS, () => socket.destroy());
  });
  return {
    refuses(socket) {
      if (!past.has(socket)) return false;
      if (open > cap) {
        refuse();
        return true;
      }
      // A place came free while its request was on its way: it is served like any other.
      past.delete(socket);
      socket.setTimeout(0);
      return false;
    },
  };
}
