/**
 * The sweep of orphaned asset bytes (src/operations/blob-sweep.ts), on each store with its own blob
 * store: what waited past the grace goes while the gateway serves; a reservation younger than the
 * grace (an upload perhaps in progress) keeps its bytes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/clock.ts';
import { MAX_REQUEST_DEADLINE_SECONDS } from '../../src/config.ts';
import { silentLogger } from '../../src/log.ts';
import { startBlobSweep, type BlobSweep } from '../../src/operations/blob-sweep.ts';
import { openBlobStore, type BlobStore } from '../../src/store/blob-store.ts';
import { openPostgresBlobStore } from '../../src/store/postgres/pg-blob-store.ts';
import { BLOB_GRACE_MS, type Store } from '../../src/store/store.ts';
import { blobHeld } from '../helpers/blobs.ts';
import { ENGINES, type TestClock } from './contract/engines.ts';


it('the grace outlasts the longest request deadline: an upload that may still commit is never swept', () => {
  expect(BLOB_GRACE_MS).toBeGreaterThanOrEqual(MAX_REQUEST_DEADLINE_SECONDS * 1000);
});

describe.each(ENGINES)('the sweep of orphaned asset bytes: $name', (engine) => {
  let store: Store;
  let blobs: BlobStore;
  let clock: TestClock;
  let cleanup: () => Promise<void>;
  let sweeper: BlobSweep;
  const dir = mkdtempSync(join(tmpdir(), 'vg-sweep-'));

  beforeEach(async () => {
    clock = fixedClock('2026-03-01T00:00:00.000Z');
    ({ store, cleanup } = await engine.open(clock));
    blobs = engine.name === 'postgres' ? openPostgresBlobStore((store as unknown as { pool: Parameters<typeof openPostgresBlobStore>[0] }).pool) : openBlobStore(join(dir, engine.name));
    // No timer in the test's way: it sweeps when the test says.
    sweeper = startBlobSweep({ store, blobs, logger: silentLogger, clock }, { intervalMs: 3_600_000 });
  });
  afterEach(async () => {
    await sweeper.stop();
    await cleanup();
    rmSync(join(dir, engine.name), { recursive: true, force: true });
  });

  /** Bytes under a reserved key that no commit claims: what an upload cut off by a crash leaves. */
  const orphan = async () => {
    const { blobKey } = await blobs.put('a.bin', new Uint8Array([1, 2, 3]));
    await store.reserveBlob(blobKey);
    return blobKey;
  };

  it('removes what waited past the grace, and keeps a younger reservation with its bytes', async () => {
    const old = await orphan();
    clock.advance(BLOB_GRACE_MS + 1000);
    const young = await orphan();
    expect(await sweeper.sweep()).toBe(1);
    expect(await blobHeld(blobs, old)).toBe(false);
    expect(await blobHeld(blobs, young)).toBe(true);
    expect(await store.pendingBlobDeletions(new Date(clock.now().getTime() + 1).toISOString())).toEqual(engine.name === 'sqlite' ? [young] : []);
    // Its turn comes once it is as old.
    clock.advance(BLOB_GRACE_MS + 1000);
    expect(await sweeper.sweep()).toBe(1);
    expect(await blobHeld(blobs, young)).toBe(false);
    expect(await store.pendingBlobDeletions()).toEqual([]);
  });

  it('a start removes every queued key on SQLite, and on PostgreSQL only those past the grace', async () => {
    const old = await orphan();
    clock.advance(BLOB_GRACE_MS + 1000);
    const young = await orphan();
    // What main.ts asks at start: no cut-off of its own.
    expect((await store.pendingBlobDeletions()).sort()).toEqual(engine.name === 'sqlite' ? [old, young].sort() : [old]);
  });
});
