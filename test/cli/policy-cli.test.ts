/**
 * `versiongate policy validate | format | test | explain | diff` as the security team runs them: real
 * child processes of bin/versiongate.js, each on its own temporary copy of ./policies (and its own
 * data dir), with no VERSIONGATE_* setting inherited. Every wait is bounded; nothing is timed.
 */
import { cpSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { cliProcesses, envWithout, ROOT, runInProcess, RUN_LIMIT_MS, type RunResult } from '../helpers/cli-process.ts';
import { policyLoadRecord, shadowRecord } from '../../src/audit/build-record.ts';
import { fixedClock } from '../../src/clock.ts';
import { DATABASE_FILE } from '../../src/main.ts';
import type { AuthorizationDecision } from '../../src/policy/engine.ts';
import { loadPolicyDir } from '../../src/policy/load-policies.ts';
import { readTestCases } from '../../src/policy/run-tests.ts';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';

const SHIPPED = join(ROOT, 'policies');
/** For a test that runs several processes one after another: each is bounded by RUN_LIMIT_MS. */
const SEVERAL = { timeout: 5 * RUN_LIMIT_MS };

const MY_REPO = { domain: 'my_domain', 'domain-owner': '111122223333', repository: 'my_repo', format: 'npm' };
const PROD_CHALK_ARN = 'arn:aws:codeartifact:us-east-1:111122223333:package/my_domain/prod/npm//chalk';
const ARCHIVE = JSON.stringify({ versions: ['4.1.0'], currentStatuses: ['Published'], targetStatus: 'Archived' });
const DISPOSE = JSON.stringify({ versions: ['4.1.1'], currentStatuses: ['Published'] });
const RELEASE_MANAGER = JSON.stringify({ sub: 'alice', groups: ['release-managers'] });
const SECURITY = JSON.stringify({ sub: 'sam', groups: ['security'] });

const tempDirs: string[] = [];
function tempDir(prefix = 'versiongate-policy-cli-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

/** A copy of the shipped policies folder, to change without touching ./policies. */
function policiesCopy(): string {
  const dir = join(tempDir(), 'policies');
  cpSync(SHIPPED, dir, { recursive: true });
  return dir;
}

const { run, killAll } = cliProcesses();

afterEach(() => killAll());
afterAll(() => {
  killAll();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

/** process.env without any VERSIONGATE_* setting, with a data dir of its own unless one is given. */
function cliEnv(dataDir = tempDir('versiongate-policy-cli-data-')): NodeJS.ProcessEnv {
  return { ...envWithout('VERSIONGATE_'), VERSIONGATE_DATA_DIR: dataDir };
}

/** Runs `versiongate policy …` to completion (bounded), collecting its output. */
/** `versiongate policy ARGS` through main() in this process (the launcher is tested in cli.test.ts). */
const policy = (args: string[], dataDir?: string): Promise<RunResult> => runInProcess(['policy', ...args], cliEnv(dataDir));

const flags = (values: Record<string, string>) => Object.entries(values).flatMap(([k, v]) => [`--${k}`, v]);
const lastLine = (text: string) => text.trimEnd().split('\n').at(-1);

describe('versiongate policy validate', () => {
  it('exits 0 on the shipped folder and prints the counts and the hash', async () => {
    const dir = policiesCopy();
    const set = loadPolicyDir(dir);
    const r = await policy(['validate', dir]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      `policy set valid: ${Object.keys(set.policies).length} policies, ${Object.keys(set.templates).length} templates, ${set.links.length} links; hash ${set.hash}\n`,
    );
  });

  it('exits 3 with file:line:column for a policy that does not validate', async () => {
    const dir = policiesCopy();
    writeFileSync(
      join(dir, 'bad.cedar'),
      ['// reads an attribute a Package does not have', '@id("bad")', 'permit (principal, action == Action::"DisposePackageVersions", resource)', 'when { resource.nope == "x" };', ''].join('\n'),
    );
    // Through the launcher: exit 3 is what a CI step sees.
    const r = await run(['policy', 'validate', dir], cliEnv());
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^versiongate: the policy set is not valid \(1 error\(s\)\):\n/);
    expect(r.stderr).toMatch(/^bad\.cedar:4:8: error: for policy `bad`, attribute `nope` .*not found/m);
  });

  it('exits 3 with file:line:column for a template that does not validate', async () => {
    const dir = policiesCopy();
    writeFileSync(
      join(dir, 'templates', 'bad.cedar'),
      [
        '@id("bad-template")',
        'permit (principal in ?principal, action == Action::"DisposePackageVersions", resource in ?resource)',
        '// DisposePackageVersions has no targetStatus',
        'when { context.targetStatus == "Archived" };',
        '',
      ].join('\n'),
    );
    const r = await policy(['validate', dir]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^templates\/bad\.cedar:4:8: error: for policy `bad-template`, attribute `targetStatus` .*not found/m);
  });

  it('exits 3 for a link to an unknown template, naming the links file and the line of the link', async () => {
    const dir = policiesCopy();
    mkdirSync(join(dir, 'links'));
    const link = { id: 'payments-curates', template: 'no-such-template', principal: 'Group::"payments"', resource: 'Repository::"arn:aws:codeartifact:us-east-1:111122223333:repository/my_domain/payments"' };
    writeFileSync(join(dir, 'links', 'payments.json'), JSON.stringify([link], null, 2) + '\n');
    const r = await policy(['validate', dir]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('links/payments.json:2:1: error: link "payments-curates": no template with @id("no-such-template") in templates/\n');
  });

  it('exits 3 for a link whose entity can never match the template (a Package as the principal)', async () => {
    const dir = policiesCopy();
    mkdirSync(join(dir, 'links'));
    const ok = { id: 'payments-curates', template: 'team-curates-repository', principal: 'Group::"payments"', resource: 'Repository::"arn:aws:codeartifact:us-east-1:111122223333:repository/my_domain/payments"' };
    const wrong = { ...ok, id: 'package-as-principal', principal: { type: 'Package', id: 'arn:aws:codeartifact:us-east-1:111122223333:package/my_domain/my_repo/npm//chalk' } };
    // Line 1 is "[", the first link opens on line 2 and (7 lines long) ends on line 7: the second opens on line 8.
    writeFileSync(join(dir, 'links', 'payments.json'), JSON.stringify([ok, wrong], null, 2) + '\n');
    const r = await policy(['validate', dir]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^versiongate: the policy set is not valid \(1 error\(s\)\):\n/);
    expect(r.stderr).toMatch(/^links\/payments\.json:8:1: error: for policy `package-as-principal`/m);
  });

  it('exits 3 for a policy the guard refuses before Cedar parses it', async () => {
    const dir = policiesCopy();
    writeFileSync(join(dir, 'deep.cedar'), `permit (principal, action, resource) when { ${'('.repeat(70)}true${')'.repeat(70)} };\n`);
    const r = await policy(['validate', dir]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('deep.cedar:1:1: error: refused before parsing: nested deeper than 64 brackets\n');
  });
});

describe('versiongate policy format', () => {
  // The shipped files stay in Cedar's format: run `versiongate policy format` after editing them.
  it('--check exits 0 on the shipped folder', async () => {
    const r = await policy(['format', '--check', policiesCopy()]);
    expect(r.stdout).toMatch(/^\d+ file\(s\) already formatted\n$/);
    expect(r.code).toBe(0);
  });

  it('--check exits 1 naming an unformatted file; format rewrites it, and --check then exits 0', SEVERAL, async () => {
    const dir = policiesCopy();
    // Bring the copy into Cedar's format first, so that only the file added below is unformatted.
    expect((await policy(['format', dir])).code).toBe(0);
    const file = join(dir, 'squeezed.cedar');
    writeFileSync(file, '// CI may unlist.\n@id("squeezed")\npermit(principal==User::"ci",action==Action::"UpdatePackageVersionsStatus",resource)when{context.targetStatus=="Unlisted"};\n');

    const check = await policy(['format', '--check', dir]);
    expect(check.code).toBe(1);
    expect(check.stdout).toBe(`${file}: not formatted\n`);
    expect(readFileSync(file, 'utf8')).toContain('permit(principal==User::"ci"');

    const format = await policy(['format', dir]);
    expect(format.code).toBe(0);
    expect(format.stdout).toBe(`${file}: formatted\n`);
    const formatted = readFileSync(file, 'utf8');
    expect(formatted).toContain('// CI may unlist.');
    expect(formatted).toContain('permit (\n  principal == User::"ci",');

    const again = await policy(['format', '--check', dir]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^\d+ file\(s\) already formatted\n$/);
    // Formatting changed the layout, not the policies.
    expect((await policy(['validate', dir])).code).toBe(0);
  });

  it('formats a file a symbolic link leads to by renaming a copy into place there, and refuses bytes that are not UTF-8', SEVERAL, async () => {
    const dir = policiesCopy();
    expect((await policy(['format', dir])).code).toBe(0);
    // A ConfigMap-like file: the folder holds a link, the text lives elsewhere.
    const elsewhere = mkdtempSync(join(tmpdir(), 'vg-fmt-target-'));
    const target = join(elsewhere, 'linked.cedar');
    writeFileSync(target, '@id("linked")\npermit(principal==User::"ci",action==Action::"UpdatePackageVersionsStatus",resource);\n');
    symlinkSync(target, join(dir, 'linked.cedar'));
    const inodeBefore = statSync(target).ino;
    const format = await policy(['format', dir]);
    expect(format.stdout).toBe(`${join(dir, 'linked.cedar')}: formatted\n`);
    // Still a link, to a new file (renamed into place, never rewritten where a reload could read it half-done).
    expect(lstatSync(join(dir, 'linked.cedar')).isSymbolicLink()).toBe(true);
    expect(readFileSync(target, 'utf8')).toContain('permit (\n  principal == User::"ci",');
    expect(statSync(target).ino).not.toBe(inodeBefore);
    expect(readdirSync(elsewhere)).toEqual(['linked.cedar']);

    const latin1 = join(dir, 'latin1.cedar');
    writeFileSync(latin1, Buffer.concat([Buffer.from('@id("x")\npermit(principal==User::"al'), Buffer.from([0xff]), Buffer.from('ice",action,resource);\n')]));
    const refused = await policy(['format', dir]);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain(`${latin1}:2:`);
    expect(readFileSync(latin1).includes(0xff)).toBe(true);
  });
});

describe('versiongate policy test', () => {
  const WRONG_CASE = {
    name: 'wrong on purpose: security disposes in prod',
    claims: { sub: 'sam', groups: ['security'] },
    action: 'DisposePackageVersions',
    package: { domain: 'my_domain', domainOwner: '111122223333', repository: 'prod', format: 'npm', package: 'chalk' },
    context: { versions: ['4.1.1'], currentStatuses: ['Published'] },
    decision: 'allow',
    reason: ['security-may-dispose'],
  };

  it('exits 0 on the shipped suite and ends with "N passed, 0 failed"', async () => {
    const dir = policiesCopy();
    const cases = readTestCases(dir);
    expect(cases.length).toBeGreaterThan(0);
    const r = await policy(['test', dir]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${cases.length} passed, 0 failed\n`);
  });

  it('exits 1 on a wrong case, with a FAIL block naming expected and actual decision and the determining policies', async () => {
    const dir = policiesCopy();
    const shipped = readTestCases(dir).length;
    writeFileSync(join(dir, 'tests', 'wrong.json'), JSON.stringify([WRONG_CASE], null, 2));
    const r = await policy(['test', dir]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(
      [
        `FAIL tests/wrong.json › ${WRONG_CASE.name}`,
        '  expected allow, got deny',
        '  expected determining policies [security-may-dispose], got [never-dispose-in-prod]',
        '  actual: deny (a forbid); determining policies [never-dispose-in-prod]',
        `${shipped} passed, 1 failed`,
        '',
      ].join('\n'),
    );
    expect(lastLine(r.stdout)).toBe(`${shipped} passed, 1 failed`);
  });

  it('reports a wrong deny kind and a wrong case in the Cedar CLI format too', async () => {
    const dir = policiesCopy();
    const cedarCase = {
      name: 'wrong on purpose, Cedar CLI form: nobody may archive',
      request: {
        principal: 'User::"rita"',
        action: 'Action::"UpdatePackageVersionsStatus"',
        resource: 'Package::"arn:aws:codeartifact:us-east-1:111122223333:package/my_domain/my_repo/npm//chalk"',
        context: { versions: ['4.1.0'], currentStatuses: ['Published'], targetStatus: 'Archived' },
      },
      entities: [
        { uid: { type: 'User', id: 'rita' }, attrs: { issuer: 'urn:test' }, parents: [{ type: 'Group', id: 'release-managers' }] },
        {
          uid: { type: 'Package', id: 'arn:aws:codeartifact:us-east-1:111122223333:package/my_domain/my_repo/npm//chalk' },
          attrs: { arn: 'arn:aws:codeartifact:us-east-1:111122223333:package/my_domain/my_repo/npm//chalk', domain: 'my_domain', domainOwner: '111122223333', repository: 'my_repo', format: 'npm', namespace: '', name: 'chalk' },
          parents: [
            { type: 'Repository', id: 'arn:aws:codeartifact:us-east-1:111122223333:repository/my_domain/my_repo' },
            { type: 'Domain', id: 'arn:aws:codeartifact:us-east-1:111122223333:domain/my_domain' },
          ],
        },
      ],
      decision: 'deny',
      num_errors: 0,
    };
    const kindCase = { ...WRONG_CASE, name: 'wrong on purpose: the prod forbid is not a missing permit', decision: 'deny', reason: undefined, denyKind: 'no_permit' };
    writeFileSync(join(dir, 'tests', 'wrong.json'), JSON.stringify([cedarCase, kindCase], null, 2));
    const r = await policy(['test', dir]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      [
        `FAIL tests/wrong.json › ${cedarCase.name}`,
        '  expected deny, got allow',
        '  actual: allow; determining policies [release-managers-curate-my-repo]',
        `FAIL tests/wrong.json › ${kindCase.name}`,
        '  expected the deny to come from no_permit, got forbid',
        '  actual: deny (a forbid); determining policies [never-dispose-in-prod]',
      ].join('\n'),
    );
    expect(lastLine(r.stdout)).toMatch(/^\d+ passed, 2 failed$/);
  });

  it('--filter runs only the cases whose name contains the text', SEVERAL, async () => {
    const dir = policiesCopy();
    writeFileSync(join(dir, 'tests', 'wrong.json'), JSON.stringify([WRONG_CASE], null, 2));
    const selected = readTestCases(dir).filter((c) => c.name.includes('release managers'));
    expect(selected.length).toBeGreaterThan(0);
    expect(selected.some((c) => c.name === WRONG_CASE.name)).toBe(false);

    const some = await policy(['test', dir, '--filter', 'release managers']);
    expect(some.code).toBe(0);
    expect(some.stdout).toBe(`${selected.length} passed, 0 failed\n`);

    const wrongOnly = await policy(['test', dir, '--filter', 'wrong on purpose']);
    expect(wrongOnly.code).toBe(1);
    expect(wrongOnly.stdout).toContain(`FAIL tests/wrong.json › ${WRONG_CASE.name}\n`);
    expect(lastLine(wrongOnly.stdout)).toBe('0 passed, 1 failed');

  });

  it('exits 1 when --filter matches no case, or the folder has no test at all: nothing tested is no pass', SEVERAL, async () => {
    const dir = policiesCopy();
    const count = readTestCases(dir).length;
    const none = await policy(['test', dir, '--filter', 'no case has this in its name']);
    expect(none.code).toBe(1);
    expect(none.stdout).toBe('0 passed, 0 failed\n');
    expect(none.stderr).toBe(`--filter "no case has this in its name" matched none of the ${count} test case(s): nothing was tested\n`);

    for (const f of readdirSync(join(dir, 'tests'))) rmSync(join(dir, 'tests', f));
    const empty = await policy(['test', dir]);
    expect(empty.code).toBe(1);
    expect(empty.stdout).toBe('');
    expect(empty.stderr).toBe(`no test cases in ${join(dir, 'tests')}: nothing was tested\n`);
  });

  it('a case whose "reason" is not an array, or with a mistyped field, is refused naming file, case and field, never a crash', SEVERAL, async () => {
    const dir = policiesCopy();
    writeFileSync(join(dir, 'tests', 'wrong.json'), JSON.stringify([{ ...WRONG_CASE, decision: 'deny', reason: 'never-dispose-in-prod' }]));
    const asString = await policy(['test', dir]);
    expect(asString.code).toBe(1);
    expect(asString.stderr).toBe(`a test file is not valid: tests/wrong.json case 1 (${WRONG_CASE.name}): "reason" must be an array of policy ids, got "never-dispose-in-prod"\n`);

    writeFileSync(join(dir, 'tests', 'wrong.json'), JSON.stringify([{ ...WRONG_CASE, decision: 'deny', reason: undefined, reasons: ['never-dispose-in-prod'] }]));
    const typo = await policy(['test', dir]);
    expect(typo.code).toBe(1);
    expect(typo.stderr).toContain(`tests/wrong.json case 1 (${WRONG_CASE.name}): has unknown field(s) "reasons"`);
  });

  it('exits 3 without running anything when the set is invalid', async () => {
    const dir = policiesCopy();
    writeFileSync(join(dir, 'bad.cedar'), 'permit (principal, action, resource) when { resource.nope };\n');
    const r = await policy(['test', dir]);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('bad.cedar:1:');
  });
});

describe('versiongate policy format', () => {
  it('refuses a file nested too deeply for Cedar with file:line:column and exit 3, as validate does, never a wasm crash', async () => {
    const dir = policiesCopy();
    const file = join(dir, 'deep.cedar');
    writeFileSync(file, `permit (principal, action, resource) when { ${'('.repeat(300)}true${')'.repeat(300)} };\n`);
    const r = await policy(['format', '--check', dir]);
    expect(r.code).toBe(3);
    expect(r.stderr).toBe(`${file}:1:1: cannot format: refused before parsing: nested deeper than 64 brackets\n`);
  });
});

describe('versiongate policy explain', () => {
  it('explains an allow: a release manager archiving chalk in my_repo, with the package as coordinates or as an ARN', SEVERAL, async () => {
    const dir = policiesCopy();
    const expected = /^ALLOW: permitted by release-managers-curate-my-repo \(release-managers\.cedar:\d+\)\n$/;

    const byCoordinates = await policy(['explain', dir, '--principal-claims', RELEASE_MANAGER, '--action', 'UpdatePackageVersionsStatus', '--package', 'chalk', ...flags(MY_REPO), '--context', ARCHIVE]);
    expect(byCoordinates.code).toBe(0);
    expect(byCoordinates.stdout).toMatch(expected);

    const byArn = await policy(['explain', dir, '--principal-claims', RELEASE_MANAGER, '--action', 'UpdatePackageVersionsStatus', '--package', 'arn:aws:codeartifact:us-east-1:111122223333:package/my_domain/my_repo/npm//chalk', '--context', ARCHIVE]);
    expect(byArn.code).toBe(0);
    expect(byArn.stdout).toBe(byCoordinates.stdout);
  });

  it('exits 2 and names the forbid when security disposes in prod, with the package as an ARN or as coordinates', SEVERAL, async () => {
    const dir = policiesCopy();
    const expected = /^DENY: forbidden by never-dispose-in-prod \(prod-guard\.cedar:\d+\)\n$/;

    const byArn = await policy(['explain', dir, '--principal-claims', SECURITY, '--action', 'DisposePackageVersions', '--package', PROD_CHALK_ARN, '--context', DISPOSE]);
    expect(byArn.code).toBe(2);
    expect(byArn.stdout).toMatch(expected);

    const byCoordinates = await policy(['explain', dir, '--principal-claims', SECURITY, '--action', 'DisposePackageVersions', '--package', 'chalk', ...flags({ ...MY_REPO, repository: 'prod' }), '--context', DISPOSE]);
    expect(byCoordinates.code).toBe(2);
    expect(byCoordinates.stdout).toBe(byArn.stdout);
  });

  it('tells no permit, and an error (a context that does not match the schema), from a forbid', SEVERAL, async () => {
    const dir = policiesCopy();
    const noPermit = await policy(['explain', dir, '--principal-claims', RELEASE_MANAGER, '--action', 'DisposePackageVersions', '--package', 'chalk', ...flags(MY_REPO), '--context', DISPOSE]);
    expect(noPermit.code).toBe(2);
    expect(noPermit.stdout).toBe('DENY: no policy permits this request\n');

    // No --context: UpdatePackageVersionsStatus requires versions, currentStatuses and targetStatus.
    const error = await policy(['explain', dir, '--principal-claims', RELEASE_MANAGER, '--action', 'UpdatePackageVersionsStatus', '--package', 'chalk', ...flags(MY_REPO)]);
    expect(error.code).toBe(2);
    expect(error.stdout).toMatch(/^DENY: evaluation failed \(a policy errored, or the request does not fit the schema\), so the request is denied \(fail closed\)\n  error: .+\n$/);
  });

  it('--json prints the decision, why, the determining policies with file and line, the errors and the set hash', async () => {
    const dir = policiesCopy();
    const set = loadPolicyDir(dir);
    const r = await policy(['explain', dir, '--json', '--principal-claims', SECURITY, '--action', 'DisposePackageVersions', '--package', PROD_CHALK_ARN, '--context', DISPOSE]);
    expect(r.code).toBe(2);
    const body = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(['because', 'decision', 'determiningPolicies', 'errors', 'policySetHash']);
    expect(body).toEqual({
      decision: 'deny',
      because: 'forbid',
      determiningPolicies: [{ id: 'never-dispose-in-prod', file: 'prod-guard.cedar', line: set.sources['never-dispose-in-prod']!.line }],
      errors: [],
      policySetHash: set.hash,
    });

    const allow = JSON.parse((await policy(['explain', dir, '--json', '--principal-claims', RELEASE_MANAGER, '--action', 'UpdatePackageVersionsStatus', '--package', 'chalk', ...flags(MY_REPO), '--context', ARCHIVE])).stdout) as Record<string, unknown>;
    expect(allow).toMatchObject({ decision: 'allow', because: 'permit', determiningPolicies: [{ id: 'release-managers-curate-my-repo', file: 'release-managers.cedar' }], errors: [] });
  });

  it('refuses claims a real token would be refused for (a control character in "sub"), as a usage error', async () => {
    const r = await policy(['explain', '--principal-claims', JSON.stringify({ sub: 'ali\nce', groups: [] }), '--action', 'DisposePackageVersions', '--package', PROD_CHALK_ARN, '--context', DISPOSE, SHIPPED]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('--principal-claims: "sub" claim holds a control character or a lone UTF-16 surrogate, as a real token\'s would be refused');
  });

  it('exits 2 with a usage message when a required flag is missing', async () => {
    const r = await policy(['explain', policiesCopy(), '--principal-claims', SECURITY, '--package', PROD_CHALK_ARN]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.startsWith('versiongate: the following arguments are required: --action\nUsage:\n  versiongate policy explain ')).toBe(true);
  });
});

describe('versiongate policy diff', () => {
  it('without disagreements, never claims agreement when no candidate was being evaluated', SEVERAL, async () => {
    const never = await policy(['diff', '--since', '2026-11-21T00:00:00Z']);
    expect(never.code).toBe(0);
    expect(never.stdout).toMatch(/^no candidate was being evaluated between 2026-11-21T00:00:00\.000Z and \d{4}-\d\d-\d\dT[\d:.]+Z: no shadow disagreements could be recorded\n$/);
    expect(never.stderr).toBe('');

    // A candidate that loaded, then one that failed to load: the records the gateway writes for them.
    const dataDir = tempDir('versiongate-policy-cli-data-');
    const clock = fixedClock('2026-11-20T09:00:00.000Z');
    const store = openSqliteStore({ file: join(dataDir, DATABASE_FILE), clock });
    const hash = 'c'.repeat(64);
    try {
      await store.appendAudit(policyLoadRecord({ clock, source: '/srv/policies', loaded: { hash, files: ['candidate/maintainers.cedar'], policies: 1 } }));
      clock.set('2026-11-22T09:00:00.000Z');
      await store.appendAudit(policyLoadRecord({ clock, source: '/srv/policies', errors: ['candidate/broken.cedar:1:1: error: unexpected token'] }));
    } finally {
      await store.close();
    }
    const loaded = await policy(['diff', '--since', '2026-11-21T00:00:00Z'], dataDir);
    expect(loaded.stdout).toBe(
      `no shadow disagreements recorded: candidate ${hash.slice(0, 12)} evaluated from 2026-11-20T09:00:00.000Z to 2026-11-22T09:00:00.000Z; it decided every request as the live set did\n`,
    );
    const after = await policy(['diff', '--since', '2026-11-23T00:00:00Z'], dataDir);
    expect(after.stdout).toMatch(/^no candidate was being evaluated between 2026-11-23T00:00:00\.000Z and /);

    // --json tells the two apart as well: no disagreements, and whether a candidate was there to disagree.
    const json = async (since: string) => JSON.parse((await policy(['diff', '--since', since, '--json'], dataDir)).stdout) as Record<string, unknown>;
    expect(await json('2026-11-21T00:00:00Z')).toEqual({
      from: '2026-11-21T00:00:00.000Z',
      to: expect.stringMatching(/^\d{4}-/),
      candidates: [{ hash, from: '2026-11-20T09:00:00.000Z', to: '2026-11-22T09:00:00.000Z' }],
      disagreements: [],
    });
    expect(await json('2026-11-23T00:00:00Z')).toMatchObject({ candidates: [], disagreements: [] });
  });

  it('groups the disagreements recorded in the audit, most frequent first, and --since leaves out older ones', SEVERAL, async () => {
    const dataDir = tempDir('versiongate-policy-cli-data-');
    const clock = fixedClock('2026-11-20T09:00:00.000Z');
    const store = openSqliteStore({ file: join(dataDir, DATABASE_FILE), clock });
    const mia = { issuer: 'urn:test', subject: 'mia', groups: ['maintainers'] };
    const allow: AuthorizationDecision = { decision: 'allow', determiningPolicies: ['maintainers-unlist-my-repo'], errors: [], policySetHash: 'a'.repeat(64) };
    const noPermit: AuthorizationDecision = { decision: 'deny', determiningPolicies: [], errors: [], policySetHash: 'b'.repeat(64), denyKind: 'no_permit' };
    const forbid: AuthorizationDecision = { decision: 'deny', determiningPolicies: ['release-freeze'], errors: [], policySetHash: 'b'.repeat(64), denyKind: 'forbid' };
    const pkg = (repo: string, name: string) => `arn:aws:codeartifact:us-east-1:111122223333:package/my_domain/${repo}/npm//${name}`;
    const record = (candidate: AuthorizationDecision, resource: string) =>
      shadowRecord({ clock, meta: { requestId: `r-${resource}`, sourceIp: '127.0.0.1' }, principal: mia, action: 'UpdatePackageVersionsStatus', resource, live: allow, candidate });
    try {
      await store.appendAudit(record(forbid, pkg('prod', 'old')));
      clock.set('2026-11-21T10:00:00.000Z');
      await store.appendAudit(record(noPermit, pkg('my_repo', 'chalk')));
      clock.advance(1000);
      await store.appendAudit(record(noPermit, pkg('my_repo', 'left-pad')));
      await store.appendAudit(record(forbid, pkg('prod', 'chalk')));
    } finally {
      await store.close();
    }

    const all = await policy(['diff'], dataDir);
    expect(all.code).toBe(0);
    expect(all.stdout).toBe(
      [
        '4 request(s) would be decided differently by the candidate set:',
        '       2  UpdatePackageVersionsStatus: live allow (maintainers-unlist-my-repo) → candidate deny (release-freeze)',
        `          e.g. ${pkg('prod', 'old')}, ${pkg('prod', 'chalk')}; 2026-11-20T09:00:00.000Z … 2026-11-21T10:00:01.000Z`,
        '       2  UpdatePackageVersionsStatus: live allow (maintainers-unlist-my-repo) → candidate deny (no_permit)',
        `          e.g. ${pkg('my_repo', 'chalk')}, ${pkg('my_repo', 'left-pad')}; 2026-11-21T10:00:00.000Z … 2026-11-21T10:00:01.000Z`,
        '',
      ].join('\n'),
    );

    const recent = await policy(['diff', '--since', '2026-11-21T00:00:00Z', '--json'], dataDir);
    expect(recent.code).toBe(0);
    const answer = JSON.parse(recent.stdout) as { from: string; disagreements: Array<Record<string, unknown>> };
    expect(answer.from).toBe('2026-11-21T00:00:00.000Z');
    expect(answer.disagreements).toEqual([
      expect.objectContaining({ action: 'UpdatePackageVersionsStatus', live: 'allow (maintainers-unlist-my-repo)', candidate: 'deny (no_permit)', count: 2, resources: [pkg('my_repo', 'chalk'), pkg('my_repo', 'left-pad')] }),
      expect.objectContaining({ candidate: 'deny (release-freeze)', count: 1, first: '2026-11-21T10:00:01.000Z', resources: [pkg('prod', 'chalk')] }),
    ]);
  });
});
