/**
 * Asset bytes in PostgreSQL, for replicas that share no disk: behind the same BlobStore interface as
 * the files on disk (an object store can take its place later). The bytes go in as chunks of at most
 * CHUNK_BYTES, a row each, written as they arrive and hashed on the way; the `blobs` row that marks
 * them complete is written only once they are all in, within the size bound and of the declared
 * SHA-256. Reading streams one chunk at a time: neither side ever holds a whole asset in memory.
 * The key was reserved (Store.reserveBlob) before the first chunk, so a replica that dies mid-upload
 * leaves chunks that the pending deletions remove later, as with files.
 */
import { createHash, randomBytes, type Hash } from 'node:crypto';
import type pg from 'pg';
import { BlobDigestMismatchError, BlobMissingError, BlobSourceError, BlobTooLargeError, isBlobKey, type BlobStore } from '../blob-store.ts';
import type { AssetInput } from '../store.ts';
import { answeringUnavailable } from '../answering-unavailable.ts';
import { pgUnavailableAs } from './pg-unavailable.ts';

export const CHUNK_BYTES = 256 * 1024;

export function openPostgresBlobStore(pool: pg.Pool): BlobStore {
  const checkKey = (key: string) => {
    if (!isBlobKey(key)) throw new Error(`not a blob key: ${key}`);
  };
  const removeBytes = async (blobKey: string) => {
    await pool.query(`DELETE FROM blob_chunks WHERE blob_key = $1`, [blobKey]);
    await pool.query(`DELETE FROM blobs WHERE blob_key = $1`, [blobKey]);
  };
  const ingestFrom = async (name: string, blobKey: string, chunks: AsyncIterable<Uint8Array>, maxBytes: number, expectedSha256: string | null): Promise<AssetInput> => {
    checkKey(blobKey);
    const hashes: Record<'md5' | 'sha1' | 'sha256' | 'sha512', Hash> = { md5: createHash('md5'), sha1: createHash('sha1'), sha256: createHash('sha256'), sha512: createHash('sha512') };
    let size = 0;
    let n = 0;
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    // Awaiting each insert is the backpressure: the next bytes are read only once these are stored.
    const flush = async () => {
      if (pendingBytes === 0) return;
      const data = Buffer.concat(pending, pendingBytes);
      pending = [];
      pendingBytes = 0;
      await pool.query(`INSERT INTO blob_chunks (blob_key, n, data) VALUES ($1, $2, $3)`, [blobKey, n++, data]);
    };
    try {
      for await (const value of chunks) {
        size += value.byteLength;
        if (size > maxBytes) throw new BlobTooLargeError(maxBytes);
        for (const h of Object.values(hashes)) h.update(value);
        let rest = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
        while (rest.byteLength > 0) {
          const take = Math.min(CHUNK_BYTES - pendingBytes, rest.byteLength);
          pending.push(Buffer.from(rest.subarray(0, take)));
          pendingBytes += take;
          rest = rest.subarray(take);
          if (pendingBytes === CHUNK_BYTES) await flush();
        }
      }
      await flush();
      const sha256 = hashes.sha256.digest('hex');
      if (expectedSha256 !== null && sha256 !== expectedSha256) throw new BlobDigestMismatchError(expectedSha256, sha256);
      await pool.query(`INSERT INTO blobs (blob_key, size, chunks) VALUES ($1, $2, $3)`, [blobKey, size, n]);
      return { name, size, md5: hashes.md5.digest('hex'), sha1: hashes.sha1.digest('hex'), sha256, sha512: hashes.sha512.digest('hex'), blobKey };
    } catch (err) {
      await removeBytes(blobKey).catch(() => undefined);
      throw err;
    }
  };
  return answeringUnavailable<BlobStore>({
    newKey: () => randomBytes(16).toString('hex'),
    pathOf: () => {
      throw new Error('asset bytes are kept in PostgreSQL: they have no file path');
    },
    async put(name, bytes) {
      const blobKey = randomBytes(16).toString('hex');
      return ingestFrom(name, blobKey, (async function* () {
        yield bytes;
      })(), Number.MAX_SAFE_INTEGER, null);
    },
    async ingest(name, blobKey, body, { maxBytes, expectedSha256 }) {
      const reader = body.getReader();
      async function* read() {
        for (;;) {
          const { done, value } = await reader.read().catch((err: unknown) => {
            throw new BlobSourceError(`the upload could not be read: ${(err as Error)?.message ?? String(err)}`, { cause: err });
          });
          if (done) return;
          yield value;
        }
      }
      try {
        return await ingestFrom(name, blobKey, read(), maxBytes, expectedSha256);
      } catch (err) {
        await reader.cancel().catch(() => undefined);
        throw err;
      } finally {
        reader.releaseLock();
      }
    },
    async open(blobKey) {
      checkKey(blobKey);
      const row = (await pool.query<{ size: number; chunks: number }>(`SELECT size, chunks FROM blobs WHERE blob_key = $1`, [blobKey])).rows[0];
      if (!row) throw new BlobMissingError(`the bytes of blob ${blobKey} are not in the database`);
      let n = 0;
      const stream = new ReadableStream<Uint8Array>({
        async pull(controller) {
          if (n >= row.chunks) return controller.close();
          const chunk = (await pool.query<{ data: Buffer }>(`SELECT data FROM blob_chunks WHERE blob_key = $1 AND n = $2`, [blobKey, n])).rows[0];
          // Removed meanwhile by a dispose or delete that committed: the download ends with an error, never short and silent.
          if (!chunk) return controller.error(new BlobMissingError(`the bytes of blob ${blobKey} were removed while being read`));
          n += 1;
          controller.enqueue(new Uint8Array(chunk.data.buffer, chunk.data.byteOffset, chunk.data.byteLength));
        },
      });
      return { size: row.size, stream };
    },
    remove: removeBytes,
  }, pgUnavailableAs);
}
