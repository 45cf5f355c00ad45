/**
 * The store and the blob store a configuration names: the embedded SQLite file with asset bytes on
 * disk (the default, unchanged), or, with VERSIONGATE_DATABASE_URL, a PostgreSQL shared by every
 * replica, with the asset bytes in it too (replicas share no disk). The server and the CLI's database
 * commands open them here, so both take the same settings.
 */
import { join } from 'node:path';
import type { Clock } from '../clock.ts';
import type { DatabaseConfig } from '../config.ts';
import { openBlobStore, type BlobStore } from './blob-store.ts';
import type { GroupCommitOptions } from './sqlite/group-commit.ts';
import { openSqliteStore } from './sqlite/sqlite-store.ts';
import { openThreadedSqliteStore } from './sqlite/threaded-store.ts';
import type { Store } from './store.ts';

export const DATABASE_FILE = 'versiongate.db';
export const BLOB_DIR = 'blobs';

export interface OpenStoreOptions {
  database: DatabaseConfig;
  dataDir: string;
  clock: Clock;
  groupCommit?: GroupCommitOptions | undefined;
  /** SQLite only: make the writes on a thread of their own (it keeps the system clock). */
  writerThread?: boolean | undefined;
  /** PostgreSQL only: told of each pooled connection that failed (the server ended it, the network broke). */
  onConnectionLost?: ((err: Error) => void) | undefined;
  /** SQLite's writer thread only: told when it stopped, and whether another took its place. */
  onWriterLost?: ((err: Error, replaced: boolean) => void) | undefined;
}

export async function openStores(o: OpenStoreOptions): Promise<{ store: Store; blobs: BlobStore }> {
  if (o.database.kind === 'postgres') {
    // Imported here: pg and its driver cost a SQLite gateway a quarter of a second at every start.
    const [{ openPostgresStore }, { openPostgresBlobStore }] = await Promise.all([import('./postgres/postgres-store.ts'), import('./postgres/pg-blob-store.ts')]);
    const store = await openPostgresStore({
      url: o.database.url,
      poolSize: o.database.poolSize,
      queryTimeoutMs: o.database.timeoutMs,
      clock: o.clock,
      groupCommit: o.groupCommit,
      onConnectionLost: o.onConnectionLost,
    });
    return { store, blobs: openPostgresBlobStore(store.pool) };
  }
  const file = join(o.dataDir, DATABASE_FILE);
  const store = o.writerThread ? await openThreadedSqliteStore({ file, groupCommit: o.groupCommit, onWriterLost: o.onWriterLost }) : openSqliteStore({ file, clock: o.clock, groupCommit: o.groupCommit });
  return { store, blobs: openBlobStore(join(o.dataDir, BLOB_DIR)) };
}
