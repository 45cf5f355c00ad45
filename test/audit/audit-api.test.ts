/**
 * Completeness (one record per decision, every operation and outcome), the query filters, keyset
 * pagination while records keep arriving, and request validation of GET /v1/audit.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../src/audit/audit-record.ts';
import { CHALK, DISPOSE, PROD_CHALK, testGateway, UPDATE, type TestGateway } from '../helpers/gateway.ts';

const ARN = 'arn:aws:codeartifact:us-east-1:111122223333';
const MY_REPO_CHALK = `${ARN}:package/my_domain/my_repo/npm//chalk`;

describe('audit completeness', () => {
  let gw: TestGateway;
  beforeEach(async () => {
    gw = await testGateway();
  });
  afterEach(() => gw.close());

  const count = async () => (await gw.store.auditHead())?.seq ?? 0;
  /** Runs a request and returns the records it wrote. */
  const recordsOf = async (send: () => Promise<Response>, status: number): Promise<AuditRecord[]> => {
    const before = await count();
    const res = await send();
    expect(res.status).toBe(status);
    const after = await count();
    return (await gw.store.readAuditRange(before, 100)).slice(0, after - before);
  };

  it('writes exactly one record per decision, whatever the outcome', async () => {
    const rm = await gw.token('alice', ['release-managers']);
    const sec = await gw.token('sam', ['security']);
    const auditor = await gw.token('ada', ['auditors']);
    const cases: Array<[string, () => Promise<Response>, number, Partial<AuditRecord>]> = [
      ['applied update', () => gw.post(`${UPDATE}?${CHALK}`, { versions: ['4.1.0'], targetStatus: 'Unlisted' }, rm), 200, { decision: 'allow', outcome: 'applied' }],
      ['rejected update', () => gw.post(`${UPDATE}?${CHALK}`, { versions: ['4.1.0', '9.9.9'], targetStatus: 'Unlisted' }, rm), 200, { decision: 'allow', outcome: 'rejected' }],
      ['denied update', () => gw.post(`${UPDATE}?${PROD_CHALK}`, { versions: ['4.1.1'], targetStatus: 'Unlisted' }, rm), 403, { decision: 'deny', outcome: 'denied' }],
      ['update without a token', () => gw.post(`${UPDATE}?${CHALK}`, { versions: ['4.1.0'], targetStatus: 'Unlisted' }), 401, { decision: 'unauthenticated', outcome: 'unauthenticated', reason: 'ERR_TOKEN_MISSING' }],
      ['update with a bad token', () => gw.post(`${UPDATE}?${CHALK}`, { versions: ['4.1.0'], targetStatus: 'Unlisted' }, 'not.a.token'), 401, { decision: 'unauthenticated' }],
      ['update of an unknown package', () => gw.post(`${UPDATE}?domain=my_domain&domain-owner=111122223333&repository=my_repo&format=npm&package=nope`, { versions: ['1.0.0'], targetStatus: 'Unlisted' }, rm), 404, { decision: 'allow', outcome: 'not_found' }],
      ['applied dispose', () => gw.post(`${DISPOSE}?${CHALK}`, { versions: ['4.0.0'] }, sec), 200, { decision: 'allow', outcome: 'applied', action: 'DisposePackageVersions' }],
      ['denied dispose in prod', () => gw.post(`${DISPOSE}?${PROD_CHALK}`, { versions: ['4.1.1'] }, sec), 403, { decision: 'deny', determiningPolicies: ['never-dispose-in-prod'] }],
      ['audit read', () => gw.get('/v1/audit', auditor), 200, { decision: 'allow', outcome: 'read', action: 'ReadAuditLog' }],
      ['denied audit read', () => gw.get('/v1/audit', sec.replace(/.$/, '')), 401, { decision: 'unauthenticated', action: 'ReadAuditLog' }],
      ['audit head', () => gw.get('/v1/audit/head', auditor), 200, { decision: 'allow', outcome: 'read' }],
    ];
    for (const [name, send, status, expected] of cases) {
      const records = await recordsOf(send, status);
      expect(records, name).toHaveLength(1);
      expect(records[0], name).toMatchObject({ ...expected, httpStatus: status });
    }
  });

  it('writes no record for a request refused before authentication (400)', async () => {
    const records = await recordsOf(() => gw.post(`${UPDATE}?${CHALK}`, { versions: [] }, undefined), 400);
    expect(records).toEqual([]);
  });
});

describe('audit queries', () => {
  let gw: TestGateway;
  let auditor: string;
  beforeEach(async () => {
    gw = await testGateway();
    auditor = await gw.token('ada', ['auditors']);
    const rm = await gw.token('alice', ['release-managers']);
    const sec = await gw.token('sam', ['security']);
    await gw.post(`${UPDATE}?${CHALK}`, { versions: ['4.1.0'], targetStatus: 'Archived' }, rm);
    await gw.post(`${UPDATE}?${CHALK}`, { versions: ['4.1.1', '4.0.0'], targetStatus: 'Unlisted' }, rm);
    await gw.post(`${UPDATE}?domain=my_domain&domain-owner=111122223333&repository=my_repo&format=npm&namespace=nestjs&package=core`, { versions: ['8.0.0'], targetStatus: 'Unlisted' }, rm);
    await gw.post(`${DISPOSE}?${PROD_CHALK}`, { versions: ['4.1.1'] }, sec);
    await gw.post(`${UPDATE}?${CHALK}`, { versions: ['4.1.0'], targetStatus: 'Published' });
  });
  afterEach(() => gw.close());

  /** The records a query returns, leaving out the reads the query itself records. */
  const query = async (params: string): Promise<AuditRecord[]> => {
    const res = await gw.get(`/v1/audit?limit=500&${params}`, auditor);
    expect(res.status, await res.clone().text()).toBe(200);
    return ((await res.json()).records as AuditRecord[]).filter((r) => r.action !== 'ReadAuditLog');
  };
  /**
   * How many of the records are the seed's (testGateway() seeds the demo: its domain, 3 repositories
   * and 6 versions, each audited as SeedDemo), the seeded versions' syncs (each audited as
   * SyncPackageVersion) and the requests made above. The filters must find all three: a seed or sync
   * record names its package ARN and the version it created or synced; the seed's domain and
   * repository records belong to that domain and repository, as CreateDomain's and CreateRepository's.
   */
  const tally = (records: AuditRecord[]) => ({
    seeds: records.filter((r) => r.action === 'SeedDemo').length,
    syncs: records.filter((r) => r.action === 'SyncPackageVersion').length,
    requests: records.filter((r) => r.action !== 'SyncPackageVersion' && r.action !== 'SeedDemo').length,
  });

  it('filters by principal, action and decision', async () => {
    expect((await query('principal=alice')).map((r) => r.principal?.subject)).toEqual(['alice', 'alice', 'alice']);
    expect((await query('action=DisposePackageVersions')).map((r) => r.principal?.subject)).toEqual(['sam']);
    expect((await query('decision=deny')).map((r) => r.resource)).toEqual([`${ARN}:package/my_domain/prod/npm//chalk`]);
    expect(await query('decision=unauthenticated')).toHaveLength(1);
  });

  it('filters by exact resource, repository, domain and prefix', async () => {
    // Seeded (and synced): my_repo chalk 4.0.0, 4.1.0, 4.1.1, @nestjs/core 8.0.0, log4j 2.13.1; prod chalk 4.1.1.
    expect(tally(await query(`resource=${encodeURIComponent(MY_REPO_CHALK)}`))).toEqual({ seeds: 3, syncs: 3, requests: 3 });
    // A repository's records include its creation.
    expect(tally(await query(`resource=${encodeURIComponent(`${ARN}:repository/my_domain/my_repo`)}`))).toEqual({ seeds: 6, syncs: 5, requests: 4 });
    expect(tally(await query(`resource=${encodeURIComponent(`${ARN}:repository/my_domain/prod`)}`))).toEqual({ seeds: 2, syncs: 1, requests: 1 });
    // The domain's: its creation, its repositories' and every version's.
    expect(tally(await query(`resource=${encodeURIComponent(`${ARN}:domain/my_domain`)}`))).toEqual({ seeds: 10, syncs: 6, requests: 5 });
    expect(tally(await query(`resource=${encodeURIComponent(`${ARN}:package/my_domain/my_repo/npm/nestjs/*`)}`))).toEqual({ seeds: 1, syncs: 1, requests: 1 });
    expect(tally(await query(`resource=${encodeURIComponent(`${ARN}:package/my_domain/my_repo/npm//chalk*`)}`))).toEqual({ seeds: 3, syncs: 3, requests: 3 });
  });

  it('filters by package and by version (requested or changed)', async () => {
    expect(tally(await query('package=chalk'))).toEqual({ seeds: 4, syncs: 4, requests: 4 });
    expect(tally(await query('package=core'))).toEqual({ seeds: 1, syncs: 1, requests: 1 });
    // Newest first: the request that unlisted 4.0.0, the seeded sync that changed 4.0.0, the seed that created it.
    expect((await query('version=4.0.0')).map((r) => [r.action, r.request])).toEqual([
      ['UpdatePackageVersionsStatus', { versions: ['4.1.1', '4.0.0'], targetStatus: 'Unlisted' }],
      ['SyncPackageVersion', expect.objectContaining({ versions: ['4.0.0'] })],
      ['SeedDemo', { versions: ['4.0.0'], assetName: 'chalk-4.0.0.tgz' }],
    ]);
    // 4.1.1 of chalk: the unlist (my_repo) and the denied dispose (prod), and its seed and sync in each repository.
    expect(tally(await query('package=chalk&version=4.1.1'))).toEqual({ seeds: 2, syncs: 2, requests: 2 });
  });

  it('filters by time range', async () => {
    const all = await query('');
    const middle = all[2]!.time;
    expect((await query(`since=${encodeURIComponent(middle)}`)).every((r) => r.time >= middle)).toBe(true);
    expect((await query(`until=${encodeURIComponent(middle)}`)).every((r) => r.time < middle)).toBe(true);
    expect(await query('since=2999-01-01T00:00:00Z')).toEqual([]);
  });

  it('pages newest first with a keyset cursor that stays stable while records arrive', async () => {
    const first = await gw.get('/v1/audit?limit=2', auditor);
    const page1 = await first.json();
    expect(page1.records).toHaveLength(2);
    expect(page1.records[0].seq).toBeGreaterThan(page1.records[1].seq);
    // New records arrive between pages; the next page continues exactly below the cursor.
    await gw.post(`${UPDATE}?${CHALK}`, { versions: ['4.1.0'], targetStatus: 'Unlisted' }, await gw.token('alice', ['release-managers']));
    const page2 = await (await gw.get(`/v1/audit?limit=2&next-token=${page1.nextToken}`, auditor)).json();
    expect(page2.records.map((r: AuditRecord) => r.seq)).toEqual([page1.records[1].seq - 1, page1.records[1].seq - 2]);
    // Walk to the end: every record below the first page appears once.
    const seen: number[] = [...page1.records, ...page2.records].map((r: AuditRecord) => r.seq);
    let token = page2.nextToken;
    while (token) {
      const page = await (await gw.get(`/v1/audit?limit=2&next-token=${token}`, auditor)).json();
      seen.push(...page.records.map((r: AuditRecord) => r.seq));
      token = page.nextToken;
    }
    expect(seen).toEqual([...Array(page1.records[0].seq).keys()].map((i) => page1.records[0].seq - i));
  });

  it('answers 400 for bad filters, before authentication', async () => {
    for (const params of ['limit=0', 'limit=501', 'since=yesterday', 'decision=maybe', 'next-token=abc', 'action=Drop%20table', `resource=${encodeURIComponent('a b')}`]) {
      const res = await gw.get(`/v1/audit?${params}`);
      expect(res.status, params).toBe(400);
      expect(res.headers.get('x-amzn-errortype')).toBe('ValidationException');
    }
  });
});
