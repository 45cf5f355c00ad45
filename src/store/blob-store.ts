/**
 * Asset bytes on disk, one file per asset under a random key (never content-addressed, so removing
 * one version's bytes can never remove another's). Writes go to a temporary file, are fsynced and
 * renamed into place.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { AssetInput } from './store.ts';

export interface BlobStore {
  put(name: string, bytes: Uint8Array): Promise<AssetInput>;
  remove(blobKey: string): Promise<void>;
  pathOf(blobKey: string): string;
}

export function openBlobStore(dir: string): BlobStore {
  mkdirSync(dir, { recursive: true });
  const pathOf = (key: string) => {
    if (!/^[0-9a-f]{32}$/.test(key)) throw new Error(`not a blob key: ${key}`);
    return join(dir, key.slice(0, 2), key);
  };
  return {
    pathOf,
    async put(name, bytes) {
      const blobKey = randomBytes(16).toString('hex');
      const path = pathOf(blobKey);
      mkdirSync(join(dir, blobKey.slice(0, 2)), { recursive: true });
      const tmp = `${path}.tmp`;
      const handle = await open(tmp, 'wx', 0o600);
      try {
        await handle.writeFile(bytes);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(tmp, path);
      const digest = (alg: string, enc: 'hex' | 'base64' = 'hex') => createHash(alg).update(bytes).digest(enc);
      return { name, size: bytes.byteLength, md5: digest('md5'), sha1: digest('sha1'), sha256: digest('sha256'), sha512: digest('sha512'), blobKey };
    },
    async remove(blobKey) {
      await rm(pathOf(blobKey), { force: true });
    },
  };
}
