import { randomFillSync } from 'node:crypto';

const REVISION_BYTES = 32;
/**
 * Random bytes are drawn 128 revisions at a time: randomBytes(32) per change was a crypto call (and
 * a buffer) on every request's path. The pool is filled from the same CSPRNG, and each slice of it
 * is handed out once, so revisions stay as unpredictable as before.
 */
const pool = Buffer.alloc(REVISION_BYTES * 128);
let next = pool.length;

/** A new version revision: 32 random bytes in base64, the shape CodeArtifact's revisions have. */
export function newRevision(): string {
  if (next === pool.length) {
    randomFillSync(pool);
    next = 0;
  }
  const revision = pool.toString('base64', next, next + REVISION_BYTES);
  next += REVISION_BYTES;
  return revision;
}
