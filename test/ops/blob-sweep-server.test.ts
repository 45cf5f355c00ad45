/**
 * The running server sweeps orphaned asset bytes (main.ts wires blob-sweep.ts in): bytes reserved by
 * an upload that never committed go once they have waited past the grace, a younger reservation keeps
 * its bytes, and closing stops the sweep before the store closes. The store-level rules are in
 * test/store/blob-sweep.test.ts; this checks the server's own wiring, on a clock an hour ahead.
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { startGateway, type Gateway } from '../../src/main.ts';
import { openBlobStore } from '../../src/store/blob-store.ts';
import { BLOB_DIR } from '../../src/store/open-store.ts';
import { BLOB_GRACE_MS } from '../../src/store/store.ts';
import { blobHeld } from '../helpers/blobs.ts';
import { REPO_POLICIES } from '../helpers/gateway.ts';
import { LogCapture } from './ops-app.ts';

const WAIT_MS = 30_000;
const dir = mkdtempSync(join(tmpdir(), 'versiongate-sweep-server-'));
let gateway: Gateway | undefined;

afterEach(async () => {
  await gateway?.close();
  rmSync(dir, { recursive: true, force: true });
});

it('removes an orphan past the grace while serving, keeps a younger reservation, and stops before the store closes', async () => {
  cpSync(REPO_POLICIES, join(dir, 'policies'), { recursive: true });
  const config = parseConfig({ env: {}, flags: { port: '0', 'data-dir': join(dir, 'data'), 'policy-dir': join(dir, 'policies') }, dev: true });
  const log = new LogCapture();
  let ahead = 0;
  gateway = await startGateway(config, { logger: createLogger({ level: 'info', destination: log }), clock: { now: () => new Date(Date.now() + ahead) }, blobSweepIntervalMs: 50 });
  const blobs = openBlobStore(join(config.dataDir, BLOB_DIR));
  const orphan = async () => {
    const { blobKey } = await blobs.put('a.bin', new Uint8Array([1, 2, 3]));
    await gateway!.store.reserveBlob(blobKey);
    return blobKey;
  };

  const old = await orphan();
  ahead = BLOB_GRACE_MS + 1000;
  const young = await orphan();
  const until = Date.now() + WAIT_MS;
  while ((await blobHeld(blobs, old)) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));

  expect(await blobHeld(blobs, old)).toBe(false);
  expect(await blobHeld(blobs, young)).toBe(true);
  expect(await gateway.store.pendingBlobDeletions()).toEqual([young]);
  expect(log.lines).toContainEqual(expect.objectContaining({ msg: 'removed orphaned asset bytes', blobs: 1 }));

  await gateway.close();
  gateway = undefined;
  // A sweep after the store closed would fail and say so: give a still-running timer a few turns.
  await new Promise((r) => setTimeout(r, 250));
  expect(log.lines.filter((l) => String(l.msg).includes('could not sweep'))).toEqual([]);
});
