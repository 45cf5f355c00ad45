/**
 * The package operations (DescribePackage, ListPackages, DeletePackage, PutPackageOriginConfiguration,
 * GetPackageVersionReadme, ListPackageVersionDependencies) driven by the unmodified AWS SDK against
 * the real server over real HTTP, on the demo registry synchronised by the server's worker pool.
 */
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AccessDeniedException,
  CodeartifactClient,
  DeletePackageCommand,
  DescribePackageCommand,
  DescribePackageVersionCommand,
  GetPackageVersionReadmeCommand,
  ListPackagesCommand,
  ListPackageVersionDependenciesCommand,
  ListPackageVersionsCommand,
  PublishPackageVersionCommand,
  PutPackageOriginConfigurationCommand,
  ResourceNotFoundException,
  UpdatePackageVersionsStatusCommand,
  ValidationException,
  type PackageFormat,
} from '@aws-sdk/client-codeartifact';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintDevToken } from '../../src/auth/dev-key.ts';
import { systemClock } from '../../src/clock.ts';
import { parseConfig } from '../../src/config.ts';
import { silentLogger } from '../../src/log.ts';
import { startGateway, type Gateway } from '../../src/main.ts';
import { REPO_POLICIES } from '../helpers/gateway.ts';
import { seedSynced } from '../helpers/seed-synced.ts';
import { sdkClient } from '../helpers/sdk-client.ts';

const failure = (p: Promise<unknown>) => p.then(
  () => {
    throw new Error('expected the call to fail');
  },
  (e: unknown) => e,
);

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('the package operations through @aws-sdk/client-codeartifact', () => {
  let dir: string;
  let gateway: Gateway;
  let as: (sub: string, groups: string[]) => Promise<CodeartifactClient>;
  const repo = { domain: 'my_domain', domainOwner: '111122223333', repository: 'my_repo' };
  const chalk = { ...repo, format: 'npm' as const, package: 'chalk' };
  const nestCore = { ...repo, format: 'npm' as const, namespace: 'nestjs', package: 'core' };
  const log4j = { ...repo, format: 'maven' as const, namespace: 'org.apache.logging.log4j', package: 'log4j' };
  const tool = (name: string) => ({ ...repo, format: 'generic' as PackageFormat, namespace: 'acme', package: name });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vg-sdk-packages-'));
    cpSync(REPO_POLICIES, join(dir, 'policies'), { recursive: true });
    const config = parseConfig({ env: {}, flags: { port: '0', 'data-dir': join(dir, 'data'), 'policy-dir': join(dir, 'policies') }, dev: true });
    gateway = await startGateway(config, { logger: silentLogger });
    await seedSynced(gateway, join(dir, 'data'));
    as = async (sub, groups) =>
      sdkClient(
        gateway.url,
        await mintDevToken({ key: gateway.devKey!, issuer: config.auth.issuer, audience: config.auth.audience, subject: sub, groups, groupsClaim: 'groups', ttlSeconds: 600, clock: systemClock }),
      );
  });
  afterAll(async () => {
    await gateway?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('DescribePackage answers the package with the origin configuration a directly published package gets', async () => {
    const dev = await as('dev', ['developers']);
    const out = await dev.send(new DescribePackageCommand(nestCore));
    expect(out.package).toEqual({ format: 'npm', namespace: 'nestjs', name: 'core', originConfiguration: { restrictions: { publish: 'ALLOW', upstream: 'BLOCK' } } });
    // Auditors read metadata everywhere: DescribePackage is in ReadPackageVersionMetadata.
    expect((await (await as('ada', ['auditors'])).send(new DescribePackageCommand(chalk))).package?.name).toBe('chalk');
  });

  it('ListPackages lists a repository in (format, namespace, name) order, filters and pages', async () => {
    const dev = await as('dev', ['developers']);
    const all = await dev.send(new ListPackagesCommand(repo));
    expect(all.packages?.map((p) => [p.format, p.namespace ?? '', p.package])).toEqual([
      ['maven', 'org.apache.logging.log4j', 'log4j'],
      ['npm', '', 'chalk'],
      ['npm', 'nestjs', 'core'],
    ]);
    expect(all.packages?.[1]).toEqual({ format: 'npm', package: 'chalk', originConfiguration: { restrictions: { publish: 'ALLOW', upstream: 'BLOCK' } } });
    expect(all.nextToken).toBeUndefined();

    expect((await dev.send(new ListPackagesCommand({ ...repo, format: 'npm' }))).packages?.map((p) => p.package)).toEqual(['chalk', 'core']);
    // namespace is a prefix, as CodeArtifact documents it; an npm scope may be given with its @.
    expect((await dev.send(new ListPackagesCommand({ ...repo, namespace: '@nest' }))).packages?.map((p) => p.package)).toEqual(['core']);
    expect((await dev.send(new ListPackagesCommand({ ...repo, packagePrefix: 'ch' }))).packages?.map((p) => p.package)).toEqual(['chalk']);
    expect((await dev.send(new ListPackagesCommand({ ...repo, publish: 'BLOCK' }))).packages).toEqual([]);

    const first = await dev.send(new ListPackagesCommand({ ...repo, maxResults: 2 }));
    expect(first.packages?.map((p) => p.package)).toEqual(['log4j', 'chalk']);
    const second = await dev.send(new ListPackagesCommand({ ...repo, maxResults: 2, nextToken: first.nextToken }));
    expect(second.packages?.map((p) => p.package)).toEqual(['core']);
    expect(second.nextToken).toBeUndefined();
    // The token belongs to this listing: other filters refuse it.
    const replayed = await failure(dev.send(new ListPackagesCommand({ ...repo, format: 'npm', maxResults: 2, nextToken: first.nextToken })));
    expect(replayed).toBeInstanceOf(ValidationException);
  });

  it('GetPackageVersionReadme answers the README the sync read from the tarball', async () => {
    const dev = await as('dev', ['developers']);
    const out = await dev.send(new GetPackageVersionReadmeCommand({ ...nestCore, packageVersion: '8.0.0' }));
    expect(out).toMatchObject({ format: 'npm', namespace: 'nestjs', package: 'core', version: '8.0.0' });
    expect(out.readme).toContain('# @nestjs/core');
    const described = await dev.send(new DescribePackageVersionCommand({ ...nestCore, packageVersion: '8.0.0' }));
    expect(out.versionRevision).toBe(described.packageVersion?.revision);
    // A tarball without a README has none: the member is absent.
    expect((await dev.send(new GetPackageVersionReadmeCommand({ ...chalk, packageVersion: '4.1.0' }))).readme).toBeUndefined();
  });

  it('ListPackageVersionDependencies answers the package.json and pom dependencies with their types', async () => {
    const dev = await as('dev', ['developers']);
    const npm = await dev.send(new ListPackageVersionDependenciesCommand({ ...nestCore, packageVersion: '8.0.0' }));
    expect(npm.dependencies).toEqual([
      { package: 'tslib', dependencyType: 'regular', versionRequirement: '2.3.1' },
      { package: 'uid', dependencyType: 'regular', versionRequirement: '2.0.0' },
      { namespace: 'nestjs', package: 'common', dependencyType: 'peer', versionRequirement: '^8.0.0' },
      { package: 'rxjs', dependencyType: 'peer', versionRequirement: '^7.1.0' },
    ]);
    expect(npm.nextToken).toBeUndefined();
    const maven = await dev.send(new ListPackageVersionDependenciesCommand({ ...log4j, packageVersion: '2.13.1' }));
    expect(maven.dependencies).toEqual([
      { namespace: 'org.apache.logging.log4j', package: 'log4j-api', dependencyType: 'compile', versionRequirement: '2.13.1' },
      { namespace: 'junit', package: 'junit', dependencyType: 'test', versionRequirement: '4.13' },
    ]);
    expect((await dev.send(new ListPackageVersionDependenciesCommand({ ...chalk, packageVersion: '4.1.0' }))).dependencies).toEqual([]);
  });

  it('PutPackageOriginConfiguration blocks publishing, even of a package that does not exist yet', async () => {
    const sec = await as('sam', ['security']);
    const ci = await as('ci-pipeline', ['publishers']);
    const out = await sec.send(new PutPackageOriginConfigurationCommand({ ...tool('blocked'), restrictions: { publish: 'BLOCK', upstream: 'BLOCK' } }));
    expect(out.originConfiguration).toEqual({ restrictions: { publish: 'BLOCK', upstream: 'BLOCK' } });
    // Created with no versions, as CodeArtifact creates it.
    expect((await sec.send(new DescribePackageCommand(tool('blocked')))).package?.originConfiguration?.restrictions?.publish).toBe('BLOCK');
    expect((await sec.send(new ListPackageVersionsCommand(tool('blocked')))).versions).toEqual([]);
    expect((await sec.send(new ListPackagesCommand({ ...repo, publish: 'BLOCK' }))).packages?.map((p) => p.package)).toEqual(['blocked']);

    const bytes = Buffer.from('blocked bytes\n');
    const publish = () => ci.send(new PublishPackageVersionCommand({ ...tool('blocked'), packageVersion: '1.0.0', assetName: 'blocked.tgz', assetContent: bytes, assetSHA256: sha256(bytes) }));
    const refused = await failure(publish());
    expect(refused).toBeInstanceOf(AccessDeniedException);
    expect((refused as Error).message).toContain('publish to BLOCK');

    await sec.send(new PutPackageOriginConfigurationCommand({ ...tool('blocked'), restrictions: { publish: 'ALLOW', upstream: 'BLOCK' } }));
    expect((await publish()).status).toBe('Published');
  });

  it('a BLOCKed package still takes the remaining assets of a version already Unfinished', async () => {
    const sec = await as('sam', ['security']);
    const ci = await as('ci-pipeline', ['publishers']);
    const a = Buffer.from('first\n');
    const b = Buffer.from('second\n');
    await ci.send(new PublishPackageVersionCommand({ ...tool('halfway'), packageVersion: '1.0.0', assetName: 'a.bin', assetContent: a, assetSHA256: sha256(a), unfinished: true }));
    await sec.send(new PutPackageOriginConfigurationCommand({ ...tool('halfway'), restrictions: { publish: 'BLOCK', upstream: 'BLOCK' } }));
    const done = await ci.send(new PublishPackageVersionCommand({ ...tool('halfway'), packageVersion: '1.0.0', assetName: 'b.bin', assetContent: b, assetSHA256: sha256(b) }));
    expect(done.status).toBe('Published');
    const next = await failure(ci.send(new PublishPackageVersionCommand({ ...tool('halfway'), packageVersion: '2.0.0', assetName: 'a.bin', assetContent: a, assetSHA256: sha256(a) })));
    expect(next).toBeInstanceOf(AccessDeniedException);
  });

  it('DeletePackage deletes the package and every version, whatever its status, and the audit shows each', async () => {
    const sec = await as('sam', ['security']);
    const rm = await as('rita', ['release-managers']);
    const ci = await as('ci-pipeline', ['publishers']);
    const bytes = Buffer.from('doomed\n');
    for (const v of ['1.0.0', '2.0.0']) {
      await ci.send(new PublishPackageVersionCommand({ ...tool('doomed'), packageVersion: v, assetName: 'doomed.bin', assetContent: bytes, assetSHA256: sha256(bytes) }));
    }
    await rm.send(new UpdatePackageVersionsStatusCommand({ ...tool('doomed'), versions: ['2.0.0'], targetStatus: 'Archived' }));

    // Release managers delete only packages whose versions are all Unfinished (deleters.cedar).
    expect(await failure(rm.send(new DeletePackageCommand(tool('doomed'))))).toBeInstanceOf(AccessDeniedException);

    const out = await sec.send(new DeletePackageCommand(tool('doomed')));
    expect(out.deletedPackage).toEqual({ format: 'generic', namespace: 'acme', package: 'doomed', originConfiguration: { restrictions: { publish: 'ALLOW', upstream: 'BLOCK' } } });
    const gone = await failure(sec.send(new DescribePackageCommand(tool('doomed'))));
    expect(gone).toBeInstanceOf(ResourceNotFoundException);
    expect((gone as ResourceNotFoundException).resourceType).toBe('package');
    expect(await failure(sec.send(new DescribePackageVersionCommand({ ...tool('doomed'), packageVersion: '1.0.0' })))).toBeInstanceOf(ResourceNotFoundException);
    // Its bytes went the way disposal removes them: nothing is left queued.
    expect(await gateway.store.pendingBlobDeletions()).toEqual([]);

    const [record] = await gateway.store.listAudit({ filter: { action: 'DeletePackage', decision: 'allow' }, limit: 1 });
    expect(record).toMatchObject({ outcome: 'applied', resource: 'arn:aws:codeartifact:us-east-1:111122223333:package/my_domain/my_repo/generic/acme/doomed' });
    expect(record!.changes.map((c) => [c.version, c.before.status, c.after.status])).toEqual([
      ['1.0.0', 'Published', 'Deleted'],
      ['2.0.0', 'Archived', 'Deleted'],
    ]);

    // The name is free again: a new publish creates a new package.
    await ci.send(new PublishPackageVersionCommand({ ...tool('doomed'), packageVersion: '1.0.0', assetName: 'doomed.bin', assetContent: bytes, assetSHA256: sha256(bytes) }));
    expect((await sec.send(new ListPackageVersionsCommand(tool('doomed')))).versions?.map((v) => v.version)).toEqual(['1.0.0']);
  });

  it('Cedar denials surface as AccessDeniedException, and nothing is read out or changed', async () => {
    const dev = await as('dev', ['developers']);
    const sec = await as('sam', ['security']);
    const nobody = await as('eve', []);
    const denied = await failure(dev.send(new DeletePackageCommand(chalk)));
    expect(denied).toBeInstanceOf(AccessDeniedException);
    expect((denied as Error).message).toContain('codeartifact:DeletePackage');
    expect(await failure(dev.send(new PutPackageOriginConfigurationCommand({ ...chalk, restrictions: { publish: 'BLOCK', upstream: 'BLOCK' } })))).toBeInstanceOf(AccessDeniedException);
    // Nothing in prod is deleted, not even by the security team (prod-immutable.cedar).
    expect(await failure(sec.send(new DeletePackageCommand({ ...chalk, repository: 'prod' })))).toBeInstanceOf(AccessDeniedException);
    const list = await failure(nobody.send(new ListPackagesCommand(repo)));
    expect(list).toBeInstanceOf(AccessDeniedException);
    expect((list as Error).message).toContain('repository/my_domain/my_repo');
    expect(await failure(nobody.send(new GetPackageVersionReadmeCommand({ ...nestCore, packageVersion: '8.0.0' })))).toBeInstanceOf(AccessDeniedException);
    expect(await failure(nobody.send(new ListPackageVersionDependenciesCommand({ ...nestCore, packageVersion: '8.0.0' })))).toBeInstanceOf(AccessDeniedException);
    expect((await dev.send(new ListPackageVersionsCommand(chalk))).versions?.length).toBe(3);
    expect((await dev.send(new DescribePackageCommand(chalk))).package?.originConfiguration?.restrictions?.publish).toBe('ALLOW');
  });

  it('unknown domains, repositories, packages and versions are ResourceNotFoundException', async () => {
    const sec = await as('sam', ['security']);
    const pkg = await failure(sec.send(new DescribePackageCommand({ ...chalk, package: 'not-there' })));
    expect((pkg as ResourceNotFoundException).resourceType).toBe('package');
    const repository = await failure(sec.send(new ListPackagesCommand({ ...repo, repository: 'no_repo' })));
    expect(repository).toBeInstanceOf(ResourceNotFoundException);
    expect((repository as ResourceNotFoundException).resourceType).toBe('repository');
    expect(await failure(sec.send(new DeletePackageCommand({ ...chalk, package: 'not-there' })))).toBeInstanceOf(ResourceNotFoundException);
    const version = await failure(sec.send(new GetPackageVersionReadmeCommand({ ...chalk, packageVersion: '9.9.9' })));
    expect((version as ResourceNotFoundException).resourceType).toBe('package-version');
    expect(await failure(sec.send(new ListPackageVersionDependenciesCommand({ ...chalk, packageVersion: '9.9.9' })))).toBeInstanceOf(ResourceNotFoundException);
    const origin = await failure(sec.send(new PutPackageOriginConfigurationCommand({ ...chalk, repository: 'no_repo', restrictions: { publish: 'BLOCK', upstream: 'BLOCK' } })));
    expect((origin as ResourceNotFoundException).resourceType).toBe('repository');
  });

  it('bad input is a ValidationException before anything is authorized', async () => {
    const sec = await as('sam', ['security']);
    const restrictions = await failure(
      sec.send(new PutPackageOriginConfigurationCommand({ ...chalk, restrictions: { publish: 'MAYBE' as 'ALLOW', upstream: 'BLOCK' } })),
    );
    expect(restrictions).toBeInstanceOf(ValidationException);
    expect((restrictions as ValidationException).reason).toBe('FIELD_VALIDATION_FAILED');
    expect(await failure(sec.send(new ListPackagesCommand({ ...repo, format: 'rubygems' as PackageFormat })))).toBeInstanceOf(ValidationException);
    expect(await failure(sec.send(new ListPackagesCommand({ ...repo, maxResults: 1001 })))).toBeInstanceOf(ValidationException);
    expect(await failure(sec.send(new ListPackagesCommand({ ...repo, packagePrefix: 'a/b' })))).toBeInstanceOf(ValidationException);
    expect(await failure(sec.send(new DescribePackageCommand({ ...chalk, package: 'ch*lk' })))).toBeInstanceOf(ValidationException);
    expect(await failure(sec.send(new ListPackageVersionDependenciesCommand({ ...nestCore, packageVersion: '8.0.0', nextToken: 'forged' })))).toBeInstanceOf(ValidationException);
  });
});
