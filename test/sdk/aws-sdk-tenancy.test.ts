/**
 * Domains and repositories through the unmodified AWS SDK against the real server over real HTTP:
 * each operation, its denials, conflicts, missing resources and validation errors, and the audit
 * record each decision leaves.
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AccessDeniedException,
  CodeartifactClient,
  ConflictException,
  CreateDomainCommand,
  CreateRepositoryCommand,
  DeleteDomainCommand,
  DeletePackageVersionsCommand,
  DeleteRepositoryCommand,
  DescribeDomainCommand,
  DescribeRepositoryCommand,
  ListDomainsCommand,
  ListRepositoriesCommand,
  ListRepositoriesInDomainCommand,
  PublishPackageVersionCommand,
  ResourceNotFoundException,
  ServiceQuotaExceededException,
  UpdateRepositoryCommand,
  ValidationException,
  paginateListRepositoriesInDomain,
} from '@aws-sdk/client-codeartifact';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyChain } from '../../src/audit/verify-chain.ts';
import { mintDevToken } from '../../src/auth/dev-key.ts';
import { systemClock } from '../../src/clock.ts';
import { parseConfig } from '../../src/config.ts';
import { silentLogger } from '../../src/log.ts';
import { startGateway, type Gateway } from '../../src/main.ts';
import { REPO_POLICIES } from '../helpers/gateway.ts';
import { seedSynced } from '../helpers/seed-synced.ts';
import { sdkClient } from '../helpers/sdk-client.ts';

const OWNER = '111122223333';
const ARN = 'arn:aws:codeartifact:us-east-1:111122223333';

describe('domains and repositories through @aws-sdk/client-codeartifact', () => {
  let dir: string;
  let gateway: Gateway;
  let admin: CodeartifactClient;
  let developer: CodeartifactClient;
  let client: (sub: string, groups: string[]) => Promise<CodeartifactClient>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vg-sdk-tenancy-'));
    cpSync(REPO_POLICIES, join(dir, 'policies'), { recursive: true });
    const config = parseConfig({ env: {}, flags: { port: '0', 'data-dir': join(dir, 'data'), 'policy-dir': join(dir, 'policies') }, dev: true });
    gateway = await startGateway(config, { logger: silentLogger });
    await seedSynced(gateway, join(dir, 'data'));
    client = async (sub, groups) =>
      sdkClient(
        gateway.url,
        await mintDevToken({ key: gateway.devKey!, issuer: config.auth.issuer, audience: config.auth.audience, subject: sub, groups, groupsClaim: 'groups', ttlSeconds: 600, clock: systemClock }),
      );
    admin = await client('root', ['registry-admins']);
    developer = await client('dev', ['developers']);
  });
  afterAll(async () => {
    admin?.destroy();
    developer?.destroy();
    await gateway?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('CreateDomain creates a domain owned by the gateway account; DescribeDomain and ListDomains show it', async () => {
    const created = await admin.send(new CreateDomainCommand({ domain: 'team-a' }));
    expect(created.domain).toMatchObject({ name: 'team-a', owner: OWNER, arn: `${ARN}:domain/team-a`, status: 'Active', repositoryCount: 0, assetSizeBytes: 0 });
    expect(created.domain?.createdTime).toBeInstanceOf(Date);
    expect(created.domain?.encryptionKey).toBeUndefined();

    const described = await admin.send(new DescribeDomainCommand({ domain: 'my_domain' }));
    expect(described.domain).toMatchObject({ name: 'my_domain', owner: OWNER, status: 'Active', repositoryCount: 3 });
    expect(described.domain!.assetSizeBytes).toBeGreaterThan(0);

    const listed = await admin.send(new ListDomainsCommand({}));
    expect(listed.domains?.map((d) => d.name)).toEqual(['my_domain', 'team-a']);
    const page = await admin.send(new ListDomainsCommand({ maxResults: 1 }));
    expect(page.domains?.map((d) => d.name)).toEqual(['my_domain']);
    const next = await admin.send(new ListDomainsCommand({ maxResults: 1, nextToken: page.nextToken }));
    expect(next.domains?.map((d) => d.name)).toEqual(['team-a']);
    expect(next.nextToken).toBeUndefined();
  });

  it('CreateDomain refuses a duplicate (409), a bad name (400), an encryption key it cannot honour (400) and a caller Cedar denies (403)', async () => {
    await expect(admin.send(new CreateDomainCommand({ domain: 'my_domain' }))).rejects.toBeInstanceOf(ConflictException);
    await expect(admin.send(new CreateDomainCommand({ domain: 'Bad-Name' }))).rejects.toBeInstanceOf(ValidationException);
    await expect(admin.send(new CreateDomainCommand({ domain: 'x' }))).rejects.toThrow(/2 to 50 characters/);
    await expect(admin.send(new CreateDomainCommand({ domain: 'keyed', encryptionKey: 'arn:aws:kms:us-east-1:111122223333:key/k' }))).rejects.toThrow(/encryptionKey is not supported/);
    const denied = developer.send(new CreateDomainCommand({ domain: 'dev-domain' }));
    await expect(denied).rejects.toBeInstanceOf(AccessDeniedException);
    await expect(denied).rejects.toThrow(`User: dev is not authorized to perform: codeartifact:CreateDomain on resource: ${ARN}:domain/dev-domain`);
    await expect(admin.send(new DescribeDomainCommand({ domain: 'dev-domain' }))).rejects.toBeInstanceOf(ResourceNotFoundException);
  });

  it('CreateRepository stores the description and upstreams, and DescribeRepository returns them', async () => {
    const out = await admin.send(
      new CreateRepositoryCommand({ domain: 'my_domain', domainOwner: OWNER, repository: 'candidates', description: 'Release candidates', upstreams: [{ repositoryName: 'my_repo' }] }),
    );
    expect(out.repository).toEqual({
      name: 'candidates',
      administratorAccount: OWNER,
      domainName: 'my_domain',
      domainOwner: OWNER,
      arn: `${ARN}:repository/my_domain/candidates`,
      description: 'Release candidates',
      upstreams: [{ repositoryName: 'my_repo' }],
      externalConnections: [],
      createdTime: expect.any(Date),
    });
    const described = await developer.send(new DescribeRepositoryCommand({ domain: 'my_domain', repository: 'candidates' }));
    expect(described.repository).toEqual(out.repository);
  });

  it('CreateRepository refuses a duplicate, a missing domain or upstream, a bad name, too many upstreams, and a developer', async () => {
    const create = (input: Partial<ConstructorParameters<typeof CreateRepositoryCommand>[0]>, c = admin) =>
      c.send(new CreateRepositoryCommand({ domain: 'my_domain', repository: 'r2', ...input }));
    await expect(create({ repository: 'my_repo' })).rejects.toBeInstanceOf(ConflictException);
    await expect(create({ domain: 'nowhere', domainOwner: OWNER })).rejects.toBeInstanceOf(ResourceNotFoundException);
    const missingUpstream = create({ upstreams: [{ repositoryName: 'ghost' }] });
    await expect(missingUpstream).rejects.toBeInstanceOf(ResourceNotFoundException);
    await expect(missingUpstream).rejects.toThrow('upstream repository ghost does not exist in domain my_domain');
    await expect(create({ repository: '-bad' })).rejects.toBeInstanceOf(ValidationException);
    await expect(create({ repository: 'r'.repeat(101) })).rejects.toThrow(/2 to 100 characters/);
    await expect(create({ description: 'a\u0007b' })).rejects.toBeInstanceOf(ValidationException);
    await expect(create({ description: 'd'.repeat(1001) })).rejects.toBeInstanceOf(ValidationException);
    await expect(create({ upstreams: [{ repositoryName: 'r2' }] })).rejects.toThrow('repository r2 cannot be its own upstream');
    const many = Array.from({ length: 11 }, (_, i) => ({ repositoryName: `up${i}` }));
    await expect(create({ upstreams: many })).rejects.toBeInstanceOf(ServiceQuotaExceededException);
    await expect(create({ tags: [{ key: 'team', value: 'a' }] })).rejects.toThrow(/tags are not supported/);
    await expect(create({}, developer)).rejects.toBeInstanceOf(AccessDeniedException);
    // Nothing above created r2.
    await expect(admin.send(new DescribeRepositoryCommand({ domain: 'my_domain', repository: 'r2' }))).rejects.toBeInstanceOf(ResourceNotFoundException);
  });

  it('ListRepositoriesInDomain and ListRepositories page through the summaries, with a prefix', async () => {
    const all: string[] = [];
    for await (const page of paginateListRepositoriesInDomain({ client: developer, pageSize: 1 }, { domain: 'my_domain' })) {
      expect(page.repositories?.length).toBeLessThanOrEqual(1);
      all.push(...(page.repositories ?? []).map((r) => r.name!));
    }
    expect(all).toEqual(['candidates', 'my_repo', 'prod', 'staging']);
    const summary = (await developer.send(new ListRepositoriesInDomainCommand({ domain: 'my_domain', repositoryPrefix: 'ca' }))).repositories;
    expect(summary).toEqual([
      { name: 'candidates', administratorAccount: OWNER, domainName: 'my_domain', domainOwner: OWNER, arn: `${ARN}:repository/my_domain/candidates`, description: 'Release candidates', createdTime: expect.any(Date) },
    ]);
    const other = await developer.send(new ListRepositoriesInDomainCommand({ domain: 'my_domain', administratorAccount: '999999999999' }));
    expect(other.repositories).toEqual([]);
    const everywhere = await admin.send(new ListRepositoriesCommand({ repositoryPrefix: 'pr' }));
    expect(everywhere.repositories?.map((r) => r.arn)).toEqual([`${ARN}:repository/my_domain/prod`]);
    await expect(developer.send(new ListRepositoriesCommand({}))).rejects.toBeInstanceOf(AccessDeniedException);
    await expect(developer.send(new ListRepositoriesInDomainCommand({ domain: 'team-a' }))).rejects.toBeInstanceOf(AccessDeniedException);
    await expect(admin.send(new ListRepositoriesInDomainCommand({ domain: 'nowhere', domainOwner: OWNER }))).rejects.toBeInstanceOf(ResourceNotFoundException);
    // A page token is valid only for the listing that issued it.
    const first = await developer.send(new ListRepositoriesInDomainCommand({ domain: 'my_domain', maxResults: 1 }));
    await expect(admin.send(new ListDomainsCommand({ nextToken: first.nextToken }))).rejects.toBeInstanceOf(ValidationException);
    await expect(developer.send(new ListRepositoriesInDomainCommand({ domain: 'my_domain', repositoryPrefix: 'pr', nextToken: first.nextToken }))).rejects.toThrow(
      /next-token is not a token this listing issued/,
    );
  });

  it('UpdateRepository changes the description and replaces the upstreams; what it leaves out stays', async () => {
    const out = await admin.send(new UpdateRepositoryCommand({ domain: 'my_domain', repository: 'candidates', upstreams: [{ repositoryName: 'prod' }, { repositoryName: 'my_repo' }] }));
    expect(out.repository).toMatchObject({ description: 'Release candidates', upstreams: [{ repositoryName: 'prod' }, { repositoryName: 'my_repo' }] });
    const described = await admin.send(new UpdateRepositoryCommand({ domain: 'my_domain', repository: 'candidates', description: 'RCs' }));
    expect(described.repository).toMatchObject({ description: 'RCs', upstreams: [{ repositoryName: 'prod' }, { repositoryName: 'my_repo' }] });
    await expect(admin.send(new UpdateRepositoryCommand({ domain: 'my_domain', repository: 'ghost', description: 'x' }))).rejects.toBeInstanceOf(ResourceNotFoundException);
    await expect(admin.send(new UpdateRepositoryCommand({ domain: 'my_domain', repository: 'candidates', upstreams: [{ repositoryName: 'ghost' }] }))).rejects.toBeInstanceOf(
      ResourceNotFoundException,
    );
    await expect((await client('rita', ['release-managers'])).send(new UpdateRepositoryCommand({ domain: 'my_domain', repository: 'candidates', description: 'mine' }))).rejects.toBeInstanceOf(
      AccessDeniedException,
    );
    expect((await admin.send(new DescribeRepositoryCommand({ domain: 'my_domain', repository: 'candidates' }))).repository?.description).toBe('RCs');
  });

  it('DeleteRepository refuses while a version is live or another repository names it upstream, then deletes it', async () => {
    await admin.send(new CreateRepositoryCommand({ domain: 'my_domain', repository: 'scratch' }));
    const bytes = Buffer.from('hello');
    await (await client('ci', ['publishers'])).send(
      new PublishPackageVersionCommand({
        domain: 'my_domain',
        repository: 'scratch',
        format: 'generic',
        namespace: 'tools',
        package: 'hello',
        packageVersion: '1.0.0',
        assetName: 'hello.txt',
        assetContent: bytes,
        assetSHA256: createHash('sha256').update(bytes).digest('hex'),
      }),
    );
    const refused = admin.send(new DeleteRepositoryCommand({ domain: 'my_domain', repository: 'scratch' }));
    await expect(refused).rejects.toBeInstanceOf(ConflictException);
    await expect(refused).rejects.toThrow('repository scratch holds 1 package version(s) that are neither Deleted nor Disposed');

    await (await client('sec', ['security'])).send(
      new DeletePackageVersionsCommand({ domain: 'my_domain', repository: 'scratch', format: 'generic', namespace: 'tools', package: 'hello', versions: ['1.0.0'] }),
    );
    await admin.send(new UpdateRepositoryCommand({ domain: 'my_domain', repository: 'candidates', upstreams: [{ repositoryName: 'scratch' }] }));
    await expect(admin.send(new DeleteRepositoryCommand({ domain: 'my_domain', repository: 'scratch' }))).rejects.toThrow('repository scratch is an upstream of candidates');
    await admin.send(new UpdateRepositoryCommand({ domain: 'my_domain', repository: 'candidates', upstreams: [] }));

    await expect(developer.send(new DeleteRepositoryCommand({ domain: 'my_domain', repository: 'scratch' }))).rejects.toBeInstanceOf(AccessDeniedException);
    const deleted = await admin.send(new DeleteRepositoryCommand({ domain: 'my_domain', repository: 'scratch' }));
    expect(deleted.repository).toMatchObject({ name: 'scratch', arn: `${ARN}:repository/my_domain/scratch` });
    await expect(admin.send(new DescribeRepositoryCommand({ domain: 'my_domain', repository: 'scratch' }))).rejects.toBeInstanceOf(ResourceNotFoundException);
    await expect(admin.send(new DeleteRepositoryCommand({ domain: 'my_domain', repository: 'scratch' }))).rejects.toBeInstanceOf(ResourceNotFoundException);
    // Created again, it is empty.
    await admin.send(new CreateRepositoryCommand({ domain: 'my_domain', repository: 'scratch' }));
    await admin.send(new DeleteRepositoryCommand({ domain: 'my_domain', repository: 'scratch' }));
  });

  it('prod is never deleted, even by a registry admin (a forbid policy)', async () => {
    await expect(admin.send(new DeleteRepositoryCommand({ domain: 'my_domain', repository: 'prod' }))).rejects.toBeInstanceOf(AccessDeniedException);
  });

  it('DeleteDomain refuses a domain with repositories and deletes an empty one', async () => {
    await expect(admin.send(new DeleteDomainCommand({ domain: 'my_domain' }))).rejects.toBeInstanceOf(ConflictException);
    await admin.send(new CreateRepositoryCommand({ domain: 'team-a', repository: 'tmp' }));
    await expect(admin.send(new DeleteDomainCommand({ domain: 'team-a' }))).rejects.toThrow('domain team-a contains repositories; delete them first');
    await admin.send(new DeleteRepositoryCommand({ domain: 'team-a', repository: 'tmp' }));
    const out = await admin.send(new DeleteDomainCommand({ domain: 'team-a' }));
    expect(out.domain).toMatchObject({ name: 'team-a', status: 'Deleted', repositoryCount: 0 });
    await expect(admin.send(new DescribeDomainCommand({ domain: 'team-a', domainOwner: OWNER }))).rejects.toBeInstanceOf(ResourceNotFoundException);
  });

  it('audits each decision: the change with its record, the denials and refusals too', async () => {
    const records = await gateway.store.listAudit({ filter: { resource: `${ARN}:repository/my_domain/scratch` }, limit: 100 });
    const seen = records.reverse().map((r) => `${r.action} ${r.decision} ${r.outcome} ${r.httpStatus} ${r.principal?.subject}`);
    expect(seen).toEqual([
      'DeleteRepository allow rejected 409 root',
      'DeleteRepository allow rejected 409 root',
      'DeleteRepository deny denied 403 dev',
      'DeleteRepository allow applied 200 root',
      'DescribeRepository allow not_found 404 root',
      'DeleteRepository allow not_found 404 root',
      'DeleteRepository allow applied 200 root',
    ]);
    const created = await gateway.store.listAudit({ filter: { action: 'CreateDomain', decision: 'allow' }, limit: 10 });
    expect(created.map((r) => `${r.resource} ${r.outcome}`)).toContain(`Domain::"${ARN}:domain/team-a" applied`);
    // The chain, with these records in it, still verifies (their derived columns included).
    expect((await verifyChain(gateway.store)).ok).toBe(true);
  });
});
