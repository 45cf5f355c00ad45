/**
 * The unmodified AWS SDK for JavaScript v3 against the real server over real HTTP, for the rest of
 * the version API: publishing (from a buffer and from a file stream), listing and paginating with the
 * SDK's own paginators, describing, downloading as a stream, deleting, and every error as the SDK's
 * exception class. Ends with the whole lifecycle of one version as a story, with its audit trail.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  AccessDeniedException,
  CodeartifactClient,
  ConflictException,
  DeletePackageVersionsCommand,
  DescribePackageVersionCommand,
  DisposePackageVersionsCommand,
  GetPackageVersionAssetCommand,
  ListPackageVersionAssetsCommand,
  ListPackageVersionsCommand,
  paginateListPackageVersionAssets,
  paginateListPackageVersions,
  PublishPackageVersionCommand,
  ResourceNotFoundException,
  ServiceQuotaExceededException,
  UpdatePackageVersionsStatusCommand,
  ValidationException,
} from '@aws-sdk/client-codeartifact';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintDevToken } from '../../src/auth/dev-key.ts';
import { systemClock } from '../../src/clock.ts';
import { parseConfig } from '../../src/config.ts';
import { silentLogger } from '../../src/log.ts';
import { startGateway, type Gateway } from '../../src/main.ts';
import { REPO_POLICIES } from '../helpers/gateway.ts';
import { rejectionOf } from '../helpers/rejection.ts';
import { seedSynced, syncsSettled } from '../helpers/seed-synced.ts';
import { sdkClient } from '../helpers/sdk-client.ts';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe('@aws-sdk/client-codeartifact: the package API against versiongate', () => {
  let dir: string;
  let gateway: Gateway;
  let client: (groups: string[], sub?: string) => Promise<CodeartifactClient>;
  const repo = { domain: 'my_domain', domainOwner: '111122223333', repository: 'my_repo' };
  const generic = (pkg: string) => ({ ...repo, format: 'generic' as const, namespace: 'sdk', package: pkg });
  /** Everything allowed in my_repo by the shipped policies (publish, read, curate, dispose, delete). */
  const ALL = ['publishers', 'developers', 'release-managers', 'security'];

  const publish = async (c: CodeartifactClient, pkg: string, version: string, assetName: string, bytes: Buffer, unfinished?: boolean) =>
    c.send(
      new PublishPackageVersionCommand({ ...generic(pkg), packageVersion: version, assetName, assetContent: bytes, assetSHA256: sha256(bytes), ...(unfinished ? { unfinished } : {}) }),
    );

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vg-sdk-pkg-'));
    cpSync(REPO_POLICIES, join(dir, 'policies'), { recursive: true });
    const config = parseConfig({ env: {}, flags: { port: '0', 'data-dir': join(dir, 'data'), 'policy-dir': join(dir, 'policies') }, dev: true });
    gateway = await startGateway(config, { logger: silentLogger });
    await seedSynced(gateway, join(dir, 'data'));
    client = async (groups, sub = 'ci-pipeline') =>
      sdkClient(
        gateway.url,
        await mintDevToken({ key: gateway.devKey!, issuer: config.auth.issuer, audience: config.auth.audience, subject: sub, groups, groupsClaim: 'groups', ttlSeconds: 600, clock: systemClock }),
      );
  });
  afterAll(async () => {
    await gateway?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('PublishPackageVersion from a buffer answers the SDK-typed result with all four hashes', async () => {
    const c = await client(ALL);
    const bytes = Buffer.from('hello from the SDK\n');
    const out = await publish(c, 'hello', '1.0.0', 'hello.txt', bytes);
    expect(out.$metadata.httpStatusCode).toBe(200);
    expect(out).toMatchObject({ format: 'generic', namespace: 'sdk', package: 'hello', version: '1.0.0', status: 'Published' });
    expect(out.versionRevision).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    expect(out.asset).toEqual({
      name: 'hello.txt',
      size: bytes.length,
      hashes: {
        MD5: createHash('md5').update(bytes).digest('hex'),
        'SHA-1': createHash('sha1').update(bytes).digest('hex'),
        'SHA-256': sha256(bytes),
        'SHA-512': createHash('sha512').update(bytes).digest('hex'),
      },
    });
  });

  it('PublishPackageVersion streams a file body, and a body of unknown length (chunked), to disk and back', async () => {
    const c = await client(ALL);
    const bytes = randomBytes(24 * 1024 * 1024 + 17);
    const file = join(dir, 'big.bin');
    writeFileSync(file, bytes);
    const fromFile = await c.send(
      new PublishPackageVersionCommand({ ...generic('big'), packageVersion: '1.0.0', assetName: 'big.bin', assetContent: createReadStream(file), assetSHA256: sha256(bytes) }),
    );
    expect(fromFile.asset?.size).toBe(bytes.length);
    expect(fromFile.asset?.hashes?.['SHA-256']).toBe(sha256(bytes));

    // A generated stream has no length the SDK could send: the body arrives chunked.
    const chunks = function* () {
      for (let at = 0; at < bytes.length; at += 1024 * 1024) yield bytes.subarray(at, at + 1024 * 1024);
    };
    const chunked = await c.send(
      new PublishPackageVersionCommand({ ...generic('big'), packageVersion: '2.0.0', assetName: 'big.bin', assetContent: Readable.from(chunks()), assetSHA256: sha256(bytes) }),
    );
    expect(chunked.asset?.size).toBe(bytes.length);

    // Downloadable once its sync has re-hashed the bytes on disk; the sync gave it a new revision.
    await syncsSettled(gateway.store);
    const current = (await c.send(new DescribePackageVersionCommand({ ...generic('big'), packageVersion: '2.0.0' }))).packageVersion?.revision;
    expect(current).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    expect(current).not.toBe(chunked.versionRevision);
    const download = await c.send(new GetPackageVersionAssetCommand({ ...generic('big'), packageVersion: '2.0.0', asset: 'big.bin' }));
    expect(download.assetName).toBe('big.bin');
    expect(download.packageVersion).toBe('2.0.0');
    expect(download.packageVersionRevision).toBe(current);
    const received = await readAll(download.asset as Readable);
    expect(received.length).toBe(bytes.length);
    expect(sha256(received)).toBe(sha256(bytes));
  });

  it('paginates ListPackageVersions with paginateListPackageVersions, newest first with sortBy', async () => {
    const c = await client(ALL);
    for (let i = 0; i < 7; i++) await publish(c, 'paged', `1.0.${i}`, 'a.txt', Buffer.from(`v${i}`));
    const pages: string[][] = [];
    for await (const page of paginateListPackageVersions({ client: c, pageSize: 3 }, { ...generic('paged'), sortBy: 'PUBLISHED_TIME' })) {
      expect(page.package).toBe('paged');
      expect(page.defaultDisplayVersion).toBe('1.0.6');
      pages.push((page.versions ?? []).map((v) => v.version!));
      for (const v of page.versions ?? []) expect(v.origin).toEqual({ domainEntryPoint: { repositoryName: 'my_repo' }, originType: 'INTERNAL' });
    }
    expect(pages).toEqual([
      ['1.0.6', '1.0.5', '1.0.4'],
      ['1.0.3', '1.0.2', '1.0.1'],
      ['1.0.0'],
    ]);
  });

  it('paginates ListPackageVersionAssets with paginateListPackageVersionAssets', async () => {
    const c = await client(ALL);
    const names = ['a.bin', 'b.bin', 'c.bin', 'd.bin', 'e.bin'];
    for (const [i, name] of names.entries()) await publish(c, 'assets', '2.0.0', name, Buffer.from(name), i < names.length - 1);
    const seen: string[] = [];
    let pages = 0;
    for await (const page of paginateListPackageVersionAssets({ client: c, pageSize: 2 }, { ...generic('assets'), packageVersion: '2.0.0' })) {
      pages++;
      expect(page.version).toBe('2.0.0');
      expect(page.versionRevision).toMatch(/=$/);
      seen.push(...(page.assets ?? []).map((a) => a.name!));
      for (const a of page.assets ?? []) expect(a.hashes?.['SHA-256']).toBe(sha256(Buffer.from(a.name!)));
    }
    expect(pages).toBe(3);
    expect(seen).toEqual(names);
  });

  it('DescribePackageVersion parses publishedTime as a Date', async () => {
    const c = await client(ALL);
    const before = Date.now();
    await publish(c, 'described', '3.1.4', 'pi.txt', Buffer.from('3.14159'));
    const out = await c.send(new DescribePackageVersionCommand({ ...generic('described'), packageVersion: '3.1.4' }));
    expect(out.packageVersion).toMatchObject({ format: 'generic', namespace: 'sdk', packageName: 'described', displayName: 'sdk/described', version: '3.1.4', status: 'Published' });
    expect(out.packageVersion?.publishedTime).toBeInstanceOf(Date);
    expect(out.packageVersion!.publishedTime!.getTime()).toBeGreaterThanOrEqual(before - 1000);
    expect(out.packageVersion?.origin?.originType).toBe('INTERNAL');
    // versiongate's own member (identifier) is on the wire; the SDK deserializes the rest and drops it.
    expect(out.packageVersion).not.toHaveProperty('identifier');
  });

  it('every refusal is the SDK exception class with its members', async () => {
    const c = await client(ALL);
    const bytes = Buffer.from('original');
    await publish(c, 'errors', '1.0.0', 'file.txt', bytes);

    // Cedar: maintainers may read but not publish.
    const denied = await rejectionOf(publish(await client(['maintainers']), 'errors', '1.0.1', 'file.txt', bytes));
    expect(denied).toBeInstanceOf(AccessDeniedException);
    expect((denied as Error).message).toContain('codeartifact:PublishPackageVersion');

    // The bytes are not the declared SHA-256.
    const mismatch = await rejectionOf(
      c.send(new PublishPackageVersionCommand({ ...generic('errors'), packageVersion: '1.0.2', assetName: 'x.txt', assetContent: bytes, assetSHA256: sha256(Buffer.from('other')) })),
    );
    expect(mismatch).toBeInstanceOf(ValidationException);
    expect((mismatch as ValidationException).reason).toBe('FIELD_VALIDATION_FAILED');
    expect((mismatch as Error).message).toContain('x-amz-content-sha256 does not match');

    // Only generic packages are published through this API.
    const npm = await rejectionOf(
      c.send(new PublishPackageVersionCommand({ ...repo, format: 'npm', package: 'chalk', packageVersion: '9.9.9', assetName: 'x.tgz', assetContent: bytes, assetSHA256: sha256(bytes) })),
    );
    expect(npm).toBeInstanceOf(ValidationException);

    const missing = await rejectionOf(c.send(new DescribePackageVersionCommand({ ...generic('errors'), packageVersion: '0.0.1' })));
    expect(missing).toBeInstanceOf(ResourceNotFoundException);
    expect((missing as ResourceNotFoundException).resourceType).toBe('package-version');
    expect((missing as ResourceNotFoundException).resourceId).toBe('0.0.1');

    // A finished version takes no more assets.
    const finished = await rejectionOf(publish(c, 'errors', '1.0.0', 'more.txt', Buffer.from('more')));
    expect(finished).toBeInstanceOf(ConflictException);
    expect((finished as ConflictException).resourceType).toBe('package-version');

    const stale = await rejectionOf(c.send(new GetPackageVersionAssetCommand({ ...generic('errors'), packageVersion: '1.0.0', asset: 'file.txt', packageVersionRevision: 'not-the-revision' })));
    expect(stale).toBeInstanceOf(ConflictException);
    expect((stale as Error).message).toContain('requested revision: not-the-revision');

    const token = await rejectionOf(c.send(new ListPackageVersionsCommand({ ...generic('errors'), nextToken: 'forged.token' })));
    expect(token).toBeInstanceOf(ValidationException);
  });

  it('the 151st asset of a version is ServiceQuotaExceededException', async () => {
    const c = await client(ALL);
    for (let i = 0; i < 150; i++) await publish(c, 'quota', '1.0.0', `f${i}.txt`, Buffer.from(String(i)), true);
    const err = await rejectionOf(publish(c, 'quota', '1.0.0', 'one-too-many.txt', Buffer.from('x')));
    expect(err).toBeInstanceOf(ServiceQuotaExceededException);
    expect((err as ServiceQuotaExceededException).$metadata.httpStatusCode).toBe(402);
    expect((err as ServiceQuotaExceededException).resourceType).toBe('package-version');
  });

  it('DeletePackageVersions is all or nothing, with SKIPPED, as the SDK types it', async () => {
    const c = await client(ALL);
    await publish(c, 'deleted', '1.0.0', 'a.txt', Buffer.from('a'));
    const out = await c.send(new DeletePackageVersionsCommand({ ...generic('deleted'), versions: ['1.0.0', '9.9.9'] }));
    expect(out.successfulVersions).toEqual({});
    expect(out.failedVersions).toEqual({
      '1.0.0': { errorCode: 'SKIPPED', errorMessage: 'version 1.0.0 is skipped' },
      '9.9.9': { errorCode: 'NOT_FOUND', errorMessage: 'version 9.9.9 does not exist' },
    });
    const ok = await c.send(new DeletePackageVersionsCommand({ ...generic('deleted'), versions: ['1.0.0'], expectedStatus: 'Published' }));
    expect(ok.successfulVersions?.['1.0.0']?.status).toBe('Deleted');
  });

  it('right after PublishPackageVersion the asset is not served until its sync completes: ConflictException, then the bytes at the sync\'s revision', async () => {
    const c = await client(ALL, 'ci-pipeline');
    const v = { ...generic('fresh'), packageVersion: '1.0.0' };
    // Large enough that its sync (which re-hashes the bytes on disk) usually still runs when the
    // download arrives; whether it does is up to the worker, so both outcomes are checked below.
    const bytes = randomBytes(16 * 1024 * 1024);
    const published = await publish(c, 'fresh', '1.0.0', 'fresh.bin', bytes);
    expect(published.status).toBe('Published');

    const immediate = await c.send(new GetPackageVersionAssetCommand({ ...v, asset: 'fresh.bin' })).then(
      async (out) => ({ out, bytes: await readAll(out.asset as Readable) }),
      (err: unknown) => err,
    );
    if (immediate instanceof Error) {
      // What a pipeline that downloads straight after publishing sees: retry later, nothing is wrong.
      expect(immediate).toBeInstanceOf(ConflictException);
      expect((immediate as ConflictException).$metadata.httpStatusCode).toBe(409);
      expect((immediate as ConflictException).resourceType).toBe('package-version');
      expect((immediate as ConflictException).resourceId).toBe('1.0.0');
      expect(immediate.message).toMatch(
        /^version 1\.0\.0 of package sdk\/fresh cannot be downloaded yet: (it is awaiting synchronisation|its synchronisation is in progress); it becomes available when (its|the) sync completes$/,
      );
    } else {
      // The worker was quicker: then the sync has completed, and the bytes come at its revision.
      const { out, bytes: got } = immediate as { out: { packageVersionRevision?: string }; bytes: Buffer };
      expect(out.packageVersionRevision).toMatch(/^[A-Za-z0-9+/]{43}=$/);
      expect(out.packageVersionRevision).not.toBe(published.versionRevision);
      expect(got.equals(bytes)).toBe(true);
    }

    await syncsSettled(gateway.store);
    const described = await c.send(new DescribePackageVersionCommand(v));
    const synced = described.packageVersion?.revision;
    expect(synced).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    // The sync gives the version a new revision: the one the publish answered is no longer current.
    expect(synced).not.toBe(published.versionRevision);
    const downloaded = await c.send(new GetPackageVersionAssetCommand({ ...v, asset: 'fresh.bin' }));
    expect(downloaded.packageVersionRevision).toBe(synced);
    expect((await readAll(downloaded.asset as Readable)).equals(bytes)).toBe(true);
    // A pipeline pinning the publish's revision is told the version has moved on.
    const pinned = await rejectionOf(c.send(new GetPackageVersionAssetCommand({ ...v, asset: 'fresh.bin', packageVersionRevision: published.versionRevision })));
    expect(pinned).toBeInstanceOf(ConflictException);
    expect((pinned as Error).message).toContain(`current revision: ${synced}, requested revision: ${published.versionRevision}`);
  });

  it('a story: publish → list → describe → download → unlist → archive → dispose → delete → re-publish, one audit record per decision', async () => {
    const c = await client(ALL, 'story-teller');
    const pkg = generic('story');
    const v = { ...pkg, packageVersion: '1.0.0' };
    const first = Buffer.from('first bytes of the story\n');
    const manifest = Buffer.from('{"files":["story.tar"]}\n');
    /** The package's audit trail: each decision of story-teller, and each sync the gateway ran itself. */
    const expected: Array<[string, string, number]> = [];
    const step = (action: string, outcome: string, status = 200) => expected.push([action, outcome, status]);
    /** A publish that finishes a version schedules its sync: wait for it; its record follows the publish's. */
    const synced = async () => {
      await syncsSettled(gateway.store);
      expected.push(['SyncPackageVersion', 'applied', 0]);
    };

    // Publish two assets: the version stays Unfinished until the second (final) one.
    const unfinished = await publish(c, 'story', '1.0.0', 'story.tar', first, true);
    step('PublishPackageVersion', 'applied');
    expect(unfinished.status).toBe('Unfinished');
    // An Unfinished version's sync waits for its last asset: none runs between the uploads (below,
    // the second publish starts from the first one's revision).
    const published = await publish(c, 'story', '1.0.0', 'manifest.json', manifest);
    step('PublishPackageVersion', 'applied');
    expect(published.status).toBe('Published');
    await synced();

    const described = await c.send(new DescribePackageVersionCommand(v));
    step('DescribePackageVersion', 'read');
    const revision = described.packageVersion?.revision;
    expect(revision).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    expect(revision).not.toBe(published.versionRevision);

    const listed = await c.send(new ListPackageVersionsCommand(pkg));
    step('ListPackageVersions', 'read');
    expect(listed.versions?.map((x) => [x.version, x.status, x.revision])).toEqual([['1.0.0', 'Published', revision]]);

    const downloaded = await c.send(new GetPackageVersionAssetCommand({ ...v, asset: 'story.tar', packageVersionRevision: revision }));
    step('GetPackageVersionAsset', 'read');
    expect(downloaded.packageVersionRevision).toBe(revision);
    expect(await readAll(downloaded.asset as Readable)).toEqual(first);

    const unlisted = await c.send(new UpdatePackageVersionsStatusCommand({ ...pkg, versions: ['1.0.0'], targetStatus: 'Unlisted' }));
    step('UpdatePackageVersionsStatus', 'applied');
    expect(unlisted.successfulVersions?.['1.0.0']?.status).toBe('Unlisted');
    expect((await c.send(new ListPackageVersionsCommand(pkg))).versions).toEqual([]);
    step('ListPackageVersions', 'read');
    expect((await c.send(new ListPackageVersionsCommand({ ...pkg, status: 'Unlisted' }))).versions?.map((x) => x.version)).toEqual(['1.0.0']);
    step('ListPackageVersions', 'read');
    // Unlisted versions still download.
    const stillThere = await c.send(new GetPackageVersionAssetCommand({ ...v, asset: 'manifest.json' }));
    step('GetPackageVersionAsset', 'read');
    expect(await readAll(stillThere.asset as Readable)).toEqual(manifest);

    await c.send(new UpdatePackageVersionsStatusCommand({ ...pkg, versions: ['1.0.0'], targetStatus: 'Archived' }));
    step('UpdatePackageVersionsStatus', 'applied');
    const archived = await rejectionOf(c.send(new GetPackageVersionAssetCommand({ ...v, asset: 'story.tar' })));
    step('GetPackageVersionAsset', 'rejected', 409);
    expect(archived).toBeInstanceOf(ConflictException);
    expect((archived as Error).message).toContain('it is Archived');

    const disposed = await c.send(new DisposePackageVersionsCommand({ ...pkg, versions: ['1.0.0'], expectedStatus: 'Archived' }));
    step('DisposePackageVersions', 'applied');
    expect(disposed.successfulVersions?.['1.0.0']?.status).toBe('Disposed');
    expect((await c.send(new ListPackageVersionAssetsCommand(v))).assets).toEqual([]);
    step('ListPackageVersionAssets', 'read');

    const deleted = await c.send(new DeletePackageVersionsCommand({ ...pkg, versions: ['1.0.0'] }));
    step('DeletePackageVersions', 'applied');
    expect(deleted.successfulVersions?.['1.0.0']?.status).toBe('Deleted');
    expect(await rejectionOf(c.send(new DescribePackageVersionCommand(v)))).toBeInstanceOf(ResourceNotFoundException);
    step('DescribePackageVersion', 'not_found', 404);

    // The number is free again: a new version under it, with new bytes and a new revision.
    const second = Buffer.from('second life\n');
    const again = await publish(c, 'story', '1.0.0', 'story.tar', second);
    step('PublishPackageVersion', 'applied');
    expect(again.status).toBe('Published');
    expect(again.versionRevision).not.toBe(published.versionRevision);
    await synced();
    const redownloaded = await c.send(new GetPackageVersionAssetCommand({ ...v, asset: 'story.tar' }));
    step('GetPackageVersionAsset', 'read');
    expect(redownloaded.packageVersionRevision).not.toBe(again.versionRevision);
    expect(await readAll(redownloaded.asset as Readable)).toEqual(second);

    // The package's whole trail, in order: one record per decision, and one per sync the gateway ran.
    const arn = 'arn:aws:codeartifact:us-east-1:111122223333:package/my_domain/my_repo/generic/sdk/story';
    const trail = (await gateway.store.listAudit({ filter: { resource: arn }, limit: 100 })).reverse();
    expect(trail.map((r) => [r.action, r.outcome, r.httpStatus])).toEqual(expected);
    const decisions = trail.filter((r) => r.action !== 'SyncPackageVersion');
    const syncs = trail.filter((r) => r.action === 'SyncPackageVersion');
    // Exactly one record per decision, each naming this principal and this package.
    const byPrincipal = (await gateway.store.listAudit({ filter: { principal: 'story-teller' }, limit: 100 })).reverse();
    expect(byPrincipal.map((r) => r.decisionId)).toEqual(decisions.map((r) => r.decisionId));
    for (const r of decisions) {
      expect(r.principal?.subject).toBe('story-teller');
      expect(r.decision).toBe('allow');
      expect(r.determiningPolicies.length).toBeGreaterThan(0);
    }
    // The syncs are the gateway's own changes: no principal, no Cedar decision.
    expect(syncs).toHaveLength(2);
    for (const r of syncs) {
      expect(r.principal).toBeNull();
      expect(r.decision).toBe('none');
      expect(r.determiningPolicies).toEqual([]);
    }
    // And each change along the way, before and after.
    const changes = trail.flatMap((r) => r.changes.map((ch) => [r.action, ch.before.status, ch.after.status]));
    expect(changes).toEqual([
      ['PublishPackageVersion', 'Deleted', 'Unfinished'],
      ['PublishPackageVersion', 'Unfinished', 'Published'],
      ['SyncPackageVersion', 'Published', 'Published'],
      ['UpdatePackageVersionsStatus', 'Published', 'Unlisted'],
      ['UpdatePackageVersionsStatus', 'Unlisted', 'Archived'],
      ['DisposePackageVersions', 'Archived', 'Disposed'],
      ['DeletePackageVersions', 'Disposed', 'Deleted'],
      ['PublishPackageVersion', 'Deleted', 'Published'],
      ['SyncPackageVersion', 'Published', 'Published'],
    ]);
    // Every revision the version had is accounted for: each change starts where the last one ended.
    // The first publish created the version (no revision before it).
    const revisions = trail.flatMap((r) => r.changes.map((ch) => [ch.before.revision, ch.after.revision] as const));
    expect(revisions[0]![0]).toBe('');
    for (let i = 1; i < revisions.length; i++) expect(revisions[i]![0]).toBe(revisions[i - 1]![1]);
    // Each sync moved its publish's revision to the one read afterwards; the re-publish follows the delete's.
    const syncChange = (n: number) => syncs[n]!.changes[0]!;
    expect(decisions[1]!.changes[0]!.before.revision).toBe(unfinished.versionRevision);
    expect([syncChange(0).before.revision, syncChange(0).after.revision]).toEqual([published.versionRevision, revision]);
    expect(decisions[decisions.length - 2]!.changes[0]!.before.revision).toBe(deleted.successfulVersions!['1.0.0']!.revision);
    expect([syncChange(1).before.revision, syncChange(1).after.revision]).toEqual([again.versionRevision, redownloaded.packageVersionRevision]);
  });
});
