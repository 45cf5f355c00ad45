/**
 * Everything the benchmark must undo however it ends (done, an error, Ctrl-C, SIGTERM): the child
 * processes it started and the temporary directories it made. A stray server left listening would
 * skew the next run on the same machine, so every child is tracked from the moment it is spawned.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const children = new Set<ChildProcess>();
const dirs = new Set<string>();
/** A child that ignores SIGTERM this long is killed. versiongate's own grace is set shorter. */
const TERM_WAIT_MS = 10_000;

const running = (child: ChildProcess) => child.exitCode === null && child.signalCode === null;

/** Spawns a child that cleanUp() will stop. */
export function spawnTracked(command: string, args: string[], options: SpawnOptions): ChildProcess {
  const child = spawn(command, args, options);
  children.add(child);
  child.once('exit', () => children.delete(child));
  // A spawn failure (ENOENT, EMFILE) arrives as an event; the caller sees it as an early exit.
  child.once('error', () => children.delete(child));
  return child;
}

/** Resolves when the child has exited: after SIGTERM, or SIGKILL once `waitMs` is over. */
export function stopChild(child: ChildProcess, waitMs = TERM_WAIT_MS): Promise<void> {
  if (!running(child)) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), waitMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** A fresh temporary directory that cleanUp() removes. */
export function makeTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.add(dir);
  return dir;
}

export async function cleanUp(): Promise<void> {
  await Promise.all([...children].map((c) => stopChild(c)));
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs.clear();
}

/**
 * Ctrl-C and SIGTERM clean up, then exit with the signal's conventional status; a second signal
 * gives up waiting. 'exit' is the last resort (an uncaught error): it can only act synchronously,
 * so whatever still runs is killed outright.
 */
let interrupted = false;

/** True once Ctrl-C or SIGTERM arrived: the failures that follow (children killed) are expected. */
export function wasInterrupted(): boolean {
  return interrupted;
}

export function cleanUpOnExit(): void {
  for (const [signal, status] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    process.on(signal, () => {
      if (interrupted) process.exit(status);
      interrupted = true;
      process.stderr.write(`\nbench:load: ${signal}: stopping every child process and removing temporary files\n`);
      void cleanUp().finally(() => process.exit(status));
    });
  }
  process.on('exit', () => {
    for (const child of children) if (running(child)) child.kill('SIGKILL');
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });
}
