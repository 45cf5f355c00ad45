/**
 * One synchronisation of one version: every stored asset is read again and its hashes recomputed
 * and checked against the record, then the format's manifest is read for metadata. Any mismatch
 * throws SyncFailure with a reason meant for people (it becomes the job's status_reason).
 */
import { createHash } from 'node:crypto';
import { BlobMissingError, type BlobStore } from '../store/blob-store.ts';
import type { ClaimedSyncJob, VersionMetadata } from '../store/store.ts';
import { extractMetadata, ManifestError, NO_METADATA, type ReadAsset } from './metadata.ts';

export class SyncFailure extends Error {
  override readonly name = 'SyncFailure';
}

/** Only the manifest-bearing assets are kept in memory; the rest are hashed as they stream. */
const keepsBytes = (format: string, name: string) => (format === 'npm' && name.endsWith('.tgz')) || (format === 'maven' && name.endsWith('.pom'));

export async function syncVersion(
  job: ClaimedSyncJob,
  blobs: BlobStore,
  onProgress: (percent: number) => Promise<void>,
): Promise<VersionMetadata> {
  const kept: ReadAsset[] = [];
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
    const chunks: Buffer[] = [];
    const keep = keepsBytes(job.key.format, asset.name);
    let size = 0;
    for await (const chunk of opened.stream) {
      size += chunk.byteLength;
      for (const h of Object.values(hashes)) h.update(chunk);
      if (keep) chunks.push(Buffer.from(chunk));
    }
    if (size !== asset.size) throw new SyncFailure(`Asset ${asset.name} no longer matches its record: ${size} bytes stored, ${asset.size} recorded.`);
    for (const [algorithm, hash] of Object.entries(hashes)) {
      const actual = hash.digest('hex');
      const recorded = asset[algorithm as keyof typeof hashes];
      if (actual !== recorded) throw new SyncFailure(`Asset ${asset.name} no longer matches its record: its ${algorithm.toUpperCase()} is ${actual}, ${recorded} recorded.`);
    }
    if (keep) kept.push({ name: asset.name, bytes: Buffer.concat(chunks) });
    // The hashes are most of the work; the manifest is the last step.
    await onProgress(Math.floor(((i + 1) / total) * 90));
  }
  if (total === 0) return NO_METADATA;
  try {
    return extractMetadata(job.key, job.version, kept);
  } catch (err) {
    if (err instanceof ManifestError) throw new SyncFailure(err.message);
    throw err;
  }
}
