/**
 * The version-status operations over HTTP, against the seed documents' examples: statuses,
 * revisions (versiongate's delete takes them too), expected status, all-or-nothing with SKIPPED, and
 * the audit rows.
 */
import { existsSync, readdirSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ServiceUnavailableError } from '../../src/errors.ts';
import type { PackageKey, Store } from '../../src/store/store.ts';
import { CHALK, DISPOSE, testGateway, UPDATE, type TestGateway } from '../helpers/gateway.ts';

const chalkKey: PackageKey = { domainOwner: '111122223333', domain: 'my_domain', repository: 'my_repo', format: 'npm', namespace: '', name: 'chalk' };
const CHALK_ARN = 'arn:aws:codeartifact:us-east-1:111122223333:package/my_domain/my_repo/npm//chalk';
const DELETE = '/v1/package/versions/delete';

describe('version status API', () => {
  let gw: TestGateway;
  let rm: string;
  let security: string;
  beforeEach(async () => {
    gw = await testGateway();
    rm = await gw.token('alice', ['release-managers']);
    security = await gw.token('sam', ['security']);
  });
  afterEach(() => gw.close());

  const statuses = async (versions: string[]) => {
    const snap = await gw.store.readPackage(chalkKey, versions);
    return Object.fromEntries(versions.map((v) => [v, snap.versions.get(v)?.status]));
  };
  const revisions = async (versions: string[]) => {
    const snap = await gw.store.readPackage(chalkKey, versions);
    return Object.fromEntries(versions.map((v) => [v, snap.versions.get(v)!.revision]));
  };

  it('archives one version and answers in CodeArtifact shape with a new revision', async () => {
    const before = await revisions(['4.1.0']);
    const res = await gw.post(`${UPDATE}?${CHALK}`, { versions: ['4.1.0'], targetStatus: 'Archived' }, rm);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const body = await res.json();
    expect(body.failedVersions).toEqual({});
    expect(body.successfulVersions['4.1.0'].status).toBe('Archived');
    expect(body.successfulVersions['4.1.0'].revision).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    expect(body.successfulVersions['4.1.0'].revision).not.toBe(before['4.1.0']);
    expect(await statuses(['4.1.0'])).toEqual({ '4.1.0': 'Archived' });
    expect(await revisions(['4.1.0'])).toEqual({ '4.1.0': body.successfulVersions['4.1.0'].revision });
  });

  it('moves several versions at once', async () => {
    const res = await gw.post(`${UPDATE}?${CHALK}`, { versions: ['4.1.0', '4.1.1'], targetStatus: 'Archived' }, rm);
    const body = await res.json();
    expect(Object.keys(body.successfulVersions).sort()).toEqual(['4.1.0', '4.1.1']);
    expect(await statuses(['4.0.0', '4.1.0', '4.1.1'])).toEqual({ '4.0.0': 'Published', '4.1.0': 'Archived', '4.1.1': 'Archived' });
  });

  it('applies only when every version revision matches (versionRevisions)', async () => {
    const revs = await revisions(['4.1.0', '4.0.0']);
    const res = await gw.post(`${UPDATE}?${CHALK}`, { versions: ['4.1.0', '4.0.0'], versionRevisions: revs, targetStatus: 'Unlisted' }, rm);
    expect((await res.json()).failedVersions).toEqual({});
    expect(await statuses(['4.0.0', '4.1.0'])).toEqual({ '4.0.0': 'Unlisted', '4.1.0': 'Unlisted' });
  });

  it('a mismatched revision fails that version and skips the other; nothing changes', async () => {
    const revs = await revisions(['4.1.0', '4.0.0']);
    const wrong = revs['4.1.0']!.slice(0, -2) + '=';
    const res = await gw.post(`${UPDATE}?${CHALK}`, { versions: ['4.1.0', '4.0.0'], versionRevisions: { '4.1.0': wrong, '4.0.0': revs['4.0.0'] }, targetStatus: 'Archived' }, rm);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      successfulVersions: {},
      failedVersions: {
        '4.0.0': { errorCode: 'SKIPPED', errorMessage: 'version 4.0.0 is skipped' },
        '4.1.0': { errorCode: 'MISMATCHED_REVISION', errorMessage: `current revision: ${revs['4.1.0']}, expected revision: ${wrong}` },
      },
    });
    expect(await statuses(['4.0.0', '4.1.0'])).toEqual({ '4.0.0': 'Published', '4.1.0': 'Published' });
    expect(await revisions(['4.0.0', '4.1.0'])).toEqual(revs);
  });

  it('expected status Unlisted on Published versions fails both with MISMATCHED_STATUS', async () => {
    const res = await gw.post(`${UPDATE}?${CHALK}`, { versions: ['4.1.0', '4.0.0'], targetStatus: 'Archived', expectedStatus: 'Unlisted' }, rm);
    expect(await res.json()).toEqual({
      successfulVersions: {},
      failedVersions: {
        '4.0.0': { errorCode: 'MISMATCHED_STATUS', errorMessage: 'current status: Published, expected status: Unlisted' },
        '4.1.0': { errorCode: 'MISMATCHED_STATUS', errorMessage: 'current status: Published, expected status: Unlisted' },
      },
    });
  });

  it('an unknown version is NOT_FOUND and the known one is SKIPPED', async () => {
    const body = await (await gw.post(`${UPDATE}?${CHALK}`, { versions: ['4.1.0', '9.9.9'], targetStatus: 'Unlisted' }, rm)).json();
    expect(body.failedVersions['9.9.9'].errorCode).toBe('NOT_FOUND');
    expect(body.failedVersions['4.1.0']).toEqual({ errorCode: 'SKIPPED', errorMessage: 'version 4.1.0 is skipped' });
    expect(await statuses(['4.1.0'])).toEqual({ '4.1.0': 'Published' });
  });

  it('walks Published → Unlisted → Archived → Published, a new revision each time', async () => {
    const seen = new Set([(await revisions(['4.1.1']))['4.1.1']]);
    for (const target of ['Unlisted', 'Archived', 'Published']) {
      const body = await (await gw.post(`${UPDATE}?${CHALK}`, { versions: ['4.1.1'], targetStatus: target }, rm)).json();
      expect(body.successfulVersions['4.1.1'].status).toBe(target);
      seen.add(body.successfulVersions['4.1.1'].revision);
    }
    expect(seen.size).toBe(4);
  });

  it('dispose with a mismatched expected status fails; with the right one it disposes and deletes the bytes', async () => {
    const miss = await (await gw.post(`${DISPOSE}?${CHALK}`, { versions: ['4.0.0'], expectedStatus: 'Unlisted' }, security)).json();
    expect(miss).toEqual({ successfulVersions: {}, failedVersions: { '4.0.0': { errorCode: 'MISMATCHED_STATUS', errorMessage: 'current status: Published, expected status: Unlisted' } } });

    const assetFiles = listBlobFiles(gw);
    expect(assetFiles.length).toBeGreaterThan(0);
    const res = await gw.post(`${DISPOSE}?${CHALK}`, { versions: ['4.0.0'], expectedStatus: 'Published' }, security);
    const body = await res.json();
    expect(body.successfulVersions['4.0.0'].status).toBe('Disposed');
    expect(await statuses(['4.0.0'])).toEqual({ '4.0.0': 'Disposed' });
    expect(await gw.store.pendingBlobDeletions()).toEqual([]);
    expect(listBlobFiles(gw).length).toBe(assetFiles.length - 1);
  });

  it('a dispose that committed is answered 200 even if its removed bytes cannot be struck off the queue (they are removed again later)', async () => {
    const forget = gw.store.forgetBlobDeletions;
    gw.store.forgetBlobDeletions = async () => {
      throw new ServiceUnavailableError('The connection to the database failed (Connection terminated unexpectedly): try again shortly.');
    };
    try {
      const res = await gw.post(`${DISPOSE}?${CHALK}`, { versions: ['4.0.0'] }, security);
      expect(res.status).toBe(200);
      expect((await res.json()).successfulVersions['4.0.0'].status).toBe('Disposed');
    } finally {
      gw.store.forgetBlobDeletions = forget;
    }
    expect(await statuses(['4.0.0'])).toEqual({ '4.0.0': 'Disposed' });
    // Still queued: the next start or sweep removes the (already removed) bytes again, harmlessly.
    expect(await gw.store.pendingBlobDeletions()).toHaveLength(1);
  });

  it('a disposed version is terminal: no status can be set on it', async () => {
    await gw.post(`${DISPOSE}?${CHALK}`, { versions: ['4.0.0'] }, security);
    const body = await (await gw.post(`${UPDATE}?${CHALK}`, { versions: ['4.0.0'], targetStatus: 'Published' }, rm)).json();
    expect(body.failedVersions['4.0.0'].errorCode).toBe('NOT_ALLOWED');
    expect(await statuses(['4.0.0'])).toEqual({ '4.0.0': 'Disposed' });
  });

  it('works for a scoped npm package and for maven, addressed by namespace', async () => {
    const nest = await gw.post(`${UPDATE}?domain=my_domain&domain-owner=111122223333&repository=my_repo&format=npm&namespace=nestjs&package=core`, { versions: ['8.0.0'], targetStatus: 'Unlisted' }, rm);
    expect((await nest.json()).successfulVersions['8.0.0'].status).toBe('Unlisted');
    const log4j = await gw.post(`${UPDATE}?domain=my_domain&domain-owner=111122223333&repository=my_repo&format=maven&namespace=org.apache.logging.log4j&package=log4j`, { versions: ['2.13.1'], targetStatus: 'Archived' }, rm);
    expect((await log4j.json()).successfulVersions['2.13.1'].status).toBe('Archived');
  });

  it('resolves a missing domain-owner from the domain', async () => {
    const res = await gw.post(`${UPDATE}?domain=my_domain&repository=my_repo&format=npm&package=chalk`, { versions: ['4.1.0'], targetStatus: 'Unlisted' }, rm);
    expect(res.status).toBe(200);
    expect((await gw.store.listAudit({ limit: 1 }))[0]!.resource).toBe(CHALK_ARN);
  });

  it('answers 404 ResourceNotFoundException for an unknown package, repository or domain (once allowed)', async () => {
    const pkg = await gw.post(`${UPDATE}?domain=my_domain&domain-owner=111122223333&repository=my_repo&format=npm&package=nope`, { versions: ['1.0.0'], targetStatus: 'Unlisted' }, rm);
    expect(pkg.status).toBe(404);
    expect(pkg.headers.get('x-amzn-errortype')).toBe('ResourceNotFoundException');
    expect(await pkg.json()).toMatchObject({ resourceType: 'package', resourceId: 'nope' });
    const domain = await gw.post(`${UPDATE}?domain=other&domain-owner=111122223333&repository=my_repo&format=npm&package=chalk`, { versions: ['1.0.0'], targetStatus: 'Unlisted' }, await gw.token('root', ['release-managers']));
    // release-managers are only permitted in my_domain/my_repo: elsewhere Cedar denies before existence is revealed.
    expect(domain.status).toBe(403);
  });

  it('writes one audit record per decision, with per-version before and after', async () => {
    const before = await revisions(['4.1.0']);
    const body = await (await gw.post(`${UPDATE}?${CHALK}`, { versions: ['4.1.0'], targetStatus: 'Archived' }, rm, { 'x-request-id': 'req-123' })).json();
    const [record] = await gw.store.listAudit({ limit: 10 });
    expect(record).toMatchObject({
      requestId: 'req-123',
      principal: { issuer: 'urn:versiongate:dev', subject: 'alice', groups: ['release-managers'] },
      action: 'UpdatePackageVersionsStatus',
      resource: CHALK_ARN,
      decision: 'allow',
      determiningPolicies: ['release-managers-curate-my-repo'],
      errors: [],
      outcome: 'applied',
      httpStatus: 200,
      request: { versions: ['4.1.0'], targetStatus: 'Archived' },
      changes: [{ version: '4.1.0', before: { status: 'Published', revision: before['4.1.0'] }, after: { status: 'Archived', revision: body.successfulVersions['4.1.0'].revision } }],
    });
    expect(record!.policySetHash).toMatch(/^[0-9a-f]{64}$/);
    expect(record!.time).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it('records a rejected (all-or-nothing) request with no changes', async () => {
    await gw.post(`${UPDATE}?${CHALK}`, { versions: ['4.1.0', '9.9.9'], targetStatus: 'Unlisted' }, rm);
    const [record] = await gw.store.listAudit({ limit: 1 });
    expect(record).toMatchObject({ decision: 'allow', outcome: 'rejected', changes: [] });
  });

  it('returns x-request-id on every response and never puts the token in the audit', async () => {
    const res = await gw.post(`${UPDATE}?${CHALK}`, { versions: ['4.1.0'], targetStatus: 'Unlisted' }, rm);
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const all = JSON.stringify(await gw.store.listAudit({ limit: 100 }));
    expect(all).not.toContain(rm);
    expect(all).not.toContain(rm.split('.')[2]);
  });

  it('concurrent requests on the same versions: each applies on the state it was judged on', async () => {
    const initial = (await revisions(['4.1.0']))['4.1.0']!;
    const seeded = (await gw.store.auditHead())?.seq ?? 0;
    const results = await Promise.all(
      ['Unlisted', 'Archived', 'Published', 'Unlisted', 'Archived'].map((t) => gw.post(`${UPDATE}?${CHALK}`, { versions: ['4.1.0', '4.1.1'], targetStatus: t }, rm)),
    );
    // Each request either applied or, after three compare-and-set attempts lost to the others on a
    // busy machine, gave up with a 409 having changed nothing. Never anything else.
    for (const r of results) expect([200, 409]).toContain(r.status);
    expect(results.filter((r) => r.status === 200).length).toBeGreaterThan(0);
    // The records these requests wrote (oldest first), not the seeded versions' sync records before them.
    const written = await gw.store.readAuditRange(seeded, 100);
    expect(written.every((r) => r.action === 'UpdatePackageVersionsStatus')).toBe(true);
    const records = written.filter((r) => r.outcome === 'applied');
    expect(records.length).toBe(results.filter((r) => r.status === 200).length);
    // Every applied change starts from the revision the previous one left: no lost update.
    let last = initial;
    for (const r of records) {
      const change = r.changes.find((c) => c.version === '4.1.0');
      if (!change) continue;
      expect(change.before.revision).toBe(last);
      last = change.after.revision;
    }
    expect((await revisions(['4.1.0']))['4.1.0']).toBe(last);
  });
});

describe('DeletePackageVersions with versionRevisions (versiongate extension)', () => {
  let gw: TestGateway;
  afterEach(() => gw.close());
  const revisionOf = async (version: string) => (await gw.store.readPackage(chalkKey, [version])).versions.get(version)!;

  it('refuses a version whose revision is not the one given (MISMATCHED_REVISION), deletes nothing, and the audit says so', async () => {
    gw = await testGateway();
    const security = await gw.token('sam', ['security']);
    const current = await revisionOf('4.0.0');
    const other = await revisionOf('4.1.0');
    const stale = 'seen-before-a-resync';
    const res = await gw.post(`${DELETE}?${CHALK}`, { versions: ['4.0.0', '4.1.0'], versionRevisions: { '4.0.0': stale, '4.1.0': other.revision } }, security);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      successfulVersions: {},
      failedVersions: {
        '4.0.0': { errorCode: 'MISMATCHED_REVISION', errorMessage: `current revision: ${current.revision}, expected revision: ${stale}` },
        '4.1.0': { errorCode: 'SKIPPED', errorMessage: 'version 4.1.0 is skipped' },
      },
    });
    expect(await revisionOf('4.0.0')).toMatchObject({ status: 'Published', revision: current.revision });
    expect(await revisionOf('4.1.0')).toMatchObject({ status: 'Published', revision: other.revision });
    const [record] = await gw.store.listAudit({ limit: 1, filter: { action: 'DeletePackageVersions' } });
    expect(record).toMatchObject({
      decision: 'allow',
      outcome: 'rejected',
      httpStatus: 200,
      request: { versions: ['4.0.0', '4.1.0'], versionRevisions: { '4.0.0': stale, '4.1.0': other.revision } },
      changes: [],
    });
  });

  it('deletes when every revision given is current', async () => {
    gw = await testGateway();
    const security = await gw.token('sam', ['security']);
    const res = await gw.post(`${DELETE}?${CHALK}`, { versions: ['4.0.0'], versionRevisions: { '4.0.0': (await revisionOf('4.0.0')).revision } }, security);
    expect((await res.json()).successfulVersions['4.0.0']).toMatchObject({ status: 'Deleted' });
    expect((await revisionOf('4.0.0')).status).toBe('Deleted');
  });

  it('refuses a revision that changed after the decision, keeping its status, as the delete commits (the guarded commit re-reads it)', async () => {
    // Another writer gives 4.0.0 a new revision and the same status (as a completed resync does)
    // between the delete's read and its commit: the commit is refused, the request is judged again on
    // the fresh state, and the revision the client gave no longer matches.
    let races = 1;
    gw = await testGateway({
      wrapStore: (store) =>
        new Proxy(store, {
          get(real, prop, receiver) {
            if (prop !== 'commitVersionChanges') return Reflect.get(real, prop, receiver);
            return async (commit: Parameters<Store['commitVersionChanges']>[0]) => {
              if (races-- > 0) {
                const v = await revisionOf('4.0.0');
                const raced = await real.commitVersionChanges({
                  packageId: commit.packageId,
                  guards: [{ version: '4.0.0', revision: v.revision }],
                  changes: [{ version: '4.0.0', before: { status: v.status, revision: v.revision }, after: { status: v.status, revision: 'resynced-meanwhile' } }],
                  disposeAssets: false,
                  audit: { ...commit.audit, decisionId: crypto.randomUUID(), requestId: 'racer' },
                });
                expect(raced.ok).toBe(true);
              }
              return real.commitVersionChanges(commit);
            };
          },
        }),
    });
    const security = await gw.token('sam', ['security']);
    const seen = (await revisionOf('4.0.0')).revision;
    const res = await gw.post(`${DELETE}?${CHALK}`, { versions: ['4.0.0'], versionRevisions: { '4.0.0': seen }, expectedStatus: 'Published' }, security);
    expect((await res.json()).failedVersions).toEqual({ '4.0.0': { errorCode: 'MISMATCHED_REVISION', errorMessage: `current revision: resynced-meanwhile, expected revision: ${seen}` } });
    expect(await revisionOf('4.0.0')).toMatchObject({ status: 'Published', revision: 'resynced-meanwhile' });
    const [record] = await gw.store.listAudit({ limit: 1, filter: { action: 'DeletePackageVersions' } });
    expect(record).toMatchObject({ outcome: 'rejected', changes: [] });
  });

  it('takes revisions only for the versions it names, each a well-formed revision (400 otherwise)', async () => {
    gw = await testGateway();
    const security = await gw.token('sam', ['security']);
    const elsewhere = await gw.post(`${DELETE}?${CHALK}`, { versions: ['4.0.0'], versionRevisions: { '4.1.0': 'r' } }, security);
    expect(elsewhere.status).toBe(400);
    expect((await elsewhere.json()).message).toContain('versionRevisions names version 4.1.0, which is not in versions');
    const spaced = await gw.post(`${DELETE}?${CHALK}`, { versions: ['4.0.0'], versionRevisions: { '4.0.0': 'a b' } }, security);
    expect(spaced.status).toBe(400);
    expect((await revisionOf('4.0.0')).status).toBe('Published');
  });
});

function listBlobFiles(gw: TestGateway): string[] {
  const root = `${gw.dataDir}/data/blobs`;
  if (!existsSync(root)) return [];
  return readdirSync(root, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => e.name);
}
