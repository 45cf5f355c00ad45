/**
 * What an auditor scoped by Cedar to a domain or a repository reads: the records of repositories
 * deleted since included, each repository's CreateRepository record with them, and the domain's own
 * records (DescribeDomain, ListRepositoriesInDomain…), on both stores.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../src/audit/audit-record.ts';
import { verifyChain } from '../../src/audit/verify-chain.ts';
import { RECORDED_SCOPE } from '../../src/operations/read-audit.ts';
import { testGateway, type TestGateway } from '../helpers/gateway.ts';
import { sqlOnGateway } from '../helpers/raw-sql.ts';

const MIGRATIONS = join(import.meta.dirname, '../../drizzle');

/** SQL run straight on the gateway's database (the state a database written before the fix is in). */
const onDatabase = (gw: TestGateway, statements: string[]) => sqlOnGateway(gw, statements);

const ARN = 'arn:aws:codeartifact:us-east-1:111122223333';
const DOMAIN = `${ARN}:domain/my_domain`;
const SCRATCH = `${ARN}:repository/my_domain/scratch`;
const SCRATCH_QUERY = 'domain=my_domain&domain-owner=111122223333&repository=scratch';
const SECRET = `${ARN}:repository/my_domain/secret`;
const SECRET_QUERY = 'domain=my_domain&domain-owner=111122223333&repository=secret';

const SCOPED_READERS = `
@id("domain-auditors-read-my-domain")
permit (principal in Group::"domain-auditors", action == Action::"ReadAuditLog", resource in Domain::"${DOMAIN}");
@id("scratch-auditors-read-scratch")
permit (principal in Group::"scratch-auditors", action == Action::"ReadAuditLog", resource == Repository::"${SCRATCH}");
@id("most-auditors-read-my-domain-but-secret")
permit (principal in Group::"most-auditors", action == Action::"ReadAuditLog", resource in Domain::"${DOMAIN}")
unless { resource == Repository::"${SECRET}" };
@id("forbidden-auditors-read-my-domain")
permit (principal in Group::"forbidden-auditors", action == Action::"ReadAuditLog", resource in Domain::"${DOMAIN}");
@id("forbidden-auditors-never-read-secret")
forbid (principal in Group::"forbidden-auditors", action == Action::"ReadAuditLog", resource == Repository::"${SECRET}");
`;

describe.each(['sqlite', 'postgres'] as const)('scoped audit readers (%s)', (engine) => {
  let gw: TestGateway;
  beforeEach(async () => {
    gw = await testGateway({ engine, policies: { 'scoped-readers.cedar': SCOPED_READERS } });
    const admin = await gw.token('root', ['registry-admins']);
    expect((await gw.post(`/v1/repository?${SCRATCH_QUERY}`, {}, admin)).status).toBe(200);
    const deleted = await gw.app.request(`/v1/repository?${SCRATCH_QUERY}`, { method: 'DELETE', headers: { authorization: `Bearer ${admin}` } });
    expect(deleted.status).toBe(200);
  });
  afterEach(() => gw.close());

  const read = async (token: string, params: string): Promise<{ status: number; records: AuditRecord[] }> => {
    const res = await gw.get(`/v1/audit?limit=500&${params}`, token);
    const body = await res.json();
    return { status: res.status, records: ((body.records ?? []) as AuditRecord[]).filter((r) => r.action !== 'ReadAuditLog') };
  };
  const actions = (records: AuditRecord[]) => records.map((r) => r.action);

  it('a domain-scoped reader still reads a deleted repository, and the domain record that created it', async () => {
    const reader = await gw.token('dora', ['domain-auditors']);
    const ofScratch = await read(reader, `resource=${SCRATCH}`);
    expect(ofScratch.status).toBe(200);
    // The CreateRepository record is decided on the domain, but it is the repository's: resource=<its ARN> finds it.
    expect(actions(ofScratch.records)).toEqual(['DeleteRepository', 'CreateRepository']);
    const created = await read(reader, 'action=CreateRepository');
    expect(created.records).toHaveLength(1);
    expect(created.records[0]).toMatchObject({ resource: `Domain::"${DOMAIN}"`, request: { repository: 'scratch' } });
  });

  it('a reader scoped to one repository reads who created it and when: its CreateRepository record, deleted since or not', async () => {
    const reader = await gw.token('sid', ['scratch-auditors']);
    const page = await read(reader, '');
    expect(page.status).toBe(200);
    expect(actions(page.records)).toEqual(['DeleteRepository', 'CreateRepository']);
    expect(page.records[1]).toMatchObject({ principal: { subject: 'root' }, resource: `Domain::"${DOMAIN}"`, request: { repository: 'scratch' }, outcome: 'applied' });
  });

  it.each([
    ['an unless clause', 'most-auditors'],
    ['a forbid', 'forbidden-auditors'],
  ])("a reader allowed every repository of the domain but one (%s) reads nothing about that one, the domain's records about it included", async (_how, group) => {
    const admin = await gw.token('root', ['registry-admins']);
    expect((await gw.post(`/v1/repository?${SECRET_QUERY}`, {}, admin)).status).toBe(200);
    // A second CreateRepository of it is refused, and still about it.
    expect((await gw.post(`/v1/repository?${SECRET_QUERY}`, {}, admin)).status).toBe(409);
    expect((await gw.get('/v1/domain?domain=my_domain&domain-owner=111122223333', admin)).status).toBe(200);
    const reader = await gw.token('mo', [group]);
    const created = await read(reader, 'action=CreateRepository');
    expect(created.status).toBe(200);
    expect(created.records.map((r) => r.request.repository)).toEqual(['scratch']);
    expect((await read(reader, `resource=${SECRET}`)).records).toEqual([]);
    // The domain's records about itself are still theirs.
    expect(actions((await read(reader, `resource=${DOMAIN}&action=DescribeDomain`)).records)).toEqual(['DescribeDomain']);
    // Those allowed the whole domain read both of the secret repository's.
    const dora = await gw.token('dora', ['domain-auditors']);
    expect((await read(dora, `resource=${SECRET}&action=CreateRepository`)).records.map((r) => r.outcome)).toEqual(['rejected', 'applied']);
  });

  it("resource=<domain ARN> and the domain's readers find a refused token's record aimed at the domain", async () => {
    const res = await gw.get('/v1/domain?domain=my_domain&domain-owner=111122223333', 'not-a-token');
    expect(res.status).toBe(401);
    await gw.rejections.flush();
    const reader = await gw.token('dora', ['domain-auditors']);
    const page = await read(reader, `resource=${DOMAIN}&decision=unauthenticated`);
    expect(page.records.map((r) => [r.action, r.resource])).toEqual([['DescribeDomain', DOMAIN]]);
    expect((await read(await gw.token('sid', ['scratch-auditors']), 'decision=unauthenticated')).records).toEqual([]);
  });

  it("a refused token's CreateRepository is the record of the repository it names, as the request's own record would be", async () => {
    const res = await gw.post(`/v1/repository?${SECRET_QUERY}`, {}, 'not-a-token');
    expect(res.status).toBe(401);
    await gw.rejections.flush();
    const dora = await gw.token('dora', ['domain-auditors']);
    expect((await read(dora, `resource=${SECRET}&decision=unauthenticated`)).records.map((r) => [r.action, r.resource])).toEqual([['CreateRepository', SECRET]]);
    // Not the domain's own: a reader allowed the domain but that repository does not see it.
    expect((await read(await gw.token('mo', ['most-auditors']), 'decision=unauthenticated')).records).toEqual([]);
  });

  it("a repository-scoped reader does not read its domain's own records", async () => {
    const releaseManager = await gw.token('alice', ['release-managers']);
    const page = await read(releaseManager, 'action=CreateRepository');
    expect(page.status).toBe(200);
    expect(page.records).toEqual([]);
  });

  it('resource=<domain ARN> finds the records whose resource is the domain itself', async () => {
    const auditor = await gw.token('ada', ['auditors']);
    const page = await read(auditor, `resource=${DOMAIN}&action=CreateRepository`);
    expect(page.records.map((r) => r.resource)).toEqual([`Domain::"${DOMAIN}"`]);
  });

  it("the upgrade's migration gives a domain's records about a repository that repository, and a domain ARN's refused token its domain; verify holds", async () => {
    expect((await gw.get('/v1/domain?domain=my_domain&domain-owner=111122223333', 'not-a-token')).status).toBe(401);
    await gw.rejections.flush();
    const admin = await gw.token('root', ['registry-admins']);
    expect((await gw.get('/v1/domain?domain=my_domain&domain-owner=111122223333', admin)).status).toBe(200);
    // As the release before this one wrote them: neither record had a repository, nor the refusal a domain.
    await onDatabase(gw, [
      `UPDATE audit_log SET repository_arn = NULL WHERE resource = 'Domain::"${DOMAIN}"'`,
      `UPDATE audit_log SET domain_arn = NULL WHERE resource = '${DOMAIN}'`,
    ]);
    expect((await verifyChain(gw.store)).break?.problem).toContain('index columns');
    const migration = engine === 'sqlite' ? 'sqlite/0010_audit_domain_record_repository.sql' : 'postgres/0004_audit_domain_record_repository.sql';
    await onDatabase(gw, [readFileSync(join(MIGRATIONS, migration), 'utf8')]);
    expect((await verifyChain(gw.store)).ok).toBe(true);
    const sid = await gw.token('sid', ['scratch-auditors']);
    expect(actions((await read(sid, '')).records)).toEqual(['DeleteRepository', 'CreateRepository']);
    const dora = await gw.token('dora', ['domain-auditors']);
    expect(actions((await read(dora, `resource=${DOMAIN}&action=DescribeDomain`)).records)).toEqual(['DescribeDomain', 'DescribeDomain']);
  });

  it("the upgrade's migration gives records written before it their domain, and verify holds", async () => {
    // As a release before this one wrote them: no domain in the index column.
    await onDatabase(gw, [`UPDATE audit_log SET domain_arn = NULL WHERE resource = 'Domain::"${DOMAIN}"'`]);
    expect((await verifyChain(gw.store)).break?.problem).toContain('index columns');
    const migration = engine === 'sqlite' ? 'sqlite/0008_audit_domain_arn.sql' : 'postgres/0002_audit_domain_arn.sql';
    await onDatabase(gw, [readFileSync(join(MIGRATIONS, migration), 'utf8')]);
    expect((await verifyChain(gw.store)).ok).toBe(true);
    const auditor = await gw.token('ada', ['auditors']);
    expect((await read(auditor, `resource=${DOMAIN}&action=CreateRepository`)).records).toHaveLength(1);
  });
});

describe("a scoped read's own record", () => {
  let gw: TestGateway;
  afterEach(() => gw.close());

  it(`lists at most ${RECORDED_SCOPE} repositories of the reader's scope, with how many and a digest of them all`, async () => {
    gw = await testGateway({ policies: { 'scoped-readers.cedar': SCOPED_READERS } });
    const admin = await gw.token('root', ['registry-admins']);
    for (let i = 0; i < RECORDED_SCOPE + 20; i++) {
      expect((await gw.post(`/v1/repository?domain=my_domain&domain-owner=111122223333&repository=r${String(i).padStart(3, '0')}`, {}, admin)).status).toBe(200);
    }
    const dora = await gw.token('dora', ['domain-auditors']);
    expect((await gw.get('/v1/audit?limit=1', dora)).status).toBe(200);
    const [read] = await gw.store.listAudit({ limit: 1, filter: { action: 'ReadAuditLog' } });
    const request = read!.request as { scope: string[]; scopeTotal: number; scopeSha256: string; scopeDomains: string[] };
    // The demo's three repositories and the 120 created: every one the domain reader may read.
    const all = [...['my_repo', 'prod', 'staging'], ...Array.from({ length: RECORDED_SCOPE + 20 }, (_, i) => `r${String(i).padStart(3, '0')}`)].map((r) => `${ARN}:repository/my_domain/${r}`).sort();
    expect(request.scopeTotal).toBe(all.length);
    expect(request.scope).toEqual(all.slice(0, RECORDED_SCOPE));
    expect(request.scopeSha256).toBe(createHash('sha256').update(all.join('\n')).digest('hex'));
    expect(request.scopeDomains).toEqual([DOMAIN]);
    expect(JSON.stringify(request).length).toBeLessThan(12_000);
  });
});
