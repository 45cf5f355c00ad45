/**
 * The real aws CLI (`aws codeartifact …`) against a running gateway, with the plugin of
 * contrib/aws-cli/ that sends versiongate's bearer token in place of a SigV4 signature: list (with
 * --max-items, --starting-token, --max-results), describe, list-assets, get-asset, update-status
 * with versionRevisions and expectedStatus, dispose, and a denied call. What it prints is compared
 * byte for byte with what `versiongate`'s own client commands print (less versiongate's
 * `identifier`, the one member it adds after CodeArtifact's).
 *
 * It needs an `aws` executable: without one it fails, saying how to install one.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PackageKey } from '../../src/store/store.ts';
import { awsJson, CHALK, startClientHarness, type ClientHarness } from '../cli-client/harness.ts';
import { envWithout, ROOT, RUN_LIMIT_MS, type RunResult } from '../helpers/cli-process.ts';

const INSTALL = "install the aws CLI: `pip install awscli` (v1, with botocore) or, as root, `apt-get install -y awscli` (v2); .ci/run installs it";

/** The tests' own permit, so they do not depend on what the shipped policies grant. */
const POLICY = `@id("aws-cli-tests")
permit (
  principal in Group::"aws-cli-tests",
  action in [Action::"ReadPackageVersions", Action::"UpdatePackageVersionsStatus", Action::"DisposePackageVersions"],
  resource in Repository::"arn:aws:codeartifact:us-east-1:111122223333:repository/my_domain/my_repo"
);
`;

const CHALK_KEY: PackageKey = { domainOwner: '111122223333', domain: 'my_domain', repository: 'my_repo', format: 'npm', namespace: '', name: 'chalk' };

let h: ClientHarness;
let dir: string;
let token: string;
let awsMajor: number;

beforeAll(async () => {
  const version = spawnSync('aws', ['--version'], { encoding: 'utf8' });
  if (version.error || version.status !== 0) throw new Error(`no working aws CLI on PATH (${version.error?.message ?? version.stderr}): ${INSTALL}`);
  awsMajor = Number(/aws-cli\/(\d+)/.exec(version.stdout + version.stderr)?.[1]);
  if (!(awsMajor >= 1)) throw new Error(`cannot tell the aws CLI's version from '${version.stdout}${version.stderr}': ${INSTALL}`);
  h = await startClientHarness({ policies: { 'aws-cli-tests.cedar': POLICY } });
  token = await h.token('ada', ['aws-cli-tests']);
  dir = mkdtempSync(join(tmpdir(), 'vg-aws-cli-'));
  // The two lines of the README's "Using the aws CLI" (v2 also needs the plugin's folder here; v1
  // finds it on PYTHONPATH), and ISO 8601 timestamps as versiongate prints them (v2's default).
  const pluginDir = join(ROOT, 'contrib', 'aws-cli');
  writeFileSync(
    join(dir, 'config'),
    ['[default]', 'region = us-east-1', 'cli_timestamp_format = iso8601', 'output = json', '', '[plugins]', ...(awsMajor >= 2 ? [`cli_legacy_plugin_path = ${pluginDir}`] : []), 'versiongate = versiongate_bearer', ''].join('\n'),
  );
}, 2 * RUN_LIMIT_MS);

afterAll(async () => {
  await h?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** `aws codeartifact ARGS --endpoint-url GATEWAY`, with the temporary config, fake credentials and the token. */
function aws(args: string[], bearer = token, endpoint = h.gateway.url): Promise<RunResult> {
  const env: NodeJS.ProcessEnv = {
    ...envWithout('AWS_', 'VERSIONGATE_', 'PYTHONPATH'),
    AWS_CONFIG_FILE: join(dir, 'config'),
    AWS_SHARED_CREDENTIALS_FILE: join(dir, 'no-credentials'),
    // Placeholders: the plugin replaces the signature they make with the bearer token.
    AWS_ACCESS_KEY_ID: 'AKIAVERSIONGATE',
    AWS_SECRET_ACCESS_KEY: 'unused',
    AWS_PAGER: '',
    TZ: 'UTC',
    VERSIONGATE_TOKEN: bearer,
    ...(awsMajor >= 2 ? {} : { PYTHONPATH: join(ROOT, 'contrib', 'aws-cli') }),
  };
  return new Promise((resolve, reject) => {
    const child = spawn('aws', ['codeartifact', ...args, '--endpoint-url', endpoint], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`aws ${args.join(' ')} did not finish within ${RUN_LIMIT_MS} ms`));
    }, RUN_LIMIT_MS);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** versiongate's client, in this process, with the same token. */
const vg = (args: string[]) => h.vg(args, { token });

/** versiongate's output less its `identifier` members: what the aws CLI prints. */
const withoutIdentifiers = (text: string) => text.replace(/,\n\s*"identifier": "[^"]*"/g, '');

/**
 * Both clients, the same command: they print the same bytes. The aws CLI exits 0; versiongate too,
 * or 1 when a version failed (`vgCode`: it says so in its exit status, the aws CLI does not).
 */
async function same(args: string[], vgCode = 0): Promise<string> {
  const [fromAws, fromVg] = [await aws(args), await vg(args)];
  expect(fromAws.stderr, `aws ${args[0]}`).toBe('');
  expect(fromAws.code, `aws ${args[0]}`).toBe(0);
  expect(fromVg.code, `versiongate ${args[0]}`).toBe(vgCode);
  expect(fromAws.stdout).toBe(withoutIdentifiers(fromVg.stdout));
  return fromAws.stdout;
}

const revisionOf = async (version: string) => (await h.gateway.store.readVersion(CHALK_KEY, version)).version!.revision;

describe('aws codeartifact with the versiongate plugin', () => {
  it('list-package-versions: every page, --max-items then --starting-token, --max-results: as versiongate prints them', { timeout: 8 * RUN_LIMIT_MS }, async () => {
    const all = JSON.parse(await same(['list-package-versions', ...CHALK])) as { versions: Array<{ version: string }> };
    expect(all.versions.map((v) => v.version)).toEqual(['4.0.0', '4.1.0', '4.1.1']);

    const first = JSON.parse(await same(['list-package-versions', ...CHALK, '--max-items', '2'])) as { versions: Array<{ version: string }>; NextToken: string };
    expect(first.versions.map((v) => v.version)).toEqual(['4.0.0', '4.1.0']);
    const rest = JSON.parse(await same(['list-package-versions', ...CHALK, '--starting-token', first.NextToken])) as { versions: Array<{ version: string }> };
    expect(rest.versions.map((v) => v.version)).toEqual(['4.1.1']);

    const single = JSON.parse(await same(['list-package-versions', ...CHALK, '--max-results', '2'])) as { versions: unknown[]; nextToken: string };
    expect(single.versions).toHaveLength(2);
    expect(typeof single.nextToken).toBe('string');
  });

  it('describe-package-version, list-package-version-assets and get-package-version-asset: as versiongate prints them; the same bytes downloaded', { timeout: 8 * RUN_LIMIT_MS }, async () => {
    const described = JSON.parse(await same(['describe-package-version', ...CHALK, '--package-version', '4.1.0'])) as { packageVersion: Record<string, unknown> };
    expect(described.packageVersion).toMatchObject({ packageName: 'chalk', version: '4.1.0', revision: await revisionOf('4.1.0'), status: 'Published' });

    const assets = JSON.parse(await same(['list-package-version-assets', ...CHALK, '--package-version', '4.1.0'])) as { assets: Array<{ name: string; size: number }> };
    expect(assets.assets.map((a) => a.name)).toEqual(['chalk-4.1.0.tgz']);

    const fromAws = await aws(['get-package-version-asset', ...CHALK, '--package-version', '4.1.0', '--asset', 'chalk-4.1.0.tgz', join(dir, 'aws.tgz')]);
    const fromVg = await vg(['get-package-version-asset', ...CHALK, '--package-version', '4.1.0', '--asset', 'chalk-4.1.0.tgz', join(dir, 'vg.tgz')]);
    expect(fromAws.code).toBe(0);
    expect(fromVg.code).toBe(0);
    expect(fromAws.stdout).toBe(fromVg.stdout);
    expect(fromAws.stdout).toBe(awsJson({ assetName: 'chalk-4.1.0.tgz', packageVersion: '4.1.0', packageVersionRevision: await revisionOf('4.1.0') }));
    const bytes = readFileSync(join(dir, 'aws.tgz'));
    expect(bytes.length).toBe(assets.assets[0]!.size);
    expect(bytes.equals(readFileSync(join(dir, 'vg.tgz')))).toBe(true);
  });

  it('update-package-versions-status with --version-revisions and --expected-status, then dispose-package-versions', { timeout: 8 * RUN_LIMIT_MS }, async () => {
    const revision = await revisionOf('4.1.0');
    // A wrong expected status: refused per version, the same answer printed the same way by both.
    await same(['update-package-versions-status', ...CHALK, '--versions', '4.1.0', '--version-revisions', `4.1.0=${revision}`, '--expected-status', 'Unlisted', '--target-status', 'Archived'], 1);

    const archived = await aws(['update-package-versions-status', ...CHALK, '--versions', '4.1.0', '--version-revisions', `4.1.0=${revision}`, '--expected-status', 'Published', '--target-status', 'Archived']);
    expect(archived.stderr).toBe('');
    expect(archived.code, archived.stderr).toBe(0);
    const afterArchive = await revisionOf('4.1.0');
    expect(afterArchive).not.toBe(revision);
    expect(archived.stdout).toBe(awsJson({ successfulVersions: { '4.1.0': { revision: afterArchive, status: 'Archived' } }, failedVersions: {} }));

    // The old revision no longer matches: refused, nothing changed.
    const stale = await aws(['dispose-package-versions', ...CHALK, '--versions', '4.1.0', '--version-revisions', `4.1.0=${revision}`]);
    expect(stale.code, stale.stderr).toBe(0);
    expect((JSON.parse(stale.stdout) as { failedVersions: Record<string, { errorCode: string }> }).failedVersions['4.1.0']!.errorCode).toBe('MISMATCHED_REVISION');

    const disposed = await aws(['dispose-package-versions', ...CHALK, '--versions', '4.1.0', '--version-revisions', `4.1.0=${afterArchive}`, '--expected-status', 'Archived']);
    expect(disposed.stderr).toBe('');
    expect(disposed.code, disposed.stderr).toBe(0);
    expect(disposed.stdout).toBe(awsJson({ successfulVersions: { '4.1.0': { revision: await revisionOf('4.1.0'), status: 'Disposed' } }, failedVersions: {} }));
  });

  it('the plugin sends the token over plain http only to a loopback address, as versiongate\'s client does', { timeout: 2 * RUN_LIMIT_MS }, async () => {
    // 192.0.2.1 is TEST-NET-1: nothing answers there, and the plugin refuses before anything is sent.
    const remote = await aws(['list-package-versions', ...CHALK], token, 'http://192.0.2.1:8080');
    expect(remote.code).not.toBe(0);
    expect(remote.stdout).toBe('');
    expect(remote.stderr).toContain('versiongate_bearer: refusing to send the token over plain http to 192.0.2.1: use an https endpoint');
    const local = await aws(['list-package-versions', ...CHALK], token, h.gateway.url.replace('127.0.0.1', 'localhost'));
    expect(local.stderr).toBe('');
    expect(local.code).toBe(0);
  });

  it('a token without a permit: AccessDeniedException, as CodeArtifact says it', { timeout: 2 * RUN_LIMIT_MS }, async () => {
    const denied = await aws(['list-package-versions', ...CHALK], await h.token('mallory', []));
    expect(denied.code).not.toBe(0);
    expect(denied.stdout).toBe('');
    expect(denied.stderr).toContain('An error occurred (AccessDeniedException) when calling the ListPackageVersions operation: User: mallory is not authorized to perform: codeartifact:ListPackageVersions');
  });
});
