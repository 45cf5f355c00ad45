/** The flags of `versiongate resync` (the Cloudsmith CLI's), apart so that `versiongate help` lists them without loading the command. */
import type { FlagSpec } from './client/args.ts';

export const RESYNC_FLAGS: readonly FlagSpec[] = [
  { name: 'wait', type: 'boolean', help: 'Wait for each sync to complete or fail (the default); --no-wait returns as soon as the resync is scheduled.' },
  // The Cloudsmith CLI's spelling, so that its commands work unchanged.
  { name: 'wait-for-sync', type: 'boolean', hidden: true, help: 'The same as --wait.' },
  { name: 'wait-interval', type: 'string', help: 'Seconds between two status polls; fractions are accepted. Default 5.' },
  { name: 'sync-attempts', type: 'integer', help: 'How many syncs to try, the first included, before giving up on a version whose sync fails. Default 3.' },
];
