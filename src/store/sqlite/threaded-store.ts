/**
 * The embedded store with its writes on a thread of their own (writer-thread.ts): reads run here, on
 * this thread's connection, where they cost no more than a message would; every write crosses to the
 * writer, which groups them into commits and answers once they are durable. The event loop then
 * spends nothing on the writes' SQL or on the COMMIT's fsync, which before this blocked every request
 * in flight for as long as the disk took.
 *
 * The writer is one connection for every write (as the group committer needs), so no write here ever
 * waits on a lock with the event loop blocked. If the writer dies, another takes its place (see lost()
 * below); nothing is ever acknowledged that is not committed.
 */
import { Worker } from 'node:worker_threads';
import { ServiceUnavailableError, WriteOutcomeUnknownError } from '../../errors.ts';
import type { AuditRecordInput } from '../../audit/audit-record.ts';
import { systemClock } from '../../clock.ts';
import { workerEntry } from '../../package-root.ts';
import type { PackageDeleteResult, Store, VersionCommit, VersionCommitResult } from '../store.ts';
import { DEFAULT_GROUP_COMMIT, type GroupCommitOptions } from './group-commit.ts';
import { openSqliteConnection } from './sqlite-store.ts';
import { profilerFlags } from './profiler-flags.ts';
import { sqliteUnavailableAs } from './sqlite-unavailable.ts';
import { TurnSnapshot } from './turn-snapshot.ts';
import { encodeWrites, reviveError, type FlatError, type WriteRequest, type WriterInit, type WriterMessage } from './writer-protocol.ts';

/** Answered on this thread's connection. */
const READS = [
  'readSyncJob',
  'readSyncJobs',
  'countSyncJobs',
  'readVersionMetadata',
  'listDomains',
  'listRepositories',
  'domainOwners',
  'readPackage',
  'readVersion',
  'resolveIdentifier',
  'listVersions',
  'listAssets',
  'listAudit',
  'readAuditRange',
  'readAuditChain',
  'auditHead',
  'auditedArns',
  'strayAuditVersion',
  'listAllRepositories',
  'pendingBlobDeletions',
  'readPackageRecord',
  'listPackages',
  'describeDomain',
  'listDomainPage',
  'describeRepository',
  'listRepositoryPage',
  'readVersionStates',
] as const satisfies ReadonlyArray<keyof Store>;

/**
 * Writes that carry their request's deadline (`expired`, functions that cannot cross to the writer):
 * how each says it expired, and what it answers when it did.
 */
const DEADLINED = {
  commitVersionChanges: {
    isExpired: (r: VersionCommitResult) => !r.ok && r.reason === 'expired',
    expired: (auditSeq: number | undefined): VersionCommitResult => ({ ok: false, reason: 'expired', ...(auditSeq === undefined ? {} : { auditSeq }) }),
  },
  commitVersionCopies: {
    isExpired: (r: VersionCommitResult) => !r.ok && r.reason === 'expired',
    expired: (auditSeq: number | undefined): VersionCommitResult => ({ ok: false, reason: 'expired', ...(auditSeq === undefined ? {} : { auditSeq }) }),
  },
  putPackageOrigin: {
    isExpired: (r: 'ok' | 'expired') => r === 'expired',
    expired: (): 'ok' | 'expired' => 'expired',
  },
  deletePackage: {
    isExpired: (r: PackageDeleteResult) => !r.ok && r.reason === 'expired',
    expired: (): PackageDeleteResult => ({ ok: false, reason: 'expired' }),
  },
} satisfies { [M in keyof Store]?: { isExpired(result: Awaited<ReturnType<Store[M]>>): boolean; expired(auditSeq: number | undefined): Awaited<ReturnType<Store[M]>> } };

/** Made by the writer thread. */
const WRITES = [
  'scheduleSync',
  'claimSyncJob',
  'setSyncProgress',
  'completeSync',
  'failSyncAttempt',
  'recoverSyncJobs',
  'createDomain',
  'createRepository',
  'addVersion',
  'reserveBlob',
  'ensureSecret',
  'appendAudit',
  'appendAuditBatch',
  'forgetBlobDeletions',
  'applyTenancyChange',
] as const satisfies ReadonlyArray<keyof Store>;

// Every method of Store is a read, a write, or handled below: a method added to Store and to neither
// list is a compile error here, not a write that silently runs on the wrong connection.
type Unplaced = Exclude<keyof Store, (typeof READS)[number] | (typeof WRITES)[number] | keyof typeof DEADLINED | 'ping' | 'close'>;
const everyMethodPlaced: [Unplaced] extends [never] ? true : Unplaced = true;
void everyMethodPlaced;

export interface ThreadedStoreOptions {
  file: string;
  groupCommit?: GroupCommitOptions | undefined;
  /** Told when a writer thread stopped while the store was open: whether another replaces it, or the store gave up (the server logs it). */
  onWriterLost?: ((err: Error, replaced: boolean) => void) | undefined;
  /** Each writer thread as it starts (tests end one, to show what the store does when one dies). */
  onWriter?: ((worker: Worker) => void) | undefined;
}

/** Writers that may die within WRITER_DEATH_WINDOW_MS and be replaced; one more, and the store refuses every write. */
const WRITER_DEATHS_ALLOWED = 3;
const WRITER_DEATH_WINDOW_MS = 60_000;

interface Pending {
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

export async function openThreadedSqliteStore({ file, groupCommit = DEFAULT_GROUP_COMMIT, onWriterLost, onWriter }: ThreadedStoreOptions): Promise<Store> {
  // Opened (and migrated) here first: the writer opens a database whose schema is current.
  // The reader makes no group commits (the writer does), so its sorts may spill to disk as usual.
  const { store: reader, sqlite: readerConnection } = openSqliteConnection({ file, clock: systemClock, groupCommit, memoryTempStore: false });
  // This thread's reads of one turn share a read transaction; the writer's answers end it first.
  const snapshot = new TurnSnapshot(readerConnection);
  const init: WriterInit = { file, maxBatch: groupCommit.maxBatch, maxQueued: groupCommit.maxQueued };
  const pending = new Map<number, Pending>();
  let nextId = 1;
  /** The writer whose messages count: the one starting or running (undefined while none is). */
  let current: Worker | undefined;
  /** Whether `current` has answered its ping: until then, writes wait in the outbox. */
  let ready = false;
  /** Whether the first writer answered: until then a writer's death fails the start rather than being outlived. */
  let started = false;
  /** Set when the store gave up on writers: every write is refused. */
  let failure: Error | undefined;
  let replacing: Promise<void> | undefined;
  let closing: Promise<void> | undefined;
  /** When writers died (performance.now()), the last WRITER_DEATH_WINDOW_MS of them. */
  let deaths: number[] = [];

  // Each write leaves for the writer as soon as the job that made it has run (writes made together
  // still travel together), not at the end of the turn: a turn can hold a burst of requests, and a
  // write held for the rest of it kept the writer idle, or its next batch short, while this thread
  // worked through them. The writer commits together every write that arrived during its last commit.
  let outbox: WriteRequest[] = [];
  const post = () => {
    if (!ready || outbox.length === 0) return;
    const requests = outbox;
    outbox = [];
    current!.postMessage(encodeWrites(requests));
  };

  // Clients are told what became of the write, never why the writer stopped (a crash's message may
  // name files and internals): onWriterLost puts that in the log.
  const notMade = () => new ServiceUnavailableError(closing ? 'The store is closed; the write was not made.' : "The store's writer stopped; the write was not made.");
  /** Refuses every write, now and from now on. */
  const giveUp = (err: Error) => {
    failure ??= err;
    for (const p of pending.values()) p.reject(notMade());
    pending.clear();
    outbox = [];
  };

  /**
   * A writer that stopped while the store was open (a crash: a bug, memory). The writes it had been
   * sent may have committed before it stopped, and nothing can tell this thread which did: they are
   * answered so (503, read before trying again), never "not made". The writes it had not been sent
   * wait for the writer that replaces it, as SQLite has rolled back whatever the dead one left open.
   * Writers that die again and again have a cause a new one would not escape: past
   * WRITER_DEATHS_ALLOWED in a minute the store gives up, refusing every write, and /readyz says so.
   */
  const lost = (worker: Worker, err: Error) => {
    if (worker !== current) return; // its 'error' came first, or it was already replaced
    current = undefined;
    ready = false;
    if (closing) return giveUp(new Error('the store is closed'));
    // The first writer failing fails the start: a database it cannot open is no crash to outlive.
    if (!started) return giveUp(err);
    const unsent = new Set(outbox.map((r) => r.id));
    for (const [id, p] of pending) {
      if (unsent.has(id)) continue;
      pending.delete(id);
      p.reject(new WriteOutcomeUnknownError("The store's writer stopped while the write was being made: whether it was made could not be checked; read it before trying again."));
    }
    const now = performance.now();
    deaths = [...deaths.filter((t) => now - t < WRITER_DEATH_WINDOW_MS), now];
    if (deaths.length > WRITER_DEATHS_ALLOWED) {
      onWriterLost?.(err, false);
      return giveUp(err);
    }
    onWriterLost?.(err, true);
    replacing = startWriter();
  };

  /** Starts a writer; resolves once it has answered (a database it cannot open fails here, not at the first write). */
  const startWriter = (): Promise<void> => {
    const worker = new Worker(workerEntry(import.meta.url, './writer-thread-boot.mjs', 'writer-thread'), {
      workerData: { versiongateWriter: init },
      // Nothing from the parent's command line (V8 flags are process-wide, see reload-worker-boot.mjs)
      // but `--cpu-prof…`, so that a profiled server (`node --cpu-prof`, bench:profile) profiles its
      // writes too: the thread writes a profile of its own when it ends.
      execArgv: profilerFlags(process.execArgv),
    });
    current = worker;
    onWriter?.(worker);
    worker.on('message', (m: WriterMessage & { closeError?: FlatError }) => {
      snapshot.end();
      for (const a of m.answers) {
        const p = pending.get(a.id);
        if (!p) continue;
        pending.delete(a.id);
        if (a.ok) p.resolve(a.value);
        else {
          // SQLite's refusals (a lock another process holds, a full disk) crossed as SqliteErrors.
          const err = reviveError(a.error!);
          p.reject(sqliteUnavailableAs(err) ?? err);
        }
      }
      for (const size of m.commits) groupCommit.onCommit?.(size, 0);
    });
    worker.on('error', (err) => lost(worker, err));
    worker.on('exit', (code) => lost(worker, new Error(`the writer thread exited with status ${code}`)));
    const id = nextId++;
    return new Promise<void>((resolve, reject) => {
      pending.set(id, { resolve: () => resolve(), reject });
      worker.postMessage([{ id, method: 'ping', args: [] }] satisfies WriteRequest[]);
    }).then(
      () => {
        if (current !== worker) return;
        ready = true;
        post();
      },
      (err: Error) => {
        // A writer that died before it answered was handled as it died (lost()); one that answered
        // its ping with an error cannot write either.
        if (current !== worker) return;
        giveUp(err);
        void worker.terminate();
      },
    );
  };

  await startWriter();
  if (failure) {
    await reader.close();
    throw failure;
  }
  started = true;

  const send = <T>(method: string, args: unknown[]): Promise<T> => {
    if (failure) return Promise.reject(notMade());
    const id = nextId++;
    return new Promise<T>((resolve, reject) => {
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      if (outbox.push({ id, method, args }) === 1) queueMicrotask(post);
    });
  };

  const store: Record<string, unknown> = {};
  for (const m of READS) {
    const read = (reader[m] as (...a: unknown[]) => unknown).bind(reader);
    // async: a read of a closed store rejects, as every read does, rather than throwing.
    store[m] = async (...args: unknown[]) => {
      snapshot.enter();
      try {
        return await read(...args);
      } catch (err) {
        throw sqliteUnavailableAs(err) ?? err;
      }
    };
  }
  for (const m of WRITES) store[m] = (...args: unknown[]) => send(m, args);

  /**
   * The deadline crosses as an instant; the timeout's record is built here only when the write
   * expired (most never do) and appended on its own: it changes nothing, it only says so.
   */
  for (const [method, how] of Object.entries(DEADLINED) as Array<[string, { isExpired(r: unknown): boolean; expired(auditSeq: number | undefined): unknown }]>) {
    store[method] = async (c: { expired?: VersionCommit['expired'] }): Promise<unknown> => {
      const { expired, ...commit } = c;
      const expiredResult = async () => {
        const record: AuditRecordInput | undefined = expired?.audit?.();
        return how.expired(record ? await send<number>('appendAudit', [record]) : undefined);
      };
      if (expired?.check()) return expiredResult();
      const deadlineAt = expired ? performance.timeOrigin + performance.now() + expired.remainingMs() : undefined;
      const result = await send(method, [{ ...commit, ...(deadlineAt === undefined ? {} : { deadlineAt }) }]);
      return how.isExpired(result) ? expiredResult() : result;
    };
  }
  store.ping = async () => {
    if (failure) throw new ServiceUnavailableError(`the store's writer stopped: ${failure.message}`);
    if (!ready) throw new ServiceUnavailableError("the store's writer is being replaced");
    await reader.ping();
  };
  store.close = async () => {
    closing ??= (async () => {
      await replacing;
      post();
      const worker = current;
      if (worker && !failure) {
        const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
        worker.postMessage('close');
        await exited;
      }
      giveUp(new Error('the store is closed'));
      snapshot.end();
      await reader.close();
    })();
    return closing;
  };
  return store as unknown as Store;
}
