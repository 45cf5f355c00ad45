/**
 * DeletePackage's asset files: a few are removed before the answer, as a dispose's are; a package of
 * more than INLINE_BLOB_REMOVALS has them removed after it (100,000 took 240 s to answer), and
 * either way every file goes and nothing stays queued.
 */
import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { INLINE_BLOB_REMOVALS } from '../../src/operations/delete-package.ts';
import type { AssetInput, PackageKey, Store } from '../../src/store/store.ts';
import { testGateway, type TestGateway } from '../helpers/gateway.ts';

const OWNER = 'domain=my_domain&domain-owner=111122223333&repository=my_repo';
const keyOf = (name: string): PackageKey => ({ domainOwner: '111122223333', domain: 'my_domain', repository: 'my_repo', format: 'generic', namespace: 'bulk', name });

/** The store, with the queue's forgetting held until `release` is called. */
function holdingForget(store: Store, hold: Promise<void>): Store {
  return new Proxy(store, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      if (property !== 'forgetBlobDeletions') return value.bind(target);
      return async (keys: readonly string[]) => {
        await hold;
        return target.forgetBlobDeletions(keys);
      };
    },
  });
}

describe('DeletePackage and its asset files', () => {
  let gw: TestGateway | undefined;
  afterEach(() => gw?.close());

  const withVersions = async (g: TestGateway, name: string, count: number): Promise<AssetInput[]> => {
    const assets: AssetInput[] = [];
    for (let i = 0; i < count; i++) {
      const asset = await g.blobs.put(`a${i}.bin`, Buffer.from(`${name} ${i}`));
      assets.push(asset);
      await g.store.addVersion({ key: keyOf(name), version: `1.0.${i}`, status: 'Published', revision: `r${i}`, assets: [asset] });
    }
    return assets;
  };
  const deleteOf = async (g: TestGateway, name: string) =>
    g.app.request(`/v1/package?${OWNER}&format=generic&namespace=bulk&package=${name}`, { method: 'DELETE', headers: { authorization: `Bearer ${await g.token('sec', ['security'])}` } });

  it(`past ${INLINE_BLOB_REMOVALS} files, answers before removing them, then removes every one`, async () => {
    let release!: () => void;
    const hold = new Promise<void>((resolve) => (release = resolve));
    gw = await testGateway({ wrapStore: (store) => holdingForget(store, hold) });
    const assets = await withVersions(gw, 'many', INLINE_BLOB_REMOVALS + 1);
    // Answered while the removal it started still waits on the queue: removed after the answer.
    const res = await deleteOf(gw, 'many');
    expect(res.status).toBe(200);
    release();
    for (let i = 0; i < 600 && (await gw.store.pendingBlobDeletions()).length > 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(await gw.store.pendingBlobDeletions()).toEqual([]);
    expect(assets.filter((a) => existsSync(gw!.blobs.pathOf(a.blobKey)))).toEqual([]);
  });

  it('a few files are gone by the time it answers', async () => {
    gw = await testGateway();
    const assets = await withVersions(gw, 'few', 3);
    expect((await deleteOf(gw, 'few')).status).toBe(200);
    expect(assets.filter((a) => existsSync(gw!.blobs.pathOf(a.blobKey)))).toEqual([]);
    expect(await gw.store.pendingBlobDeletions()).toEqual([]);
  });
});
