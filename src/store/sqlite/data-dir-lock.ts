/**
 * One serving process per SQLite data dir. A second `serve` on the same folder would share the
 * database (SQLite allows it) but not the process's own state: its start removes what is queued for
 * removal, upload reservations of the first server's uploads in progress included, and the two group
 * commits and sync pools would not know of each other. So `serve` takes this lock first and a second
 * one is refused, naming the folder.
 *
 * The lock is SQLite's own exclusive file lock on a file of its own (`serve.lock`), held by a
 * connection in exclusive locking mode: the kernel drops it when the process ends however it ends
 * (kill -9, a power cut), so there is never a stale lock to clean up. Other commands (`audit`,
 * `backup`, `seed`) do not take it and go on reading the database beside the server.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ConfigError } from '../../errors.ts';

export const LOCK_FILE = 'serve.lock';

export interface DataDirLock {
  release(): void;
}

export function lockDataDir(dataDir: string): DataDirLock {
  mkdirSync(dataDir, { recursive: true });
  // timeout 0: a held lock is refused at once rather than waited for.
  const db = new Database(join(dataDir, LOCK_FILE), { timeout: 0 });
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    // In exclusive locking mode the lock a write transaction takes is kept after it commits.
    db.exec('BEGIN EXCLUSIVE; COMMIT');
  } catch (err) {
    db.close();
    if ((err as { code?: string }).code === 'SQLITE_BUSY') {
      throw new ConfigError(
        `VERSIONGATE_DATA_DIR (--data-dir): ${dataDir} is in use by another versiongate serve; one server serves a data dir (run several replicas on PostgreSQL: VERSIONGATE_DATABASE_URL)`,
      );
    }
    throw err;
  }
  return { release: () => db.close() };
}

/** The store, closing which also releases the lock: every way out of a start, or a stop, closes the store. */
export function releasedOnClose<T extends { close(): Promise<void> }>(store: T, lock: DataDirLock): T {
  const close = store.close.bind(store);
  store.close = async () => {
    try {
      await close();
    } finally {
      lock.release();
    }
  };
  return store;
}
