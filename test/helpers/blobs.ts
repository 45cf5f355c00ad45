/** Whether a blob store still holds a key's bytes (a file on disk, or rows in PostgreSQL). */
import { BlobMissingError, type BlobStore } from '../../src/store/blob-store.ts';

export async function blobHeld(blobs: BlobStore, key: string): Promise<boolean> {
  try {
    await (await blobs.open(key)).stream.cancel();
    return true;
  } catch (err) {
    if (err instanceof BlobMissingError) return false;
    throw err;
  }
}
