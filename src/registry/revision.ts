import { randomBytes } from 'node:crypto';

/** A new version revision: 32 random bytes in base64, the shape CodeArtifact's revisions have. */
export function newRevision(): string {
  return randomBytes(32).toString('base64');
}
