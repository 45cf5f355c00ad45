/**
 * The rest of the version API from the command line, against the real server: listing (with the
 * aws CLI's pagination), describing, listing and downloading assets, publishing and deleting, and
 * the whole life of a version in one story. Outputs are compared character for character.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PackageKey } from '../../src/store/store.ts';
import { syncsSettled } from '../helpers/seed-synced.ts';
import { awsJson, CHALK, REVISION, SEVERAL, startClientHarness, type ClientHarness } from './harness.ts';

/** The tests' pipeline: it publishes, reads and deletes in my_repo, and nothing else. */
const CI_POLICY = `// The CLI client tests' pipeline: publishes, reads and deletes in my_repo.
@id("cli-client-tests-ci")
permit (
  principal in Group::"ci",
  action in [Action::"PublishPackageVersion", Action::"ReadPackageVersions", Action::"DeletePackageVersions"],
  resource in Repository::"arn:aws:codeartifact:us-east-1:111122223333:repository/my_domain/my_repo"
);
`;

let h: ClientHarness;
let ci: string;
let releaseManager: string;
let security: string;
let files: string;

beforeAll(async () => {
  h = await startClientHarness({ policies: { 'cli-client-tests.cedar': CI_POLICY } });
  ci = await h.token('ci-bot', ['ci']);
  releaseManager = await h.token('alice', ['release-managers']);
  security = await h.token('sam', ['security']);
  files = mkdtempSync(join(tmpdir(), 'vg-cli-files-'));
});
afterAll(async () => {
  await h?.close();
  if (files) rmSync(files, { recursive: true, force: true });
});

interface Summary {
  version: string;
  revision: string;
  status: string;
  origin: { domainEntryPoint: { repositoryName: string }; originType: string };
  identifier: string;
}
/** Each version's identifier (what resync names it by), read from the store: versions are unique across the packages used here. */
const ids: Record<string, string> = {};
async function learnIdentifiers(key: PackageKey, versions: string[]): Promise<void> {
  for (const v of versions) ids[v] = (await h.gateway.store.readVersion(key, v)).version!.identifier;
}
const CHALK_KEY: PackageKey = { domainOwner: '111122223333', domain: 'my_domain', repository: 'my_repo', format: 'npm', namespace: '', name: 'chalk' };
/** A ListPackageVersions item as printed: CodeArtifact's members, then versiongate's identifier. */
const summary = (version: string, revision: string, status = 'Published'): Summary => ({
  version,
  revision,
  status,
  origin: { domainEntryPoint: { repositoryName: 'my_repo' }, originType: 'INTERNAL' },
  identifier: ids[version]!,
});
const hashes = (bytes: Buffer) => ({
  MD5: createHash('md5').update(bytes).digest('hex'),
  'SHA-1': createHash('sha1').update(bytes).digest('hex'),
  'SHA-256': createHash('sha256').update(bytes).digest('hex'),
  'SHA-512': createHash('sha512').update(bytes).digest('hex'),
});
/** botocore's resume token: base64 of Python's json.dumps. */
const pyToken = (json: string) => Buffer.from(json).toString('base64');

/** The current revisions of chalk's versions, read through the CLI's single-call listing. */
async function chalkRevisions(): Promise<Record<string, string>> {
  await learnIdentifiers(CHALK_KEY, ['4.0.0', '4.1.0', '4.1.1']);
  const r = await h.vg(['list-package-versions', ...CHALK, '--no-paginate'], { token: ci });
  expect(r.code).toBe(0);
  return Object.fromEntries((JSON.parse(r.stdout) as { versions: Summary[] }).versions.map((v) => [v.version, v.revision]));
}

describe('list-package-versions', () => {
  it('prints every version, then the first page\'s other members as the aws CLI does (namespace null)', async () => {
    const rev = await chalkRevisions();
    const r = await h.vg(['list-package-versions', ...CHALK], { token: ci });
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(
      awsJson({
        versions: [summary('4.0.0', rev['4.0.0']!), summary('4.1.0', rev['4.1.0']!), summary('4.1.1', rev['4.1.1']!)],
        defaultDisplayVersion: '4.1.1',
        format: 'npm',
        package: 'chalk',
        namespace: null,
      }),
    );
    for (const revision of Object.values(rev)) expect(revision).toMatch(REVISION);
  });

  it('--max-items prints a NextToken that --starting-token resumes from; --page-size still fetches every page', SEVERAL, async () => {
    const rev = await chalkRevisions();
    const first = await h.vg(['list-package-versions', ...CHALK, '--max-items', '2'], { token: ci });
    expect(first.code).toBe(0);
    const token = pyToken('{"nextToken": null, "boto_truncate_amount": 2}');
    expect(first.stdout).toBe(
      awsJson({ versions: [summary('4.0.0', rev['4.0.0']!), summary('4.1.0', rev['4.1.0']!)], defaultDisplayVersion: '4.1.1', format: 'npm', package: 'chalk', namespace: null, NextToken: token }),
    );

    const rest = await h.vg(['list-package-versions', ...CHALK, '--starting-token', token], { token: ci });
    expect(rest.code).toBe(0);
    expect(rest.stdout).toBe(awsJson({ versions: [summary('4.1.1', rev['4.1.1']!)], defaultDisplayVersion: '4.1.1', format: 'npm', package: 'chalk', namespace: null }));

    // One version per call: three calls, the same listing as one.
    const all = await h.vg(['list-package-versions', ...CHALK], { token: ci });
    const paged = await h.vg(['list-package-versions', ...CHALK, '--page-size', '1'], { token: ci });
    expect(paged.code).toBe(0);
    expect(paged.stdout).toBe(all.stdout);

    // On a page boundary the token carries the server's own token and nothing else.
    const boundary = await h.vg(['list-package-versions', ...CHALK, '--page-size', '1', '--max-items', '1'], { token: ci });
    expect(boundary.code).toBe(0);
    const out = JSON.parse(boundary.stdout) as { versions: Summary[]; NextToken: string };
    expect(out.versions.map((v) => v.version)).toEqual(['4.0.0']);
    const decoded = JSON.parse(Buffer.from(out.NextToken, 'base64').toString('utf8')) as Record<string, unknown>;
    expect(Object.keys(decoded)).toEqual(['nextToken']);
    expect(typeof decoded.nextToken).toBe('string');
    const resumed = await h.vg(['list-package-versions', ...CHALK, '--starting-token', out.NextToken], { token: ci });
    expect((JSON.parse(resumed.stdout) as { versions: Summary[] }).versions.map((v) => v.version)).toEqual(['4.1.0', '4.1.1']);
  });

  it('--max-results and --next-token make single calls printed as they are, nextToken included (as --no-paginate does)', SEVERAL, async () => {
    const rev = await chalkRevisions();
    const page1 = await h.vg(['list-package-versions', ...CHALK, '--max-results', '2'], { token: ci });
    expect(page1.code).toBe(0);
    const out1 = JSON.parse(page1.stdout) as { nextToken: string };
    expect(typeof out1.nextToken).toBe('string');
    // The output structure's own member order: defaultDisplayVersion, format, package, versions, nextToken.
    expect(page1.stdout).toBe(
      awsJson({ defaultDisplayVersion: '4.1.1', format: 'npm', package: 'chalk', versions: [summary('4.0.0', rev['4.0.0']!), summary('4.1.0', rev['4.1.0']!)], nextToken: out1.nextToken }),
    );
    const page2 = await h.vg(['list-package-versions', ...CHALK, '--max-results', '2', '--next-token', out1.nextToken], { token: ci });
    expect(page2.code).toBe(0);
    expect(page2.stdout).toBe(awsJson({ defaultDisplayVersion: '4.1.1', format: 'npm', package: 'chalk', versions: [summary('4.1.1', rev['4.1.1']!)] }));
  });

  it('a scoped npm package prints its namespace', async () => {
    await learnIdentifiers({ ...CHALK_KEY, namespace: 'nestjs', name: 'core' }, ['8.0.0']);
    const r = await h.vg(['list-package-versions', '--domain', 'my_domain', '--repository', 'my_repo', '--format', 'npm', '--namespace', 'nestjs', '--package', 'core'], { token: ci });
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { versions: Summary[] };
    expect(r.stdout).toBe(awsJson({ versions: [summary('8.0.0', out.versions[0]!.revision)], defaultDisplayVersion: '8.0.0', format: 'npm', package: 'core', namespace: 'nestjs' }));
  });

  it("--include publishedTime,sync prints each version's published time as describe-package-version does, and its sync state as the status path answers it", SEVERAL, async () => {
    const rev = await chalkRevisions();
    const r = await h.vg(['list-package-versions', ...CHALK, '--include', 'publishedTime,sync', '--no-paginate'], { token: ci });
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { versions: Array<Summary & { publishedTime: string; sync: { identifier: string; version: string; status_str: string } }> };
    expect(out.versions.map((v) => v.version)).toEqual(['4.0.0', '4.1.0', '4.1.1']);
    for (const v of out.versions) {
      // CodeArtifact's members first and unchanged, then versiongate's, the extras last.
      expect(Object.keys(v)).toEqual(['version', 'revision', 'status', 'origin', 'identifier', 'publishedTime', 'sync']);
      expect(v.revision).toBe(rev[v.version]);
      const described = await h.vg(['describe-package-version', ...CHALK, '--package-version', v.version], { token: ci });
      expect(v.publishedTime).toBe((JSON.parse(described.stdout) as { packageVersion: { publishedTime: string } }).packageVersion.publishedTime);
      const status = await fetch(`${h.gateway.url}/v1/packages/my_domain/my_repo/${v.identifier}/status/`, { headers: { authorization: `Bearer ${ci}` }, signal: AbortSignal.timeout(60_000) });
      expect(v.sync).toEqual(await status.json());
    }
    // Without it, nothing of the kind (the listing above prints CodeArtifact's members and the identifier).
    const plain = await h.vg(['list-package-versions', ...CHALK, '--no-paginate'], { token: ci });
    expect(plain.stdout).not.toContain('publishedTime');
  });

  it('--include with a word the gateway does not know is its 400, printed as the aws CLI prints an error', async () => {
    const r = await h.vg(['list-package-versions', ...CHALK, '--include', 'assets'], { token: ci });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^versiongate: ValidationException: .*include: unknown word\(s\) "assets".*\n$/);
  });

  it('reading needs a permit like everything else: a user without one may not list', async () => {
    const r = await h.vg(['list-package-versions', ...CHALK], { token: await h.token('mallory', []) });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      'versiongate: AccessDeniedException: User: mallory is not authorized to perform: codeartifact:ListPackageVersions on resource: arn:aws:codeartifact:us-east-1:111122223333:package/my_domain/my_repo/npm//chalk\n',
    );
  });
});

describe('describe-package-version', () => {
  /** The wire value (epoch seconds) as Python's isoformat() prints it in UTC or at +05:30. */
  async function publishedTime(): Promise<{ utc: string; kolkata: string }> {
    const res = await fetch(`${h.gateway.url}/v1/package/version?domain=my_domain&domain-owner=111122223333&repository=my_repo&format=npm&package=chalk&version=4.1.0`, {
      headers: { authorization: `Bearer ${ci}` },
      signal: AbortSignal.timeout(60_000),
    });
    expect(res.status).toBe(200);
    const seconds = ((await res.json()) as { packageVersion: { publishedTime: number } }).packageVersion.publishedTime;
    const ms = Math.round(seconds * 1000);
    const iso = (date: Date, offset: string) => {
      const [base, frac] = date.toISOString().slice(0, 23).split('.') as [string, string];
      return `${base}${frac === '000' ? '' : `.${frac}000`}${offset}`;
    };
    return { utc: iso(new Date(ms), '+00:00'), kolkata: iso(new Date(ms + 5.5 * 3600_000), '+05:30') };
  }

  it('prints the version with publishedTime as aws CLI v2 does (isoformat in the local time zone)', SEVERAL, async () => {
    const rev = await chalkRevisions();
    const time = await publishedTime();
    const expected = (publishedTime: string) =>
      awsJson({
        packageVersion: {
          format: 'npm',
          packageName: 'chalk',
          displayName: 'chalk',
          version: '4.1.0',
          // The metadata its sync extracted from package.json (description, license), in the
          // output structure's member order: summary before publishedTime, licenses after it.
          summary: 'chalk (versiongate demo)',
          publishedTime,
          licenses: [{ name: 'MIT' }],
          revision: rev['4.1.0'],
          status: 'Published',
          origin: { domainEntryPoint: { repositoryName: 'my_repo' }, originType: 'INTERNAL' },
          // versiongate's own member, after CodeArtifact's: what `versiongate resync` takes.
          identifier: ids['4.1.0'],
        },
      });
    const utc = await h.vg(['describe-package-version', ...CHALK, '--package-version', '4.1.0'], { token: ci });
    expect(utc.code).toBe(0);
    expect(utc.stdout).toBe(expected(time.utc));
    const kolkata = await h.vg(['describe-package-version', ...CHALK, '--package-version', '4.1.0'], { token: ci, env: { TZ: 'Asia/Kolkata' } });
    expect(kolkata.stdout).toBe(expected(time.kolkata));
  });

  it('an unknown version is ResourceNotFoundException', async () => {
    const r = await h.vg(['describe-package-version', ...CHALK, '--package-version', '9.9.9'], { token: ci });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^versiongate: ResourceNotFoundException: .*9\.9\.9.*\n$/);
  });
});

describe('list-package-version-assets and get-package-version-asset', () => {
  it('lists the asset with its size and hashes; the download has exactly those bytes; stdout is its metadata', SEVERAL, async () => {
    const rev = await chalkRevisions();
    const listed = await h.vg(['list-package-version-assets', ...CHALK, '--package-version', '4.1.0'], { token: ci });
    expect(listed.code).toBe(0);
    const asset = (JSON.parse(listed.stdout) as { assets: Array<{ name: string; size: number; hashes: Record<string, string> }> }).assets[0]!;
    expect(listed.stdout).toBe(awsJson({ assets: [asset], package: 'chalk', format: 'npm', namespace: null, version: '4.1.0', versionRevision: rev['4.1.0'] }));
    expect(asset.name).toBe('chalk-4.1.0.tgz');

    const outfile = join(files, 'chalk.tgz');
    const got = await h.vg(['get-package-version-asset', ...CHALK, '--package-version', '4.1.0', '--asset', 'chalk-4.1.0.tgz', '--package-version-revision', rev['4.1.0']!, outfile], { token: ci });
    expect(got.code).toBe(0);
    expect(got.stderr).toBe('');
    expect(got.stdout).toBe(awsJson({ assetName: 'chalk-4.1.0.tgz', packageVersion: '4.1.0', packageVersionRevision: rev['4.1.0'] }));
    const bytes = readFileSync(outfile);
    expect(bytes.length).toBe(asset.size);
    expect(asset.hashes).toEqual(hashes(bytes));
    expect(Object.keys(asset.hashes)).toEqual(['MD5', 'SHA-1', 'SHA-256', 'SHA-512']);
  });

  it('a refused download leaves OUTFILE as it was and no temporary file behind', SEVERAL, async () => {
    const dir = mkdtempSync(join(files, 'refused-'));
    const outfile = join(dir, 'chalk.tgz');
    writeFileSync(outfile, 'previous contents');
    const rev = await chalkRevisions();
    const stale = 'A'.repeat(43) + '=';
    const r = await h.vg(['get-package-version-asset', ...CHALK, '--package-version', '4.1.0', '--asset', 'chalk-4.1.0.tgz', '--package-version-revision', stale, outfile], { token: ci });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`versiongate: ConflictException: version 4.1.0 of package chalk has another revision: current revision: ${rev['4.1.0']}, requested revision: ${stale}\n`);
    const missing = await h.vg(['get-package-version-asset', ...CHALK, '--package-version', '4.1.0', '--asset', 'nope.tgz', outfile], { token: ci });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('versiongate: ResourceNotFoundException: asset nope.tgz does not exist in version 4.1.0 of package chalk\n');
    expect(readFileSync(outfile, 'utf8')).toBe('previous contents');
    expect(readdirSync(dir)).toEqual(['chalk.tgz']);
  });

  it('a download that breaks off part-way exits 1 and leaves no truncated OUTFILE', async () => {
    // A server that promises 100000 bytes, sends 1000 and hangs up.
    const server: Server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': '100000', 'x-assetname': 'a.bin', 'x-packageversion': '1.0.0', 'x-packageversionrevision': 'R' });
      res.write(Buffer.alloc(1000, 1), () => res.socket?.destroy());
    });
    await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
    try {
      const dir = mkdtempSync(join(files, 'broken-'));
      const outfile = join(dir, 'a.bin');
      writeFileSync(outfile, 'previous contents');
      const { port } = server.address() as { port: number };
      const r = await h.vg(['get-package-version-asset', ...CHALK, '--package-version', '1.0.0', '--asset', 'a.bin', outfile, '--endpoint-url', `http://127.0.0.1:${port}`], { token: ci });
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr.startsWith('versiongate: ')).toBe(true);
      expect(r.stderr.split('\n')).toHaveLength(2);
      expect(readFileSync(outfile, 'utf8')).toBe('previous contents');
      expect(readdirSync(dir)).toEqual(['a.bin']);
    } finally {
      await new Promise<void>((res) => server.close(() => res()));
    }
  });
});

describe('publish-package-version and delete-package-versions', () => {
  const TOOL = ['--domain', 'my_domain', '--domain-owner', '111122223333', '--repository', 'my_repo', '--format', 'generic', '--namespace', 'acme', '--package', 'my-tool'];
  const TOOL_KEY = { domainOwner: '111122223333', domain: 'my_domain', repository: 'my_repo', format: 'generic', namespace: 'acme', name: 'my-tool' } as const;

  it('the life of a version: publish → list → describe → download → unlist → archive → dispose → delete → re-publish', { timeout: 30 * 60_000 }, async () => {
    // Two assets: a large one (several stream chunks each way) sent as Unfinished, then a small one.
    const big = randomBytes(8 * 1024 * 1024 + 123);
    const small = Buffer.from('release notes\n');
    writeFileSync(join(files, 'tool.bin'), big);
    writeFileSync(join(files, 'NOTES.txt'), small);

    const p1 = await h.vg(['publish-package-version', ...TOOL, '--package-version', '1.0.0', '--asset-content', join(files, 'tool.bin'), '--asset-name', 'tool.bin', '--unfinished'], { token: ci });
    expect(p1.code).toBe(0);
    expect(p1.stderr).toBe('');
    const r1 = (JSON.parse(p1.stdout) as { versionRevision: string }).versionRevision;
    expect(r1).toMatch(REVISION);
    expect(p1.stdout).toBe(
      awsJson({ format: 'generic', namespace: 'acme', package: 'my-tool', version: '1.0.0', versionRevision: r1, status: 'Unfinished', asset: { name: 'tool.bin', size: big.length, hashes: hashes(big) } }),
    );

    // The SHA-256 is given this time, as the aws CLI requires.
    const sha = createHash('sha256').update(small).digest('hex');
    const p2 = await h.vg(['publish-package-version', ...TOOL, '--package-version', '1.0.0', '--asset-content', join(files, 'NOTES.txt'), '--asset-name', 'NOTES.txt', '--asset-sha256', sha], { token: ci });
    expect(p2.code).toBe(0);
    const r2 = (JSON.parse(p2.stdout) as { versionRevision: string }).versionRevision;
    expect(r2).not.toBe(r1);
    expect(p2.stdout).toBe(
      awsJson({ format: 'generic', namespace: 'acme', package: 'my-tool', version: '1.0.0', versionRevision: r2, status: 'Published', asset: { name: 'NOTES.txt', size: small.length, hashes: hashes(small) } }),
    );

    // The publish scheduled the version's sync; once it completes the version has a new revision
    // (read here from the store, not through the CLI), and that is the one every command shows.
    await syncsSettled(h.gateway.store);
    const stored = (await h.gateway.store.readVersion(TOOL_KEY, '1.0.0')).version!;
    expect(stored.syncState).toBe('completed');
    const rSynced = stored.revision;
    expect(rSynced).toMatch(REVISION);
    expect(rSynced).not.toBe(r2);

    await learnIdentifiers(TOOL_KEY, ['1.0.0']);
    expect(ids['1.0.0']).toBe(stored.identifier);
    const listed = await h.vg(['list-package-versions', ...TOOL], { token: ci });
    expect(listed.code).toBe(0);
    expect(listed.stdout).toBe(awsJson({ versions: [summary('1.0.0', rSynced)], defaultDisplayVersion: '1.0.0', format: 'generic', package: 'my-tool', namespace: 'acme' }));

    const described = await h.vg(['describe-package-version', ...TOOL, '--package-version', '1.0.0'], { token: ci });
    expect(described.code).toBe(0);
    expect(JSON.parse(described.stdout)).toEqual({
      packageVersion: {
        format: 'generic',
        namespace: 'acme',
        packageName: 'my-tool',
        // How the name is displayed is the server's business; that it is printed is the CLI's.
        displayName: expect.any(String),
        version: '1.0.0',
        publishedTime: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?\+00:00$/),
        revision: rSynced,
        status: 'Published',
        origin: { domainEntryPoint: { repositoryName: 'my_repo' }, originType: 'INTERNAL' },
        identifier: stored.identifier,
      },
    });

    const assets = await h.vg(['list-package-version-assets', ...TOOL, '--package-version', '1.0.0'], { token: ci });
    expect(assets.code).toBe(0);
    const assetList = (JSON.parse(assets.stdout) as { assets: Array<{ name: string }> }).assets;
    expect(assetList.map((a) => a.name).sort()).toEqual(['NOTES.txt', 'tool.bin']);
    expect(assets.stdout).toBe(
      awsJson({
        assets: assetList.map((a) => (a.name === 'tool.bin' ? { name: 'tool.bin', size: big.length, hashes: hashes(big) } : { name: 'NOTES.txt', size: small.length, hashes: hashes(small) })),
        package: 'my-tool',
        format: 'generic',
        namespace: 'acme',
        version: '1.0.0',
        versionRevision: rSynced,
      }),
    );

    const download = join(files, 'tool.out');
    const got = await h.vg(['get-package-version-asset', ...TOOL, '--package-version', '1.0.0', '--asset', 'tool.bin', download], { token: ci });
    expect(got.code).toBe(0);
    expect(got.stdout).toBe(awsJson({ assetName: 'tool.bin', packageVersion: '1.0.0', packageVersionRevision: rSynced }));
    expect(readFileSync(download).equals(big)).toBe(true);

    // Unlisted: hidden from the default listing, listed when asked for, still downloadable.
    const unlisted = await h.vg(['update-package-versions-status', ...TOOL, '--versions', '1.0.0', '--target-status', 'Unlisted'], { token: releaseManager });
    expect(unlisted.code).toBe(0);
    const r3 = (JSON.parse(unlisted.stdout) as { successfulVersions: Record<string, { revision: string }> }).successfulVersions['1.0.0']!.revision;
    const hidden = await h.vg(['list-package-versions', ...TOOL], { token: ci });
    expect((JSON.parse(hidden.stdout) as { versions: unknown[] }).versions).toEqual([]);
    const shown = await h.vg(['list-package-versions', ...TOOL, '--status', 'Unlisted'], { token: ci });
    expect((JSON.parse(shown.stdout) as { versions: Summary[] }).versions).toEqual([summary('1.0.0', r3, 'Unlisted')]);
    const stillThere = await h.vg(['get-package-version-asset', ...TOOL, '--package-version', '1.0.0', '--asset', 'NOTES.txt', join(files, 'notes.out')], { token: ci });
    expect(stillThere.code).toBe(0);
    expect(readFileSync(join(files, 'notes.out')).equals(small)).toBe(true);

    // Archived: no longer downloadable.
    const archived = await h.vg(['update-package-versions-status', ...TOOL, '--versions', '1.0.0', '--target-status', 'Archived'], { token: releaseManager });
    expect(archived.code).toBe(0);
    const refused = await h.vg(['get-package-version-asset', ...TOOL, '--package-version', '1.0.0', '--asset', 'NOTES.txt', join(files, 'refused.out')], { token: ci });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(
      'versiongate: ConflictException: version 1.0.0 of package acme/my-tool cannot be downloaded: it is Archived: an archived version cannot be downloaded until it is published again\n',
    );

    const disposed = await h.vg(['dispose-package-versions', ...TOOL, '--versions', '1.0.0', '--expected-status', 'Archived'], { token: security });
    expect(disposed.code).toBe(0);
    expect((JSON.parse(disposed.stdout) as { successfulVersions: Record<string, { status: string }> }).successfulVersions['1.0.0']!.status).toBe('Disposed');

    // Delete: a wrong --expected-status changes nothing (exit 1); then any status goes to Deleted.
    const wrong = await h.vg(['delete-package-versions', ...TOOL, '--versions', '1.0.0', '--expected-status', 'Published'], { token: ci });
    expect(wrong.code).toBe(1);
    expect(wrong.stdout).toBe(awsJson({ successfulVersions: {}, failedVersions: { '1.0.0': { errorCode: 'MISMATCHED_STATUS', errorMessage: 'current status: Disposed, expected status: Published' } } }));
    expect(wrong.stderr).toBe('versiongate: DeletePackageVersions: 1 of 1 version(s) failed: 1.0.0 (MISMATCHED_STATUS)\n');
    const deleted = await h.vg(['delete-package-versions', ...TOOL, '--versions', '1.0.0', '--expected-status', 'Disposed'], { token: ci });
    expect(deleted.code).toBe(0);
    const r4 = (JSON.parse(deleted.stdout) as { successfulVersions: Record<string, { revision: string }> }).successfulVersions['1.0.0']!.revision;
    expect(deleted.stdout).toBe(awsJson({ successfulVersions: { '1.0.0': { revision: r4, status: 'Deleted' } }, failedVersions: {} }));
    const gone = await h.vg(['describe-package-version', ...TOOL, '--package-version', '1.0.0'], { token: ci });
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/^versiongate: ResourceNotFoundException: /);

    // A deleted version can be published again.
    const again = await h.vg(['publish-package-version', ...TOOL, '--package-version', '1.0.0', '--asset-content', join(files, 'NOTES.txt'), '--asset-name', 'NOTES.txt'], { token: ci });
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ version: '1.0.0', status: 'Published', asset: { name: 'NOTES.txt', size: small.length } });
    // Downloadable again once its sync completes, at the revision that sync gave it.
    await syncsSettled(h.gateway.store);
    const rAgain = (await h.gateway.store.readVersion(TOOL_KEY, '1.0.0')).version!.revision;
    expect(rAgain).not.toBe((JSON.parse(again.stdout) as { versionRevision: string }).versionRevision);
    const reDownloaded = await h.vg(['get-package-version-asset', ...TOOL, '--package-version', '1.0.0', '--asset', 'NOTES.txt', join(files, 'again.out')], { token: ci });
    expect(reDownloaded.code).toBe(0);
    expect(reDownloaded.stdout).toBe(awsJson({ assetName: 'NOTES.txt', packageVersion: '1.0.0', packageVersionRevision: rAgain }));
    expect(readFileSync(join(files, 'again.out')).equals(small)).toBe(true);
  });

  it('a wrong --asset-sha256 is refused (ValidationException) and nothing is published', SEVERAL, async () => {
    writeFileSync(join(files, 'other.txt'), 'other\n');
    const zeros = '0'.repeat(64);
    const other = ['--domain', 'my_domain', '--repository', 'my_repo', '--format', 'generic', '--namespace', 'acme', '--package', 'other-tool'];
    const r = await h.vg(['publish-package-version', ...other, '--package-version', '2.0.0', '--asset-content', join(files, 'other.txt'), '--asset-name', 'other.txt', '--asset-sha256', zeros], { token: ci });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`versiongate: ValidationException: x-amz-content-sha256 does not match the asset: its SHA-256 is ${createHash('sha256').update('other\n').digest('hex')}, the request declared ${zeros}\n`);
    const listed = await h.vg(['list-package-versions', ...other], { token: ci });
    expect(listed.code).toBe(1);
    expect(listed.stderr).toMatch(/^versiongate: ResourceNotFoundException: /);
  });

  it('follows a symlink to the file and sends the file\'s own length', async () => {
    const target = join(files, 'linked-target.bin');
    writeFileSync(target, randomBytes(70_000));
    const link = join(files, 'linked.bin');
    symlinkSync(target, link);
    const r = await h.vg(['publish-package-version', ...TOOL, '--package-version', '3.0.0', '--asset-content', link, '--asset-name', 'linked.bin'], { token: ci });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ version: '3.0.0', status: 'Published', asset: { name: 'linked.bin', size: 70_000, hashes: hashes(readFileSync(target)) } });
  });

  it('a file that cannot be read, or a malformed --asset-sha256, stops before anything is sent', SEVERAL, async () => {
    const missing = await h.vg(['publish-package-version', ...TOOL, '--package-version', '4.0.0', '--asset-content', join(files, 'nope.bin'), '--asset-name', 'nope.bin'], { token: ci });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(`versiongate: --asset-content: cannot read '${join(files, 'nope.bin')}': no such file\n`);
    const dir = await h.vg(['publish-package-version', ...TOOL, '--package-version', '4.0.0', '--asset-content', files, '--asset-name', 'x'], { token: ci });
    expect(dir.code).toBe(1);
    expect(dir.stderr).toBe(`versiongate: --asset-content: '${files}' is not a regular file\n`);
    writeFileSync(join(files, 'four.txt'), 'four\n');
    const sha = await h.vg(['publish-package-version', ...TOOL, '--package-version', '4.0.0', '--asset-content', join(files, 'four.txt'), '--asset-name', 'x', '--asset-sha256', 'abc'], { token: ci });
    expect(sha.code).toBe(2);
    expect(sha.stderr.startsWith('versiongate: --asset-sha256 must be 64 hexadecimal digits (the SHA-256 of the file)\nUsage:\n  versiongate publish-package-version ')).toBe(true);
    expect(sha.stderr.endsWith("\nRun 'versiongate publish-package-version --help' for the details.\n")).toBe(true);
    const listed = await h.vg(['list-package-versions', ...TOOL, '--status', 'Published'], { token: ci });
    expect((JSON.parse(listed.stdout) as { versions: Summary[] }).versions.map((v) => v.version)).not.toContain('4.0.0');
  });
});
