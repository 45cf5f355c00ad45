/**
 * Another process holding a SQLite file's write lock (BEGIN IMMEDIATE), as an operator's `sqlite3`
 * shell in a transaction, a backup tool or a second gateway does. It lets go on release(), or by
 * itself after `releaseAfterMs`: a process of its own, it does so even while the test's event loop
 * stands still behind the lock.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export interface HeldLock {
  /** Resolves once the holder has let go (by itself, or on release()). */
  released: Promise<void>;
  /** Rolls the holder's transaction back and waits for it to exit. */
  release(): Promise<void>;
}

export async function holdWriteLock(file: string, releaseAfterMs?: number): Promise<HeldLock> {
  const script = `
    const db = new (require(process.argv[1]))(process.argv[2]);
    db.exec('BEGIN IMMEDIATE');
    const release = () => { db.exec('ROLLBACK'); db.close(); process.exit(0); };
    process.stdin.on('data', release);
    if (process.argv[3]) setTimeout(release, Number(process.argv[3]));
    process.stdout.write('held\\n');`;
  const child = spawn(process.execPath, ['-e', script, require.resolve('better-sqlite3'), file, String(releaseAfterMs ?? '')], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`the lock holder exited (${code}) before it held the lock`)));
  });
  return {
    released: exited,
    release: async () => {
      if (child.exitCode === null && child.signalCode === null) child.stdin!.write('release\n');
      await exited;
    },
  };
}
