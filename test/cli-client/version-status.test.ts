/**
 * `versiongate update-package-versions-status` and `dispose-package-versions` run as a user runs
 * them, against the real server: the seed document's examples with their exact output, the exit
 * codes, and every error type on stderr.
 */
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsJson, CHALK, REVISION, SEVERAL, startClientHarness, type ClientHarness } from './harness.ts';

let h: ClientHarness;
let releaseManager: string;
let security: string;

beforeAll(async () => {
  h = await startClientHarness();
  releaseManager = await h.token('alice', ['release-managers']);
  security = await h.token('sam', ['security']);
});
afterAll(async () => {
  await h?.close();
});

const UPDATE = ['update-package-versions-status', ...CHALK];
const DISPOSE = ['dispose-package-versions', ...CHALK];

describe('update-package-versions-status: the seed document, example by example', () => {
  it('--expected-status that does not match fails every version, prints failedVersions and exits 1', async () => {
    const r = await h.vg([...UPDATE, '--versions', '4.1.0', '4.0.0', '--target-status', 'Archived', '--expected-status', 'Unlisted'], { token: releaseManager });
    expect(r.code).toBe(1);
    // The aws CLI's default output, character for character.
    expect(r.stdout).toBe(
      [
        '{',
        '    "successfulVersions": {},',
        '    "failedVersions": {',
        '        "4.1.0": {',
        '            "errorCode": "MISMATCHED_STATUS",',
        '            "errorMessage": "current status: Published, expected status: Unlisted"',
        '        },',
        '        "4.0.0": {',
        '            "errorCode": "MISMATCHED_STATUS",',
        '            "errorMessage": "current status: Published, expected status: Unlisted"',
        '        }',
        '    }',
        '}',
        '',
      ].join('\n'),
    );
    expect(r.stderr).toBe('versiongate: UpdatePackageVersionsStatus: 2 of 2 version(s) failed: 4.1.0 (MISMATCHED_STATUS), 4.0.0 (MISMATCHED_STATUS)\n');
  });

  it('--version-revisions with the current revisions succeeds; a wrong one fails with MISMATCHED_REVISION and SKIPPED', SEVERAL, async () => {
    // Setting the status a version already has changes nothing and reports its revision.
    const current = await h.vg([...UPDATE, '--versions', '4.1.0', '4.0.0', '--target-status', 'Published'], { token: releaseManager });
    expect(current.code).toBe(0);
    const revisions = (JSON.parse(current.stdout) as { successfulVersions: Record<string, { revision: string }> }).successfulVersions;
    const r410 = revisions['4.1.0']!.revision;
    const r400 = revisions['4.0.0']!.revision;
    expect(r410).toMatch(REVISION);
    expect(r400).toMatch(REVISION);

    const ok = await h.vg([...UPDATE, '--version-revisions', `4.1.0=${r410},4.0.0=${r400}`, '--versions', '4.1.0', '4.0.0', '--target-status', 'Published'], { token: releaseManager });
    expect(ok.code).toBe(0);
    expect(ok.stderr).toBe('');
    expect(ok.stdout).toBe(
      awsJson({ successfulVersions: { '4.1.0': { revision: r410, status: 'Published' }, '4.0.0': { revision: r400, status: 'Published' } }, failedVersions: {} }),
    );

    // The document's example: the 4.1.0 revision with its last characters cut off.
    const wrong = r410.slice(0, 38) + '=';
    const mismatch = await h.vg([...UPDATE, '--version-revisions', `4.1.0=${wrong},4.0.0=${r400}`, '--versions', '4.1.0', '4.0.0', '--target-status', 'Archived'], { token: releaseManager });
    expect(mismatch.code).toBe(1);
    expect(mismatch.stdout).toBe(
      awsJson({
        successfulVersions: {},
        failedVersions: {
          '4.1.0': { errorCode: 'MISMATCHED_REVISION', errorMessage: `current revision: ${r410}, expected revision: ${wrong}` },
          '4.0.0': { errorCode: 'SKIPPED', errorMessage: 'version 4.0.0 is skipped' },
        },
      }),
    );
    expect(mismatch.stderr).toBe('versiongate: UpdatePackageVersionsStatus: 2 of 2 version(s) failed: 4.1.0 (MISMATCHED_REVISION), 4.0.0 (SKIPPED)\n');

    // The same, as JSON (the aws CLI's other syntax for a list and a map).
    const json = await h.vg([...UPDATE, '--version-revisions', JSON.stringify({ '4.1.0': r410 }), '--versions', '["4.1.0"]', '--target-status', 'Published'], { token: releaseManager });
    expect(json.code).toBe(0);
    expect(json.stdout).toBe(awsJson({ successfulVersions: { '4.1.0': { revision: r410, status: 'Published' } }, failedVersions: {} }));
  });

  it('archives 4.1.0, then 4.1.0 and 4.1.1 together (--versions takes a space-separated list)', SEVERAL, async () => {
    const one = await h.vg([...UPDATE, '--versions', '4.1.0', '--target-status', 'Archived'], { token: releaseManager });
    expect(one.code).toBe(0);
    expect(one.stderr).toBe('');
    const revision = (JSON.parse(one.stdout) as { successfulVersions: Record<string, { revision: string }> }).successfulVersions['4.1.0']!.revision;
    expect(revision).toMatch(REVISION);
    expect(one.stdout).toBe(
      ['{', '    "successfulVersions": {', '        "4.1.0": {', `            "revision": "${revision}",`, '            "status": "Archived"', '        }', '    },', '    "failedVersions": {}', '}', ''].join('\n'),
    );

    const two = await h.vg([...UPDATE, '--versions', '4.1.0', '4.1.1', '--target-status', 'Archived'], { token: releaseManager });
    expect(two.code).toBe(0);
    const out = JSON.parse(two.stdout) as { successfulVersions: Record<string, { revision: string; status: string }>; failedVersions: object };
    expect(Object.keys(out.successfulVersions)).toEqual(['4.1.0', '4.1.1']);
    expect(out.successfulVersions['4.1.0']).toEqual({ revision, status: 'Archived' });
    expect(out.successfulVersions['4.1.1']!.status).toBe('Archived');
    expect(out.failedVersions).toEqual({});
    expect(two.stdout).toBe(awsJson(out));

    // Back to Published for the dispose examples below (a release manager may restore Archived).
    const back = await h.vg([...UPDATE, '--versions', '4.1.0', '4.1.1', '--target-status', 'Published'], { token: releaseManager });
    expect(back.code).toBe(0);
  });

  it('a scoped npm package (--namespace nestjs) and a Maven package (--namespace is the group ID)', SEVERAL, async () => {
    const scoped = await h.vg(
      ['update-package-versions-status', '--domain', 'my_domain', '--domain-owner', '111122223333', '--repository', 'my_repo', '--format', 'npm', '--namespace', 'nestjs', '--package', 'core', '--versions', '8.0.0', '--target-status', 'Unlisted'],
      { token: releaseManager },
    );
    expect(scoped.code).toBe(0);
    expect(JSON.parse(scoped.stdout)).toEqual({ successfulVersions: { '8.0.0': { revision: expect.stringMatching(REVISION), status: 'Unlisted' } }, failedVersions: {} });

    const maven = await h.vg(
      ['update-package-versions-status', '--domain', 'my_domain', '--domain-owner', '111122223333', '--repository', 'my_repo', '--format', 'maven', '--namespace', 'org.apache.logging.log4j', '--package', 'log4j', '--versions', '2.13.1', '--target-status', 'Archived'],
      { token: releaseManager },
    );
    expect(maven.code).toBe(0);
    expect(JSON.parse(maven.stdout)).toEqual({ successfulVersions: { '2.13.1': { revision: expect.stringMatching(REVISION), status: 'Archived' } }, failedVersions: {} });
  });
});

describe('dispose-package-versions: the seed document, example by example', () => {
  it('--expected-status Unlisted fails for a Published version (exit 1); --expected-status Published disposes it', SEVERAL, async () => {
    const mismatch = await h.vg([...DISPOSE, '--versions', '4.0.0', '--expected-status', 'Unlisted'], { token: security });
    expect(mismatch.code).toBe(1);
    expect(mismatch.stdout).toBe(
      awsJson({ successfulVersions: {}, failedVersions: { '4.0.0': { errorCode: 'MISMATCHED_STATUS', errorMessage: 'current status: Published, expected status: Unlisted' } } }),
    );
    expect(mismatch.stderr).toBe('versiongate: DisposePackageVersions: 1 of 1 version(s) failed: 4.0.0 (MISMATCHED_STATUS)\n');

    const disposed = await h.vg([...DISPOSE, '--versions', '4.0.0', '--expected-status', 'Published'], { token: security });
    expect(disposed.code).toBe(0);
    expect(disposed.stderr).toBe('');
    const revision = (JSON.parse(disposed.stdout) as { successfulVersions: Record<string, { revision: string }> }).successfulVersions['4.0.0']!.revision;
    expect(disposed.stdout).toBe(awsJson({ successfulVersions: { '4.0.0': { revision, status: 'Disposed' } }, failedVersions: {} }));

    // Disposed is terminal: nothing moves it back.
    const after = await h.vg([...UPDATE, '--versions', '4.0.0', '--target-status', 'Published'], { token: releaseManager });
    expect(after.code).toBe(1);
    expect((JSON.parse(after.stdout) as { failedVersions: Record<string, { errorCode: string }> }).failedVersions['4.0.0']!.errorCode).toBe('NOT_ALLOWED');
  });

  it('a Cedar deny is AccessDeniedException on stderr, nothing on stdout, exit 1', async () => {
    const r = await h.vg([...DISPOSE, '--versions', '4.1.0'], { token: releaseManager });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      'versiongate: AccessDeniedException: User: alice is not authorized to perform: codeartifact:DisposePackageVersions on resource: arn:aws:codeartifact:us-east-1:111122223333:package/my_domain/my_repo/npm//chalk\n',
    );
  });

  it('nothing in prod may be disposed, not even by security (a forbid)', async () => {
    const r = await h.vg(['dispose-package-versions', '--domain', 'my_domain', '--domain-owner', '111122223333', '--repository', 'prod', '--format', 'npm', '--package', 'chalk', '--versions', '4.1.1'], {
      token: security,
    });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      'versiongate: AccessDeniedException: User: sam is not authorized to perform: codeartifact:DisposePackageVersions on resource: arn:aws:codeartifact:us-east-1:111122223333:package/my_domain/prod/npm//chalk\n',
    );
  });
});

describe('errors from the gateway: the type and message on stderr, exit 1', () => {
  it('an invalid token is UnauthorizedException', async () => {
    const r = await h.vg([...UPDATE, '--versions', '4.1.1', '--target-status', 'Unlisted'], { token: 'eyJhbGciOiJFUzI1NiJ9.e30.c2ln' });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('versiongate: UnauthorizedException: the token signature is not valid\n');
    expect(r.stderr).not.toContain('eyJhbGciOiJFUzI1NiJ9');
  });

  it('a bad package name is ValidationException; an unknown package is ResourceNotFoundException; a bad target is ValidationException', SEVERAL, async () => {
    const base = ['update-package-versions-status', '--domain', 'my_domain', '--repository', 'my_repo', '--format', 'npm', '--versions', '1.0.0'];
    const bad = await h.vg([...base, '--package', 'ch*lk', '--target-status', 'Archived'], { token: releaseManager });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe("versiongate: ValidationException: package contains a character that is not allowed: '*'\n");

    const missing = await h.vg([...base, '--package', 'not-there', '--target-status', 'Archived'], { token: releaseManager });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('versiongate: ResourceNotFoundException: package not-there does not exist in repository my_repo\n');

    const target = await h.vg([...base, '--package', 'chalk', '--target-status', 'Disposed'], { token: releaseManager });
    expect(target.code).toBe(1);
    expect(target.stderr).toBe('versiongate: ValidationException: 1 validation error(s) detected: targetStatus: Invalid option: expected one of "Published"|"Unlisted"|"Archived"\n');
  });

  it('--token and --endpoint-url on the command line win over the environment', async () => {
    const r = await h.vg([...UPDATE, '--versions', '4.1.1', '--target-status', 'Published', '--token', releaseManager, '--endpoint-url', h.gateway.url], {
      env: { VERSIONGATE_TOKEN: 'not-a-valid-token', VERSIONGATE_ENDPOINT: 'http://127.0.0.1:9' },
    });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ successfulVersions: { '4.1.1': { revision: expect.stringMatching(REVISION), status: 'Published' } }, failedVersions: {} });
  });

  it('a gateway that cannot be reached is a one-line error naming the endpoint', async () => {
    // A port that was free a moment ago: nothing listens there.
    const port = await new Promise<number>((res) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port: p } = server.address() as { port: number };
        server.close(() => res(p));
      });
    });
    const r = await h.vg([...UPDATE, '--versions', '4.1.1', '--target-status', 'Published', '--endpoint-url', `http://127.0.0.1:${port}`], { token: releaseManager });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`versiongate: cannot complete the request to http://127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}\n`);
  });
});
