import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { compilePolicySet, loadPolicyDir, PolicySetError, SCHEMA_FILE, type PolicyDiagnostic, type PolicyFileText } from '../../src/policy/load-policies.ts';
import { MAX_POLICY_NESTING, MAX_POLICY_OPERATORS, policyTextProblem } from '../../src/policy/policy-guard.ts';
import { REPO_POLICIES } from '../helpers/gateway.ts';

const REPO_ROOT = resolve(REPO_POLICIES, '..');
const schemaText = readFileSync(join(REPO_POLICIES, SCHEMA_FILE), 'utf8');

/** The @id of every static policy in the shipped folder, read from the files themselves. */
const REAL_POLICY_IDS = readdirSync(REPO_POLICIES)
  .filter((f) => f.endsWith('.cedar'))
  .flatMap((f) => [...readFileSync(join(REPO_POLICIES, f), 'utf8').matchAll(/@id\("([^"]+)"\)/g)].map((m) => m[1]!))
  .sort();

/** Runs compilePolicySet and returns the PolicySetError's diagnostics; fails the test if it compiles. */
function diagnosticsOf(files: PolicyFileText[], schema = schemaText): PolicyDiagnostic[] {
  try {
    compilePolicySet(schema, files);
  } catch (err) {
    expect(err).toBeInstanceOf(PolicySetError);
    return (err as PolicySetError).diagnostics;
  }
  throw new Error('expected the policy set to be refused, but it compiled');
}

const VALID_FILES: PolicyFileText[] = [
  {
    file: 'a.cedar',
    text: [
      '// unannotated: gets a.cedar#0',
      'permit (principal in Group::"release-managers", action == Action::"UpdatePackageVersionsStatus", resource);',
      '@id("audit-readers")',
      'permit (principal in Group::"auditors", action == Action::"ReadAuditLog", resource);',
      '// unannotated, third in the file: gets a.cedar#2',
      'forbid (principal, action == Action::"DisposePackageVersions", resource) when { context.currentStatuses.contains("Archived") };',
      '',
    ].join('\n'),
  },
  {
    file: 'b.cedar',
    text: 'permit (principal in Group::"security", action == Action::"DisposePackageVersions", resource);\n',
  },
];

describe('compilePolicySet: a valid set', () => {
  it('names policies by @id, else <file>#<index>', () => {
    const set = compilePolicySet(schemaText, VALID_FILES);
    expect(Object.keys(set.policies).sort()).toEqual(['a.cedar#0', 'a.cedar#2', 'audit-readers', 'b.cedar#0']);
    expect(set.policies['audit-readers']).toContain('Action::"ReadAuditLog"');
    expect(set.policies['a.cedar#2']).toContain('forbid');
    expect(set.policies['b.cedar#0']).toContain('Group::"security"');
    expect(set.files).toEqual(['a.cedar', 'b.cedar']);
    expect(set.schemaText).toBe(schemaText);
    expect(set.warnings).toEqual([]);
  });

  it('records where each policy starts', () => {
    const set = compilePolicySet(schemaText, VALID_FILES);
    expect(set.sources['a.cedar#0']).toEqual({ file: 'a.cedar', line: 2, column: 1 });
    // The annotation is part of the policy: it starts on the @id line.
    expect(set.sources['audit-readers']).toEqual({ file: 'a.cedar', line: 3, column: 1 });
    expect(set.sources['a.cedar#2']).toEqual({ file: 'a.cedar', line: 6, column: 1 });
    expect(set.sources['b.cedar#0']).toEqual({ file: 'b.cedar', line: 1, column: 1 });
  });

  it('names and places the policies of a file of more than ten by their position (Cedar lists them by its own ids, "policy10" before "policy2")', () => {
    const lines: string[] = [];
    for (let i = 0; i < 12; i++) lines.push(`// policy ${i}`, `permit (principal == User::"user${i}", action == Action::"ReadAuditLog", resource);`);
    const set = compilePolicySet(schemaText, [{ file: 'many.cedar', text: `${lines.join('\n')}\n` }]);
    for (let i = 0; i < 12; i++) {
      expect(set.policies[`many.cedar#${i}`]).toContain(`User::"user${i}"`);
      expect(set.sources[`many.cedar#${i}`]).toEqual({ file: 'many.cedar', line: 2 * i + 2, column: 1 });
    }
  });

  it('places a policy after a commented-out copy of it, and one whose string holds a ; or //', () => {
    const text = [
      '// permit (principal == User::"x", action == Action::"ReadAuditLog", resource);',
      'permit (principal == User::"x", action == Action::"ReadAuditLog", resource);',
      '@id("odd;//\\"strings")',
      'permit (principal == User::"a;b//c", action == Action::"ReadAuditLog", resource);',
      '',
    ].join('\n');
    const set = compilePolicySet(schemaText, [{ file: 'c.cedar', text }]);
    expect(set.sources['c.cedar#0']).toEqual({ file: 'c.cedar', line: 2, column: 1 });
    expect(set.sources['odd;//"strings']).toEqual({ file: 'c.cedar', line: 3, column: 1 });
  });

  it('hashes the set: 64 hex digits, stable for the same input, different when a file changes', () => {
    const a = compilePolicySet(schemaText, VALID_FILES);
    const b = compilePolicySet(schemaText, VALID_FILES.map((f) => ({ ...f })));
    expect(a.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(b.hash).toBe(a.hash);

    const changed = [VALID_FILES[0]!, { file: 'b.cedar', text: `${VALID_FILES[1]!.text}// a comment changes the file\n` }];
    const c = compilePolicySet(schemaText, changed);
    expect(c.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(c.hash).not.toBe(a.hash);

    const renamed = [VALID_FILES[0]!, { file: 'c.cedar', text: VALID_FILES[1]!.text }];
    expect(compilePolicySet(schemaText, renamed).hash).not.toBe(a.hash);
  });

  it('compiles the real policies folder', () => {
    const set = loadPolicyDir(REPO_POLICIES);
    expect(REAL_POLICY_IDS.length).toBeGreaterThan(5);
    expect(Object.keys(set.policies).sort()).toEqual(REAL_POLICY_IDS);
    // Static files in name order, then templates/, then the links files.
    const cedarFiles = readdirSync(REPO_POLICIES).filter((f) => f.endsWith('.cedar')).sort();
    expect(set.files.slice(0, cedarFiles.length)).toEqual(cedarFiles);
    expect(set.files).toContain('templates/delegation.cedar');
    expect(set.files).toContain('links.json');
    expect(Object.keys(set.templates)).toEqual(expect.arrayContaining(['team-curates-repository', 'user-may-unlist-package']));
    expect(set.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(set.warnings).toEqual([]);
  });
});

describe('compilePolicySet: diagnostics', () => {
  it('an unknown attribute is an error at its file, line and column', () => {
    const line3 = 'permit (principal, action == Action::"UpdatePackageVersionsStatus", resource) when { resource.nam == "chalk" };';
    const text = `// first comment line\n// second comment line\n${line3}\n`;
    const diagnostics = diagnosticsOf([{ file: 'typo.cedar', text }]);
    expect(diagnostics).toHaveLength(1);
    const d = diagnostics[0]!;
    expect(d.file).toBe('typo.cedar');
    expect(d.line).toBe(3);
    expect(d.column).toBe(line3.indexOf('resource.nam') + 1);
    expect(d.column).toBe(86);
    expect(d.severity).toBe('error');
    expect(d.message).toContain('`nam`');
    expect(d.message).toContain('Package');
    expect(d.policyId).toBe('typo.cedar#0');
    expect(d.help).toContain('`name`');
  });

  it('the error is placed correctly for a later policy in the file too', () => {
    const bad = '  permit (principal, action == Action::"DisposePackageVersions", resource) when { context.targetStatus == "Archived" };';
    const text = ['@id("ok")', 'permit (principal, action == Action::"ReadAuditLog", resource);', '', bad, ''].join('\n');
    const diagnostics = diagnosticsOf([{ file: 'later.cedar', text }]);
    expect(diagnostics.map((d) => [d.file, d.line, d.column, d.severity, d.policyId])).toEqual([
      ['later.cedar', 4, bad.indexOf('context.targetStatus') + 1, 'error', 'later.cedar#1'],
    ]);
    expect(diagnostics[0]!.message).toContain('targetStatus');
  });

  it('a syntax error gives its file, line and column', () => {
    const text = '// a comment\npermit (principal, action, resource)\nwhen { resource.name == };\n';
    const diagnostics = diagnosticsOf([
      { file: 'fine.cedar', text: 'permit (principal, action == Action::"ReadAuditLog", resource);\n' },
      { file: 'syntax.cedar', text },
    ]);
    expect(diagnostics).toHaveLength(1);
    const d = diagnostics[0]!;
    expect(d.file).toBe('syntax.cedar');
    expect(d.line).toBe(3);
    expect(d.column).toBe('when { resource.name == '.length + 1);
    expect(d.severity).toBe('error');
    expect(d.message).toContain('unexpected token');
  });

  it('the same @id in two files is an error naming both files', () => {
    const diagnostics = diagnosticsOf([
      { file: 'first.cedar', text: '@id("shared")\npermit (principal, action == Action::"ReadAuditLog", resource);\n' },
      { file: 'second.cedar', text: '// another file\n@id("shared")\npermit (principal in Group::"auditors", action == Action::"ReadAuditLog", resource);\n' },
    ]);
    expect(diagnostics).toHaveLength(1);
    const d = diagnostics[0]!;
    expect(d.file).toBe('second.cedar');
    expect(d.line).toBe(2);
    expect(d.column).toBe(1);
    expect(d.severity).toBe('error');
    expect(d.message).toContain('"shared"');
    expect(d.message).toContain('first.cedar:1');
  });

  it('an unknown action is an error', () => {
    const text = 'permit (principal, action == Action::"PutDomainPermissionsPolicy", resource);\n';
    const diagnostics = diagnosticsOf([{ file: 'actions.cedar', text }]);
    const errors = diagnostics.filter((d) => d.severity === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]!.file).toBe('actions.cedar');
    expect(errors[0]!.line).toBe(1);
    expect(errors[0]!.column).toBe(text.indexOf('Action::"PutDomainPermissionsPolicy"') + 1);
    expect(errors[0]!.message).toContain('unrecognized action');
    expect(errors[0]!.message).toContain('PutDomainPermissionsPolicy');
    expect(errors[0]!.policyId).toBe('actions.cedar#0');
  });

  it('the error message lists every diagnostic as file:line:column', () => {
    try {
      compilePolicySet(schemaText, [{ file: 'x.cedar', text: 'permit (principal, action, resource) when { resource.nope };\n' }]);
      expect.unreachable('the set should have been refused');
    } catch (err) {
      expect(err).toBeInstanceOf(PolicySetError);
      expect((err as Error).name).toBe('PolicySetError');
      expect((err as Error).message).toMatch(/^the policy set is not valid \(\d+ error\(s\)\):\n/);
      expect((err as Error).message).toContain('x.cedar:1:');
    }
  });

  it('templates are refused', () => {
    const diagnostics = diagnosticsOf([{ file: 't.cedar', text: 'permit (principal == ?principal, action == Action::"ReadAuditLog", resource);\n' }]);
    expect(diagnostics).toEqual([
      { file: 't.cedar', line: 1, column: 1, severity: 'error', message: 'templates (policies with ?principal or ?resource) belong in templates/' },
    ]);
  });
});

describe('loadPolicyDir', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('a folder without schema.cedarschema is a PolicySetError', () => {
    const dir = mkdtempSync(join(tmpdir(), 'versiongate-policies-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'a.cedar'), 'permit (principal, action, resource);\n');
    let caught: unknown;
    try {
      loadPolicyDir(dir);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(PolicySetError);
    const diagnostics = (caught as PolicySetError).diagnostics;
    expect(diagnostics).toEqual([{ file: SCHEMA_FILE, line: 1, column: 1, severity: 'error', message: `missing ${SCHEMA_FILE} in ${dir}` }]);
  });

  it('reads only *.cedar files, in name order', () => {
    const dir = mkdtempSync(join(tmpdir(), 'versiongate-policies-'));
    dirs.push(dir);
    writeFileSync(join(dir, SCHEMA_FILE), schemaText);
    writeFileSync(join(dir, 'b.cedar'), 'permit (principal, action == Action::"ReadAuditLog", resource);\n');
    writeFileSync(join(dir, 'a.cedar'), 'permit (principal, action == Action::"DisposePackageVersions", resource);\n');
    writeFileSync(join(dir, 'notes.txt'), 'not a policy (((');
    const set = loadPolicyDir(dir);
    expect(set.files).toEqual(['a.cedar', 'b.cedar']);
    expect(Object.keys(set.policies).sort()).toEqual(['a.cedar#0', 'b.cedar#0']);
  });
});

describe('the nesting guard', () => {
  it('refuses 200 nested parentheses before Cedar sees them, and Cedar keeps working', () => {
    const deep = `${'('.repeat(200)}true${')'.repeat(200)}`;
    const diagnostics = diagnosticsOf([
      { file: 'deep.cedar', text: `permit (principal, action == Action::"ReadAuditLog", resource) when { ${deep} };\n` },
    ]);
    expect(diagnostics).toHaveLength(1);
    expect(diagnostics[0]).toMatchObject({ file: 'deep.cedar', line: 1, column: 1, severity: 'error' });
    expect(diagnostics[0]!.message).toContain('nested');

    // The wasm instance is intact: the real folder compiles and validation still reports errors.
    const set = loadPolicyDir(REPO_POLICIES);
    expect(Object.keys(set.policies).sort()).toEqual(REAL_POLICY_IDS);
    const again = diagnosticsOf([{ file: 'typo.cedar', text: 'permit (principal, action, resource) when { resource.nam == "x" };\n' }]);
    expect(again[0]!.message).toContain('`nam`');
  });

  it('refuses an empty @id, and an id holding a control or format character, rather than naming the policy otherwise', () => {
    const permit = 'permit (principal, action == Action::"ReadAuditLog", resource);';
    const diagnostics = diagnosticsOf([{ file: 'ids.cedar', text: `@id("")\n${permit}\n@id("a\\nb")\n${permit}\n@id("never-dispose\u200b-in-prod")\n${permit}\n` }]);
    expect(diagnostics.map((d) => `${d.file}:${d.line}: ${d.message}`)).toEqual([
      'ids.cedar:1: @id is empty',
      'ids.cedar:3: @id holds a control or format character ("a\\nb")',
      'ids.cedar:5: @id holds a control or format character ("never-dispose\u200b-in-prod")',
    ]);
  });

  it('blames a schema type nested too deeply for Cedar on the schema, as a refusal, not a trap that needs a restart', () => {
    for (const deep of [`${'{ a: '.repeat(64)}String${' }'.repeat(64)}`, `${'Set<'.repeat(128)}String${'>'.repeat(128)}`]) {
      const diagnostics = diagnosticsOf(VALID_FILES, `${schemaText}\ntype Deep = ${deep};\n`);
      expect(diagnostics).toHaveLength(1);
      expect(diagnostics[0]).toMatchObject({ file: SCHEMA_FILE, line: 1, column: 1, severity: 'error' });
      expect(diagnostics[0]!.message).not.toContain('restart');
    }
    // Cedar is unharmed: the same set without the deep type compiles.
    expect(() => compilePolicySet(schemaText, VALID_FILES)).not.toThrow();
  });

  it('refuses a schema nested too deeply', () => {
    const deepSchema = `${schemaText}\ntype Deep = ${'{ a: '.repeat(100)}String${' }'.repeat(100)};\n`;
    const diagnostics = diagnosticsOf([], deepSchema);
    expect(diagnostics).toHaveLength(1);
    expect(diagnostics[0]).toMatchObject({ file: SCHEMA_FILE, line: 1, column: 1, severity: 'error' });
    expect(diagnostics[0]!.message).toContain('nested');
  });
});

describe('policyTextProblem', () => {
  const wrap = (cond: string) => `permit (principal, action, resource) when { ${cond} };`;

  it('accepts ordinary policies', () => {
    for (const file of ['auditors.cedar', 'maintainers.cedar', 'prod-guard.cedar', 'release-managers.cedar', 'security.cedar', SCHEMA_FILE]) {
      expect(policyTextProblem(readFileSync(join(REPO_POLICIES, file), 'utf8'))).toBeUndefined();
    }
  });

  it('counts nesting across (, [ and {', () => {
    // The policy itself opens `(` (scope, closed) and `{` (when): depth 1 before the condition.
    const ok = MAX_POLICY_NESTING - 1;
    expect(policyTextProblem(wrap(`${'('.repeat(ok)}true${')'.repeat(ok)}`))).toBeUndefined();
    expect(policyTextProblem(wrap(`${'('.repeat(ok + 1)}true${')'.repeat(ok + 1)}`))).toBe(`nested deeper than ${MAX_POLICY_NESTING} brackets`);
    expect(policyTextProblem(wrap(`${'['.repeat(ok + 1)}1${']'.repeat(ok + 1)}.isEmpty()`))).toBe(`nested deeper than ${MAX_POLICY_NESTING} brackets`);
    expect(policyTextProblem(wrap(`${'{a: '.repeat(ok + 1)}1${'}'.repeat(ok + 1)} has a`))).toBe(`nested deeper than ${MAX_POLICY_NESTING} brackets`);
    // Sibling brackets do not add up.
    expect(policyTextProblem(wrap(Array(200).fill('(true)').join(' && ')))).toBeUndefined();
    expect(policyTextProblem(wrap(Array(500).fill('(true)').join(' && ')))).toBe(`more than ${MAX_POLICY_OPERATORS} operators in one policy`);
  });

  it('does not count brackets inside string literals', () => {
    const brackets = '((((('.repeat(40) + '[[[[{{{{'.repeat(20);
    expect(policyTextProblem(wrap(`resource.name == "${brackets}"`))).toBeUndefined();
    // An escaped quote does not end the literal.
    expect(policyTextProblem(wrap(`resource.name == "say \\"${brackets}\\" twice"`))).toBeUndefined();
    // An escaped backslash right before the closing quote does end it: brackets after it count.
    const after = `${'('.repeat(100)}true${')'.repeat(100)}`;
    expect(policyTextProblem(wrap(`resource.name == "a\\\\" && ${after}`))).toBe(`nested deeper than ${MAX_POLICY_NESTING} brackets`);
  });

  it('does not count brackets inside // comments', () => {
    const text = `// ${'('.repeat(300)}\n// "an unmatched quote in a comment\npermit (principal, action, resource) // ${'{'.repeat(300)}\nwhen { true };\n`;
    expect(policyTextProblem(text)).toBeUndefined();
    // `//` inside a string literal is not a comment: the brackets after the literal count.
    const notAComment = wrap(`resource.arn == "https://example.com" && ${'('.repeat(100)}true${')'.repeat(100)}`);
    expect(policyTextProblem(notAComment)).toBe(`nested deeper than ${MAX_POLICY_NESTING} brackets`);
  });

  it('does not count if inside strings, comments or words', () => {
    const manyIfs = 'if '.repeat(MAX_POLICY_NESTING + 1);
    expect(policyTextProblem(wrap(`resource.name == "${manyIfs}"`))).toBeUndefined();
    expect(policyTextProblem(`// ${manyIfs}\n${wrap('true')}`)).toBeUndefined();
    expect(policyTextProblem(wrap(Array(MAX_POLICY_NESTING + 1).fill('resource has iff').join(' || ')))).toBeUndefined();
    const nestedIfs = `${'if true then '.repeat(MAX_POLICY_NESTING + 1)}true${' else false'.repeat(MAX_POLICY_NESTING + 1)}`;
    expect(policyTextProblem(wrap(nestedIfs))).toBe(`more than ${MAX_POLICY_NESTING} if-expressions in one policy`);
  });

  it('refuses a file larger than 1 MiB', () => {
    expect(policyTextProblem(`// ${'x'.repeat(1024 * 1024)}\n`)).toBe(`larger than ${1024 * 1024} bytes`);
  });
});

// Kept last in this file: if the guard lets such a policy through, Cedar's wasm instance can break
// for every later call in this process.
describe('the guard and long operator chains', () => {
  // `1 + 1 + … + 1` has no brackets, but parses into a tree as deep as the chain is long.
  const chainPolicy = (terms: number) =>
    `permit (principal, action == Action::"ReadAuditLog", resource) when { ${Array(terms).fill('1').join(' + ')} > 0 };\n`;

  it('in the server process (plain node): a 1500-term chain is refused as a PolicySetError and Cedar keeps working', () => {
    // A child process, because the gateway runs in plain node (bigger stack than a vitest worker),
    // where the overflow is a wasm trap rather than a JavaScript RangeError.
    const dir = mkdtempSync(join(tmpdir(), 'versiongate-chain-'));
    try {
      const script = join(dir, 'chain.ts');
      writeFileSync(
        script,
        `import { readFileSync } from 'node:fs';
import { compilePolicySet, loadPolicyDir } from ${JSON.stringify(join(REPO_ROOT, 'src/policy/load-policies.ts'))};
const schema = readFileSync(${JSON.stringify(join(REPO_POLICIES, SCHEMA_FILE))}, 'utf8');
const out: { chainError: string | null; realError: string | null } = { chainError: null, realError: null };
try { compilePolicySet(schema, [{ file: 'chain.cedar', text: ${JSON.stringify(chainPolicy(1500))} }]); } catch (e) { out.chainError = (e as Error).name; }
try { loadPolicyDir(${JSON.stringify(REPO_POLICIES)}); } catch (e) { out.realError = (e as Error).name + ': ' + (e as Error).message; }
process.stdout.write(JSON.stringify(out));
`,
      );
      const child = spawnSync(process.execPath, ['--no-turbo-inline-js-wasm-calls', '--import', 'tsx', script], { cwd: REPO_ROOT, encoding: 'utf8' });
      expect(child.status, child.stderr).toBe(0);
      const out = JSON.parse(child.stdout) as { chainError: string | null; realError: string | null };
      expect.soft(out.chainError === null || out.chainError === 'PolicySetError', `the chain failed with ${out.chainError}`).toBe(true);
      expect(out.realError).toBeNull();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('in this process: a 1500-term chain is refused as a PolicySetError (or compiles), and Cedar keeps working', () => {
    let caught: unknown;
    try {
      compilePolicySet(schemaText, [{ file: 'chain.cedar', text: chainPolicy(1500) }]);
    } catch (err) {
      caught = err;
    }
    if (caught !== undefined) expect.soft(caught).toBeInstanceOf(PolicySetError);
    expect(() => loadPolicyDir(REPO_POLICIES)).not.toThrow();
  });
});
