/**
 * Reading a child's output while it runs: its stdout and stderr are always drained (a server that
 * logs each request to a full pipe would stall, and the benchmark would measure the pipe), the last
 * lines of each are kept for an error message, and a caller can wait, bounded, for one line.
 */
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

const TAIL_LINES = 30;

export interface ChildOutput {
  /** Resolves with the first stdout line (from now on) that `match` accepts; rejects on exit or timeout. */
  waitForLine<T>(match: (line: string) => T | undefined, timeoutMs: number, what: string): Promise<T>;
  /** The last lines of stderr and stdout, for an error message. */
  tail(): string;
}

export function watchOutput(child: ChildProcess, name: string): ChildOutput {
  const tails = { stdout: [] as string[], stderr: [] as string[] };
  const listeners = new Set<(line: string) => void>();
  let closed: [number | null, NodeJS.Signals | null] | undefined;
  child.once('close', (code: number | null, signal: NodeJS.Signals | null) => (closed = [code, signal]));
  for (const stream of ['stdout', 'stderr'] as const) {
    const source = child[stream];
    if (!source) continue;
    createInterface({ input: source, crlfDelay: Infinity }).on('line', (line) => {
      const tail = tails[stream];
      tail.push(line);
      if (tail.length > TAIL_LINES) tail.shift();
      if (stream === 'stdout') for (const l of listeners) l(line);
    });
  }
  const tail = () => `--- ${name} stderr (last lines) ---\n${tails.stderr.join('\n')}\n--- ${name} stdout (last lines) ---\n${tails.stdout.join('\n')}`;

  const waitForLine = <T>(match: (line: string) => T | undefined, timeoutMs: number, what: string) =>
    new Promise<T>((resolve, reject) => {
      const finish = (err: Error | undefined, value?: T) => {
        clearTimeout(timer);
        listeners.delete(onLine);
        child.off('close', onExit);
        child.off('error', onError);
        if (err) reject(err);
        else resolve(value as T);
      };
      const onLine = (line: string) => {
        const value = match(line);
        if (value !== undefined) finish(undefined, value);
      };
      // On 'close', not 'exit': the child's output has been read to its end; readline delivers its
      // last lines within the turn, so the tail says why it stopped.
      const onExit = (code: number | null, signal: NodeJS.Signals | null) =>
        setImmediate(() => finish(new Error(`${name} exited (${signal ?? `status ${code}`}) before ${what}\n${tail()}`)));
      const onError = (err: Error) => finish(new Error(`${name} could not be started: ${err.message}`));
      const timer = setTimeout(() => finish(new Error(`${name}: no ${what} within ${timeoutMs / 1000} s\n${tail()}`)), timeoutMs);
      if (closed) {
        onExit(...closed);
        return;
      }
      listeners.add(onLine);
      child.once('close', onExit);
      child.once('error', onError);
    });
  return { waitForLine, tail };
}

/** A stdout line that is a JSON object with this `msg` and a string `url`, as pino writes it. */
export function announcedUrl(msg: string): (line: string) => string | undefined {
  return (line) => {
    if (!line.startsWith('{')) return undefined;
    try {
      const fields = JSON.parse(line) as { msg?: unknown; url?: unknown };
      return fields.msg === msg && typeof fields.url === 'string' ? fields.url : undefined;
    } catch {
      return undefined;
    }
  };
}
