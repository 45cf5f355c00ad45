/**
 * `versiongate policy validate | format | test | explain | diff`: the security team's tools over
 * a policies folder. Exit codes follow the Cedar CLI: 0 success, 1 failure (a test failed, a file
 * is not formatted), 2 a deny (explain), 3 an invalid policy set.
 */
import { readdirSync, readFileSync, writeFileSync, existsSync, realpathSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import type { CedarValueJson } from '@cedar-policy/cedar-wasm/nodejs';
import { PolicyEngine } from '../policy/engine.ts';
import { packageResource, principalEntities, userUid } from '../policy/entities.ts';
import { claimsProblem } from '../auth/principal.ts';
import { candidateEvent, candidatePeriods, type CandidateEvent, type CandidatePeriod } from '../policy/candidate-periods.ts';
import { addDisagreement, sortedDisagreements, type DisagreementRow } from '../policy/disagreements.ts';
import { describeExplanation, explain } from '../policy/explain.ts';
import { formatDiagnostic, loadPolicyDir, TEMPLATE_DIR } from '../policy/load-policies.ts';
import { decodePolicyFile, TESTS_DIR } from '../policy/policy-files.ts';
import { policyTextProblem } from '../policy/policy-guard.ts';
import { formatFailure, readTestCases, runPolicyTests } from '../policy/run-tests.ts';
import { TestCaseError } from '../policy/test-cases.ts';
import { parseCoordinates } from '../resource/coordinates.ts';
import { parsePackageArn } from '../resource/parse-arn.ts';
import type { Store } from '../store/store.ts';

export class PolicyUsageError extends Error {}

type Values = Record<string, string | boolean | string[] | undefined>;
type Out = (line: string) => void;

/** Cedar CLI's `format` defaults. */
const LINE_WIDTH = 80;
const INDENT = 2;

export function policyValidate(dir: string, out: Out, err: Out): number {
  const set = loadPolicyDir(dir); // PolicySetError → exit 3 in main
  for (const w of set.warnings) err(formatDiagnostic(w));
  out(
    `policy set valid: ${Object.keys(set.policies).length} policies, ${Object.keys(set.templates).length} templates, ${set.links.length} links; hash ${set.hash}`,
  );
  return 0;
}

export function policyFormat(dir: string, check: boolean, out: Out, err: Out): number {
  const files = [dir, join(dir, TEMPLATE_DIR)]
    .filter(existsSync)
    // Symbolic links followed, as a reload follows them; an editor's lock file (.#name.cedar) is no file to format.
    .flatMap((d) => readdirSync(d).filter((f) => f.endsWith('.cedar') && !f.startsWith('.#')).sort().map((f) => join(d, f)))
    .filter((f) => statSync(f, { throwIfNoEntry: false })?.isFile());
  let unformatted = 0;
  let failed = 0;
  for (const file of files) {
    // As a reload reads it: bytes that are not UTF-8 are named, never written back as U+FFFD.
    const decoded = decodePolicyFile(file, readFileSync(file));
    if ('message' in decoded) {
      failed++;
      err(`${file}:${decoded.line}:${decoded.column}: cannot format: ${decoded.message}`);
      continue;
    }
    const text = decoded.text;
    // Cedar's formatter recurses as its parser does: text the guard refuses would crash the process.
    const tooDeep = policyTextProblem(text);
    if (tooDeep) {
      failed++;
      err(`${file}:1:1: cannot format: refused before parsing: ${tooDeep}`);
      continue;
    }
    const answer = cedar.formatPolicies({ policyText: text, lineWidth: LINE_WIDTH, indentWidth: INDENT });
    if (answer.type === 'failure') {
      failed++;
      err(`${file}: cannot format: ${answer.errors.map((e) => e.message).join('; ')}`);
      continue;
    }
    if (answer.formatted_policy === text) continue;
    unformatted++;
    if (check) out(`${file}: not formatted`);
    else {
      replaceAtomically(file, answer.formatted_policy);
      out(`${file}: formatted`);
    }
  }
  if (failed > 0) return 3;
  if (check && unformatted > 0) return 1;
  if (unformatted === 0) out(`${files.length} file(s) already formatted`);
  return 0;
}

/**
 * Writes a file as the gateway's watch should see it change: a complete copy beside it (beside the
 * file a symbolic link leads to), renamed into place. Rewritten in place, a watching gateway could
 * read it empty or half-written.
 */
function replaceAtomically(file: string, text: string): void {
  const real = realpathSync(file);
  const temporary = join(dirname(real), `.${basename(real)}.${process.pid}.tmp`);
  writeFileSync(temporary, text, { mode: statSync(real).mode });
  try {
    renameSync(temporary, real);
  } catch (e) {
    rmSync(temporary, { force: true });
    throw e;
  }
}

export function policyTest(dir: string, filter: string | undefined, groupsClaim: string, out: Out, err: Out): number {
  const set = loadPolicyDir(dir);
  let cases;
  try {
    cases = readTestCases(dir, groupsClaim);
  } catch (e) {
    if (!(e instanceof TestCaseError)) throw e;
    err(`a test file is not valid: ${e.message}`);
    return 1;
  }
  // A run that tests nothing fails, as test runners do: a mistyped --filter or a folder whose tests
  // went missing would otherwise stay green in CI.
  if (cases.length === 0) {
    err(`no test cases in ${join(dir, TESTS_DIR)}: nothing was tested`);
    return 1;
  }
  const report = runPolicyTests(set, cases, filter);
  for (const f of report.failures) out(formatFailure(f));
  out(`${report.passed} passed, ${report.failed} failed`);
  if (report.passed + report.failed === 0) {
    err(`--filter ${JSON.stringify(filter)} matched none of the ${cases.length} test case(s): nothing was tested`);
    return 1;
  }
  return report.failed > 0 ? 1 : 0;
}

function jsonFlag(values: Values, name: string): Record<string, unknown> | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  try {
    const parsed = JSON.parse(String(raw));
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
    return parsed as Record<string, unknown>;
  } catch (e) {
    throw new PolicyUsageError(`--${name} must be a JSON object: ${(e as Error).message}`);
  }
}

export function policyExplain(dir: string, values: Values, groupsClaim: string, region: string, out: Out): number {
  const claims = jsonFlag(values, 'principal-claims');
  if (!claims || typeof claims.sub !== 'string') throw new PolicyUsageError('--principal-claims must be token claims with at least "sub", e.g. \'{"sub":"alice","groups":["release-managers"]}\'');
  const groups = claims[groupsClaim] ?? [];
  if (!Array.isArray(groups) || !groups.every((g) => typeof g === 'string')) throw new PolicyUsageError(`claims.${groupsClaim} must be an array of group names`);
  // Held to a token's rules: a principal no real token could carry explains nothing real.
  const problem = claimsProblem(claims.sub, groups, groupsClaim);
  if (problem) throw new PolicyUsageError(`--principal-claims: ${problem}, as a real token's would be refused`);
  if (typeof values.action !== 'string') throw new PolicyUsageError('--action is required (e.g. UpdatePackageVersionsStatus)');
  const pkgFlag = values.package;
  if (typeof pkgFlag !== 'string') throw new PolicyUsageError('--package is required: a package ARN, or a name with --domain --domain-owner --repository --format [--namespace]');
  const fromArn = pkgFlag.startsWith('arn:') ? parsePackageArn(pkgFlag) : undefined;
  if (pkgFlag.startsWith('arn:') && !fromArn) throw new PolicyUsageError(`--package: not a package ARN: ${pkgFlag}`);
  const raw = fromArn ?? {
    domain: String(values.domain ?? ''),
    domainOwner: values['domain-owner'] === undefined ? undefined : String(values['domain-owner']),
    repository: String(values.repository ?? ''),
    format: String(values.format ?? ''),
    namespace: values.namespace === undefined ? undefined : String(values.namespace),
    package: pkgFlag,
  };
  const coords = parseCoordinates(raw);
  if (!coords.domainOwner) throw new PolicyUsageError('--domain-owner is required');
  const set = loadPolicyDir(dir);
  const principal = { issuer: typeof claims.iss === 'string' ? claims.iss : 'urn:versiongate:explain', subject: claims.sub, groups: groups as string[] };
  const resource = packageResource({ region: fromArn?.region ?? region, ...coords, domainOwner: coords.domainOwner });
  const decision = new PolicyEngine(set).evaluate({
    principal: userUid(principal),
    action: { type: 'Action', id: values.action },
    resource: resource.uid,
    context: (jsonFlag(values, 'context') ?? {}) as Record<string, CedarValueJson>,
    entities: [...principalEntities(principal), ...resource.entities],
  });
  const explanation = explain(set, decision);
  out(values.json ? JSON.stringify(explanation, null, 2) : describeExplanation(explanation));
  return decision.decision === 'allow' ? 0 : 2;
}

/** Summarises shadow disagreements recorded in the audit: what promoting the candidate would change. */
export async function policyDiff(store: Store, values: Values, out: Out): Promise<number> {
  const since = typeof values.since === 'string' ? values.since : undefined;
  if (since !== undefined && Number.isNaN(Date.parse(since))) throw new PolicyUsageError('--since must be an ISO 8601 time');
  const sinceIso = since === undefined ? undefined : new Date(since).toISOString();
  const rows = new Map<string, DisagreementRow>();
  const events: CandidateEvent[] = [];
  let after = 0;
  for (;;) {
    const batch = await store.readAuditRange(after, 5_000, { since: sinceIso });
    if (batch.length === 0) break;
    after = batch[batch.length - 1]!.seq;
    for (const r of batch) {
      addDisagreement(rows, r);
      const e = candidateEvent(r);
      if (e) events.push(e);
    }
  }
  const sorted = sortedDisagreements(rows);
  // No disagreement means agreement only while a candidate was there to disagree.
  const periods = candidatePeriods(sinceIso === undefined ? undefined : await candidateBefore(store, sinceIso), events)
    // A candidate that stopped as the window began evaluated nothing in it.
    .filter((p) => sinceIso === undefined || p.to === undefined || p.to > sinceIso);
  const window = { from: sinceIso ?? null, to: new Date().toISOString() };
  if (values.json) {
    // An object, not the bare list: `[]` read the same whether the candidate agreed or none was there.
    const disagreements = sorted.map((r) => ({ ...r, resources: [...r.resources].slice(0, 10) }));
    out(JSON.stringify({ ...window, candidates: periods.map((p) => ({ hash: p.hash, from: p.from, to: p.to ?? null })), disagreements }, null, 2));
    return 0;
  }
  if (sorted.length === 0) {
    out(noDisagreements(periods, window.from ?? 'the start of the audit log', window.to));
    return 0;
  }
  const total = sorted.reduce((n, r) => n + r.count, 0);
  out(`${total} request(s) would be decided differently by the candidate set:`);
  for (const r of sorted) {
    out(`  ${String(r.count).padStart(6)}  ${r.action}: live ${r.live} → candidate ${r.candidate}`);
    out(`          e.g. ${[...r.resources].slice(0, 3).join(', ')}${r.resources.size > 3 ? ` (+${r.resources.size - 3} more)` : ''}; ${r.first} … ${r.last}`);
  }
  return 0;
}

function noDisagreements(periods: readonly CandidatePeriod[], from: string, to: string): string {
  if (periods.length === 0) return `no candidate was being evaluated between ${from} and ${to}: no shadow disagreements could be recorded`;
  const evaluated = periods.map((p) => `candidate ${p.hash.slice(0, 12)} evaluated ${p.to === undefined ? `since ${p.from}` : `from ${p.from} to ${p.to}`}`);
  return `no shadow disagreements recorded: ${evaluated.join('; ')}; it decided every request as the live set did`;
}

/** The last candidate load recorded before `since`: whether a candidate was already being evaluated then. */
async function candidateBefore(store: Store, since: string): Promise<CandidateEvent | undefined> {
  let beforeSeq: number | undefined;
  for (;;) {
    const page = await store.listAudit({ filter: { action: 'LoadPolicySet', until: since }, limit: 500, beforeSeq });
    for (const r of page) {
      const e = candidateEvent(r);
      if (e) return e;
    }
    if (page.length < 500) return undefined;
    beforeSeq = page[page.length - 1]!.seq;
  }
}
