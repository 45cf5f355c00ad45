import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AuditRecordInput } from '../../src/audit/audit-record.ts';
import { systemClock } from '../../src/clock.ts';
import { seedDemo } from '../../src/cli/seed-demo.ts';
import { openBlobStore } from '../../src/store/blob-store.ts';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import type { PackageKey, Store } from '../../src/store/store.ts';
import { auditInput } from '../helpers/audit-input.ts';

const key: PackageKey = { domainOwner: '111122223333', domain: 'my_domain', repository: 'my_repo', format: 'npm', namespace: '', name: 'chalk' };
const audit = (outcome: AuditRecordInput['outcome'] = 'applied') => auditInput({ outcome });

describe('SQLite store', () => {
  let dir: string;
  let store: Store;
  /** The seed's own records (what it creates, each with its record): the tests count those after them. */
  let seeded: number;
  const recordsSinceSeed = () => store.readAuditRange(seeded, 100);
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vg-store-'));
    store = openSqliteStore({ file: join(dir, 'db.sqlite'), clock: systemClock });
    await seedDemo(store, openBlobStore(join(dir, 'blobs')));
    seeded = (await store.auditHead())!.seq;
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('opens in WAL with synchronous=FULL and foreign keys on', async () => {
    // Pragmas are per connection: check what the store's own connection runs with via a second open
    // of the same file would not tell; instead confirm the file is in WAL (a persistent property).
    const probe = new Database(join(dir, 'db.sqlite'));
    expect(probe.pragma('journal_mode', { simple: true })).toBe('wal');
    probe.close();
  });

  it("reads a run of records' versions by seq through an index, not a scan of every version the log names (an audit page and a verify batch stay cheap as the log grows)", async () => {
    const probe = new Database(join(dir, 'db.sqlite'), { readonly: true });
    try {
      // The statement the store runs for each page of records (listAudit, readAuditChain).
      const plan = probe.prepare('EXPLAIN QUERY PLAN SELECT seq, version FROM audit_versions WHERE seq >= ? AND seq <= ? ORDER BY seq, version').all(1, 50) as Array<{ detail: string }>;
      expect(plan.map((p) => p.detail).join('; ')).toMatch(/^SEARCH audit_versions USING INDEX audit_versions_seq \(seq>\? AND seq<\?\)/);
    } finally {
      probe.close();
    }
  });

  it('commits a change and its audit record together', async () => {
    const snap = await store.readPackage(key, ['4.1.0']);
    const before = snap.versions.get('4.1.0')!;
    const result = await store.commitVersionChanges({
      packageId: snap.packageId!,
      guards: [{ version: '4.1.0', revision: before.revision }],
      changes: [{ version: '4.1.0', before: { status: before.status, revision: before.revision }, after: { status: 'Archived', revision: 'R2' } }],
      disposeAssets: false,
      audit: audit(),
    });
    expect(result.ok).toBe(true);
    expect((await store.readPackage(key, ['4.1.0'])).versions.get('4.1.0')).toMatchObject({ status: 'Archived', revision: 'R2' });
    expect(await recordsSinceSeed()).toHaveLength(1);
  });

  it('a stale revision writes nothing at all: no version change, no audit record', async () => {
    const snap = await store.readPackage(key, ['4.0.0', '4.1.0']);
    const v0 = snap.versions.get('4.0.0')!;
    const result = await store.commitVersionChanges({
      packageId: snap.packageId!,
      guards: [
        { version: '4.0.0', revision: v0.revision },
        { version: '4.1.0', revision: 'not-the-current-one' },
      ],
      changes: [
        { version: '4.0.0', before: { status: v0.status, revision: v0.revision }, after: { status: 'Archived', revision: 'NEW0' } },
        { version: '4.1.0', before: { status: 'Published', revision: 'not-the-current-one' }, after: { status: 'Archived', revision: 'NEW1' } },
      ],
      disposeAssets: false,
      audit: audit(),
    });
    expect(result).toEqual({ ok: false, reason: 'stale', staleVersions: ['4.1.0'] });
    // 4.0.0 was updated inside the transaction before 4.1.0 was found stale: it must be rolled back.
    expect((await store.readPackage(key, ['4.0.0'])).versions.get('4.0.0')).toMatchObject({ status: 'Published', revision: v0.revision });
    expect(await recordsSinceSeed()).toEqual([]);
  });

  it('an audit record that cannot be written rolls the change back', async () => {
    const first = audit();
    await store.appendAudit(first);
    const snap = await store.readPackage(key, ['4.1.0']);
    const v = snap.versions.get('4.1.0')!;
    // The database refuses this one audit row, inside the transaction that holds the change.
    const schema = new Database(join(dir, 'db.sqlite'));
    schema.exec(`CREATE TRIGGER refuse_row BEFORE INSERT ON audit_log WHEN NEW.request_id = 'refused' BEGIN SELECT RAISE(ABORT, 'audit row refused'); END`);
    schema.close();
    await expect(
      store.commitVersionChanges({
        packageId: snap.packageId!,
        guards: [{ version: '4.1.0', revision: v.revision }],
        changes: [{ version: '4.1.0', before: { status: v.status, revision: v.revision }, after: { status: 'Archived', revision: 'X' } }],
        disposeAssets: false,
        audit: { ...audit(), requestId: 'refused' },
      }),
    ).rejects.toThrow('audit row refused');
    expect((await store.readPackage(key, ['4.1.0'])).versions.get('4.1.0')).toMatchObject({ status: 'Published', revision: v.revision });
    expect(await recordsSinceSeed()).toHaveLength(1);
  });

  it('dispose removes the asset records and queues their bytes in the same commit', async () => {
    const snap = await store.readPackage(key, ['4.0.0']);
    const v = snap.versions.get('4.0.0')!;
    const result = await store.commitVersionChanges({
      packageId: snap.packageId!,
      guards: [{ version: '4.0.0', revision: v.revision }],
      changes: [{ version: '4.0.0', before: { status: v.status, revision: v.revision }, after: { status: 'Disposed', revision: 'D' } }],
      disposeAssets: true,
      audit: audit(),
    });
    expect(result.ok && result.blobsToDelete.length).toBe(1);
    expect(await store.pendingBlobDeletions()).toEqual(result.ok ? result.blobsToDelete : []);
    await store.forgetBlobDeletions(result.ok ? result.blobsToDelete : []);
    expect(await store.pendingBlobDeletions()).toEqual([]);
  });

  it('an unchanged but guarded version that moved on blocks the commit (no stale answer)', async () => {
    const snap = await store.readPackage(key, ['4.1.1']);
    const result = await store.commitVersionChanges({ packageId: snap.packageId!, guards: [{ version: '4.1.1', revision: 'old' }], changes: [], disposeAssets: false, audit: audit() });
    expect(result).toEqual({ ok: false, reason: 'stale', staleVersions: ['4.1.1'] });
    expect(await recordsSinceSeed()).toEqual([]);
  });

  it('lists audit records newest first with keyset pagination', async () => {
    for (let i = 0; i < 5; i++) await store.appendAudit({ ...audit(), requestId: `r${i}` });
    const page1 = await store.listAudit({ limit: 2 });
    expect(page1.map((r) => r.requestId)).toEqual(['r4', 'r3']);
    const page2 = await store.listAudit({ limit: 2, beforeSeq: page1[1]!.seq });
    expect(page2.map((r) => r.requestId)).toEqual(['r2', 'r1']);
  });

  it('refuses a duplicate domain, repository or version with a ConflictError', async () => {
    await expect(store.createDomain('my_domain', '111122223333')).rejects.toMatchObject({ type: 'ConflictException' });
    await expect(store.createRepository('111122223333', 'my_domain', 'my_repo')).rejects.toMatchObject({ type: 'ConflictException' });
    await expect(store.createRepository('111122223333', 'nope', 'r')).rejects.toMatchObject({ type: 'ResourceNotFoundException' });
  });
});
