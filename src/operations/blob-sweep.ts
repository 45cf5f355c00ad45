/**
 * Bytes whose removal a crash interrupted, and uploads that never committed, are queued in
 * blob_deletions. A start removes what is queued; on PostgreSQL it leaves those younger than the
 * grace (another replica may be uploading under a fresh reservation), and a fleet that seldom
 * restarts would keep them for good. So a running gateway also sweeps, every interval, what has
 * waited longer than the grace: an orphan's bytes are gone within the grace plus one interval.
 */
import type { Clock } from '../clock.ts';
import { BLOB_GRACE_MS } from '../store/store.ts';
import { removeBlobs } from './change-versions.ts';
import type { OperationDeps } from './deps.ts';

export const BLOB_SWEEP_INTERVAL_MS = 10 * 60_000;

export interface BlobSweepDeps extends Pick<OperationDeps, 'store' | 'blobs' | 'logger'> {
  clock: Clock;
}

export interface BlobSweep {
  /** Removes what has waited past the grace now; resolves with how many keys it found. */
  sweep(): Promise<number>;
  /** No more sweeps; resolves once one under way has finished (the store may close then). */
  stop(): Promise<void>;
}

export function startBlobSweep(deps: BlobSweepDeps, o: { intervalMs?: number; graceMs?: number } = {}): BlobSweep {
  const graceMs = o.graceMs ?? BLOB_GRACE_MS;
  let running: Promise<number> | undefined;
  const sweep = () =>
    (running ??= (async () => {
      try {
        const keys = await deps.store.pendingBlobDeletions(new Date(deps.clock.now().getTime() - graceMs).toISOString());
        await removeBlobs(deps, keys);
        if (keys.length > 0) deps.logger.info('removed orphaned asset bytes', { blobs: keys.length });
        return keys.length;
      } finally {
        running = undefined;
      }
    })());
  // Unreferenced: the sweep never keeps a process alive. A failed sweep is tried again next time.
  const timer = setInterval(() => void sweep().catch((err: unknown) => deps.logger.warn('could not sweep orphaned asset bytes; trying again later', { err })), o.intervalMs ?? BLOB_SWEEP_INTERVAL_MS);
  timer.unref();
  return {
    sweep,
    stop: async () => {
      clearInterval(timer);
      await running?.catch(() => undefined);
    },
  };
}
