/**
 * The disk refusing an upload's bytes, for real: the server (`versiongate serve`, a child process)
 * runs under a file size limit (`ulimit -f`), so the kernel refuses a write past it (EFBIG), as a
 * full disk refuses one (ENOSPC). The upload is answered 503 ServiceUnavailableException with
 * Retry-After, saying nothing was stored or published, never a 500; nothing of it is left on disk
 * or in the registry; the server goes on, and an upload that fits is published.
 */
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { loadOrCreateDevKey, mintDevToken } from '../../src/auth/dev-key.ts';
import { systemClock } from '../../src/clock.ts';
import { DEV_AUDIENCE, DEV_ISSUER } from '../../src/config.ts';
import { seededDataDir, type DataDir } from './security-fixtures.ts';
import { killAll, spawnServer } from './spawned-server.ts';

/** Larger than the seeded database and its write-ahead log will grow in this test, smaller than the refused upload. */
const FILE_SIZE_LIMIT_KIB = 4096;

let data: DataDir | undefined;
afterAll(() => {
  killAll();
  data?.remove();
});

/** Every file under the blob directory (its temporary files included). */
function blobFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

it('answers an upload the disk refuses 503 "nothing was stored or published", leaves nothing behind, and publishes the next one that fits', async () => {
  data = await seededDataDir('vg-disk-');
  const server = await spawnServer({ VERSIONGATE_DATA_DIR: data.dataDir }, { dev: true, fileSizeLimitKiB: FILE_SIZE_LIMIT_KIB });
  const key = await loadOrCreateDevKey(data.dataDir);
  const token = await mintDevToken({ key, issuer: DEV_ISSUER, audience: DEV_AUDIENCE, subject: 'ci', groups: ['publishers'], groupsClaim: 'groups', ttlSeconds: 600, clock: systemClock });
  const blobs = join(data.dataDir, 'blobs');
  const before = blobFiles(blobs).sort();
  const publish = (version: string, bytes: Buffer) =>
    fetch(`${server.url}/v1/package/version/publish?domain=my_domain&domain-owner=111122223333&repository=my_repo&format=generic&namespace=acme&package=my-tool&version=${version}&asset=my-tool.bin`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream', 'x-amz-content-sha256': createHash('sha256').update(bytes).digest('hex') },
      body: bytes,
    });

  const refused = await publish('1.0.0', Buffer.alloc((FILE_SIZE_LIMIT_KIB + 1024) * 1024, 7));
  const text = await refused.text();
  expect(refused.status, text).toBe(503);
  expect(refused.headers.get('x-amzn-errortype')).toBe('ServiceUnavailableException');
  expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
  expect(JSON.parse(text)).toEqual({ message: 'The disk that keeps the asset bytes refused them (EFBIG: file too large): nothing was stored or published; try again later.' });
  expect(blobFiles(blobs).sort()).toEqual(before);

  // Nothing was published: the same version, with bytes that fit, is published now (not a 409).
  const fits = await publish('1.0.0', Buffer.alloc(64 * 1024, 8));
  expect(fits.status, await fits.clone().text()).toBe(200);
  expect((await fits.json()).status).toBe('Published');
  expect(server.child.exitCode).toBeNull();
  await server.stop();
});
