/**
 * The embedded store with its writes on a thread of their own (writer-thread.ts): reads run here, on
 * this thread's connection, where they cost no more than a message would; every write crosses to the
 * writer, which groups them into commits and answers once they are durable. The event loop then
 * spends nothing on the writes' SQL or on the COMMIT's fsync, which before this blocked every request
 * in flight for as long as the disk took.
 *
 * The writer is one connection for every write (as the group committer needs), so no write here ever
 * waits on a lock with the event loop blocked. If the writer dies, every write fails closed (503) and
 * readiness says so: nothing is acknowledged that is not committed.
 */
import { Worker } from 'node:worker_threads';
import { ServiceUnavailableError } from '../../errors.ts';
import type { AuditRecordInput } from '../../audit/audit-record.ts';
import { systemClock } from '../../clock.ts';
import { workerEntry } from '../../package-root.ts';
import type { PackageDeleteResult, Store, VersionCommit, VersionCommitResult } from '../store.ts';
import { DEFAULT_GROUP_COMMIT, type GroupCommitOptions } from './group-commit.ts';
import { answeringUnavailable } from '../answering-unavailable.ts';
import { openSqliteConnection } from './sqlite-store.ts';
import { sqliteUnavailableAs } from './sqlite-unavailable.ts';
import { TurnSnapshot } from './turn-snapshot.ts';
import { encodeWrites, reviveError, type FlatError, type WriteRequest, type WriterInit, type WriterMessage } from './writer-protocol.ts';

/** Answered on this thread's connection. */
const READS = [
  'readSyncJob',
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
  'listAllRepositories',
  'pendingBlobDeletions',
  'readPackageRecord',
  'listPackages',
  'describeDomain',
  'listDomainPage',
  'describeRepository',
  'listRepositoryPage',
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
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

export async function openThreadedSqliteStore({ file, groupCommit = DEFAULT_GROUP_COMMIT }: ThreadedStoreOptions): Promise<Store> {
  // Opened (and migrated) here first: the writer opens a database whose schema is current.
  // The reader makes no group commits (the writer does), so its sorts may spill to disk as usual.
  const { store: reader, sqlite: readerConnection } = openSqliteConnection({ file, clock: systemClock, groupCommit, memoryTempStore: false });
  // This thread's reads of one turn share a read transaction; the writer's answers end it first.
  const snapshot = new TurnSnapshot(readerConnection);
  const init: WriterInit = { file, maxBatch: groupCommit.maxBatch, maxQueued: groupCommit.maxQueued };
  const worker = new Worker(workerEntry(import.meta.url, './writer-thread-boot.mjs', 'writer-thread'), {
    workerData: { versiongateWriter: init },
    // Nothing from the parent's command line (V8 flags are process-wide, see reload-worker-boot.mjs).
    execArgv: [],
  });
  const pending = new Map<number, Pending>();
  let nextId = 1;
  let failure: Error | undefined;
  let closing: Promise<void> | undefined;

  const fail = (err: Error) => {
    failure ??= err;
    for (const p of pending.values()) p.reject(new ServiceUnavailableError(`The store's writer stopped (${failure.message}); the write was not made.`));
    pending.clear();
  };
  // Each write leaves for the writer as soon as the job that made it has run (writes made together
  // still travel together), not at the end of the turn: a turn can hold a burst of requests, and a
  // write held for the rest of it kept the writer idle, or its next batch short, while this thread
  // worked through them. The writer commits together every write that arrived during its last commit.
  let outbox: WriteRequest[] = [];
  const post = () => {
    const requests = outbox;
    outbox = [];
    if (!failure) worker.postMessage(encodeWrites(requests));
  };
  worker.on('message', (m: WriterMessage & { closeError?: FlatError }) => {
    snapshot.end();
    for (const a of m.answers) {
      const p = pending.get(a.id);
      if (!p) continue;
      pending.delete(a.id);
      if (a.ok) p.resolve(a.value);
      else p.reject(reviveError(a.error!));
    }
    for (const size of m.commits) groupCommit.onCommit?.(size, 0);
  });
  worker.on('error', (err) => fail(err));
  worker.on('exit', (code) => fail(new Error(closing ? 'the store is closed' : `the writer thread exited with status ${code}`)));
  // The writer is ready once it answers: a database it cannot open fails the start, not the first request.
  await new Promise<void>((resolve, reject) => {
    pending.set(0, { resolve: () => resolve(), reject });
    worker.postMessage([{ id: 0, method: 'ping', args: [] }] satisfies WriteRequest[]);
  }).catch(async (err: unknown) => {
    await reader.close();
    throw err;
  });

  const send = <T>(method: string, args: unknown[]): Promise<T> => {
    if (failure) return Promise.reject(new ServiceUnavailableError(`The store's writer stopped (${failure.message}); the write was not made.`));
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
      return read(...args);
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
    await reader.ping();
  };
  store.close = async () => {
    closing ??= (async () => {
      if (outbox.length > 0) post();
      if (!failure) {
        const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
        worker.postMessage('close');
        await exited;
      }
      snapshot.end();
      await reader.close();
    })();
    return closing;
  };
  // The writer's refusals crossed as SqliteErrors, as the reader's are thrown.
  return answeringUnavailable(store as unknown as Store, sqliteUnavailableAs);
}
