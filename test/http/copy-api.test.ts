/**
 * CopyPackageVersions over HTTP (app.request, the server's own fetch handler) and finishing an
 * Unfinished version with UpdatePackageVersionsStatus: CodeArtifact's answers and error codes, the
 * copied version's assets and bytes, its own revision, identifier and sync, and the audit record.
 * The registry's rules are tested under a policy that lets a `copiers` group copy anywhere; the
 * shipped promotion policy is tested at the end.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../src/audit/audit-record.ts';
import type { PackageKey } from '../../src/store/store.ts';
import { testGateway, type TestGateway } from '../helpers/gateway.ts';

const OWNER = 'domain=my_domain&domain-owner=111122223333';
const coords = (repository: string) => `${OWNER}&repository=${repository}&format=generic&namespace=acme&package=tool`;
const COPY = `/v1/package/versions/copy?${OWNER}&source-repository=my_repo&destination-repository=staging&format=generic&namespace=acme&package=tool`;
const key = (repository: string): PackageKey => ({ domainOwner: '111122223333', domain: 'my_domain', repository, format: 'generic', namespace: 'acme', name: 'tool' });
const ARN = (repository: string) => `arn:aws:codeartifact:us-east-1:111122223333:package/my_domain/${repository}/generic/acme/tool`;

const COPIERS = `@id("test-copiers-copy-anywhere")
permit (principal in Group::"copiers", action == Action::"CopyPackageVersions", resource);`;

const sha256 = (b: string) => createHash('sha256').update(b).digest('hex');

describe('CopyPackageVersions and finishing an upload over HTTP', () => {
  let gw: TestGateway;
  let all: string;
  let copier: string;

  const publish = (version: string, asset: string, bytes: string, opts: { unfinished?: boolean; repository?: string } = {}) =>
    gw.app.request(`/v1/package/version/publish?${coords(opts.repository ?? 'my_repo')}&version=${version}&asset=${asset}${opts.unfinished ? '&unfinished=true' : ''}`, {
      method: 'POST',
      body: bytes,
      headers: { authorization: `Bearer ${all}`, 'x-amz-content-sha256': sha256(bytes), 'content-type': 'application/octet-stream' },
    });
  const describeIn = async (repository: string, version: string) => (await (await gw.get(`/v1/package/version?${coords(repository)}&version=${version}`, all)).json()).packageVersion;
  const download = (repository: string, version: string, asset: string) => gw.get(`/v1/package/version/asset?${coords(repository)}&version=${version}&asset=${asset}`, all);
  const copy = (body: unknown, token = copier, url = COPY) => gw.post(url, body, token);
  const newest = async (): Promise<AuditRecord> => (await gw.store.listAudit({ limit: 1 }))[0]!;
  const blobOf = async (repository: string, version: string, asset: string) => (await gw.store.readVersion(key(repository), version, asset)).asset!.blobKey;

  beforeEach(async () => {
    gw = await testGateway({ policies: { 'test-copiers.cedar': COPIERS } });
    all = await gw.token('pat', ['publishers', 'developers', 'release-managers', 'security']);
    copier = await gw.token('cora', ['copiers', 'developers']);
  });
  afterEach(() => gw.close());

  describe('Unfinished → Published with UpdatePackageVersionsStatus', () => {
    it('finishes the upload: the version is Published, its sync starts, and it downloads once synced', async () => {
      expect((await publish('1.0.0', 'a.bin', 'A', { unfinished: true })).status).toBe(200);
      expect((await publish('1.0.0', 'b.bin', 'B', { unfinished: true })).status).toBe(200);
      expect(await gw.sync()).toBe(0); // an Unfinished version's sync waits
      const res = await gw.post(`/v1/package/versions/update_status?${coords('my_repo')}`, { versions: ['1.0.0'], targetStatus: 'Published' }, all);
      expect(res.status).toBe(200);
      const body = await res.json();
      expect(body.failedVersions).toEqual({});
      expect(body.successfulVersions['1.0.0'].status).toBe('Published');
      expect((await gw.store.countSyncJobs()).awaiting).toBe(1);
      expect(await gw.sync()).toBe(1);
      expect(await (await download('my_repo', '1.0.0', 'a.bin')).text()).toBe('A');
      expect(await (await download('my_repo', '1.0.0', 'b.bin')).text()).toBe('B');
    });

    it('an Unfinished version still cannot be Unlisted or Archived', async () => {
      await publish('1.0.0', 'a.bin', 'A', { unfinished: true });
      for (const targetStatus of ['Unlisted', 'Archived']) {
        const body = await (await gw.post(`/v1/package/versions/update_status?${coords('my_repo')}`, { versions: ['1.0.0'], targetStatus }, all)).json();
        expect(body.failedVersions['1.0.0']).toEqual({ errorCode: 'NOT_ALLOWED', errorMessage: expect.stringContaining(`cannot change status from Unfinished to ${targetStatus}`) });
      }
      expect((await describeIn('my_repo', '1.0.0')).status).toBe('Unfinished');
    });
  });

  describe('CopyPackageVersions', () => {
    beforeEach(async () => {
      expect((await publish('1.0.0', 'tool.tgz', 'one')).status).toBe(200);
      expect((await publish('2.0.0', 'tool.tgz', 'two')).status).toBe(200);
      await gw.sync();
    });

    it('copies the versions with their assets and hashes: own revision, identifier and sync; the bytes are shared, not duplicated', async () => {
      const source = await describeIn('my_repo', '1.0.0');
      const res = await copy({ versions: ['1.0.0', '2.0.0'] });
      expect(res.status).toBe(200);
      const body = await res.json();
      expect(body.failedVersions).toEqual({});
      expect(body.successfulVersions).toEqual({
        '1.0.0': { revision: expect.stringMatching(/^[A-Za-z0-9+/]{43}=$/), status: 'Published' },
        '2.0.0': { revision: expect.any(String), status: 'Published' },
      });
      const copied = await describeIn('staging', '1.0.0');
      expect(copied.revision).toBe(body.successfulVersions['1.0.0'].revision);
      expect(copied.revision).not.toBe(source.revision);
      expect(copied.identifier).not.toBe(source.identifier);
      const assets = async (repository: string) => (await (await gw.post(`/v1/package/version/assets?${coords(repository)}&version=1.0.0`, undefined, all)).json()).assets;
      expect(await assets('staging')).toEqual(await assets('my_repo'));
      expect(await blobOf('staging', '1.0.0', 'tool.tgz')).toBe(await blobOf('my_repo', '1.0.0', 'tool.tgz'));
      // Its own sync: not downloadable from staging until it ran.
      expect((await download('staging', '1.0.0', 'tool.tgz')).status).toBe(409);
      expect(await gw.sync()).toBe(2);
      expect(await (await download('staging', '1.0.0', 'tool.tgz')).text()).toBe('one');
    });

    it('records one audit record on the destination package, naming source and destination, with each copy', async () => {
      const source = await describeIn('my_repo', '1.0.0');
      const body = await (await copy({ versions: ['1.0.0'] })).json();
      expect(await newest()).toMatchObject({
        action: 'CopyPackageVersions',
        resource: ARN('staging'),
        decision: 'allow',
        determiningPolicies: ['test-copiers-copy-anywhere'],
        outcome: 'applied',
        request: { sourceRepository: 'my_repo', destinationRepository: 'staging', sourcePackage: ARN('my_repo'), versions: ['1.0.0'], allowOverwrite: false, includeFromUpstream: false },
        changes: [
          {
            version: '1.0.0',
            source: { repository: 'my_repo', status: 'Published', revision: source.revision },
            before: { status: 'Deleted', revision: '' },
            after: { status: 'Published', revision: body.successfulVersions['1.0.0'].revision },
          },
        ],
      });
    });

    it('refuses a version already in the destination with ALREADY_EXISTS, skips the rest, and copies nothing', async () => {
      await copy({ versions: ['1.0.0'] });
      const before = await describeIn('staging', '1.0.0');
      const body = await (await copy({ versions: ['1.0.0', '2.0.0'] })).json();
      expect(body).toEqual({
        successfulVersions: {},
        failedVersions: {
          '1.0.0': { errorCode: 'ALREADY_EXISTS', errorMessage: expect.stringContaining('already exists in repository staging') },
          '2.0.0': { errorCode: 'SKIPPED', errorMessage: 'version 2.0.0 is skipped' },
        },
      });
      expect(await newest()).toMatchObject({ action: 'CopyPackageVersions', outcome: 'rejected', changes: [] });
      expect((await gw.get(`/v1/package/version?${coords('staging')}&version=2.0.0`, all)).status).toBe(404);
      expect((await describeIn('staging', '1.0.0')).revision).toBe(before.revision);
    });

    it('allowOverwrite replaces the destination version: new assets, identifier and revision; bytes another record uses stay', async () => {
      expect((await publish('1.0.0', 'old.bin', 'old', { repository: 'staging' })).status).toBe(200);
      await gw.sync();
      const replaced = await describeIn('staging', '1.0.0');
      const oldBlob = await blobOf('staging', '1.0.0', 'old.bin');
      const body = await (await copy({ versions: ['1.0.0'], allowOverwrite: true })).json();
      expect(body.failedVersions).toEqual({});
      const now = await describeIn('staging', '1.0.0');
      expect(now.identifier).not.toBe(replaced.identifier);
      expect(now.revision).toBe(body.successfulVersions['1.0.0'].revision);
      expect((await gw.store.readVersion(key('staging'), '1.0.0', 'old.bin')).asset).toBeNull();
      expect(existsSync(gw.blobs.pathOf(oldBlob))).toBe(false);
      // Copied again over itself: the replaced records and the new ones share the bytes, which stay.
      expect((await (await copy({ versions: ['1.0.0'], allowOverwrite: true })).json()).failedVersions).toEqual({});
      await gw.sync();
      expect(await (await download('staging', '1.0.0', 'tool.tgz')).text()).toBe('one');
    });

    it('disposing or deleting one copy never removes the bytes the other still uses; the last one removes them', async () => {
      await copy({ versions: ['1.0.0'] });
      await gw.sync();
      const blob = await blobOf('my_repo', '1.0.0', 'tool.tgz');
      const dispose = await gw.post(`/v1/package/versions/dispose?${coords('my_repo')}`, { versions: ['1.0.0'] }, all);
      expect((await dispose.json()).failedVersions).toEqual({});
      expect(existsSync(gw.blobs.pathOf(blob))).toBe(true);
      expect(await (await download('staging', '1.0.0', 'tool.tgz')).text()).toBe('one');
      const del = await gw.post(`/v1/package/versions/delete?${coords('staging')}`, { versions: ['1.0.0'] }, all);
      expect((await del.json()).failedVersions).toEqual({});
      expect(existsSync(gw.blobs.pathOf(blob))).toBe(false);
      expect(await gw.store.pendingBlobDeletions()).toEqual([]);
    });

    it("deleting the source package (DeletePackage) leaves the copy's bytes downloadable; deleting the copy's package then removes them", async () => {
      await copy({ versions: ['1.0.0'] });
      await gw.sync();
      const blob = await blobOf('my_repo', '1.0.0', 'tool.tgz');
      const gone = await gw.app.request(`/v1/package?${coords('my_repo')}`, { method: 'DELETE', headers: { authorization: `Bearer ${all}` } });
      expect(gone.status).toBe(200);
      expect(existsSync(gw.blobs.pathOf(blob))).toBe(true);
      const copied = await download('staging', '1.0.0', 'tool.tgz');
      expect(copied.status).toBe(200);
      expect(await copied.text()).toBe('one');
      const last = await gw.app.request(`/v1/package?${coords('staging')}`, { method: 'DELETE', headers: { authorization: `Bearer ${all}` } });
      expect(last.status).toBe(200);
      expect(existsSync(gw.blobs.pathOf(blob))).toBe(false);
      expect(await gw.store.pendingBlobDeletions()).toEqual([]);
    });

    it('does not copy Unfinished, Archived or Disposed versions (NOT_ALLOWED) nor missing or deleted ones (NOT_FOUND), and says why', async () => {
      await publish('3.0.0', 'a.bin', 'A', { unfinished: true });
      await gw.post(`/v1/package/versions/update_status?${coords('my_repo')}`, { versions: ['2.0.0'], targetStatus: 'Archived' }, all);
      await publish('4.0.0', 'a.bin', 'D');
      await gw.post(`/v1/package/versions/dispose?${coords('my_repo')}`, { versions: ['4.0.0'] }, all);
      await publish('5.0.0', 'a.bin', 'E');
      await gw.post(`/v1/package/versions/delete?${coords('my_repo')}`, { versions: ['5.0.0'] }, all);
      const body = await (await copy({ versions: ['1.0.0', '2.0.0', '3.0.0', '4.0.0', '5.0.0', '9.9.9'] })).json();
      expect(body.successfulVersions).toEqual({});
      expect(body.failedVersions).toEqual({
        '1.0.0': { errorCode: 'SKIPPED', errorMessage: 'version 1.0.0 is skipped' },
        '2.0.0': { errorCode: 'NOT_ALLOWED', errorMessage: 'version 2.0.0 cannot be copied: it is Archived: an archived version cannot be copied until it is published again' },
        '3.0.0': { errorCode: 'NOT_ALLOWED', errorMessage: 'version 3.0.0 cannot be copied: it is Unfinished: publish it before copying it' },
        '4.0.0': { errorCode: 'NOT_ALLOWED', errorMessage: 'version 4.0.0 cannot be copied: it is Disposed: its assets were deleted for good' },
        '5.0.0': { errorCode: 'NOT_FOUND', errorMessage: 'version 5.0.0 does not exist in repository my_repo' },
        '9.9.9': { errorCode: 'NOT_FOUND', errorMessage: 'version 9.9.9 does not exist in repository my_repo' },
      });
      expect((await gw.get(`/v1/package/version?${coords('staging')}&version=1.0.0`, all)).status).toBe(404);
    });

    it('versionRevisions copies only versions that still have the given source revision (MISMATCHED_REVISION)', async () => {
      const { revision } = await describeIn('my_repo', '1.0.0');
      const stale = await (await copy({ versionRevisions: { '1.0.0': 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=' } })).json();
      expect(stale.failedVersions['1.0.0']).toEqual({ errorCode: 'MISMATCHED_REVISION', errorMessage: `current revision: ${revision}, expected revision: AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=` });
      const ok = await (await copy({ versionRevisions: { '1.0.0': revision } })).json();
      expect(Object.keys(ok.successfulVersions)).toEqual(['1.0.0']);
    });

    it.each([
      ['versions and versionRevisions together', { versions: ['1.0.0'], versionRevisions: { '1.0.0': 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=' } }, COPY, 'not both'],
      ['neither versions nor versionRevisions', {}, COPY, 'specify versions or versionRevisions'],
      ['an unknown member', { versions: ['1.0.0'], overwrite: true }, COPY, 'overwrite'],
      ['the same source and destination', { versions: ['1.0.0'] }, COPY.replace('destination-repository=staging', 'destination-repository=my_repo'), 'must differ'],
      ['no destination-repository', { versions: ['1.0.0'] }, COPY.replace('&destination-repository=staging', ''), 'destination-repository'],
      ['a destination-repository name with a slash', { versions: ['1.0.0'] }, COPY.replace('destination-repository=staging', 'destination-repository=a%2Fb'), "destination-repository contains a character that is not allowed: '/'"],
      ['a source-repository name with a slash', { versions: ['1.0.0'] }, COPY.replace('source-repository=my_repo', 'source-repository=a%2Fb'), "source-repository contains a character that is not allowed: '/'"],
    ])('400 ValidationException for %s, nothing copied', async (_name, body, url, message) => {
      const res = await copy(body, copier, url);
      expect(res.status).toBe(400);
      expect(res.headers.get('x-amzn-errortype')).toMatch(/^ValidationException/);
      expect(JSON.stringify(await res.json())).toContain(message);
      expect((await gw.get(`/v1/package/version?${coords('staging')}&version=1.0.0`, all)).status).toBe(404);
    });

    it('404 ResourceNotFoundException for a missing destination repository or source package', async () => {
      const noRepo = await copy({ versions: ['1.0.0'] }, copier, COPY.replace('destination-repository=staging', 'destination-repository=nowhere'));
      expect(noRepo.status).toBe(404);
      expect((await noRepo.json()).message).toBe('repository nowhere does not exist in domain my_domain');
      const noPackage = await copy({ versions: ['1.0.0'] }, copier, COPY.replace('package=tool', 'package=absent'));
      expect(noPackage.status).toBe(404);
    });

    it('403 when Cedar denies: nothing is copied, and the deny is recorded on the destination', async () => {
      const res = await copy({ versions: ['1.0.0'] }, all);
      expect(res.status).toBe(403);
      expect((await res.json()).message).toBe(`User: pat is not authorized to perform: codeartifact:CopyPackageVersions on resource: ${ARN('staging')}`);
      expect(await newest()).toMatchObject({ action: 'CopyPackageVersions', resource: ARN('staging'), decision: 'deny', outcome: 'denied' });
      expect((await gw.get(`/v1/package/version?${coords('staging')}&version=1.0.0`, all)).status).toBe(404);
    });
  });

  describe('a revision given for a version named "__proto__" guards it like any other', () => {
    // JSON.parse keeps "__proto__" as an own key, as a client sends it; an object literal would not.
    const withRevisions = (json: string) => JSON.parse(json) as Record<string, unknown>;
    const stale = 'A'.repeat(43) + '=';

    it('a stale one fails the update, the delete and the copy with MISMATCHED_REVISION, and nothing changes', async () => {
      expect((await publish('__proto__', 'a.bin', 'A')).status).toBe(200);
      const revision = (await describeIn('my_repo', '__proto__')).revision as string;
      const update = await gw.post(`/v1/package/versions/update_status?${coords('my_repo')}`, withRevisions(`{"versions":["__proto__"],"versionRevisions":{"__proto__":"${stale}"},"targetStatus":"Archived"}`), all);
      const updated = await update.json();
      expect(updated.successfulVersions).toEqual({});
      expect(Object.keys(updated.failedVersions)).toEqual(['__proto__']);
      expect(updated.failedVersions['__proto__'].errorCode).toBe('MISMATCHED_REVISION');
      const deleted = await (await gw.post(`/v1/package/versions/delete?${coords('my_repo')}`, withRevisions(`{"versions":["__proto__"],"versionRevisions":{"__proto__":"${stale}"}}`), all)).json();
      expect(Object.keys(deleted.failedVersions)).toEqual(['__proto__']);
      expect(deleted.failedVersions['__proto__'].errorCode).toBe('MISMATCHED_REVISION');
      expect(await describeIn('my_repo', '__proto__')).toMatchObject({ status: 'Published', revision });
      const copied = await (await copy(withRevisions(`{"versionRevisions":{"__proto__":"${stale}"}}`))).json();
      expect(Object.keys(copied.failedVersions)).toEqual(['__proto__']);
      expect(copied.failedVersions['__proto__'].errorCode).toBe('MISMATCHED_REVISION');
      // The right revision still works.
      const archived = await (await gw.post(`/v1/package/versions/update_status?${coords('my_repo')}`, withRevisions(`{"versions":["__proto__"],"versionRevisions":{"__proto__":"${revision}"},"targetStatus":"Archived"}`), all)).json();
      expect(Object.keys(archived.successfulVersions)).toEqual(['__proto__']);
    });

    it('one for a version the request does not name is refused (400), not dropped', async () => {
      expect((await publish('1.0.0', 'a.bin', 'A')).status).toBe(200);
      const res = await gw.post(`/v1/package/versions/delete?${coords('my_repo')}`, withRevisions(`{"versions":["1.0.0"],"versionRevisions":{"__proto__":"${stale}"}}`), all);
      expect(res.status).toBe(400);
      expect((await res.json()).message).toContain('versionRevisions names version __proto__, which is not in versions');
      expect((await describeIn('my_repo', '1.0.0')).status).toBe('Published');
    });
  });
});
