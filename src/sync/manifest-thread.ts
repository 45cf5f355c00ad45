/**
 * Reads manifests into metadata on a worker thread (manifest-worker.ts), never on the event loop: a
 * manifest is a publisher's upload of up to 4 MiB, and parsing a hostile one took ~2–4 s, during
 * which the gateway answered nothing, /healthz included. One thread per sync pool, started on first
 * use and kept; it reads one manifest at a time (a pool runs two syncs at once by default, and most
 * of a sync is hashing). While it has nothing to do it does not keep the process alive.
 *
 * A manifest the thread has not read within the timeout (MANIFEST_TIMEOUT_MS) fails its sync, and the
 * thread is stopped and started again for the next: no real manifest takes a fraction of that. The
 * clock starts when the thread has the manifest, not while it starts. A thread that crashes or
 * cannot start is the gateway's fault, not the version's: that attempt fails as an internal error
 * and is tried again.
 */
import { Worker } from 'node:worker_threads';
import { workerEntry } from '../package-root.ts';
import type { PackageKey, VersionMetadata } from '../store/store.ts';
import { ManifestError, type ManifestRead } from './metadata.ts';

/** How long one manifest may take to read; a 4 MiB pom built to be slow takes a few seconds. */
export const MANIFEST_TIMEOUT_MS = 30_000;

/** How long the thread may take to start (it loads the XML parser; from the sources, tsx too). */
const START_TIMEOUT_MS = 60_000;

export interface ManifestJob {
  id: number;
  key: PackageKey;
  version: string;
  reads: ManifestRead[];
}

/** The thread's first message says it is ready; then one answer per job. */
export type ManifestAnswer = { ready: true } | ({ id: number } & ({ metadata: VersionMetadata } | { manifestError: string } | { error: string }));

export interface ManifestThread {
  /** The metadata of a version's manifests; ManifestError when they cannot be read (the version's fault). */
  extract(key: PackageKey, version: string, reads: ManifestRead[]): Promise<VersionMetadata>;
  /** Stops the thread; a later extract starts another. */
  close(): Promise<void>;
}

interface Pending {
  resolve: (m: VersionMetadata) => void;
  reject: (err: Error) => void;
  timer?: NodeJS.Timeout;
}

interface Running {
  worker: Worker;
  /** Resolves when the thread has loaded and can take manifests; rejects if it cannot. */
  ready: Promise<void>;
}

export function createManifestThread(timeoutMs = MANIFEST_TIMEOUT_MS): ManifestThread {
  let running: Running | undefined;
  const pending = new Map<number, Pending>();
  let nextId = 1;

  const settle = (id: number, outcome: (p: Pending) => void) => {
    const p = pending.get(id);
    if (!p) return;
    pending.delete(id);
    clearTimeout(p.timer);
    outcome(p);
    // Idle, the thread must not keep a command (or a test run) from exiting.
    if (pending.size === 0) running?.worker.unref();
  };

  /** Ends the thread and fails what it still had with `err`. */
  const stop = async (err: Error) => {
    const r = running;
    running = undefined;
    for (const id of [...pending.keys()]) settle(id, (p) => p.reject(err));
    await r?.worker.terminate();
  };

  const start = (): Running => {
    const worker = new Worker(workerEntry(import.meta.url, './manifest-worker-boot.mjs', 'manifest-worker'), { execArgv: [] });
    let started: () => void;
    let failed: (err: Error) => void;
    const ready = new Promise<void>((resolve, reject) => {
      started = resolve;
      failed = reject;
    });
    ready.catch(() => undefined);
    const startTimer = setTimeout(() => failed(new Error(`the manifest worker did not start within ${START_TIMEOUT_MS / 1000} s`)), START_TIMEOUT_MS);
    const gone = (err: Error) => {
      clearTimeout(startTimer);
      failed(err);
      if (running?.worker === worker) void stop(err);
    };
    worker.on('message', (a: ManifestAnswer) => {
      if ('ready' in a) {
        clearTimeout(startTimer);
        started();
        return;
      }
      settle(a.id, (p) => ('metadata' in a ? p.resolve(a.metadata) : p.reject('manifestError' in a ? new ManifestError(a.manifestError) : new Error(`the manifest worker failed: ${a.error}`))));
    });
    worker.on('error', (err) => gone(new Error(`the manifest worker failed: ${err.message}`)));
    worker.on('exit', (code) => gone(new Error(`the manifest worker exited (code ${code})`)));
    return { worker, ready };
  };

  const send = (r: Running, job: ManifestJob) => {
    const p = pending.get(job.id);
    if (!p || running !== r) return;
    p.timer = setTimeout(() => {
      // The thread may be stuck in this manifest: stop it (failing whatever else it held, as an
      // internal error those syncs try again) and start afresh for the next.
      settle(job.id, (q) => q.reject(new ManifestError(`Its manifest could not be read within ${timeoutMs / 1000} s, the most a sync gives it.`)));
      void stop(new Error('the manifest worker was restarted: another manifest took too long'));
    }, timeoutMs);
    r.worker.postMessage(job);
  };

  return {
    extract(key, version, reads) {
      return new Promise<VersionMetadata>((resolve, reject) => {
        const job: ManifestJob = { id: nextId++, key, version, reads };
        pending.set(job.id, { resolve, reject });
        try {
          const r = (running ??= start());
          r.worker.ref();
          r.ready.then(
            () => send(r, job),
            (err: Error) => settle(job.id, (p) => p.reject(new Error(`the manifest worker could not start: ${err.message}`))),
          );
        } catch (err) {
          settle(job.id, (p) => p.reject(new Error(`the manifest worker could not start: ${(err as Error).message}`)));
        }
      });
    },
    close: () => stop(new Error('the manifest worker was stopped')),
  };
}
