/**
 * One contract, every engine: each port's behaviour (directory, versions and packages, the guarded
 * writes, the audit chain, the sync queue, secrets, tenancy), run on SQLite and on PostgreSQL alike.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { verifyChain } from '../../../src/audit/verify-chain.ts';
import { fixedClock } from '../../../src/clock.ts';
import { ConflictError, ServiceUnavailableError } from '../../../src/errors.ts';
import { BLOB_GRACE_MS, type AssetInput, type PackageKey, type Store, type VersionCommit } from '../../../src/store/store.ts';
import { auditInput } from '../../helpers/audit-input.ts';
import { ENGINES, type TestClock } from './engines.ts';

const base = { domainOwner: '111122223333', domain: 'my_domain', repository: 'my_repo' };
const key: PackageKey = { ...base, format: 'npm', namespace: 'acme', name: 'widget' };
const asset = (name: string, blobKey: string): AssetInput => ({ name, size: 3, md5: 'm', sha1: 's1', sha256: 's256', sha512: 's512', blobKey });

describe.each(ENGINES)('store contract: $name', (engine) => {
  let store: Store;
  let cleanup: () => Promise<void>;
  let clock: TestClock;

  beforeEach(async () => {
    clock = fixedClock('2026-03-01T00:00:00.000Z');
    ({ store, cleanup } = await engine.open(clock));
    await store.createDomain(base.domain, base.domainOwner);
    await store.createRepository(base.domainOwner, base.domain, base.repository);
  });
  afterEach(async () => cleanup());

  const add = async (version: string, status: 'Published' | 'Unlisted' = 'Published', assets: AssetInput[] = []) => {
    await store.addVersion({ key, version, status, revision: `${version}-r0`, assets });
    clock.advance(1000);
    return (await store.readVersion(key, version)).version!;
  };
  const change = (packageId: number, version: string, from: string, to: string, audit = auditInput({ request: { versions: [version] } })): VersionCommit => ({
    packageId,
    guards: [{ version, revision: from }],
    changes: [{ version, before: { status: 'Published', revision: from }, after: { status: 'Archived', revision: to } }],
    disposeAssets: false,
    audit,
  });

  describe('directory', () => {
    it('creates domains and repositories once, and lists them in order', async () => {
      await expect(store.createDomain(base.domain, base.domainOwner)).rejects.toBeInstanceOf(ConflictError);
      await expect(store.createRepository(base.domainOwner, base.domain, base.repository)).rejects.toBeInstanceOf(ConflictError);
      await store.createRepository(base.domainOwner, base.domain, 'a_repo');
      expect((await store.listRepositories(base.domainOwner, base.domain)).map((r) => r.name)).toEqual(['a_repo', 'my_repo']);
      expect(await store.domainOwners(base.domain)).toEqual([base.domainOwner]);
      expect((await store.listAllRepositories()).map((r) => `${r.domain}/${r.name}`)).toEqual(['my_domain/a_repo', 'my_domain/my_repo']);
    });
  });

  describe('versions and packages', () => {
    it('adds versions with assets, reads them back one by one, by identifier and a page at a time', async () => {
      await add('1.0.0', 'Published', [asset('a.tgz', 'a'.repeat(32)), asset('b.txt', 'b'.repeat(32))]);
      await add('1.1.0');
      await add('0.9.0', 'Unlisted');
      await expect(store.addVersion({ key, version: '1.0.0', status: 'Published', revision: 'x', assets: [] })).rejects.toBeInstanceOf(ConflictError);
      const snap = await store.readVersion(key, '1.0.0', 'b.txt');
      expect(snap.version).toMatchObject({ version: '1.0.0', status: 'Published', revision: '1.0.0-r0', assetCount: 2, syncState: 'awaiting' });
      expect(snap.asset).toEqual(asset('b.txt', 'b'.repeat(32)));
      expect(snap.version!.identifier).toMatch(/^[0-9A-Za-z]{12}$/);
      expect(await store.resolveIdentifier(snap.version!.identifier)).toEqual({ key, version: '1.0.0' });
      expect(await store.resolveIdentifier('nope')).toBeNull();
      const packageId = snap.packageId!;
      const byName = await store.listVersions({ packageId, statuses: ['Published', 'Unlisted'], order: 'version', limit: 2 });
      expect(byName.versions.map((v) => v.version)).toEqual(['0.9.0', '1.0.0']);
      expect(byName.versions[0]).toEqual({ id: expect.any(Number), version: '0.9.0', identifier: expect.stringMatching(/^[0-9A-Za-z]{12}$/), status: 'Unlisted', revision: expect.any(String), publishedAt: expect.any(String) });
      expect(byName.latestPublished).toBe('1.1.0');
      const next = await store.listVersions({ packageId, statuses: ['Published', 'Unlisted'], order: 'version', after: { order: 'version', version: '1.0.0' }, limit: 2 });
      expect(next.versions.map((v) => v.version)).toEqual(['1.1.0']);
      const newest = await store.listVersions({ packageId, statuses: ['Published'], order: 'published', limit: 10 });
      expect(newest).toEqual({ versions: [expect.objectContaining({ version: '1.1.0' }), expect.objectContaining({ version: '1.0.0' })], latestPublished: '1.1.0' });
      // The latest Published version comes with every page, even one the filter or the cursor leaves empty.
      const unlistedOnly = await store.listVersions({ packageId, statuses: ['Unlisted'], order: 'published', limit: 10 });
      expect(unlistedOnly).toEqual({ versions: [expect.objectContaining({ version: '0.9.0' })], latestPublished: '1.1.0' });
      expect(await store.listVersions({ packageId, statuses: ['Published'], order: 'version', after: { order: 'version', version: '9' }, limit: 10 })).toEqual({ versions: [], latestPublished: '1.1.0' });
      expect(await store.listVersions({ packageId, statuses: [], order: 'published', limit: 10 })).toEqual({ versions: [], latestPublished: '1.1.0' });
      expect((await store.listAssets(snap.version!.id, 'a.tgz', 10)).map((a) => a.name)).toEqual(['b.txt']);
      const pkg = await store.readPackage(key, ['1.0.0', '2.0.0']);
      expect([...pkg.versions.keys()]).toEqual(['1.0.0']);
      expect(await store.readPackage({ ...key, repository: 'none' }, [])).toMatchObject({ domainExists: true, repositoryExists: false, packageId: null });
      expect(await store.readVersion({ ...key, domain: 'none' }, '1.0.0')).toMatchObject({ domainExists: false, repositoryExists: false, version: null });
    });

    it('answers many package reads made at once, each with its own package and versions', async () => {
      await add('1.0.0');
      await add('1.1.0', 'Unlisted');
      await store.addVersion({ key: { ...key, name: 'other' }, version: '3.0.0', status: 'Published', revision: 'o-r0', assets: [] });
      await store.createRepository(base.domainOwner, base.domain, 'empty_repo');
      const reads: Array<[PackageKey, string[]]> = [
        [key, ['1.0.0']],
        [key, ['1.1.0', '1.0.0', '9.9.9']],
        [{ ...key, name: 'other' }, ['3.0.0', '1.0.0']],
        [key, []],
        [{ ...key, name: 'missing' }, ['1.0.0']],
        [{ ...key, repository: 'empty_repo' }, ['1.0.0']],
        [{ ...key, repository: 'none' }, ['1.0.0']],
        [{ ...key, domain: 'none' }, ['1.0.0']],
        [key, ['1.0.0', '1.0.0']],
      ];
      const one = async ([k, versions]: [PackageKey, string[]]) => {
        const s = await store.readPackage(k, versions);
        return { ...s, versions: [...s.versions.values()].sort((a, b) => a.version.localeCompare(b.version)) };
      };
      const together = await Promise.all(reads.map(one));
      const alone = [];
      for (const r of reads) alone.push(await one(r));
      expect(together).toEqual(alone);
      const packageId = alone[0]!.packageId;
      expect(packageId).not.toBeNull();
      expect(alone.map((s) => [s.domainExists, s.repositoryExists, s.packageId === null ? null : s.packageId === packageId ? 'widget' : 'other', s.versions.map((v) => `${v.version}:${v.status}`)])).toEqual([
        [true, true, 'widget', ['1.0.0:Published']],
        [true, true, 'widget', ['1.0.0:Published', '1.1.0:Unlisted']],
        [true, true, 'other', ['3.0.0:Published']],
        [true, true, 'widget', []],
        [true, true, null, []],
        [true, true, null, []],
        [true, false, null, []],
        [false, false, null, []],
        [true, true, 'widget', ['1.0.0:Published']],
      ]);
    });

    it('lists, configures and deletes packages, each with its audit record; a stale delete changes nothing', async () => {
      await add('1.0.0', 'Published', [asset('a.tgz', 'c'.repeat(32))]);
      expect(await store.putPackageOrigin({ key: { ...key, name: 'other' }, origin: { publish: 'BLOCK', upstream: 'ALLOW' }, audit: auditInput() })).toBe('ok');
      const list = await store.listPackages({ ...base, limit: 10 });
      expect(list.map((p) => `${p.name}:${p.origin.publish}`)).toEqual(['other:BLOCK', 'widget:ALLOW']);
      expect((await store.listPackages({ ...base, packagePrefix: 'wid', limit: 10 })).map((p) => p.name)).toEqual(['widget']);
      const record = await store.readPackageRecord(key);
      expect(record.versions).toEqual([{ version: '1.0.0', status: 'Published', revision: '1.0.0-r0' }]);
      const packageId = record.package!.id;
      expect(await store.deletePackage({ packageId, guards: [{ version: '1.0.0', revision: 'old' }], audit: auditInput() })).toEqual({ ok: false, reason: 'stale' });
      expect(await store.deletePackage({ packageId, guards: [{ version: '1.0.0', revision: '1.0.0-r0' }], audit: auditInput() })).toEqual({ ok: true, blobsToDelete: ['c'.repeat(32)] });
      expect((await store.readPackageRecord(key)).package).toBeNull();
      expect((await store.auditHead())!.seq).toBe(2);
    });

    it("deleting a package keeps the bytes a copy elsewhere still uses, and queues only the rest", async () => {
      const shared = 'd'.repeat(32);
      const own = 'e'.repeat(32);
      await add('1.0.0', 'Published', [asset('a.tgz', shared)]);
      await add('2.0.0', 'Published', [asset('b.tgz', own)]);
      // A copy into another repository shares its source's blob key (CopyPackageVersions).
      await store.createRepository(base.domainOwner, base.domain, 'prod');
      const copy = { ...key, repository: 'prod' };
      await store.addVersion({ key: copy, version: '1.0.0', status: 'Published', revision: 'copy-r0', assets: [asset('a.tgz', shared)] });
      const packageId = (await store.readPackageRecord(key)).package!.id;
      const result = await store.deletePackage({ packageId, guards: [{ version: '1.0.0', revision: '1.0.0-r0' }, { version: '2.0.0', revision: '2.0.0-r0' }], audit: auditInput() });
      expect(result).toEqual({ ok: true, blobsToDelete: [own] });
      // (PostgreSQL lists what has waited past the grace only.)
      clock.advance(BLOB_GRACE_MS + 1000);
      expect(await store.pendingBlobDeletions()).toEqual([own]);
      expect((await store.readVersion(copy, '1.0.0', 'a.tgz')).asset?.blobKey).toBe(shared);
      // A key queued while an asset uses it (as DeletePackage once did) is never listed for removal.
      await store.reserveBlob(shared);
      clock.advance(BLOB_GRACE_MS + 1000);
      expect(await store.pendingBlobDeletions()).toEqual([own]);
      // Many keys forgotten at once (more than SQLite takes as a statement's variables).
      await store.forgetBlobDeletions([own, shared, ...Array.from({ length: 40_000 }, (_, i) => `k${i}`)]);
      expect(await store.pendingBlobDeletions()).toEqual([]);
    });
  });

  describe('guarded writes', () => {
    it('applies a change whose guards hold, with its audit record; a stale guard writes nothing, not even the record', async () => {
      const v = await add('1.0.0');
      const packageId = (await store.readPackage(key, [])).packageId!;
      const stale = await store.commitVersionChanges(change(packageId, '1.0.0', 'wrong', 'r1'));
      expect(stale).toEqual({ ok: false, reason: 'stale', staleVersions: ['1.0.0'] });
      expect(await store.auditHead()).toBeNull();
      const ok = await store.commitVersionChanges(change(packageId, '1.0.0', v.revision, 'r1'));
      expect(ok).toEqual({ ok: true, auditSeq: 1, blobsToDelete: [] });
      expect((await store.readVersion(key, '1.0.0')).version).toMatchObject({ status: 'Archived', revision: 'r1' });
    });

    it('changes the statuses of several versions all together or not at all', async () => {
      const a = await add('1.0.0');
      const b = await add('1.1.0');
      const packageId = (await store.readPackage(key, [])).packageId!;
      const both = (revisionOfB: string): VersionCommit => ({
        packageId,
        guards: [
          { version: '1.0.0', revision: a.revision },
          { version: '1.1.0', revision: revisionOfB },
        ],
        changes: [
          { version: '1.0.0', before: { status: 'Published', revision: a.revision }, after: { status: 'Archived', revision: 'a1' } },
          { version: '1.1.0', before: { status: 'Published', revision: revisionOfB }, after: { status: 'Archived', revision: 'b1' } },
        ],
        disposeAssets: false,
        audit: auditInput(),
      });
      expect(await store.commitVersionChanges(both('wrong'))).toEqual({ ok: false, reason: 'stale', staleVersions: ['1.1.0'] });
      expect([...(await store.readPackage(key, ['1.0.0', '1.1.0'])).versions.values()].map((v) => v.revision).sort()).toEqual([a.revision, b.revision].sort());
      expect(await store.commitVersionChanges(both(b.revision))).toEqual({ ok: true, auditSeq: 1, blobsToDelete: [] });
      expect([...(await store.readPackage(key, ['1.0.0', '1.1.0'])).versions.values()].map((v) => `${v.version}:${v.status}:${v.revision}`).sort()).toEqual([
        '1.0.0:Archived:a1',
        '1.1.0:Archived:b1',
      ]);
    });

    it('of 20 conflicting changes submitted at once, exactly one wins; every other is stale', async () => {
      const v = await add('1.0.0');
      const packageId = (await store.readPackage(key, [])).packageId!;
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => store.commitVersionChanges(change(packageId, '1.0.0', v.revision, `r-${i}`))));
      expect(results.filter((r) => r.ok)).toHaveLength(1);
      expect(results.filter((r) => !r.ok && r.reason === 'stale')).toHaveLength(19);
      expect((await verifyChain(store)).records).toBe(1);
    });

    it('publishes a new version only with its blob reserved, and a second publish of it is stale', async () => {
      const blobKey = 'd'.repeat(32);
      const publish = (revision: string) => ({
        packageId: null,
        guards: [{ version: '2.0.0', revision: null }],
        changes: [],
        disposeAssets: false,
        publish: { key: { ...key, name: 'fresh' }, version: '2.0.0', status: 'Unfinished' as const, revision, fresh: true, asset: asset('x.tgz', blobKey) },
        audit: auditInput(),
      });
      // On both stores the class the gateway answers 503 with, not an internal error.
      await expect(store.commitVersionChanges(publish('p0'))).rejects.toThrow(ServiceUnavailableError);
      await expect(store.commitVersionChanges(publish('p0'))).rejects.toThrow(/reserved storage .* was reclaimed/);
      await store.reserveBlob(blobKey);
      expect(await store.commitVersionChanges(publish('p1'))).toMatchObject({ ok: true });
      expect(await store.commitVersionChanges(publish('p2'))).toMatchObject({ ok: false, reason: 'stale' });
      expect((await store.readVersion({ ...key, name: 'fresh' }, '2.0.0', 'x.tgz')).asset?.blobKey).toBe(blobKey);
    });

    it('an expired commit changes nothing and writes only its timeout record', async () => {
      const v = await add('1.0.0');
      const packageId = (await store.readPackage(key, [])).packageId!;
      const r = await store.commitVersionChanges({
        ...change(packageId, '1.0.0', v.revision, 'r1'),
        expired: { check: () => true, remainingMs: () => 0, audit: () => auditInput({ outcome: 'timeout', httpStatus: 503 }) },
      });
      expect(r).toEqual({ ok: false, reason: 'expired', auditSeq: 1 });
      expect((await store.readVersion(key, '1.0.0')).version!.revision).toBe(v.revision);
    });
  });

  describe('audit chain', () => {
    it('links concurrent appends into one chain in seq order, with times that never go back', async () => {
      const seqs = await Promise.all(Array.from({ length: 30 }, (_, i) => store.appendAudit(auditInput({ requestId: `r${i}`, time: `2026-03-01T00:00:${String(59 - i).padStart(2, '0')}.000Z` }))));
      expect([...seqs].sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
      await store.appendAuditBatch([auditInput({ time: '2020-01-01T00:00:00.000Z' }), auditInput()]);
      const verified = await verifyChain(store, { batchSize: 7 });
      expect(verified).toMatchObject({ ok: true, records: 32 });
      expect(verified.head).toEqual(await store.auditHead());
      const range = await store.readAuditRange(0, 100);
      for (let i = 1; i < range.length; i++) expect(range[i]!.time >= range[i - 1]!.time).toBe(true);
    });

    it('stores what text columns cannot hold (a lone surrogate, NUL) as U+FFFD, hashed as stored: the chain verifies', async () => {
      // Valid in a JavaScript string, not in UTF-8 (what both engines store) nor in PostgreSQL's text.
      const odd = (s: string) => `${s}\ud800\u0000\udc00x`;
      const stored = (s: string) => `${s}\ufffd\ufffd\ufffdx`;
      const principal = { issuer: odd('iss'), subject: odd('eve'), groups: [odd('g')] };
      await store.appendAuditBatch([
        auditInput({ principal, reason: odd('reason'), requestId: odd('req'), sourceIp: odd('ip'), resource: odd('arn:x'), request: { versions: [odd('1.0.0')] }, errors: [odd('e')] }),
        auditInput({ requestId: 'after' }),
      ]);
      await store.appendAudit(auditInput({ reason: odd('alone') }));
      expect(await verifyChain(store)).toMatchObject({ ok: true, records: 3 });
      const [first] = await store.readAuditRange(0, 1);
      expect(first).toMatchObject({ reason: stored('reason'), requestId: stored('req'), sourceIp: stored('ip'), resource: stored('arn:x'), principal: { issuer: stored('iss'), subject: stored('eve') } });
      // JSON columns keep them, escaped: JSON.stringify writes "\ud800" and "\u0000" as ASCII.
      expect(first).toMatchObject({ principal: { groups: [odd('g')] }, request: { versions: [odd('1.0.0')] }, errors: [odd('e')] });
      // The version index holds what a column can: a query by the stored text finds the record.
      expect((await store.listAudit({ limit: 10, filter: { version: stored('1.0.0') } })).map((r) => r.seq)).toEqual([1]);
    });

    it('filters and pages newest first, by principal, version, resource prefix and time window', async () => {
      const arn = 'arn:aws:codeartifact:us-east-1:111122223333:package/my_domain/my_repo/npm/acme/widget';
      await store.appendAudit(auditInput({ resource: arn, request: { versions: ['1.0.0'] }, time: '2026-03-01T00:00:01.000Z' }));
      await store.appendAudit(auditInput({ principal: { issuer: 'i', subject: 'bob', groups: ['g'] }, time: '2026-03-01T00:00:02.000Z' }));
      await store.appendAudit(auditInput({ resource: arn, request: { versions: ['2.0.0'] }, time: '2026-03-01T00:00:03.000Z' }));
      expect((await store.listAudit({ limit: 10 })).map((r) => r.seq)).toEqual([3, 2, 1]);
      expect((await store.listAudit({ limit: 10, beforeSeq: 3 })).map((r) => r.seq)).toEqual([2, 1]);
      expect((await store.listAudit({ limit: 10, filter: { principal: 'bob' } }))[0]!.principal).toEqual({ issuer: 'i', subject: 'bob', groups: ['g'] });
      expect((await store.listAudit({ limit: 10, filter: { version: '2.0.0' } })).map((r) => r.seq)).toEqual([3]);
      expect((await store.listAudit({ limit: 10, filter: { resourcePrefix: arn.slice(0, 60), packageName: 'widget' } })).map((r) => r.seq)).toEqual([3, 1]);
      expect((await store.listAudit({ limit: 10, filter: { since: '2026-03-01T00:00:02.000Z', until: '2026-03-01T00:00:03.000Z' } })).map((r) => r.seq)).toEqual([2]);
      expect((await store.listAudit({ limit: 10, filter: { repositoryScope: [] } }))).toEqual([]);
      // A reader allowed 40,000 repositories (more than SQLite takes as one statement's variables).
      const many = Array.from({ length: 40_000 }, (_, i) => `arn:aws:codeartifact:us-east-1:111122223333:repository/my_domain/r${i}`);
      const mine = 'arn:aws:codeartifact:us-east-1:111122223333:repository/my_domain/my_repo';
      expect((await store.listAudit({ limit: 10, filter: { repositoryScope: [...many, mine] } })).map((r) => r.seq)).toEqual([3, 1]);
      expect((await store.listAudit({ limit: 10, filter: { repositoryScope: many } }))).toEqual([]);
      const [first] = await store.readAuditRange(0, 1, { since: '2026-03-01T00:00:03.000Z' });
      expect(first).toMatchObject({ seq: 3, derived: { packageName: 'widget', versions: ['2.0.0'] } });
    });
  });

  describe('sync queue', () => {
    it('claims each due job once, completes it with its audited revision, and refuses a resync while one is pending', async () => {
      const v = await add('1.0.0');
      expect(await store.countSyncJobs()).toMatchObject({ awaiting: 1, in_progress: 0 });
      const claim = (await store.claimSyncJob())!;
      expect(claim).toMatchObject({ versionId: v.id, state: 'in_progress', attempts: 1, version: '1.0.0', key });
      expect(await store.claimSyncJob()).toBeNull();
      expect(await store.scheduleSync([v.id], auditInput())).toBe(false);
      await store.setSyncProgress(claim, 50);
      expect((await store.readSyncJob(v.id))!.progress).toBe(50);
      const metadata = { summary: 'A widget', homePage: null, sourceCodeRepository: null, licenses: ['MIT'], readme: '# hi', dependencies: null };
      expect(await store.completeSync(claim, metadata, 'synced-rev', auditInput())).toBe('completed');
      expect(await store.readVersionMetadata(v.id)).toMatchObject({ summary: 'A widget', licenses: ['MIT'], readme: '# hi' });
      const [record] = await store.listAudit({ limit: 1 });
      expect(record!.changes).toEqual([{ version: '1.0.0', before: { status: 'Published', revision: v.revision }, after: { status: 'Published', revision: 'synced-rev' } }]);
      expect(await store.scheduleSync([v.id], auditInput())).toBe(true);
      const again = (await store.claimSyncJob())!;
      expect(again.generation).toBeGreaterThan(claim.generation);
      // A claim superseded (the job was scheduled again) writes nothing.
      expect(await store.completeSync(claim, metadata, 'late', auditInput())).toBe('superseded');
      await store.failSyncAttempt(again, 'bytes missing', null);
      expect(await store.readSyncJob(v.id)).toMatchObject({ state: 'failed', statusReason: 'bytes missing' });
    });

    it("reads a page's jobs at once, each as readSyncJob reads it, and leaves out versions without one", async () => {
      const a = await add('1.0.0');
      const b = await add('1.0.1');
      const claim = (await store.claimSyncJob())!;
      await store.setSyncProgress(claim, 40);
      const jobs = await store.readSyncJobs([a.id, b.id, 999_999]);
      expect([...jobs.keys()].sort()).toEqual([a.id, b.id].sort());
      expect(jobs.get(a.id)).toEqual(await store.readSyncJob(a.id));
      expect(jobs.get(b.id)).toEqual(await store.readSyncJob(b.id));
      expect(jobs.get(claim.versionId)).toMatchObject({ state: 'in_progress', progress: 40 });
      expect((await store.readSyncJobs([])).size).toBe(0);
    });

    it('a retry waits until it is due; an Unfinished version waits for its assets', async () => {
      const v = await add('1.0.0');
      const claim = (await store.claimSyncJob())!;
      await store.failSyncAttempt(claim, 'try later', new Date(clock.now().getTime() + 60_000).toISOString());
      expect(await store.claimSyncJob()).toBeNull();
      clock.advance(61_000);
      expect((await store.claimSyncJob())!.versionId).toBe(v.id);
      await store.addVersion({ key, version: '2.0.0', status: 'Unfinished', revision: 'u', assets: [] });
      expect((await store.countSyncJobs()).waiting_for_assets).toBe(1);
      expect(await store.claimSyncJob()).toBeNull();
    });
  });

  describe('secrets', () => {
    it('keeps the first candidate of a secret for good', async () => {
      const first = await store.ensureSecret('page-token-key', new Uint8Array([1, 2, 3]));
      const second = await store.ensureSecret('page-token-key', new Uint8Array([9, 9, 9]));
      expect([...first]).toEqual([1, 2, 3]);
      expect([...second]).toEqual([1, 2, 3]);
    });
  });

  describe('tenancy', () => {
    it('makes each change with its record, or refuses it and writes nothing', async () => {
      const created = await store.applyTenancyChange({ kind: 'createRepository', owner: base.domainOwner, domain: base.domain, repository: 'up', description: 'd', upstreams: [] }, auditInput());
      expect(created).toMatchObject({ ok: true, repository: { name: 'up', description: 'd', upstreams: [] }, auditSeq: 1 });
      const refused = await store.applyTenancyChange({ kind: 'createRepository', owner: base.domainOwner, domain: base.domain, repository: 'down', description: null, upstreams: ['missing'] }, auditInput());
      expect(refused).toEqual({ ok: false, reason: 'upstream_missing', upstream: 'missing' });
      await store.applyTenancyChange({ kind: 'updateRepository', owner: base.domainOwner, domain: base.domain, repository: base.repository, upstreams: ['up'] }, auditInput());
      expect(await store.applyTenancyChange({ kind: 'deleteRepository', owner: base.domainOwner, domain: base.domain, repository: 'up' }, auditInput())).toEqual({
        ok: false,
        reason: 'repository_is_upstream',
        downstream: ['my_repo'],
      });
      expect((await store.describeDomain(base.domainOwner, base.domain))!.repositoryCount).toBe(2);
      expect((await store.listRepositoryPage({ prefix: 'u', limit: 10 })).map((r) => r.name)).toEqual(['up']);
      expect((await store.listDomainPage(undefined, 10)).map((d) => d.name)).toEqual(['my_domain']);
      expect(await store.applyTenancyChange({ kind: 'deleteDomain', owner: base.domainOwner, domain: base.domain }, auditInput())).toEqual({ ok: false, reason: 'domain_not_empty' });
      expect((await store.auditHead())!.seq).toBe(2);
    });
  });
});
