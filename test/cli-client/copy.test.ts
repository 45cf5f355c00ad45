/**
 * `versiongate copy-package-versions` run as a user runs it, against the real server on the shipped
 * policies: the aws CLI's flags and output, a promotion from staging to prod, and its refusals.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsJson, REVISION, SEVERAL, startClientHarness, type ClientHarness } from './harness.ts';

let h: ClientHarness;
let tmp: string;
let publisher: string;
let releaseManager: string;

const WIDGET = ['--domain', 'my_domain', '--domain-owner', '111122223333', '--format', 'generic', '--namespace', 'acme', '--package', 'widget'];
const COPY = ['copy-package-versions', ...WIDGET, '--source-repository', 'staging', '--destination-repository', 'prod'];

beforeAll(async () => {
  h = await startClientHarness();
  tmp = mkdtempSync(join(tmpdir(), 'vg-cli-copy-'));
  publisher = await h.token('ci-pipeline', ['publishers']);
  releaseManager = await h.token('rita', ['release-managers']);
});
afterAll(async () => {
  await h?.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe('copy-package-versions', () => {
  it('--help shows the aws CLI flags', async () => {
    const r = await h.vg(['copy-package-versions', '--help'], { env: { VERSIONGATE_ENDPOINT: undefined } });
    expect(r.code).toBe(0);
    const usage = r.stdout.replace(/\s+/g, ' ');
    for (const flag of ['--domain <value>', '[--domain-owner <value>]', '--source-repository <value>', '--destination-repository <value>', '--format <value>', '[--namespace <value>]', '--package <value>', '--versions', '--version-revisions', '--allow-overwrite | --no-allow-overwrite', '--include-from-upstream | --no-include-from-upstream']) {
      expect(usage, flag).toContain(flag);
    }
  });

  it('promotes a version from staging to prod and prints what the aws CLI prints; again: ALREADY_EXISTS, exit 1', SEVERAL, async () => {
    const file = join(tmp, 'widget.bin');
    writeFileSync(file, 'widget bytes\n');
    const published = await h.vg(['publish-package-version', ...WIDGET, '--repository', 'staging', '--package-version', '1.0.0', '--asset-content', file, '--asset-name', 'widget.bin'], { token: publisher });
    expect(published.code, published.stderr).toBe(0);

    const denied = await h.vg([...COPY, '--versions', '1.0.0'], { token: publisher });
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain('AccessDeniedException');

    const r = await h.vg([...COPY, '--versions', '1.0.0', '--no-allow-overwrite'], { token: releaseManager });
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { successfulVersions: Record<string, { revision: string }> };
    expect(out.successfulVersions['1.0.0']!.revision).toMatch(REVISION);
    expect(r.stdout).toBe(awsJson({ successfulVersions: { '1.0.0': { revision: out.successfulVersions['1.0.0']!.revision, status: 'Published' } }, failedVersions: {} }));

    const again = await h.vg([...COPY, '--versions', '1.0.0'], { token: releaseManager });
    expect(again.code).toBe(1);
    expect(JSON.parse(again.stdout).failedVersions['1.0.0'].errorCode).toBe('ALREADY_EXISTS');
    expect(again.stderr).toBe('versiongate: CopyPackageVersions: 1 of 1 version(s) failed: 1.0.0 (ALREADY_EXISTS)\n');
  });

  it('--versions and --version-revisions together: the gateway refuses it (ValidationException), nothing copied', async () => {
    const r = await h.vg([...COPY, '--versions', '9.0.0', '--version-revisions', '9.0.0=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA='], { token: releaseManager });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('ValidationException');
    expect(r.stderr).toContain('not both');
  });
});
