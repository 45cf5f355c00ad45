/**
 * How many connections the server holds at once. Every connection is a file descriptor, and so are the
 * gateway's own files: the database and its log, the asset bytes each download and upload streams,
 * the worker threads a policy reload starts. Without a cap, a flood of idle connections (one client
 * opening sockets and sending nothing, well within the headers timeout) takes every descriptor the
 * process may have, and then the gateway's own work fails: a download of an asset on a connection
 * opened earlier answered 500 (EMFILE), and a policy reload was refused. Past the cap Node closes a
 * new connection as soon as it is accepted ('drop'), and the descriptors the gateway needs stay free.
 *
 * By default the cap comes from the process's open-file limit (Node raises the soft limit to the hard
 * one as it starts): what is left after RESERVED_FILES for the gateway's own, halved, since each
 * connection may stream an asset file too.
 */
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { Logger } from '../log.ts';

/** Descriptors kept for the gateway itself (~30 at rest; worker threads, sync lanes, the metrics listener's connections). */
export const RESERVED_FILES = 256;
/**
 * The metrics listener's cap (VERSIONGATE_METRICS=HOST:PORT), part of RESERVED_FILES: a scraper holds
 * one connection, and a flood of that port must not take the gateway's descriptors either.
 */
export const METRICS_MAX_CONNECTIONS = 32;
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

/** Caps the server's connections, and logs (at most every 10 s) and counts those it refuses. */
export function capConnections(
  server: Server,
  cap: number | undefined,
  o: {
    logger: Logger;
    onDrop?: () => void;
    /** Which listener, in the log line: 'gateway' or 'metrics'. */
    listener: string;
    /** The setting that raises the cap, named in the log line; none for a fixed cap. */
    setting?: string | undefined;
  },
): void {
  if (cap === undefined) return;
  server.maxConnections = cap;
  let dropped = 0;
  let loggedAt = Number.NEGATIVE_INFINITY;
  server.on('drop', () => {
    dropped++;
    o.onDrop?.();
    const now = performance.now();
    if (now - loggedAt < DROP_LOG_INTERVAL_MS) return;
    o.logger.warn('connections refused: the most the server holds at once are open', { listener: o.listener, maxConnections: cap, refused: dropped, ...(o.setting ? { setting: o.setting } : {}) });
    loggedAt = now;
    dropped = 0;
  });
}
