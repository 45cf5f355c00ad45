/**
 * Seeds the demo registry into a running server and waits (bounded) until its worker pool has
 * synchronised every seeded version: only then are they downloadable and resyncable, as on a
 * server that has been up for a moment. Nothing measures time; the wait polls the job counts.
 */
import { join } from 'node:path';
import { seedDemo } from '../../src/cli/seed-demo.ts';
import { BLOB_DIR, type Gateway } from '../../src/main.ts';
import { openBlobStore } from '../../src/store/blob-store.ts';
import type { Store } from '../../src/store/store.ts';

const SYNC_WAIT_MS = 30_000;

export async function seedSynced(gateway: Gateway, dataDir: string): Promise<void> {
  await seedDemo(gateway.store, openBlobStore(join(dataDir, BLOB_DIR)));
  gateway.syncWorker.nudge();
  await syncsSettled(gateway.store);
}

/** Resolves when no sync job is awaiting or in progress; throws after SYNC_WAIT_MS. */
export async function syncsSettled(store: Store): Promise<void> {
  const until = Date.now() + SYNC_WAIT_MS;
  for (;;) {
    const counts = await store.countSyncJobs();
    if (counts.awaiting === 0 && counts.in_progress === 0) return;
    if (Date.now() > until) throw new Error(`sync jobs still in flight after ${SYNC_WAIT_MS} ms: ${JSON.stringify(counts)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
