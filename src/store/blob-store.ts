/**
 * Asset bytes on disk, one file per upload under a random key (never content-addressed: two uploads
 * of the same bytes never share a file). A copied version's asset records share their source's keys,
 * so the bytes exist once; the store queues a key for removal only when no asset record uses it any
 * more. Writes go to a temporary file, are fsynced and renamed into place.
 */
import { createHash, randomBytes, type Hash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { ServiceUnavailableError } from '../errors.ts';
import { answeringUnavailable } from './answering-unavailable.ts';
import { reservationGone, type AssetInput } from './store.ts';

/** The upload carried more bytes than allowed; nothing was kept. */
export class BlobTooLargeError extends Error {
  override readonly name = 'BlobTooLargeError';
  constructor(readonly maxBytes: number) {
    super(`the asset is larger than ${maxBytes} bytes`);
  }
}

/** The bytes received do not have the SHA-256 the client declared; nothing was kept. */
export class BlobDigestMismatchError extends Error {
  override readonly name = 'BlobDigestMismatchError';
  constructor(
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`the asset's SHA-256 is ${actual}, but the request declared ${expected}`);
  }
}

/** The bytes of a key are not on disk (removed by a dispose or delete that committed meanwhile). */
export class BlobMissingError extends Error {
  override readonly name = 'BlobMissingError';
}

/** The upload's body failed while it was being read (the client went away, or sent a broken body). */
export class BlobSourceError extends Error {
  override readonly name = 'BlobSourceError';
}

export interface OpenBlob {
  size: number;
  /** Reads from a descriptor opened before this returned: removing the file meanwhile cannot cut it short. */
  stream: ReadableStream<Uint8Array>;
}

export interface IngestOptions {
  /** More bytes than this and the upload is refused (BlobTooLargeError) as soon as they arrive. */
  maxBytes: number;
  /** The SHA-256 (hex, lowercase) the bytes must have (BlobDigestMismatchError otherwise). */
  expectedSha256: string;
}

export interface BlobStore {
  put(name: string, bytes: Uint8Array): Promise<AssetInput>;
  /** A fresh random key, to be reserved (Store.reserveBlob) before ingest writes under it. */
  newKey(): string;
  /**
   * Streams bytes to disk under `blobKey` while hashing them (MD5, SHA-1, SHA-256, SHA-512), so an
   * asset of any size never sits in memory. The bytes are renamed into place only once they are
   * complete, fsynced, within the size bound and of the declared SHA-256; on any failure nothing is
   * left behind.
   */
  ingest(name: string, blobKey: string, body: ReadableStream<Uint8Array>, options: IngestOptions): Promise<AssetInput>;
  /** Opens the bytes for reading (BlobMissingError when they are gone). The stream closes the file. */
  open(blobKey: string): Promise<OpenBlob>;
  remove(blobKey: string): Promise<void>;
  pathOf(blobKey: string): string;
}

/**
 * The disk's refusals: full (ENOSPC), over a quota (EDQUOT) or the process's file size limit (EFBIG),
 * or mounted read-only (EROFS). An upload they cut short left nothing behind (ingest removes its
 * temporary file) and published nothing: a 503 that says so, never a 500 "internal error".
 */
const DISK_REFUSALS: ReadonlyMap<string, string> = new Map([
  ['ENOSPC', 'no space left on the device'],
  ['EDQUOT', 'disk quota exceeded'],
  ['EFBIG', 'file too large'],
  ['EROFS', 'read-only file system'],
]);

/**
 * The process, or the whole system, out of file descriptors: no asset file could be opened, for a
 * download as for an upload. The connection cap (http/connection-cap.ts) keeps connections from
 * taking them all; what is left (another process's files, a limit set too low) passes once some close.
 */
const OUT_OF_FILES: ReadonlyMap<string, string> = new Map([
  ['EMFILE', 'too many open files'],
  ['ENFILE', 'too many open files in the system'],
]);

/** The client is told the code and what it means, never the error's message: that names the file's path. */
function diskRefusalAs(err: unknown): ServiceUnavailableError | undefined {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === undefined) return undefined;
  const outOfFiles = OUT_OF_FILES.get(code);
  if (outOfFiles !== undefined) return new ServiceUnavailableError(`The gateway has too many files open (${code}: ${outOfFiles}): nothing was done; try again shortly.`, { cause: err });
  const means = DISK_REFUSALS.get(code);
  if (means === undefined) return undefined;
  return new ServiceUnavailableError(`The disk that keeps the asset bytes refused them (${code}: ${means}): nothing was stored or published; try again later.`, { cause: err });
}

export function openBlobStore(dir: string): BlobStore {
  return answeringUnavailable(blobsOnDisk(dir), diskRefusalAs);
}

/** Whether a text is a key this store makes (16 random bytes in hex): nothing else names a file. */
export function isBlobKey(key: string): boolean {
  return /^[0-9a-f]{32}$/.test(key);
}

/** Where a blob store rooted at `dir` keeps a key's bytes: a folder per key's first two characters. */
export function blobFileIn(dir: string, key: string): string {
  if (!isBlobKey(key)) throw new Error(`not a blob key: ${key}`);
  return join(dir, key.slice(0, 2), key);
}

function blobsOnDisk(dir: string): BlobStore {
  mkdirSync(dir, { recursive: true });
  const pathOf = (key: string) => blobFileIn(dir, key);
  const tmpOf = (key: string) => `${pathOf(key)}.tmp`;
  const createTmp = async (key: string): Promise<FileHandle> => {
    mkdirSync(join(dir, key.slice(0, 2)), { recursive: true });
    return open(tmpOf(key), 'wx', 0o600);
  };
  return {
    pathOf,
    newKey: () => randomBytes(16).toString('hex'),
    async put(name, bytes) {
      const blobKey = randomBytes(16).toString('hex');
      const handle = await createTmp(blobKey);
      try {
        await handle.writeFile(bytes);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(tmpOf(blobKey), pathOf(blobKey));
      const digest = (alg: string, enc: 'hex' | 'base64' = 'hex') => createHash(alg).update(bytes).digest(enc);
      return { name, size: bytes.byteLength, md5: digest('md5'), sha1: digest('sha1'), sha256: digest('sha256'), sha512: digest('sha512'), blobKey };
    },
    async ingest(name, blobKey, body, { maxBytes, expectedSha256 }) {
      const hashes: Record<'md5' | 'sha1' | 'sha256' | 'sha512', Hash> = {
        md5: createHash('md5'),
        sha1: createHash('sha1'),
        sha256: createHash('sha256'),
        sha512: createHash('sha512'),
      };
      let size = 0;
      const handle = await createTmp(blobKey);
      const reader = body.getReader();
      try {
        try {
          for (;;) {
            const { done, value } = await reader.read().catch((err: unknown) => {
              throw new BlobSourceError(`the upload could not be read: ${(err as Error)?.message ?? String(err)}`, { cause: err });
            });
            if (done) break;
            size += value.byteLength;
            // Refused as soon as the bound is crossed, not after the rest has been written.
            if (size > maxBytes) throw new BlobTooLargeError(maxBytes);
            for (const h of Object.values(hashes)) h.update(value);
            // Awaiting each write is the backpressure: the next chunk is read only once this one is on disk.
            await handle.write(value);
          }
          await handle.sync();
        } finally {
          await handle.close();
        }
        const sha256 = hashes.sha256.digest('hex');
        if (sha256 !== expectedSha256) throw new BlobDigestMismatchError(expectedSha256, sha256);
        await rename(tmpOf(blobKey), pathOf(blobKey)).catch((err: NodeJS.ErrnoException) => {
          // Its temporary file was removed while it was written: another process's start on the same
          // data dir removed what was queued, this upload's reservation with it. Nothing was kept.
          throw err.code === 'ENOENT' ? reservationGone(blobKey) : err;
        });
        return { name, size, md5: hashes.md5.digest('hex'), sha1: hashes.sha1.digest('hex'), sha256, sha512: hashes.sha512.digest('hex'), blobKey };
      } catch (err) {
        await reader.cancel().catch(() => undefined);
        await rm(tmpOf(blobKey), { force: true });
        throw err;
      } finally {
        reader.releaseLock();
      }
    },
    async open(blobKey) {
      let handle: FileHandle;
      try {
        handle = await open(pathOf(blobKey), 'r');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new BlobMissingError(`the bytes of blob ${blobKey} are not on disk`);
        throw err;
      }
      try {
        const { size } = await handle.stat();
        return { size, stream: Readable.toWeb(handle.createReadStream({ autoClose: true })) as ReadableStream<Uint8Array> };
      } catch (err) {
        await handle.close();
        throw err;
      }
    },
    async remove(blobKey) {
      // The temporary file too: an upload cut short by a crash leaves its bytes there.
      await rm(tmpOf(blobKey), { force: true });
      await rm(pathOf(blobKey), { force: true });
    },
  };
}
