/**
 * The package operations from the command line (child processes of bin/versiongate.js) against the
 * real server: describe-package, list-packages, put-package-origin-configuration, delete-package,
 * get-package-version-readme and list-package-version-dependencies, printing what the aws CLI prints.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsJson, CHALK, SEVERAL, startClientHarness, type ClientHarness } from './harness.ts';

const REPO = ['--domain', 'my_domain', '--domain-owner', '111122223333', '--repository', 'my_repo'];
const NEST_CORE = [...REPO, '--format', 'npm', '--namespace', 'nestjs', '--package', 'core'];
const ORIGIN = (publish: string, upstream: string) => ({ restrictions: { publish, upstream } });

let h: ClientHarness;
let dev: string;
let security: string;

beforeAll(async () => {
  h = await startClientHarness();
  dev = await h.token('dev', ['developers']);
  security = await h.token('sam', ['security']);
});
afterAll(async () => {
  await h?.close();
});

describe('package commands', () => {
  it('describe-package and list-packages print the model members in the aws CLI order', SEVERAL, async () => {
    const described = await h.vg(['describe-package', ...NEST_CORE], { token: dev });
    expect(described.code).toBe(0);
    expect(described.stdout).toBe(awsJson({ package: { format: 'npm', namespace: 'nestjs', name: 'core', originConfiguration: ORIGIN('ALLOW', 'BLOCK') } }));

    const listed = await h.vg(['list-packages', ...REPO, '--format', 'npm'], { token: dev });
    expect(listed.code).toBe(0);
    expect(listed.stdout).toBe(
      awsJson({
        packages: [
          { format: 'npm', package: 'chalk', originConfiguration: ORIGIN('ALLOW', 'BLOCK') },
          { format: 'npm', namespace: 'nestjs', package: 'core', originConfiguration: ORIGIN('ALLOW', 'BLOCK') },
        ],
      }),
    );
    // --max-items cuts the list and prints the aws CLI's own NextToken to resume from.
    const first = await h.vg(['list-packages', ...REPO, '--max-items', '1'], { token: dev });
    const page = JSON.parse(first.stdout) as { packages: Array<{ package: string }>; NextToken: string };
    expect(page.packages.map((p) => p.package)).toEqual(['log4j']);
    const rest = await h.vg(['list-packages', ...REPO, '--starting-token', page.NextToken], { token: dev });
    expect((JSON.parse(rest.stdout) as { packages: Array<{ package: string }> }).packages.map((p) => p.package)).toEqual(['chalk', 'core']);
  });

  it('get-package-version-readme and list-package-version-dependencies print what the sync read', SEVERAL, async () => {
    const readme = await h.vg(['get-package-version-readme', ...NEST_CORE, '--package-version', '8.0.0'], { token: dev });
    expect(readme.code).toBe(0);
    const out = JSON.parse(readme.stdout) as Record<string, string>;
    expect(Object.keys(out)).toEqual(['format', 'namespace', 'package', 'version', 'versionRevision', 'readme']);
    expect(out.readme).toBe("# @nestjs/core\n\nThe versiongate demo's copy of @nestjs/core.");

    const deps = await h.vg(['list-package-version-dependencies', ...NEST_CORE, '--package-version', '8.0.0'], { token: dev });
    expect(deps.code).toBe(0);
    const parsed = JSON.parse(deps.stdout) as { dependencies: unknown[] };
    expect(Object.keys(parsed)).toEqual(['format', 'namespace', 'package', 'version', 'versionRevision', 'dependencies']);
    expect(parsed.dependencies[2]).toEqual({ namespace: 'nestjs', package: 'common', dependencyType: 'peer', versionRequirement: '^8.0.0' });
  });

  it('put-package-origin-configuration takes --restrictions as shorthand or JSON; delete-package prints the deleted package', SEVERAL, async () => {
    const tool = [...REPO, '--format', 'generic', '--namespace', 'acme', '--package', 'reserved'];
    const put = await h.vg(['put-package-origin-configuration', ...tool, '--restrictions', 'publish=BLOCK,upstream=BLOCK'], { token: security });
    expect(put.code).toBe(0);
    expect(put.stdout).toBe(awsJson({ originConfiguration: ORIGIN('BLOCK', 'BLOCK') }));
    const json = await h.vg(['put-package-origin-configuration', ...tool, '--restrictions', '{"publish":"ALLOW","upstream":"BLOCK"}'], { token: security });
    expect(json.stdout).toBe(awsJson({ originConfiguration: ORIGIN('ALLOW', 'BLOCK') }));
    const half = await h.vg(['put-package-origin-configuration', ...tool, '--restrictions', 'publish=BLOCK'], { token: security });
    expect(half.code).toBe(2);
    expect(half.stderr).toContain('--restrictions needs both publish and upstream');

    const deleted = await h.vg(['delete-package', ...tool], { token: security });
    expect(deleted.code).toBe(0);
    expect(deleted.stdout).toBe(awsJson({ deletedPackage: { format: 'generic', namespace: 'acme', package: 'reserved', originConfiguration: ORIGIN('ALLOW', 'BLOCK') } }));
    const again = await h.vg(['describe-package', ...tool], { token: security });
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^versiongate: ResourceNotFoundException: package acme\/reserved does not exist/);
  });

  it('a denial is one line on stderr and exit 1', async () => {
    const denied = await h.vg(['delete-package', ...CHALK], { token: dev });
    expect(denied.code).toBe(1);
    expect(denied.stdout).toBe('');
    expect(denied.stderr).toMatch(/^versiongate: AccessDeniedException: User: dev is not authorized to perform: codeartifact:DeletePackage on resource: arn:aws:codeartifact:us-east-1:111122223333:package\/my_domain\/my_repo\/npm\/\/chalk/);
  });
});
