/**
 * The shipped example policies for the package API, end to end over HTTP: who reads, who downloads,
 * who publishes and deletes, and the forbids that keep prod immutable. Every deny is a 403 with its
 * audit record, and changes nothing.
 */
import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../src/audit/audit-record.ts';
import { testGateway, type TestGateway } from '../helpers/gateway.ts';

const OWNER = 'domain=my_domain&domain-owner=111122223333';
const pkg = (repository: string) => `${OWNER}&repository=${repository}&format=generic&namespace=acme&package=tool`;
const CHALK_PROD = `${OWNER}&repository=prod&format=npm&package=chalk`;
const sha256 = (b: string) => createHash('sha256').update(b).digest('hex');

describe('the shipped package policies', () => {
  let gw: TestGateway;
  const as = (sub: string, groups: string[]) => gw.token(sub, groups);
  const publish = async (token: string, repository: string, version: string, asset: string, unfinished = false) =>
    gw.app.request(`/v1/package/version/publish?${pkg(repository)}&version=${version}&asset=${asset}${unfinished ? '&unfinished=true' : ''}`, {
      method: 'POST',
      body: asset,
      headers: { authorization: `Bearer ${token}`, 'x-amz-content-sha256': sha256(asset) },
    });
  const read = async (token: string, repository: string) => {
    const q = pkg(repository);
    return [
      (await gw.app.request(`/v1/package/versions?${q}`, { method: 'POST', headers: { authorization: `Bearer ${token}` } })).status,
      (await gw.app.request(`/v1/package/version?${q}&version=1.0.0`, { headers: { authorization: `Bearer ${token}` } })).status,
      (await gw.app.request(`/v1/package/version/assets?${q}&version=1.0.0`, { method: 'POST', headers: { authorization: `Bearer ${token}` } })).status,
      (await gw.app.request(`/v1/package/version/asset?${q}&version=1.0.0&asset=a.bin`, { headers: { authorization: `Bearer ${token}` } })).status,
    ];
  };
  const newest = async (): Promise<AuditRecord> => (await gw.store.listAudit({ limit: 1 }))[0]!;
  let publisher: string;

  beforeEach(async () => {
    gw = await testGateway();
    publisher = await as('ci', ['publishers']);
    for (const repository of ['my_repo', 'prod']) expect((await publish(publisher, repository, '1.0.0', 'a.bin')).status).toBe(200);
    // Downloadable once synchronised.
    expect(await gw.sync()).toBe(2);
  });
  afterEach(() => gw.close());

  it('teams-read-my-domain: developers, maintainers, release managers and security read and download everywhere in my_domain', async () => {
    for (const group of ['developers', 'maintainers', 'release-managers', 'security']) {
      const token = await as(`a-${group}`, [group]);
      for (const repository of ['my_repo', 'prod']) expect(await read(token, repository), `${group} in ${repository}`).toEqual([200, 200, 200, 200]);
    }
    expect((await newest()).determiningPolicies).toEqual(['teams-read-my-domain']);
  });

  it('auditors-read-version-metadata: auditors see versions and hashes, but download no bytes', async () => {
    expect(await read(await as('ada', ['auditors']), 'my_repo')).toEqual([200, 200, 200, 403]);
    expect(await newest()).toMatchObject({ action: 'GetPackageVersionAsset', decision: 'deny', reason: 'no_permit', outcome: 'denied' });
  });

  it('nobody else reads anything, and publishers only publish', async () => {
    expect(await read(await as('eve', []), 'my_repo')).toEqual([403, 403, 403, 403]);
    expect(await read(publisher, 'my_repo')).toEqual([403, 403, 403, 403]);
  });

  it('publishers-publish-to-my-domain: only publishers publish; release managers do not', async () => {
    const res = await publish(await as('alice', ['release-managers']), 'my_repo', '2.0.0', 'b.bin');
    expect(res.status).toBe(403);
    expect(await newest()).toMatchObject({ action: 'PublishPackageVersion', decision: 'deny', reason: 'no_permit' });
    expect((await publish(publisher, 'my_repo', '2.0.0', 'b.bin')).status).toBe(200);
    expect((await newest()).determiningPolicies).toEqual(['publishers-publish-to-my-domain']);
  });

  it('prod-versions-are-immutable: a finished prod version takes no more bytes (403, not 409); an Unfinished one does', async () => {
    const res = await publish(publisher, 'prod', '1.0.0', 'b.bin');
    expect(res.status).toBe(403);
    expect(await newest()).toMatchObject({ decision: 'deny', reason: 'forbid', determiningPolicies: ['prod-versions-are-immutable'] });
    // In my_repo the same call reaches the registry's own rule instead.
    expect((await publish(publisher, 'my_repo', '1.0.0', 'b.bin')).status).toBe(409);

    expect((await publish(publisher, 'prod', '2.0.0', 'a.bin', true)).status).toBe(200);
    expect((await publish(publisher, 'prod', '2.0.0', 'b.bin')).status).toBe(200);
    expect((await publish(publisher, 'prod', '2.0.0', 'c.bin')).status).toBe(403);
  });

  it('never-delete-in-prod: not even security deletes in prod', async () => {
    const security = await as('sam', ['security']);
    const res = await gw.post(`/v1/package/versions/delete?${CHALK_PROD}`, { versions: ['4.1.1'] }, security);
    expect(res.status).toBe(403);
    expect(await newest()).toMatchObject({ action: 'DeletePackageVersions', reason: 'forbid', determiningPolicies: ['never-delete-in-prod'] });
    const snapshot = await gw.store.readPackage({ domainOwner: '111122223333', domain: 'my_domain', repository: 'prod', format: 'npm', namespace: '', name: 'chalk' }, ['4.1.1']);
    expect(snapshot.versions.get('4.1.1')?.status).toBe('Published');
  });

  it('security-may-delete in my_repo; release managers delete only Unfinished versions there', async () => {
    const rm = await as('alice', ['release-managers']);
    expect((await publish(publisher, 'my_repo', '2.0.0', 'a.bin', true)).status).toBe(200);
    const unfinished = await gw.post(`/v1/package/versions/delete?${pkg('my_repo')}`, { versions: ['2.0.0'] }, rm);
    expect(unfinished.status).toBe(200);
    expect((await unfinished.json()).successfulVersions['2.0.0'].status).toBe('Deleted');
    expect((await newest()).determiningPolicies).toEqual(['release-managers-delete-unfinished-in-my-repo']);

    expect((await gw.post(`/v1/package/versions/delete?${pkg('my_repo')}`, { versions: ['1.0.0'] }, rm)).status).toBe(403);
    const security = await gw.post(`/v1/package/versions/delete?${pkg('my_repo')}`, { versions: ['1.0.0'] }, await as('sam', ['security']));
    expect(security.status).toBe(200);
    expect((await newest()).determiningPolicies).toEqual(['security-may-delete']);
  });
});
