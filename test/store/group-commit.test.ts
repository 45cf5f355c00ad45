/**
 * Group commit's semantics (not its speed): writes submitted in one turn of the event loop share one
 * transaction, each in its own savepoint; one write's failure is its own; nothing is acknowledged
 * before the COMMIT that holds it; a COMMIT that fails fails every write in it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { verifyChain } from '../../src/audit/verify-chain.ts';
import { systemClock } from '../../src/clock.ts';
import { seedDemo } from '../../src/cli/seed-demo.ts';
import { ConflictError, ServiceUnavailableError } from '../../src/errors.ts';
import { openBlobStore } from '../../src/store/blob-store.ts';
import { GroupCommitter, type GroupCommitOptions } from '../../src/store/sqlite/group-commit.ts';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { openThreadedSqliteStore } from '../../src/store/sqlite/threaded-store.ts';
import type { PackageKey, Store, VersionCommit } from '../../src/store/store.ts';
import { auditInput } from '../helpers/audit-input.ts';

const key: PackageKey = { domainOwner: '111122223333', domain: 'my_domain', repository: 'my_repo', format: 'npm', namespace: '', name: 'chalk' };

type Opener = (file: string, groupCommit: GroupCommitOptions) => Promise<Store>;
const stores: Array<[string, Opener]> = [
  ['in process', async (file, groupCommit) => openSqliteStore({ file, clock: systemClock, groupCommit })],
  ['on a writer thread', (file, groupCommit) => openThreadedSqliteStore({ file, groupCommit })],
];

describe.each(stores)('group commit in the SQLite store, %s', (_where, open) => {
  let dir: string;
  let store: Store;
  let batches: number[];
  /** The seed's own records (what it creates, each with its record): a test's records are those after. */
  let seeded: number;
  const recordsSinceSeed = () => store.readAuditRange(seeded, 100);
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vg-group-'));
    batches = [];
    store = await open(join(dir, 'db.sqlite'), { maxBatch: 64, maxQueued: 1000, onCommit: (n) => batches.push(n) });
    await seedDemo(store, openBlobStore(join(dir, 'blobs')));
    seeded = (await store.auditHead())!.seq;
    batches = [];
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A status change of one chalk version, guarded by `revision` (its current one unless given). */
  async function change(version: string, requestId: string, revision?: string): Promise<VersionCommit> {
    const snap = await store.readPackage(key, [version]);
    const v = snap.versions.get(version)!;
    const guard = revision ?? v.revision;
    return {
      packageId: snap.packageId!,
      guards: [{ version, revision: guard }],
      changes: [{ version, before: { status: v.status, revision: guard }, after: { status: 'Archived', revision: `${requestId}-rev` } }],
      disposeAssets: false,
      audit: auditInput({ requestId, request: { versions: [version] } }),
    };
  }

  it('commits a batch whose middle write fails its guard: the others commit, it does not, and the chain holds exactly theirs', async () => {
    const [a, b, c] = [await change('4.0.0', 'first'), await change('4.1.0', 'middle', 'a-revision-that-moved-on'), await change('4.1.1', 'last')];
    const results = await Promise.all([store.commitVersionChanges(a), store.commitVersionChanges(b), store.commitVersionChanges(c)]);

    expect(batches).toEqual([3]); // one transaction, one fsync
    expect(results[0]).toMatchObject({ ok: true });
    expect(results[1]).toEqual({ ok: false, reason: 'stale', staleVersions: ['4.1.0'] });
    expect(results[2]).toMatchObject({ ok: true });
    const state = (await store.readPackage(key, ['4.0.0', '4.1.0', '4.1.1'])).versions;
    expect(state.get('4.0.0')).toMatchObject({ status: 'Archived', revision: 'first-rev' });
    expect(state.get('4.1.0')!.status).toBe('Published');
    expect(state.get('4.1.1')).toMatchObject({ status: 'Archived', revision: 'last-rev' });

    const records = await recordsSinceSeed();
    expect(records.map((r) => r.requestId)).toEqual(['first', 'last']);
    expect(records[1]!.seq).toBe(records[0]!.seq + 1);
    expect(records[1]!.prevHash).toBe(records[0]!.hash);
    expect((await verifyChain(store)).ok).toBe(true);
  });

  it('isolates a write that throws: its own changes and record roll back, its neighbours commit', async () => {
    const good = await change('4.0.0', 'good');
    // A publish whose blob reservation is gone throws inside the store, after it has written its version row.
    const snap = await store.readPackage(key, []);
    const failing: VersionCommit = {
      packageId: snap.packageId,
      guards: [{ version: '9.9.9', revision: null }],
      changes: [],
      disposeAssets: false,
      publish: {
        key,
        version: '9.9.9',
        status: 'Published',
        revision: 'new',
        fresh: true,
        asset: { name: 'x.tgz', size: 1, md5: 'm', sha1: 's', sha256: 's2', sha512: 's5', blobKey: 'never-reserved' },
      },
      audit: auditInput({ requestId: 'failing' }),
    };
    const [ok, failed, read] = await Promise.allSettled([store.commitVersionChanges(good), store.commitVersionChanges(failing), store.appendAudit(auditInput({ requestId: 'read', outcome: 'read' }))]);
    expect(batches).toEqual([3]);
    expect(ok.status).toBe('fulfilled');
    expect(failed.status).toBe('rejected');
    expect((failed as PromiseRejectedResult).reason.message).toMatch(/reserved storage \(blob never-reserved\) was reclaimed/);
    expect(read.status).toBe('fulfilled');
    expect((await store.readPackage(key, ['9.9.9'])).versions.size).toBe(0);
    expect((await recordsSinceSeed()).map((r) => r.requestId)).toEqual(['good', 'read']);
    expect((await verifyChain(store)).ok).toBe(true);
  });

  it('answers nobody before the COMMIT: when a write is answered, its batch is durable and visible to any connection', async () => {
    const probe = new Database(join(dir, 'db.sqlite'), { readonly: true });
    try {
      const pending = store.appendAudit(auditInput({ requestId: 'queued' }));
      let settled = false;
      void pending.then(() => (settled = true));
      await Promise.resolve(); // microtasks run; an answer only ever comes back from the writer in a later turn
      expect(settled).toBe(false);
      // Read at the very moment the answer arrives, before anything else can run. (Whether the row is
      // visible before that is a race the writer may win: a write crosses to it at once.)
      const seenWhenAnswered = await pending.then((seq) => ({ seq, row: probe.prepare(`SELECT seq FROM audit_log WHERE request_id = 'queued'`).pluck().get() }));
      expect(seenWhenAnswered.row).toBe(seenWhenAnswered.seq);
    } finally {
      probe.close();
    }
  });

  it('a commit whose request ran out of time while it waited changes nothing and records the timeout', async () => {
    const late = await change('4.1.0', 'late');
    const result = await store.commitVersionChanges({ ...late, expired: { check: () => true, remainingMs: () => 0, audit: () => auditInput({ requestId: 'late', outcome: 'timeout', httpStatus: 503 }) } });
    expect(result).toEqual({ ok: false, reason: 'expired', auditSeq: expect.any(Number) });
    expect((await store.readPackage(key, ['4.1.0'])).versions.get('4.1.0')!.status).toBe('Published');
    const [record] = await store.listAudit({ limit: 1 });
    expect(record).toMatchObject({ requestId: 'late', outcome: 'timeout', httpStatus: 503 });
  });

  it('refuses a duplicate domain with the ConflictError callers turn into a 409, fields and all', async () => {
    const err = await store.createDomain('my_domain', '111122223333').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictError);
    expect(err).toMatchObject({ status: 409, type: 'ConflictException', resourceType: 'domain', resourceId: 'my_domain', message: expect.stringMatching(/already exists/) });
  });

  it('commits and answers a write submitted just before it closes', async () => {
    const pending = store.appendAudit(auditInput({ requestId: 'just-before-close' }));
    await store.close();
    const seq = await pending;
    store = await open(join(dir, 'db.sqlite'), { maxBatch: 64, maxQueued: 1000 });
    expect((await store.listAudit({ limit: 1 }))[0]).toMatchObject({ seq, requestId: 'just-before-close' });
  });

  it('refuses writes once closed, and has committed what it acknowledged', async () => {
    const seq = await store.appendAudit(auditInput({ requestId: 'before-close' }));
    await store.close();
    await expect(store.appendAudit(auditInput({ requestId: 'after-close' }))).rejects.toThrow(/closed/);
    store = await open(join(dir, 'db.sqlite'), { maxBatch: 64, maxQueued: 1000 });
    expect((await store.listAudit({ limit: 1 }))[0]).toMatchObject({ seq, requestId: 'before-close' });
  });
});

describe('the SQLite writer thread', () => {
  let dir: string;
  let store: Store;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vg-writer-'));
    store = await openThreadedSqliteStore({ file: join(dir, 'db.sqlite') });
    await seedDemo(store, openBlobStore(join(dir, 'blobs')));
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function change(version: string, requestId: string): Promise<VersionCommit> {
    const snap = await store.readPackage(key, [version]);
    const v = snap.versions.get(version)!;
    return {
      packageId: snap.packageId!,
      guards: [{ version, revision: v.revision }],
      changes: [{ version, before: { status: v.status, revision: v.revision }, after: { status: 'Archived', revision: `${requestId}-rev` } }],
      disposeAssets: false,
      audit: auditInput({ requestId, request: { versions: [version] } }),
    };
  }

  it('checks the deadline when the commit runs on the writer, not only when it was sent', async () => {
    const late = await change('4.1.0', 'late');
    // Not expired when sent, but no time left: the writer finds it expired when its batch runs.
    const result = await store.commitVersionChanges({ ...late, expired: { check: () => false, remainingMs: () => 0, audit: () => auditInput({ requestId: 'late', outcome: 'timeout', httpStatus: 503 }) } });
    expect(result).toEqual({ ok: false, reason: 'expired', auditSeq: expect.any(Number) });
    expect((await store.readPackage(key, ['4.1.0'])).versions.get('4.1.0')!.status).toBe('Published');
    expect((await store.listAudit({ limit: 1 }))[0]).toMatchObject({ requestId: 'late', outcome: 'timeout' });
    expect((await verifyChain(store)).ok).toBe(true);
  });

  it('hands a write to the writer at once, while this thread is still busy with its turn', async () => {
    const committed = store.appendAudit(auditInput({ requestId: 'not-held' }));
    await Promise.resolve(); // the submitting job ends; this turn of the event loop goes on
    // Busy for the rest of the turn, as a thread is with a burst of requests: the record must reach
    // the disk meanwhile, not wait for the turn's end. (A write held for it would never show here.)
    const watcher = new Database(join(dir, 'db.sqlite'), { readonly: true });
    const seen = watcher.prepare("SELECT count(*) AS n FROM audit_log WHERE request_id = 'not-held'").pluck();
    const giveUpAt = Date.now() + 20_000;
    let visible = false;
    while (!visible && Date.now() < giveUpAt) visible = seen.get() === 1;
    watcher.close();
    expect(visible).toBe(true);
    await committed;
  });
});

describe('GroupCommitter', () => {
  let db: Database.Database;
  beforeEach(() => {
    db = new Database(':memory:');
    db.exec(`CREATE TABLE parent (id INTEGER PRIMARY KEY);
             CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED);
             INSERT INTO parent (id) VALUES (1);`);
    db.pragma('foreign_keys = ON');
  });
  afterEach(() => db.close());
  const count = (table: string) => db.prepare(`SELECT count(*) FROM ${table}`).pluck().get();

  it('fails every write of a batch whose COMMIT fails, and leaves none of them behind', async () => {
    const group = new GroupCommitter(db, { maxBatch: 10, maxQueued: 10 });
    // A deferred foreign key is checked at COMMIT: the second write passes its savepoint and fails the batch.
    const fine = group.submit(() => db.prepare('INSERT INTO child (parent_id) VALUES (1)').run());
    const orphan = group.submit(() => db.prepare('INSERT INTO child (parent_id) VALUES (42)').run());
    const results = await Promise.allSettled([fine, orphan]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(String((results[0] as PromiseRejectedResult).reason)).toMatch(/FOREIGN KEY/);
    expect(db.inTransaction).toBe(false);
    expect(count('child')).toBe(0);
    // The next batch starts clean.
    await group.submit(() => db.prepare('INSERT INTO child (parent_id) VALUES (1)').run());
    expect(count('child')).toBe(1);
  });

  it('splits what waits into transactions of at most maxBatch writes', async () => {
    const sizes: number[] = [];
    const group = new GroupCommitter(db, { maxBatch: 4, maxQueued: 100, onCommit: (n) => sizes.push(n) });
    await Promise.all(Array.from({ length: 10 }, () => group.submit(() => db.prepare('INSERT INTO parent DEFAULT VALUES').run())));
    expect(sizes).toEqual([4, 4, 2]);
    expect(count('parent')).toBe(11);
  });

  it('refuses a write with 503 when maxQueued writes already wait, and commits the ones it took', async () => {
    const group = new GroupCommitter(db, { maxBatch: 100, maxQueued: 3 });
    const taken = Array.from({ length: 3 }, () => group.submit(() => db.prepare('INSERT INTO parent DEFAULT VALUES').run()));
    await expect(group.submit(() => 1)).rejects.toBeInstanceOf(ServiceUnavailableError);
    await Promise.all(taken);
    expect(count('parent')).toBe(4);
  });

  it('runs a cancelled write\'s replacement in its place, in its savepoint', async () => {
    const group = new GroupCommitter(db, { maxBatch: 10, maxQueued: 10 });
    let cancelled = false;
    const write = group.submit(() => db.prepare('INSERT INTO parent (id) VALUES (7)').run().changes, {
      cancelled: () => cancelled,
      instead: () => -1,
    });
    cancelled = true; // the request ran out of time while the write waited for its batch
    expect(await write).toBe(-1);
    expect(db.prepare('SELECT count(*) FROM parent WHERE id = 7').pluck().get()).toBe(0);
  });

  it('commits what waits when closed, then refuses new writes', async () => {
    const group = new GroupCommitter(db, { maxBatch: 10, maxQueued: 10 });
    const waiting = group.submit(() => db.prepare('INSERT INTO parent DEFAULT VALUES').run());
    group.close();
    await waiting;
    expect(count('parent')).toBe(2);
    await expect(group.submit(() => 1)).rejects.toThrow(/closed/);
  });
});
