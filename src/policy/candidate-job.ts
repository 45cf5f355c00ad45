/**
 * The policy bench's work on a set a caller supplies (POST /v1/policies/check, and POST
 * /v1/authorize with `policies`): compiling it, running test cases against it, deciding one request
 * by it. Compiling a set costs about what a reload does (a second and more for thousands of
 * policies), so this runs in a worker thread (candidate-off-thread.ts, through reload-worker.ts),
 * never on the event loop that answers requests; and a Cedar trap on a hostile set ends only that
 * worker. Everything here is a pure function of the job: the answer is what the endpoint returns.
 */
import { evaluateUnprepared, type CedarCall } from './engine.ts';
import { explain, type Explanation } from './explain.ts';
import { compilePolicySet, formatDiagnostic, PolicySetError, SCHEMA_FILE, type PolicyDiagnostic, type PolicyFileText } from './load-policies.ts';
import { suppliedFileProblems } from './policy-files.ts';
import { failureDiagnostic, runPolicyTests } from './run-tests.ts';
import { parseTestFile, TestCaseError, type PolicyTestCase } from './test-cases.ts';

/** A set as a caller gives it: the schema's text and each file's text. */
export interface CandidateSources {
  schema: string;
  files: PolicyFileText[];
  templates: PolicyFileText[];
  links: PolicyFileText[];
}

export type CandidateJob =
  /** Check the set as a reload would, `tests` (tests/NAME.json texts) included: a failing test makes it invalid. */
  | { kind: 'check'; set: CandidateSources; tests?: PolicyFileText[] | undefined; groupsClaim: string }
  /** Decide one request by the set. */
  | { kind: 'decide'; set: CandidateSources; call: CedarCall };

export interface CheckReport {
  valid: boolean;
  hash?: string;
  diagnostics: PolicyDiagnostic[];
  tests?: { passed: number; failed: number; failures: Array<{ file: string; name: string; problems: string[]; actual: unknown }> };
}

export type CandidateAnswer =
  | { kind: 'check'; report: CheckReport }
  | { kind: 'decide'; explanation: Explanation }
  /** The supplied set does not compile (decide only: a check reports it in its diagnostics). */
  | { kind: 'invalid'; message: string };

export function runCandidateJob(job: CandidateJob): CandidateAnswer {
  return job.kind === 'check' ? { kind: 'check', report: checkCandidate(job.set, job.tests, job.groupsClaim) } : decideBySupplied(job.set, job.call);
}

function compile(set: CandidateSources) {
  return compilePolicySet(set.schema, set.files, { templates: set.templates, links: set.links });
}

/**
 * The checks a reload makes, on a set given as texts: its files as a folder would hold them, then
 * Cedar's validation, then its tests. As at a reload, a test that fails (or cannot be read) refuses
 * the set: `valid` is false, and the failure is a diagnostic worded as the reload's refusal would be.
 */
function checkCandidate(sources: CandidateSources, testFiles: PolicyFileText[] | undefined, groupsClaim: string): CheckReport {
  const fileProblems = suppliedFileProblems([
    ...sources.files.map((f) => ({ ...f, kind: 'policy' as const })),
    ...sources.templates.map((f) => ({ ...f, kind: 'template' as const })),
    ...sources.links.map((f) => ({ ...f, kind: 'links' as const })),
    ...(testFiles ?? []).map((f) => ({ ...f, kind: 'test' as const })),
  ]);
  if (fileProblems.length > 0) return report(false, undefined, fileProblems);
  let set;
  try {
    set = compile(sources);
  } catch (err) {
    if (!(err instanceof PolicySetError)) throw err;
    return report(false, undefined, err.diagnostics);
  }
  const diagnostics: PolicyDiagnostic[] = [...set.warnings];
  if (!testFiles) return report(true, set.hash, diagnostics);
  const cases: PolicyTestCase[] = [];
  for (const t of testFiles) {
    try {
      cases.push(...parseTestFile(t.file, t.text, groupsClaim));
    } catch (err) {
      if (!(err instanceof TestCaseError)) throw err;
      diagnostics.push({ file: t.file, line: 1, column: 1, severity: 'error', message: err.message });
    }
  }
  const run = runPolicyTests(set, cases);
  diagnostics.push(...run.failures.map(failureDiagnostic));
  const tests = { passed: run.passed, failed: run.failed, failures: run.failures.map((f) => ({ file: f.case.file, name: f.case.name, problems: f.problems, actual: f.actual })) };
  return { ...report(!diagnostics.some((d) => d.severity === 'error'), set.hash, diagnostics), tests };
}

function report(valid: boolean, hash: string | undefined, diagnostics: readonly PolicyDiagnostic[]): CheckReport {
  return { valid, ...(hash ? { hash } : {}), diagnostics: diagnostics.map((d) => ({ ...d, file: d.file || SCHEMA_FILE })) };
}

function decideBySupplied(sources: CandidateSources, call: CedarCall): CandidateAnswer {
  let set;
  try {
    set = compile(sources);
  } catch (err) {
    if (err instanceof PolicySetError) return { kind: 'invalid', message: `the supplied policy set is not valid: ${err.diagnostics.map(formatDiagnostic).join('; ')}` };
    throw err;
  }
  return { kind: 'decide', explanation: explain(set, evaluateUnprepared(set, call)) };
}
