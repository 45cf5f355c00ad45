/**
 * What an auditor scoped by Cedar to a domain or a repository reads: the records of repositories
 * deleted since included, and the domain's own records (CreateRepository, DescribeDomain…), on both
 * stores.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../src/audit/audit-record.ts';
import { verifyChain } from '../../src/audit/verify-chain.ts';
import { testGateway, type TestGateway } from '../helpers/gateway.ts';
import { sqlOnGateway } from '../helpers/raw-sql.ts';

const MIGRATIONS = join(import.meta.dirname, '../../drizzle');

/** SQL run straight on the gateway's database (the state a database written before the fix is in). */
const onDatabase = (gw: TestGateway, statements: string[]) => sqlOnGateway(gw, statements);

const ARN = 'arn:aws:codeartifact:us-east-1:111122223333';
const DOMAIN = `${ARN}:domain/my_domain`;
const SCRATCH = `${ARN}:repository/my_domain/scratch`;
const SCRATCH_QUERY = 'domain=my_domain&domain-owner=111122223333&repository=scratch';

const SCOPED_READERS = `
@id("domain-auditors-read-my-domain")
permit (principal in Group::"domain-auditors", action == Action::"ReadAuditLog", resource in Domain::"${DOMAIN}");
@id("scratch-auditors-read-scratch")
permit (principal in Group::"scratch-auditors", action == Action::"ReadAuditLog", resource == Repository::"${SCRATCH}");
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
    expect(actions(ofScratch.records)).toEqual(['DeleteRepository']);
    const created = await read(reader, 'action=CreateRepository');
    expect(created.records).toHaveLength(1);
    expect(created.records[0]).toMatchObject({ resource: `Domain::"${DOMAIN}"`, request: { repository: 'scratch' } });
  });

  it('a reader scoped to a repository deleted since is not refused: it reads that repository’s records', async () => {
    const reader = await gw.token('sid', ['scratch-auditors']);
    const page = await read(reader, '');
    expect(page.status).toBe(200);
    expect(actions(page.records)).toEqual(['DeleteRepository']);
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
