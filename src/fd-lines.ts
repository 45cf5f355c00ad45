/**
 * Text written to a file descriptor (the process's stdout) with write(2) called on the event loop
 * itself, as Node's own process.stdout does for pipes and files on Linux. pino's asynchronous
 * destination hands every write to libuv's thread pool instead: under load that cost ~30 µs of CPU a
 * write, across the event loop and a pool thread woken for it, where a write(2) of the same lines
 * costs ~6 µs. The logger gathers a turn's lines into one write (turnBatched in log.ts).
 *
 * A blocking descriptor (what a process inherits from its parent unless something made it
 * non-blocking) takes the whole write. A non-blocking one (Node makes stdout so once anything touches
 * process.stdout) can refuse it, EAGAIN, when its reader falls behind: what it did not take is kept
 * and tried again shortly, and later lines queue behind it, so lines are never reordered or dropped
 * while the reader comes back. Only a descriptor that fails outright (EPIPE: the reader is gone)
 * loses them: there is nowhere left to write.
 */
import { writeSync, writevSync } from 'node:fs';

export interface LineSink {
  write(text: string): void;
  /** Calls back once everything written so far has been taken by the descriptor. */
  flush(cb?: (err?: Error) => void): void;
  /** Writes what is still queued before returning, waiting for a slow reader up to EXIT_WAIT_MS. */
  flushSync(): void;
  end(): void;
}

/** How soon a refused write is tried again. */
const RETRY_MS = 5;
/** How long flushSync waits, in all, for a reader that keeps refusing (at exit: never forever). */
const EXIT_WAIT_MS = 5_000;

export function fdLines(fd: number): LineSink {
  /** Bytes the descriptor has not taken yet, in order; empty unless a write was refused or partial. */
  let backlog: Buffer[] = [];
  let retry: NodeJS.Timeout | undefined;
  let flushed: Array<(err?: Error) => void> = [];

  /** Writes the backlog as far as the descriptor takes it; true when it took all of it. */
  const drain = (): boolean => {
    while (backlog.length > 0) {
      let written: number;
      try {
        written = writevSync(fd, backlog);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EAGAIN') return false;
        backlog = [];
        return true;
      }
      backlog = dropFront(backlog, written);
    }
    return true;
  };

  const retryLater = () => {
    // Unreferenced: a process that is otherwise done exits, and flushSync writes the rest at exit.
    retry ??= setTimeout(() => {
      retry = undefined;
      if (drain()) settle();
      else retryLater();
    }, RETRY_MS).unref();
  };

  const settle = () => {
    const callbacks = flushed;
    flushed = [];
    for (const cb of callbacks) cb();
  };

  return {
    write(text) {
      if (backlog.length > 0) {
        backlog.push(Buffer.from(text));
        return;
      }
      let written: number;
      try {
        written = writeSync(fd, text);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') return;
        written = 0;
      }
      const bytes = Buffer.byteLength(text);
      if (written < bytes) {
        backlog.push(Buffer.from(text).subarray(written));
        retryLater();
      }
    },
    flush(cb) {
      if (!cb) return;
      if (backlog.length === 0) process.nextTick(cb);
      else flushed.push(cb);
    },
    flushSync() {
      const deadline = Date.now() + EXIT_WAIT_MS;
      while (!drain() && Date.now() < deadline) sleepMs(RETRY_MS);
      if (backlog.length === 0) settle();
    },
    end() {
      this.flushSync();
    },
  };
}

function dropFront(buffers: Buffer[], bytes: number): Buffer[] {
  let i = 0;
  while (i < buffers.length && bytes >= buffers[i]!.length) bytes -= buffers[i++]!.length;
  const rest = buffers.slice(i);
  if (bytes > 0 && rest.length > 0) rest[0] = rest[0]!.subarray(bytes);
  return rest;
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));
function sleepMs(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}
