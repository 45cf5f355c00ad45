/**
 * A version becomes available (downloadable) only once its synchronisation completes: until then
 * its assets have not been checked against their recorded hashes. A version with no sync job was
 * stored before synchronisation existed and stays available.
 */
import type { SyncState } from '../store/store.ts';

/** Why the version's assets cannot be served yet, or undefined when its sync allows it. */
export function syncUnavailable(state: SyncState | null, reason: string | null): string | undefined {
  switch (state) {
    case null:
    case 'completed':
      return undefined;
    case 'awaiting':
      return 'it is awaiting synchronisation; it becomes available when its sync completes';
    case 'in_progress':
      return 'its synchronisation is in progress; it becomes available when its sync completes';
    case 'failed':
      return `its synchronisation failed${reason ? ` (${reason.replace(/\.$/, '')})` : ''}; repair the cause and resync it`;
  }
}
