/**
 * Runs policy test cases against a compiled policy set through the same engine the gateway uses,
 * and reports each failure with the expected and actual decision and the determining policies.
 */
import { PolicyEngine } from './engine.ts';
import type { CompiledPolicySet, PolicyDiagnostic, PolicyFileText } from './load-policies.ts';
import { readTestFiles } from './policy-files.ts';
import { PolicySetError } from './policy-files.ts';
import { parseTestFile, TestCaseError, type PolicyTestCase } from './test-cases.ts';

export { readTestFiles, TESTS_DIR } from './policy-files.ts';

export interface TestFailure {
  case: PolicyTestCase;
  actual: { decision: 'allow' | 'deny'; determiningPolicies: string[]; errors: string[]; denyKind?: string | undefined };
  problems: string[];
}

export interface TestReport {
  passed: number;
  failed: number;
  failures: TestFailure[];
}

export function readTestCases(policyDir: string, groupsClaim?: string): PolicyTestCase[] {
  return parseTestFiles(readTestFiles(policyDir), groupsClaim);
}

export function parseTestFiles(files: readonly PolicyFileText[], groupsClaim?: string): PolicyTestCase[] {
  return files.flatMap((f) => parseTestFile(f.file, f.text, groupsClaim));
}

/** parseTestFiles for a set being loaded: a case that cannot be read refuses the set, naming its file. */
export function parseTestFilesOfSet(files: readonly PolicyFileText[], groupsClaim?: string): PolicyTestCase[] {
  try {
    return parseTestFiles(files, groupsClaim);
  } catch (err) {
    if (err instanceof TestCaseError) throw new PolicySetError([{ file: err.file, line: 1, column: 1, severity: 'error', message: err.message }]);
    throw err;
  }
}

export function runPolicyTests(set: CompiledPolicySet, cases: readonly PolicyTestCase[], filter?: string, engine = new PolicyEngine(set)): TestReport {
  const report: TestReport = { passed: 0, failed: 0, failures: [] };
  for (const c of cases) {
    if (filter && !c.name.includes(filter)) continue;
    const d = engine.evaluate(c.call);
    const problems: string[] = [];
    if (d.decision !== c.expected.decision) problems.push(`expected ${c.expected.decision}, got ${d.decision}`);
    if (c.expected.reason !== undefined && !sameSet(c.expected.reason, d.determiningPolicies)) {
      problems.push(`expected determining policies [${c.expected.reason.join(', ')}], got [${d.determiningPolicies.join(', ')}]`);
    }
    if (c.expected.errors !== undefined && c.expected.errors !== d.errors.length) problems.push(`expected ${c.expected.errors} error(s), got ${d.errors.length}`);
    if (c.expected.denyKind !== undefined && c.expected.denyKind !== d.denyKind) problems.push(`expected the deny to come from ${c.expected.denyKind}, got ${d.denyKind ?? 'an allow'}`);
    if (problems.length === 0) report.passed++;
    else {
      report.failed++;
      report.failures.push({ case: c, actual: { decision: d.decision, determiningPolicies: d.determiningPolicies, errors: d.errors, denyKind: d.denyKind }, problems });
    }
  }
  return report;
}

const sameSet = (a: readonly string[], b: readonly string[]) => a.length === b.length && [...a].sort().join('\n') === [...b].sort().join('\n');

/** A failed case as a reload refuses the set for it: one diagnostic, on one line, naming its file. */
export function failureDiagnostic(f: TestFailure): PolicyDiagnostic {
  return { file: f.case.file, line: 1, column: 1, severity: 'error', message: formatFailure(f).replace(/\n\s*/g, ' | ') };
}

export function formatFailure(f: TestFailure): string {
  const a = f.actual;
  const why = a.decision === 'deny' ? ` (${a.denyKind === 'forbid' ? 'a forbid' : a.denyKind === 'error' ? 'an evaluation error' : 'no permit'})` : '';
  return [
    `FAIL ${f.case.file} › ${f.case.name}`,
    ...f.problems.map((p) => `  ${p}`),
    `  actual: ${a.decision}${why}; determining policies [${a.determiningPolicies.join(', ')}]${a.errors.length ? `; errors: ${a.errors.join('; ')}` : ''}`,
  ].join('\n');
}
