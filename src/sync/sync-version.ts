/**
 * One synchronisation of one version: every stored asset is read again and its hashes recomputed
 * and checked against the record, then the format's manifest is read for metadata (on a thread of its own). Any mismatch
 * throws SyncFailure with a reason meant for people (it becomes the job's status_reason).
 */
import { createHash } from 'node:crypto';
import { BlobMissingError, type BlobStore } from '../store/blob-store.ts';
import type { ClaimedSyncJob, VersionMetadata } from '../store/store.ts';
import { isNpmReadme, ManifestError, MAX_MANIFEST_BYTES, MAX_README_BYTES, NO_METADATA, type ManifestRead } from './metadata.ts';
import type { ManifestThread } from './manifest-thread.ts';
import { TarError, TgzEntryReader } from './tar-reader.ts';

export class SyncFailure extends Error {
  override readonly name = 'SyncFailure';
}

/**
 * Reads the manifest out of an asset while its bytes stream past the hashes: an npm tarball's
 * package.json (inflated as it goes, only that file kept), or a pom (kept whole, up to a bound).
 * Every other asset is only hashed. A sync holds at most a manifest in memory, never an asset.
 */
interface ManifestReader {
  write(chunk: Uint8Array): Promise<void>;
  end(): Promise<ManifestRead>;
}

function manifestReader(format: string, name: string): ManifestReader | null {
  if (format === 'npm' && name.endsWith('.tgz')) {
    const tar = new TgzEntryReader((p) => p === 'package/package.json', MAX_MANIFEST_BYTES);
    // The README is read by a reader of its own over the same bytes: it may come before or after
    // package.json in the archive, and a README that cannot be read (too long) only means none.
    const readme = new TgzEntryReader(isNpmReadme, MAX_README_BYTES);
    return {
      write: async (chunk) => {
        await Promise.all([tar.write(chunk), readme.write(chunk)]);
      },
      async end() {
        const readmeBytes = await readme.end().catch((err: unknown) => {
          if (err instanceof TarError) return null;
          throw err;
        });
        try {
          return { name, manifest: await tar.end(), readme: readmeBytes };
        } catch (err) {
          if (err instanceof TarError) return { name, manifest: null, problem: err.message };
          throw err;
        }
      },
    };
  }
  if (format === 'maven' && name.endsWith('.pom')) {
    const parts: Buffer[] = [];
    let size = 0;
    return {
      async write(chunk) {
        size += chunk.byteLength;
        if (size <= MAX_MANIFEST_BYTES) parts.push(Buffer.from(chunk));
      },
      async end() {
        if (size > MAX_MANIFEST_BYTES) return { name, manifest: null, problem: `it is larger than ${MAX_MANIFEST_BYTES} bytes, the most a sync reads` };
        return { name, manifest: Buffer.concat(parts) };
      },
    };
  }
  return null;
}

export async function syncVersion(
  job: ClaimedSyncJob,
  blobs: BlobStore,
  onProgress: (percent: number) => Promise<void>,
  manifests: Pick<ManifestThread, 'extract'>,
): Promise<VersionMetadata> {
  const kept: ManifestRead[] = [];
  const total = job.assets.length;
  for (const [i, asset] of job.assets.entries()) {
    let opened;
    try {
      opened = await blobs.open(asset.blobKey);
    } catch (err) {
      if (err instanceof BlobMissingError) throw new SyncFailure(`Asset ${asset.name} is missing: its bytes are no longer in the blob store.`);
      throw err;
    }
    const hashes = { md5: createHash('md5'), sha1: createHash('sha1'), sha256: createHash('sha256'), sha512: createHash('sha512') };
    const reader = manifestReader(job.key.format, asset.name);
    let size = 0;
    for await (const chunk of opened.stream) {
      size += chunk.byteLength;
      for (const h of Object.values(hashes)) h.update(chunk);
      if (reader) await reader.write(chunk);
    }
    const manifest = reader ? await reader.end() : null;
    if (size !== asset.size) throw new SyncFailure(`Asset ${asset.name} no longer matches its record: ${size} bytes stored, ${asset.size} recorded.`);
    for (const [algorithm, hash] of Object.entries(hashes)) {
      const actual = hash.digest('hex');
      const recorded = asset[algorithm as keyof typeof hashes];
      if (actual !== recorded) throw new SyncFailure(`Asset ${asset.name} no longer matches its record: its ${algorithm.toUpperCase()} is ${actual}, ${recorded} recorded.`);
    }
    if (manifest) kept.push(manifest);
    // The hashes are most of the work; the manifest is the last step.
    await onProgress(Math.floor(((i + 1) / total) * 90));
  }
  if (total === 0) return NO_METADATA;
  try {
    return await manifests.extract(job.key, job.version, kept);
  } catch (err) {
    if (err instanceof ManifestError) throw new SyncFailure(err.message);
    throw err;
  }
}
