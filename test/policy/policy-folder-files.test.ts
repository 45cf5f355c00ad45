/**
 * What the policy folder is read as (policy-files.ts), found by a hostile probe of the live set:
 * symbolic links (a Kubernetes ConfigMap delivers every file as one) are followed, never silently
 * left out; a link to nothing or in a loop, a policy file with no policy in it (a save caught
 * part-way), and bytes that are not UTF-8 each refuse the whole set, naming the file.
 */
import { cpSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.ts';
import { silentLogger } from '../../src/log.ts';
import { formatDiagnostic, loadPolicyDir, PolicySetError, readPolicyDir } from '../../src/policy/load-policies.ts';
import { PolicyManager } from '../../src/policy/policy-manager.ts';
import { parseTestFile } from '../../src/policy/test-cases.ts';
import { REPO_POLICIES } from '../helpers/gateway.ts';

/** mallory may not archive chalk in my_repo, though the shipped set lets release managers do it. */
const NO_ARCHIVE = `@id("no-archiving-chalk")
forbid (principal == User::"mallory", action == Action::"UpdatePackageVersionsStatus",
  resource == Package::"arn:aws:codeartifact:us-east-1:111122223333:package/my_domain/my_repo/npm//chalk")
when { context.targetStatus == "Archived" };
`;
const [ARCHIVE_CHALK] = parseTestFile(
  'case.json',
  JSON.stringify([
    {
      name: 'mallory, a release manager, archives chalk',
      claims: { sub: 'mallory', groups: ['release-managers'] },
      action: 'UpdatePackageVersionsStatus',
      package: { domain: 'my_domain', domainOwner: '111122223333', repository: 'my_repo', format: 'npm', package: 'chalk' },
      context: { versions: ['4.0.0'], currentStatuses: ['Published'], targetStatus: 'Archived' },
      decision: 'deny',
    },
  ]),
);

let root: string;
let dir: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'vg-folder-'));
  dir = join(root, 'policies');
  cpSync(REPO_POLICIES, dir, { recursive: true });
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** The diagnostics the folder is refused with, as `file:line:column: error: message`. */
function refusal(read: () => unknown): string[] {
  try {
    read();
  } catch (err) {
    expect(err).toBeInstanceOf(PolicySetError);
    return (err as PolicySetError).diagnostics.map(formatDiagnostic);
  }
  throw new Error('expected the folder to be refused, but it was read');
}

describe('symbolic links', () => {
  it('loads a .cedar file that is a symbolic link, and its forbid decides', () => {
    mkdirSync(join(root, 'elsewhere'));
    writeFileSync(join(root, 'elsewhere', 'no-archive.cedar'), NO_ARCHIVE);
    symlinkSync(join(root, 'elsewhere', 'no-archive.cedar'), join(dir, 'zz-link.cedar'));
    const set = loadPolicyDir(dir); // what `versiongate policy validate` runs
    expect(set.files).toContain('zz-link.cedar');
    expect(set.sources['no-archiving-chalk']).toMatchObject({ file: 'zz-link.cedar' });

    const manager = PolicyManager.start({ dir, clock: systemClock, logger: silentLogger, reloadInWorker: false });
    expect(manager.status().policies).toContainEqual(expect.objectContaining({ id: 'no-archiving-chalk', file: 'zz-link.cedar' }));
    expect(manager.live.evaluate(ARCHIVE_CHALK!.call)).toMatchObject({ decision: 'deny', determiningPolicies: ['no-archiving-chalk'] });
  });

  it('follows links to templates/, links/ and tests/ folders, and to files in them', () => {
    mkdirSync(join(root, 'shared'));
    renameSync(join(dir, 'templates'), join(root, 'shared', 'templates'));
    symlinkSync(join(root, 'shared', 'templates'), join(dir, 'templates'));
    renameSync(join(dir, 'tests', 'dispose.json'), join(root, 'shared', 'dispose.json'));
    symlinkSync(join(root, 'shared', 'dispose.json'), join(dir, 'tests', 'dispose.json'));
    const set = loadPolicyDir(dir);
    expect(set.files).toContain('templates/delegation.cedar');
    expect(Object.keys(set.templates)).toContain('team-curates-repository');
  });

  it('refuses a link to nothing, and a link in a loop, naming each file', () => {
    symlinkSync(join(root, 'gone.cedar'), join(dir, 'dangling.cedar'));
    symlinkSync('loop-b.cedar', join(dir, 'loop-a.cedar'));
    symlinkSync('loop-a.cedar', join(dir, 'loop-b.cedar'));
    const errors = refusal(() => loadPolicyDir(dir));
    expect(errors).toContainEqual(`dangling.cedar:1:1: error: is a symbolic link to ${join(root, 'gone.cedar')}, which does not exist`);
    expect(errors).toContainEqual('loop-a.cedar:1:1: error: is a symbolic link in a loop');
    expect(errors).toContainEqual('loop-b.cedar:1:1: error: is a symbolic link in a loop');
  });

  it('refuses a templates/ that is a link to nothing, and a folder where a policy file should be', () => {
    rmSync(join(dir, 'templates'), { recursive: true });
    symlinkSync(join(root, 'nowhere'), join(dir, 'templates'));
    mkdirSync(join(dir, 'odd.cedar'));
    const errors = refusal(() => readPolicyDir(dir));
    expect(errors).toContainEqual(`templates:1:1: error: is a symbolic link to ${join(root, 'nowhere')}, which does not exist`);
    expect(errors).toContainEqual('odd.cedar:1:1: error: is a folder, not a .cedar file');
  });

  it("leaves Emacs's lock files (.#name.cedar, a link to nothing) alone", () => {
    symlinkSync('sam@host.4242:1700000000', join(dir, '.#security.cedar'));
    expect(loadPolicyDir(dir).files).not.toContain('.#security.cedar');
  });

  it('reads a ConfigMap volume (files linked through ..data to a hidden timestamped folder) once', () => {
    // kubelet's layout: the real files in ..<timestamp>/, ..data linking to it, each key linked through ..data.
    const cm = join(root, 'configmap');
    const stamp = '..2026_01_02_03_04_05.123456789';
    mkdirSync(join(cm, stamp), { recursive: true });
    for (const name of readdirSync(dir)) cpSync(join(dir, name), join(cm, stamp, name), { recursive: true });
    writeFileSync(join(cm, stamp, 'no-archive.cedar'), NO_ARCHIVE);
    symlinkSync(stamp, join(cm, '..data'));
    for (const name of readdirSync(join(cm, stamp))) symlinkSync(join('..data', name), join(cm, name));

    const plain = loadPolicyDir(dir);
    const set = loadPolicyDir(cm);
    expect([...set.files].sort()).toEqual([...plain.files, 'no-archive.cedar'].sort());
    expect(set.files.filter((f) => f.includes('..'))).toEqual([]);
    expect(Object.keys(set.policies).length).toBe(Object.keys(plain.policies).length + 1);
    expect(Object.keys(set.templates)).toEqual(Object.keys(plain.templates));

    // An update: kubelet writes a new timestamped folder and swaps ..data to it in one rename.
    const next = '..2026_01_02_03_09_00.987654321';
    cpSync(join(cm, stamp), join(cm, next), { recursive: true });
    rmSync(join(cm, next, 'no-archive.cedar'));
    rmSync(join(cm, 'no-archive.cedar'));
    symlinkSync(next, join(cm, '..data_tmp'));
    renameSync(join(cm, '..data_tmp'), join(cm, '..data'));
    rmSync(join(cm, stamp), { recursive: true });
    expect(loadPolicyDir(cm).hash).toBe(plain.hash);
  });
});

describe('a policy file with no policy in it', () => {
  it.each([
    ['empty', ''],
    ['only whitespace', ' \n\t\n'],
    ['only comments', '// the forbid goes here\n\n  // TODO\n'],
  ])('refuses the set when a .cedar file is %s (a save caught part-way), naming it', (_, text) => {
    writeFileSync(join(dir, 'prod-guard.cedar'), text);
    expect(refusal(() => loadPolicyDir(dir))).toEqual([
      'prod-guard.cedar:1:1: error: holds no policy (it is empty, or only blank lines and comments). A file saved part-way would otherwise go live as no policies at all: to drop its policies, remove the file',
    ]);
  });

  it('refuses an empty template file too', () => {
    writeFileSync(join(dir, 'templates', 'later.cedar'), '');
    expect(refusal(() => loadPolicyDir(dir))[0]).toMatch(/^templates\/later\.cedar:1:1: error: holds no policy/);
  });

  it('keeps the live set when a forbid file is truncated before it is rewritten, and the forbid keeps deciding', async () => {
    writeFileSync(join(dir, 'no-archive.cedar'), NO_ARCHIVE);
    const manager = PolicyManager.start({ dir, clock: systemClock, logger: silentLogger, reloadInWorker: false });
    expect(manager.live.evaluate(ARCHIVE_CHALK!.call).decision).toBe('deny');
    writeFileSync(join(dir, 'no-archive.cedar'), ''); // a non-atomic save: truncated first
    expect(await manager.reload('watch')).toMatchObject({ outcome: 'refused', errors: [expect.stringMatching(/^no-archive\.cedar:1:1: error: holds no policy/)] });
    expect(manager.live.evaluate(ARCHIVE_CHALK!.call).decision).toBe('deny');
  });

  it('accepts a file with one policy after its comments', () => {
    writeFileSync(join(dir, 'no-archive.cedar'), `// why\n\n${NO_ARCHIVE}`);
    expect(loadPolicyDir(dir).files).toContain('no-archive.cedar');
  });
});

describe('bytes that are not UTF-8', () => {
  it('refuses a .cedar file with an invalid byte, naming its line and column, instead of loading U+FFFD', () => {
    const text = Buffer.concat([Buffer.from('@id("alice-only")\npermit (principal == User::"al'), Buffer.from([0xff]), Buffer.from('ice", action, resource);\n')]);
    writeFileSync(join(dir, 'alice.cedar'), text);
    expect(refusal(() => loadPolicyDir(dir))).toEqual(['alice.cedar:2:31: error: is not UTF-8 text: save it as UTF-8']);
  });

  it('refuses a truncated multi-byte character, and invalid bytes in the schema, links and tests', () => {
    writeFileSync(join(dir, 'cut.cedar'), Buffer.concat([Buffer.from('// caf'), Buffer.from([0xc3]), Buffer.from('\npermit (principal, action, resource);\n')]));
    writeFileSync(join(dir, 'links.json'), Buffer.from([0x5b, 0x5d, 0x0a, 0x80]));
    expect(refusal(() => loadPolicyDir(dir))).toEqual(['cut.cedar:1:7: error: is not UTF-8 text: save it as UTF-8', 'links.json:2:1: error: is not UTF-8 text: save it as UTF-8']);
    writeFileSync(join(dir, 'tests', 'bad.json'), Buffer.from([0xed, 0xa0, 0x80])); // a UTF-16 surrogate, CESU-8 style
    rmSync(join(dir, 'cut.cedar'));
    rmSync(join(dir, 'links.json'));
    const manager = () => PolicyManager.start({ dir, clock: systemClock, logger: silentLogger, reloadInWorker: false });
    expect(refusal(manager)).toEqual(['tests/bad.json:1:1: error: is not UTF-8 text: save it as UTF-8']);
  });

  it('reads valid UTF-8 as before', () => {
    writeFileSync(join(dir, 'accents.cedar'), `// café ✔\n@id("zoë")\npermit (principal == User::"zoë", action == Action::"ReadAuditLog", resource);\n`);
    const set = loadPolicyDir(dir);
    expect(set.policies['zoë']).toContain('User::"zoë"');
  });
});
