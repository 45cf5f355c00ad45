/**
 * The store methods behind the package API, on a real SQLite file: version reads with their asset,
 * listings in both orders with keyset cursors, publish commits under revision guards and blob
 * reservations, generated secrets; and the blob store's streaming ingest.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/clock.ts';
import { ServiceUnavailableError } from '../../src/errors.ts';
import { createPageTokens } from '../../src/operations/page-token.ts';
import { BlobDigestMismatchError, BlobMissingError, BlobSourceError, BlobTooLargeError, openBlobStore, type BlobStore } from '../../src/store/blob-store.ts';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import type { AssetInput, PackageKey, Store } from '../../src/store/store.ts';
import { auditInput } from '../helpers/audit-input.ts';
import { rejectionOf } from '../helpers/rejection.ts';

const key: PackageKey = { domainOwner: '111122223333', domain: 'my_domain', repository: 'my_repo', format: 'generic', namespace: 'ns', name: 'tool' };
const audit = () => auditInput({ action: 'PublishPackageVersion', resource: 'arn:aws:codeartifact:us-east-1:111122223333:package/my_domain/my_repo/generic/ns/tool' });
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const stream = (...chunks: Uint8Array[]) =>
  new ReadableStream<Uint8Array>({
    start(c) {
      for (const chunk of chunks) c.enqueue(chunk);
      c.close();
    },
  });

describe('the package store', () => {
  let dir: string;
  let store: Store;
  let blobs: BlobStore;
  const clock = fixedClock('2026-11-20T10:00:00.000Z');

  /** Publishes a version through the store as the operation does: reserve, ingest, commit. */
  const publish = async (version: string, status: 'Published' | 'Unfinished' = 'Published', name = 'a.bin'): Promise<AssetInput> => {
    const bytes = Buffer.from(`${version}/${name}`);
    const blobKey = blobs.newKey();
    await store.reserveBlob(blobKey);
    const asset = await blobs.ingest(name, blobKey, stream(bytes), { maxBytes: 1024, expectedSha256: sha(bytes) });
    const snap = await store.readVersion(key, version);
    const result = await store.commitVersionChanges({
      packageId: snap.packageId,
      guards: [{ version, revision: snap.version?.revision ?? null }],
      changes: [],
      disposeAssets: false,
      publish: { key, version, status, revision: `rev-${version}-${name}`, fresh: !snap.version, asset },
      audit: audit(),
    });
    expect(result.ok).toBe(true);
    clock.advance(1000);
    return asset;
  };

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vg-pkg-store-'));
    store = openSqliteStore({ file: join(dir, 'db.sqlite'), clock });
    blobs = openBlobStore(join(dir, 'blobs'));
    await store.createDomain('my_domain', '111122223333');
    await store.createRepository('111122223333', 'my_domain', 'my_repo');
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a first publish creates the package, the version and its asset, and claims the reservation', async () => {
    expect((await store.readVersion(key, '1.0.0')).packageId).toBeNull();
    const asset = await publish('1.0.0');
    const snap = await store.readVersion(key, '1.0.0', 'a.bin');
    expect(snap.version).toMatchObject({ version: '1.0.0', status: 'Published', revision: 'rev-1.0.0-a.bin', assetCount: 1, publishedAt: '2026-11-20T10:00:00.000Z' });
    expect(snap.asset).toEqual(asset);
    expect(await store.pendingBlobDeletions()).toEqual([]);
    expect(readFileSync(blobs.pathOf(asset.blobKey), 'utf8')).toBe('1.0.0/a.bin');
  });

  it('says which part is missing when there is no package', async () => {
    expect(await store.readVersion({ ...key, repository: 'nope' }, '1.0.0')).toMatchObject({ domainExists: true, repositoryExists: false, packageId: null });
    expect(await store.readVersion({ ...key, domain: 'nope' }, '1.0.0')).toMatchObject({ domainExists: false, repositoryExists: false });
    expect(await store.readVersion(key, '1.0.0')).toMatchObject({ domainExists: true, repositoryExists: true, packageId: null, version: null, asset: null });
  });

  it('a null guard refuses to publish over a version created meanwhile, and writes nothing', async () => {
    await publish('1.0.0');
    const blobKey = blobs.newKey();
    await store.reserveBlob(blobKey);
    const snap = await store.readVersion(key, '1.0.0');
    const result = await store.commitVersionChanges({
      packageId: snap.packageId,
      guards: [{ version: '1.0.0', revision: null }],
      changes: [],
      disposeAssets: false,
      publish: { key, version: '1.0.0', status: 'Published', revision: 'other', fresh: true, asset: { name: 'b.bin', size: 1, md5: 'm', sha1: 's', sha256: 's', sha512: 's', blobKey } },
      audit: audit(),
    });
    expect(result).toEqual({ ok: false, reason: 'stale', staleVersions: ['1.0.0'] });
    expect((await store.readVersion(key, '1.0.0')).version?.assetCount).toBe(1);
    expect(await store.pendingBlobDeletions()).toEqual([blobKey]);
    expect(await store.listAudit({ limit: 10 })).toHaveLength(1);
  });

  it('an asset whose reservation is gone is not added: its bytes may have been removed', async () => {
    const blobKey = blobs.newKey();
    const err = await rejectionOf(
      store.commitVersionChanges({
        packageId: null,
        guards: [{ version: '1.0.0', revision: null }],
        changes: [],
        disposeAssets: false,
        publish: { key, version: '1.0.0', status: 'Published', revision: 'r', fresh: true, asset: { name: 'a', size: 1, md5: 'm', sha1: 's', sha256: 's', sha512: 's', blobKey } },
        audit: audit(),
      }),
    );
    // A 503 the SDKs retry: the same upload again succeeds.
    expect(err).toBeInstanceOf(ServiceUnavailableError);
    expect((err as Error).message).toContain(`blob ${blobKey}) was reclaimed`);
    expect((await store.readVersion(key, '1.0.0')).packageId).toBeNull();
    expect(await store.listAudit({ limit: 10 })).toEqual([]);
  });

  it('lists by version string or newest first, in pages that continue after their cursor', async () => {
    for (const v of ['1.0.0', '3.0.0', '2.0.0', '10.0.0']) await publish(v);
    await publish('4.0.0-rc', 'Unfinished');
    const packageId = (await store.readVersion(key, '1.0.0')).packageId!;
    const names = async (q: Omit<Parameters<Store['listVersions']>[0], 'packageId'>) => (await store.listVersions({ packageId, ...q })).versions.map((v) => v.version);

    expect(await names({ statuses: ['Published'], order: 'version', limit: 10 })).toEqual(['1.0.0', '10.0.0', '2.0.0', '3.0.0']);
    expect(await names({ statuses: ['Published'], order: 'version', after: { order: 'version', version: '10.0.0' }, limit: 1 })).toEqual(['2.0.0']);
    expect(await names({ statuses: ['Published', 'Unfinished'], order: 'published', limit: 10 })).toEqual(['4.0.0-rc', '10.0.0', '2.0.0', '3.0.0', '1.0.0']);
    const [, second] = (await store.listVersions({ packageId, statuses: ['Published'], order: 'published', limit: 2 })).versions;
    expect(await names({ statuses: ['Published'], order: 'published', after: { order: 'published', publishedAt: second!.publishedAt, id: second!.id }, limit: 10 })).toEqual(['3.0.0', '1.0.0']);
    expect(await names({ statuses: [], order: 'version', limit: 10 })).toEqual([]);
    expect((await store.listVersions({ packageId, statuses: [], order: 'version', limit: 10 })).latestPublished).toBe('10.0.0');
  });

  it('pages through assets by name', async () => {
    for (const name of ['c.bin', 'a.bin', 'b.bin']) await publish('1.0.0', 'Unfinished', name);
    const versionId = (await store.readVersion(key, '1.0.0')).version!.id;
    expect((await store.listAssets(versionId, undefined, 2)).map((a) => a.name)).toEqual(['a.bin', 'b.bin']);
    expect((await store.listAssets(versionId, 'b.bin', 2)).map((a) => a.name)).toEqual(['c.bin']);
  });

  it('keeps the first secret stored under a name', async () => {
    const first = await store.ensureSecret('k', new Uint8Array([1, 2, 3]));
    expect([...first]).toEqual([1, 2, 3]);
    expect([...(await store.ensureSecret('k', new Uint8Array([9])))]).toEqual([1, 2, 3]);
  });

  it('page tokens: accepted by the scope that issued them only, and never when edited', async () => {
    const tokens = createPageTokens(store);
    const scope = { operation: 'ListPackageVersions', resource: 'arn:a', status: 'Published' };
    const token = await tokens.issue(scope, { v: '1.0.0' });
    expect(await tokens.read(scope, token)).toEqual({ v: '1.0.0' });
    // A second instance on the same database shares the key.
    expect(await createPageTokens(store).read({ ...scope }, token)).toEqual({ v: '1.0.0' });
    for (const other of [{ ...scope, resource: 'arn:b' }, { ...scope, status: undefined }, { ...scope, operation: 'ListPackageVersionAssets' }]) {
      expect(await rejectionOf(tokens.read(other, token))).toMatchObject({ type: 'ValidationException' });
    }
    const [payload, mac] = token.split('.');
    const forged = `${Buffer.from(JSON.stringify({ v: '0' })).toString('base64url')}.${mac}`;
    for (const bad of [forged, `${payload}.${'A'.repeat(43)}`, 'x', `${token}x`, 'a'.repeat(3000)]) {
      expect(await rejectionOf(tokens.read(scope, bad))).toMatchObject({ type: 'ValidationException' });
    }
  });
});

describe('the blob store', () => {
  let dir: string;
  let blobs: BlobStore;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'vg-blobs-'));
    blobs = openBlobStore(dir);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const files = () => readdirSync(dir, { recursive: true }).filter((f) => String(f).length > 3);

  it('streams chunks to disk with all four hashes, and reads them back', async () => {
    const chunks = [randomBytes(1000), randomBytes(70_000), randomBytes(1)];
    const all = Buffer.concat(chunks);
    const key = blobs.newKey();
    const asset = await blobs.ingest('x.bin', key, stream(...chunks), { maxBytes: all.length, expectedSha256: sha(all) });
    expect(asset).toEqual({
      name: 'x.bin',
      size: all.length,
      md5: createHash('md5').update(all).digest('hex'),
      sha1: createHash('sha1').update(all).digest('hex'),
      sha256: sha(all),
      sha512: createHash('sha512').update(all).digest('hex'),
      blobKey: key,
    });
    const open = await blobs.open(key);
    expect(open.size).toBe(all.length);
    const back: Uint8Array[] = [];
    for await (const chunk of open.stream as unknown as AsyncIterable<Uint8Array>) back.push(chunk);
    expect(Buffer.concat(back).equals(all)).toBe(true);
  });

  it("an upload whose temporary file another process removed (a second gateway's start on the data dir) is a 503 to upload again, not a 500", async () => {
    const key = blobs.newKey();
    const bytes = randomBytes(100);
    // The body's last chunk comes only once the temporary file is gone, as a start elsewhere removed it.
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(bytes.subarray(0, 50));
      },
      pull(controller) {
        rmSync(`${blobs.pathOf(key)}.tmp`, { force: true });
        controller.enqueue(bytes.subarray(50));
        controller.close();
      },
    });
    const err = await rejectionOf(blobs.ingest('x.bin', key, body, { maxBytes: 1000, expectedSha256: sha(bytes) }));
    expect(err).toBeInstanceOf(ServiceUnavailableError);
    expect((err as Error).message).toBe(`The upload's reserved storage (blob ${key}) was reclaimed before it committed, so its bytes may be gone. Nothing was published; upload the asset again.`);
    expect(files()).toEqual([]);
  });

  it('refuses too many bytes as soon as they arrive, and leaves nothing behind', async () => {
    let pulled = 0;
    const endless = new ReadableStream<Uint8Array>({
      pull(c) {
        pulled++;
        c.enqueue(new Uint8Array(1000));
      },
    });
    const err = await rejectionOf(blobs.ingest('x', blobs.newKey(), endless, { maxBytes: 2500, expectedSha256: '0'.repeat(64) }));
    expect(err).toBeInstanceOf(BlobTooLargeError);
    expect(pulled).toBeLessThan(6);
    expect(files()).toEqual([]);
  });

  it('refuses bytes of another SHA-256, and a body that fails, leaving nothing behind', async () => {
    expect(await rejectionOf(blobs.ingest('x', blobs.newKey(), stream(Buffer.from('a')), { maxBytes: 10, expectedSha256: sha(Buffer.from('b')) }))).toBeInstanceOf(BlobDigestMismatchError);
    const broken = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new Uint8Array(3));
        c.error(new Error('socket hang up'));
      },
    });
    expect(await rejectionOf(blobs.ingest('x', blobs.newKey(), broken, { maxBytes: 10, expectedSha256: sha(Buffer.from('b')) }))).toBeInstanceOf(BlobSourceError);
    expect(files()).toEqual([]);
  });

  it('open says when the bytes are gone; remove takes a partial upload too', async () => {
    const key = blobs.newKey();
    expect(await rejectionOf(blobs.open(key))).toBeInstanceOf(BlobMissingError);
    await blobs.ingest('x', key, stream(Buffer.from('a')), { maxBytes: 10, expectedSha256: sha(Buffer.from('a')) });
    await blobs.remove(key);
    expect(existsSync(blobs.pathOf(key))).toBe(false);
  });
});
