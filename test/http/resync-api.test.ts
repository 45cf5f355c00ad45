/**
 * Resync over HTTP: the Cloudsmith-shaped endpoints (by identifier, owner = domain, {detail} errors),
 * the bulk action, and the CodeArtifact-shaped batch; each decision's audit record. The sync worker
 * is driven with runOnce(): no timers, no timing assertions.
 */
import { writeFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.ts';
import { systemClock } from '../../src/clock.ts';
import { createSyncWorker, type SyncWorker } from '../../src/sync/sync-worker.ts';
import type { PackageKey } from '../../src/store/store.ts';
import { CHALK, testGateway, UPDATE, type TestGateway } from '../helpers/gateway.ts';

const OWNER = '111122223333';
const chalk = (repository = 'my_repo'): PackageKey => ({ domainOwner: OWNER, domain: 'my_domain', repository, format: 'npm', namespace: '', name: 'chalk' });
const WRONG_STATE = { detail: 'The package is in the wrong state for the requested operation.' };

describe('resync over HTTP', () => {
  let gw: TestGateway;
  let worker: SyncWorker;
  let maintainer: string;
  let reader: string;
  beforeEach(async () => {
    gw = await testGateway();
    worker = createSyncWorker({ store: gw.store, blobs: gw.blobs, clock: systemClock, log: silentLogger, settings: { concurrency: 1, maxAttempts: 1, retryBaseMs: 0, pollMs: 10 } });
    maintainer = await gw.token('mia', ['maintainers']);
    reader = await gw.token('rob', ['readers']);
  });
  afterEach(async () => gw.close());

  const identifierOf = async (version: string, key = chalk()) => (await gw.store.readVersion(key, version)).version!.identifier;
  const newest = async (n = 1) => gw.store.listAudit({ limit: n });

  it('schedules a resync, shows its status, and completes it with the metadata for DescribePackageVersion', async () => {
    const id = await identifierOf('4.1.0');
    const before = await gw.get(`/v1/packages/my_domain/my_repo/${id}/status/`, maintainer);
    expect(before.status).toBe(200);
    expect(await before.json()).toMatchObject({ identifier: id, version: '4.1.0', is_sync_completed: true, is_resyncable: true, sync_progress: 100 });

    const res = await gw.post(`/v1/packages/my_domain/my_repo/${id}/resync/`, {}, maintainer);
    expect(res.status).toBe(200);
    const scheduled = await res.json();
    expect(scheduled).toMatchObject({ status: 1, status_str: 'Awaiting Synchronisation', is_sync_awaiting: true, is_sync_in_flight: true, is_sync_completed: false, is_resyncable: false, sync_progress: 0, status_reason: null, sync_finished_at: null });
    for (const f of ['stage', 'stage_str', 'is_sync_in_progress', 'is_sync_failed', 'status_updated_at', 'stage_updated_at']) expect(scheduled).toHaveProperty(f);
    const [record] = await newest();
    expect(record).toMatchObject({ action: 'Resync', decision: 'allow', outcome: 'applied', httpStatus: 200, request: { versions: ['4.1.0'], identifier: id } });
    expect(record!.resource).toBe('arn:aws:codeartifact:us-east-1:111122223333:package/my_domain/my_repo/npm//chalk');

    // Already awaiting: the wrong state.
    const again = await gw.post(`/v1/packages/my_domain/my_repo/${id}/resync/`, {}, maintainer);
    expect(again.status).toBe(400);
    expect(await again.json()).toEqual(WRONG_STATE);
    expect((await newest())[0]).toMatchObject({ action: 'Resync', decision: 'allow', outcome: 'rejected', httpStatus: 400 });

    const revision = (await gw.store.readVersion(chalk(), '4.1.0')).version!.revision;
    expect(await worker.runOnce()).toBe(true);
    const done = await (await gw.get(`/v1/packages/my_domain/my_repo/${id}/status/`, maintainer)).json();
    expect(done).toMatchObject({ status: 3, is_sync_completed: true, sync_progress: 100, stage_str: 'Fully Synchronised', sync_finished_at: expect.any(String) });
    const described = await (await gw.get(`/v1/package/version?${CHALK}&version=4.1.0`, maintainer)).json();
    expect(described.packageVersion).toMatchObject({ identifier: id, summary: 'chalk (versiongate demo)', licenses: [{ name: 'MIT' }] });
    expect(described.packageVersion.revision).not.toBe(revision);
  });

  it('a corrupted asset fails the sync with its reason; after repair a resync completes', async () => {
    const id = await identifierOf('4.0.0');
    const snapshot = await gw.store.readVersion(chalk(), '4.0.0', 'chalk-4.0.0.tgz');
    const path = gw.blobs.pathOf(snapshot.asset!.blobKey);
    const { readFileSync } = await import('node:fs');
    const good = readFileSync(path);
    writeFileSync(path, 'garbage');
    await gw.post(`/v1/packages/my_domain/my_repo/${id}/resync/`, {}, maintainer);
    await worker.runOnce();
    const failed = await (await gw.get(`/v1/packages/my_domain/my_repo/${id}/status/`, maintainer)).json();
    expect(failed).toMatchObject({ status: 4, status_str: 'Sync Failure', is_sync_failed: true, is_resyncable: true });
    expect(failed.status_reason).toMatch(/^Asset chalk-4\.0\.0\.tgz no longer matches its record/);
    writeFileSync(path, good);
    expect((await gw.post(`/v1/packages/my_domain/my_repo/${id}/resync/`, {}, maintainer)).status).toBe(200);
    await worker.runOnce();
    expect(await (await gw.get(`/v1/packages/my_domain/my_repo/${id}/status/`, maintainer)).json()).toMatchObject({ is_sync_completed: true, status_reason: null });
  });

  it('403 when Cedar denies, 404 for an unknown identifier or another repository, 400 for a Disposed or Deleted version; each with a {detail} body', async () => {
    const id = await identifierOf('4.1.0');
    // A developer may describe the version (so is told the truth), not resync it.
    const denied = await gw.post(`/v1/packages/my_domain/my_repo/${id}/resync/`, {}, await gw.token('dan', ['developers']));
    expect(denied.status).toBe(403);
    expect(await denied.json()).toEqual({ detail: 'You do not have permission to perform this action.' });
    expect((await newest())[0]).toMatchObject({ action: 'Resync', decision: 'deny', outcome: 'denied', httpStatus: 403 });

    for (const path of ['/v1/packages/my_domain/my_repo/zzzzzzzzzzzz/resync/', `/v1/packages/my_domain/prod/${id}/resync/`, '/v1/packages/my_domain/my_repo/not-an-id/resync/']) {
      const res = await gw.post(path, {}, maintainer);
      expect(res.status).toBe(404);
      expect(await res.json()).toEqual({ detail: 'Not found.' });
      // No package to ask Cedar about, but the attempt is recorded: probing for identifiers shows.
      const [repository, identifier] = path.split('/').slice(4);
      expect((await newest())[0]).toMatchObject({
        action: 'Resync',
        principal: { subject: 'mia' },
        resource: null,
        decision: 'none',
        reason: 'unknown_identifier',
        outcome: 'not_found',
        httpStatus: 404,
        request: { identifier, owner: 'my_domain', repository },
      });
    }
    const all = await gw.token('root', ['security', 'maintainers']);
    expect((await gw.post(`/v1/package/versions/dispose?${CHALK}`, { versions: ['4.1.0'] }, all)).status).toBe(200);
    const disposed = await gw.post(`/v1/packages/my_domain/my_repo/${id}/resync/`, {}, maintainer);
    expect(disposed.status).toBe(400);
    expect(await disposed.json()).toEqual(WRONG_STATE);
    const deletedId = await identifierOf('4.1.1');
    expect((await gw.post(`/v1/package/versions/delete?${CHALK}`, { versions: ['4.1.1'] }, all)).status).toBe(200);
    const deleted = await gw.post(`/v1/packages/my_domain/my_repo/${deletedId}/resync/`, {}, maintainer);
    expect(deleted.status).toBe(400);
    expect(await deleted.json()).toEqual(WRONG_STATE);
    const unauthenticated = await gw.post(`/v1/packages/my_domain/my_repo/${id}/resync/`, {});
    expect(unauthenticated.status).toBe(401);
    expect(await unauthenticated.json()).toHaveProperty('detail');
  });

  it('an identifier the caller may not even describe answers as an unknown one (404 "Not found."), so answers do not tell which identifiers exist; the deny is audited', async () => {
    const id = await identifierOf('4.1.0');
    const nobody = await gw.token('nobody', []);
    for (const path of [`/v1/packages/my_domain/my_repo/${id}/resync/`, `/v1/packages/my_domain/my_repo/${id}/status/`]) {
      const res = path.endsWith('/resync/') ? await gw.post(path, {}, nobody) : await gw.get(path, nobody);
      expect(res.status).toBe(404);
      expect(await res.json()).toEqual({ detail: 'Not found.' });
      expect((await newest())[0]).toMatchObject({ principal: { subject: 'nobody' }, decision: 'deny', outcome: 'denied', request: { identifier: id } });
      const unknown = path.replace(id, 'zzzzzzzzzzzz');
      const other = unknown.endsWith('/resync/') ? await gw.post(unknown, {}, nobody) : await gw.get(unknown, nobody);
      expect([other.status, await other.json()]).toEqual([404, { detail: 'Not found.' }]);
    }
    const bulk = await gw.post('/v1/bulk-action/my_domain/', { action: 'Resync', identifiers: [id, 'zzzzzzzzzzzz'] }, nobody);
    expect((await bulk.json()).packages_failed_to_action).toEqual({ [id]: { reason: 'Not found.' }, zzzzzzzzzzzz: { reason: 'Not found.' } });
    // Whoever may see the version is told the truth: a developer may describe it but not resync it.
    expect((await gw.post(`/v1/packages/my_domain/my_repo/${id}/resync/`, {}, await gw.token('dan', ['developers']))).status).toBe(403);
  });

  it("the owner is a domain of the gateway's account: a same-named domain of another account is not reached through it", async () => {
    const elsewhere = await testGateway({ accountId: '444455556666' });
    try {
      const id = (await elsewhere.store.readVersion(chalk(), '4.1.0')).version!.identifier;
      const mia = await elsewhere.token('mia', ['maintainers']);
      const res = await elsewhere.get(`/v1/packages/my_domain/my_repo/${id}/status/`, mia);
      expect([res.status, await res.json()]).toEqual([404, { detail: 'Not found.' }]);
      const bulk = await elsewhere.post('/v1/bulk-action/my_domain/', { action: 'Resync', identifiers: [id] }, mia);
      expect((await bulk.json()).packages_failed_to_action).toEqual({ [id]: { reason: 'Not found.' } });
    } finally {
      await elsewhere.close();
    }
  });

  it("Cloudsmith's paths answer in Cloudsmith's shapes: an unknown route is {detail: 'Not found.'}, and a field's errors are under its name", async () => {
    const unknown = await gw.get('/v1/packages/my_domain/my_repo/7jvagMH9vk7u/nonsense/', maintainer);
    expect([unknown.status, await unknown.json()]).toEqual([404, { detail: 'Not found.' }]);
    const empty = await gw.post('/v1/bulk-action/my_domain/', { action: 'Resync', identifiers: [] }, maintainer);
    expect(empty.status).toBe(400);
    const body = await empty.json();
    expect(Object.keys(body.fields)).toEqual(['identifiers']);
    expect(body.fields.identifiers).toEqual([expect.any(String)]);
    const extra = await (await gw.post('/v1/bulk-action/my_domain/', { action: 'Resync', identifiers: ['zzzzzzzzzzzz'], colour: 'red' }, maintainer)).json();
    expect(extra.fields).toEqual({ colour: ['This field is not accepted.'] });
    // CodeArtifact's paths keep CodeArtifact's envelope.
    expect(await (await gw.get('/v1/nonsense', maintainer)).json()).toHaveProperty('message');
  });

  it('the bulk action: allowed, denied, unknown and wrong-state identifiers, each decided and audited on its own', async () => {
    const allowed = await identifierOf('4.1.1');
    const busy = await identifierOf('4.0.0');
    const denied = await identifierOf('4.1.1', chalk('prod'));
    await gw.post(`/v1/packages/my_domain/my_repo/${busy}/resync/`, {}, maintainer);
    const seqBefore = (await newest())[0]!.seq;
    const res = await gw.post('/v1/bulk-action/my_domain/', { action: 'Resync', identifiers: [allowed, denied, 'zzzzzzzzzzzz', busy] }, maintainer);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      action: 'Resync',
      packages_actioned: [allowed],
      packages_failed_to_action: {
        [denied]: { reason: 'You do not have permission to perform this action.' },
        zzzzzzzzzzzz: { reason: 'Not found.' },
        [busy]: { reason: WRONG_STATE.detail },
      },
    });
    const records = (await newest(10)).filter((r) => r.seq > seqBefore).reverse();
    expect(records.map((r) => [r.action, r.decision, r.outcome, r.httpStatus, (r.request as { identifier?: string }).identifier])).toEqual([
      ['Resync', 'allow', 'applied', 200, allowed],
      ['Resync', 'deny', 'denied', 403, denied],
      ['Resync', 'none', 'not_found', 404, 'zzzzzzzzzzzz'],
      ['Resync', 'allow', 'rejected', 400, busy],
    ]);
    // The repository filter: an identifier of another repository is not found.
    const scoped = await (await gw.post('/v1/bulk-action/my_domain/', { action: 'Resync', identifiers: [denied], repository: 'my_repo' }, maintainer)).json();
    expect(scoped.packages_failed_to_action).toEqual({ [denied]: { reason: 'Not found.' } });
    const bad = await gw.post('/v1/bulk-action/my_domain/', { action: 'Resync', identifiers: [] }, maintainer);
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ detail: expect.any(String), fields: expect.any(Object) });
  });

  it('the CodeArtifact-shaped batch: all or nothing', async () => {
    const syncOf = async (version: string) => gw.store.readSyncJob((await gw.store.readVersion(chalk(), version)).version!.id);
    const untouched = await syncOf('4.1.1');
    expect(untouched).toMatchObject({ state: 'completed' });
    const ok = await gw.post(`/v1/package/versions/resync?${CHALK}`, { versions: ['4.0.0', '4.1.0'] }, maintainer);
    expect(ok.status).toBe(200);
    const body = await ok.json();
    expect(Object.keys(body.successfulVersions).sort()).toEqual(['4.0.0', '4.1.0']);
    expect(body.failedVersions).toEqual({});
    expect((await newest())[0]).toMatchObject({ action: 'Resync', outcome: 'applied', request: { versions: ['4.0.0', '4.1.0'] } });
    // 4.0.0 is awaiting now: nothing of this batch is scheduled.
    const mixed = await (await gw.post(`/v1/package/versions/resync?${CHALK}`, { versions: ['4.0.0', '4.1.1', '9.9.9'] }, maintainer)).json();
    expect(mixed.successfulVersions).toEqual({});
    expect(mixed.failedVersions).toEqual({
      '4.0.0': { errorCode: 'MISMATCHED_STATUS', errorMessage: WRONG_STATE.detail },
      '4.1.1': { errorCode: 'SKIPPED', errorMessage: expect.any(String) },
      '9.9.9': { errorCode: 'NOT_FOUND', errorMessage: expect.any(String) },
    });
    // The SKIPPED version's last sync is as it was: nothing of the refused batch was scheduled.
    expect(await syncOf('4.1.1')).toEqual(untouched);
    const denied = await gw.post(`/v1/package/versions/resync?${CHALK}`, { versions: ['4.1.1'] }, reader);
    expect(denied.status).toBe(403);
    expect(await denied.json()).toHaveProperty('message');
  });

  it('a version or identifier named "__proto__" is a failure like any other: nothing else of an all-or-nothing batch goes ahead', async () => {
    const before = await gw.store.readSyncJob((await gw.store.readVersion(chalk(), '4.1.1')).version!.id);
    const batch = await gw.post(`/v1/package/versions/resync?${CHALK}`, { versions: ['__proto__', '4.1.1'] }, maintainer);
    expect(batch.status).toBe(200);
    const text = await batch.text();
    expect(JSON.parse(text).successfulVersions).toEqual({});
    expect(text).toContain('"__proto__":{"errorCode":"NOT_FOUND"');
    expect(text).toContain('"4.1.1":{"errorCode":"SKIPPED"');
    expect(await gw.store.readSyncJob((await gw.store.readVersion(chalk(), '4.1.1')).version!.id)).toEqual(before);
    const status = (await gw.store.readVersion(chalk(), '4.1.1')).version!.status;
    const update = await gw.post(`${UPDATE}?${CHALK}`, { versions: ['__proto__', '4.1.1'], targetStatus: status === 'Unlisted' ? 'Archived' : 'Unlisted' }, await gw.token('rm', ['release-managers']));
    expect(await update.text()).toContain('"__proto__":{"errorCode":"NOT_FOUND"');
    expect((await gw.store.readVersion(chalk(), '4.1.1')).version!.status).toBe(status);
    const bulk = await gw.post('/v1/bulk-action/my_domain/', { action: 'Resync', identifiers: ['__proto__'] }, maintainer);
    expect(await bulk.text()).toBe('{"action":"Resync","packages_actioned":[],"packages_failed_to_action":{"__proto__":{"reason":"Not found."}}}');
  });
});
