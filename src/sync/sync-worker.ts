/**
 * The sync worker pool: up to `concurrency` jobs at once, each claimed from the database (so jobs
 * survive restarts and several instances sharing a database never take the same one). A failed
 * attempt is retried with exponential backoff until `maxAttempts`; then the job is failed with
 * its reason. stop() is the safe point: no new job is claimed, and the jobs running finish.
 */
import type { Clock } from '../clock.ts';
import type { Logger } from '../log.ts';
import { syncRecord } from '../audit/build-record.ts';
import { newRevision } from '../registry/revision.ts';
import { packageArn } from '../resource/package-arn.ts';
import { ServiceUnavailableError } from '../errors.ts';
import type { BlobStore } from '../store/blob-store.ts';
import type { ClaimedSyncJob, Store } from '../store/store.ts';
import { createManifestThread } from './manifest-thread.ts';
import { SyncFailure, syncVersion } from './sync-version.ts';

export interface SyncSettings {
  /** Jobs run at once. */
  concurrency: number;
  /** Attempts before a job is failed for good. */
  maxAttempts: number;
  /** The wait before the second attempt; doubled for each one after. */
  retryBaseMs: number;
  /** How often an idle worker looks for due jobs. */
  pollMs: number;
  /** The first pause before recording a result again while the database is unavailable (doubled up to 30 s); 1 s unless set (tests shorten it). */
  outagePauseMs?: number | undefined;
}

/** The longest pause between tries at recording a result while the database is unavailable. */
const MAX_OUTAGE_PAUSE_MS = 30_000;

export const DEFAULT_SYNC_SETTINGS: SyncSettings = { concurrency: 2, maxAttempts: 3, retryBaseMs: 5000, pollMs: 1000 };

export interface SyncWorker {
  /** Claims and runs one due job; false when none was due. Tests drive the worker with this. */
  runOnce(): Promise<boolean>;
  /** Puts jobs left in_progress back to awaiting, then starts the pool. */
  start(): Promise<void>;
  /**
   * Wakes the idle workers: a job was just scheduled in this process, so it starts now rather than
   * at the next poll. (Jobs scheduled by another instance sharing the database wait for the poll.)
   */
  nudge(): void;
  /** Claims nothing more and resolves when the jobs running have finished. */
  stop(): Promise<void>;
}

export interface SyncWorkerDeps {
  /** The region in the ARNs of the audit records syncs write. */
  region?: string;
  store: Store;
  blobs: BlobStore;
  clock: Clock;
  log: Logger;
  settings: SyncSettings;
}

export function createSyncWorker({ store, blobs, clock, log, settings, region = 'us-east-1' }: SyncWorkerDeps): SyncWorker {
  let stopping = false;
  const loops: Promise<void>[] = [];
  let wake: Array<() => void> = [];
  const manifests = createManifestThread();

  /**
   * Records a claimed job's result, trying again while the database is unavailable (a 503 from the
   * store: PostgreSQL restarting, the SQLite file locked by another process). A result given up on
   * would leave the job in progress until a restart recovers it (or, on PostgreSQL, its lease runs
   * out), with its version's sync neither done nor failed. Both records are safe to make twice: a
   * claim already settled is superseded and writes nothing. stop() ends the tries: the job is then
   * recovered at the next start.
   */
  const recordResult = async <T>(what: string, job: ClaimedSyncJob, write: () => Promise<T>): Promise<T> => {
    let pauseMs = settings.outagePauseMs ?? 1000;
    for (;;) {
      try {
        return await write();
      } catch (err) {
        if (!(err instanceof ServiceUnavailableError) || stopping) throw err;
        log.warn(`sync: the ${what} could not be recorded; trying again`, { syncJob: job.id, version: job.version, err: err.message, retryInMs: pauseMs });
        await sleep(pauseMs);
        pauseMs = Math.min(pauseMs * 2, MAX_OUTAGE_PAUSE_MS);
      }
    }
  };

  const runOnce = async (): Promise<boolean> => {
    const job = await store.claimSyncJob();
    if (!job) return false;
    try {
      const metadata = await syncVersion(job, blobs, (p) => store.setSyncProgress(job, p), manifests);
      const audit = syncRecord({ clock, resource: packageArn({ region, ...job.key }), version: job.version, jobId: job.id, attempt: job.attempts });
      const revision = newRevision();
      const outcome = await recordResult('completed sync', job, () => store.completeSync(job, metadata, revision, audit));
      log.info(outcome === 'completed' ? 'sync completed' : 'sync superseded', { syncJob: job.id, version: job.version, package: job.key.name });
    } catch (err) {
      await failAttempt(job, err);
    }
    return true;
  };

  const failAttempt = async (job: ClaimedSyncJob, err: unknown): Promise<void> => {
    // A SyncFailure is written for people; anything else (a file system or database error) may
    // carry paths and internals, so it goes to the log and the status says only what happened.
    // An outage (the database unavailable, the disk refusing, the process out of files) is nobody's
    // fault but its own: it never fails a sync for good. Its status says which outage it was, in the
    // words an API client gets (without their advice to try again: the sync does that itself).
    const outage = err instanceof ServiceUnavailableError;
    const reason = err instanceof SyncFailure ? err.message : outage ? outageReason(err) : 'The sync could not run because of an internal error (see the server log).';
    // An outage is said by the warning below (and by the pool's once); anything else is the gateway's fault.
    if (!(err instanceof SyncFailure) && !outage) log.error('sync attempt could not run', { syncJob: job.id, version: job.version, err: (err as Error).message });
    const retry = outage || job.attempts < settings.maxAttempts;
    // Attempts past maxAttempts (outages only) wait as long as the last regular one.
    const retryAt = retry ? new Date(clock.now().getTime() + settings.retryBaseMs * 2 ** (Math.min(job.attempts, settings.maxAttempts) - 1)).toISOString() : null;
    await recordResult('failed attempt', job, () => store.failSyncAttempt(job, reason, retryAt));
    log.warn('sync attempt failed', { syncJob: job.id, version: job.version, package: job.key.name, attempt: job.attempts, reason, retryAt, ...(outage ? { err: err.message } : {}) });
  };

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wake = wake.filter((w) => w !== done);
        resolve();
      }
      wake.push(done);
    });

  const loop = async () => {
    /** The pause between claims while the database is unavailable; 0 while it answers. */
    let outagePauseMs = 0;
    while (!stopping) {
      let worked = false;
      try {
        worked = await runOnce();
        if (outagePauseMs > 0) log.info('sync worker: the database answers again');
        outagePauseMs = 0;
      } catch (err) {
        if (err instanceof ServiceUnavailableError) {
          // An outage (a restart, a failover, the SQLite file locked by another process): said once,
          // not at every poll, and polled less often (doubling to 30 s) until the database answers.
          if (outagePauseMs === 0) log.warn('sync worker: the database is unavailable; looking for jobs less often until it answers', { err: err.message });
          outagePauseMs = Math.min(Math.max(settings.pollMs, outagePauseMs * 2), MAX_OUTAGE_PAUSE_MS);
          await sleep(outagePauseMs);
          continue;
        }
        log.error('sync worker: a job could not be claimed or recorded', { err: (err as Error).message });
      }
      if (!worked && !stopping) await sleep(settings.pollMs);
    }
  };

  return {
    runOnce,
    async start() {
      const recovered = await store.recoverSyncJobs();
      if (recovered > 0) log.info('sync jobs interrupted by the last stop are awaiting again', { recovered });
      for (let i = 0; i < settings.concurrency; i++) loops.push(loop());
    },
    nudge() {
      for (const w of [...wake]) w();
    },
    async stop() {
      stopping = true;
      for (const w of [...wake]) w();
      await Promise.all(loops);
      await manifests.close();
    },
  };
}

/**
 * The end of a 503's message that tells an API client what to do ("…: nothing was done; try again
 * shortly."): the sync retries by itself, so its status keeps only what the outage was.
 */
const CLIENT_ADVICE = /[:;.]\s+(?:(?:nothing|the write)\b[^;:.]*;\s*)?try again[^:]*$/i;

/** A sync job's status after an outage cut its attempt short: what the outage was, and that it is tried again. */
export function outageReason(err: ServiceUnavailableError): string {
  const outage = err.message.replace(CLIENT_ADVICE, '').replace(/\.$/, '');
  return `The sync could not run, and is tried again: ${outage.charAt(0).toLowerCase()}${outage.slice(1)}.`;
}
