/**
 * The reload worker: validates a policy folder, compiles it and runs its tests in a worker thread
 * with its own cedar-wasm instance, so a reload never blocks the event loop that answers requests,
 * and a Cedar trap or crash while checking a set breaks only this short-lived worker, never the live
 * instance. It also loads policies/candidate/ for shadow evaluation. It answers once and exits.
 * The same thread, started with another job, does the policy bench's work on a set a caller supplies
 * (candidate-job.ts).
 *
 * Started through reload-worker-boot.mjs, which makes sure TypeScript can be loaded in the thread.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import type { SchemaJson } from '@cedar-policy/cedar-wasm/nodejs';
import { runCandidateJob, type CandidateJob } from './candidate-job.ts';
import { formatDiagnostic, loadPolicyDir, PolicySetError, type CompiledPolicySet, type PolicyDiagnostic } from './load-policies.ts';
import { CANDIDATE_DIR, checkAtStart, checkPolicyDir, type StartChecks } from './policy-manager.ts';
import { schemaJson } from './schema-json.ts';

export interface ReloadJob {
  dir: string;
  groupsClaim?: string | undefined;
  /**
   * The start's check (begun by start-check.ts, judged by PolicyManager.startChecked): with the
   * record of the set that passed before (checked-set-cache.ts), read and written here. The candidate is then left to the caller.
   */
  start?: { checkedSetCache?: string | undefined } | undefined;
}

/** What a start's check adds to the set: how it was checked, and what the caller's engine reuses. */
export interface StartFacts {
  checks: StartChecks;
  schemaJson: SchemaJson<string>;
  /** What went wrong without refusing the set (the record could not be written…), to be logged. */
  warnings: string[];
}

/** What the checks found: the live set's replacement (or why not), and the candidate (null: none). */
export interface ReloadAnswer {
  /** `diagnostics` when the set was refused for what it holds (PolicySetError), so the caller can refuse it alike. */
  live: ({ set: CompiledPolicySet; start?: StartFacts } & HeadParts) | { errors: string[]; diagnostics?: PolicyDiagnostic[] };
  /** Undefined when the worker failed before it got to the candidate: keep the current one. */
  candidate?: ({ set: CompiledPolicySet } & HeadParts) | { errors: string[] } | null;
}

/**
 * A set that came from the worker in parts carries its heads (the scopes the engine indexes) here, as
 * the JSON text of each part, not in set.heads: the engine parses them a part at a time while it
 * indexes (PolicyEngine.create), so ~7 objects per policy are made only to die young, and are never
 * kept on this thread.
 */
export interface HeadParts {
  headParts?: string[];
}

const errorsOf = (err: unknown): string[] => (err instanceof PolicySetError ? err.diagnostics.map(formatDiagnostic) : [(err as Error).message]);

export function runReloadJob(job: ReloadJob): ReloadAnswer {
  if (job.start) return { live: runStartCheck(job, job.start.checkedSetCache) };
  let live: ReloadAnswer['live'];
  try {
    live = { set: checkPolicyDir(job.dir, job.groupsClaim).set };
  } catch (err) {
    // diagnostics say the set was refused for what it holds, not for a failure of the check itself.
    live = { errors: errorsOf(err), ...(err instanceof PolicySetError ? { diagnostics: err.diagnostics } : {}) };
  }
  const candidateDir = join(job.dir, CANDIDATE_DIR);
  let candidate: ReloadAnswer['candidate'] = null;
  if (existsSync(candidateDir)) {
    try {
      candidate = { set: loadPolicyDir(candidateDir) };
    } catch (err) {
      candidate = { errors: errorsOf(err) };
    }
  }
  return { live, candidate };
}

function runStartCheck(job: ReloadJob, checkedSetCache: string | undefined): ReloadAnswer['live'] {
  const warnings: string[] = [];
  try {
    const { set, checks } = checkAtStart({ dir: job.dir, groupsClaim: job.groupsClaim, checkedSetCache, warn: (message, err) => warnings.push(`${message}: ${(err as Error).message}`) });
    return { set, start: { checks, schemaJson: schemaJson(set.schemaText), warnings } };
  } catch (err) {
    return { errors: errorsOf(err), ...(err instanceof PolicySetError ? { diagnostics: err.diagnostics } : {}) };
  }
}

/**
 * The answer travels in parts, each sent only when the parent asks for the next: a large set (10,000
 * policies are ~6 MB) would otherwise be deserialized on the parent's thread in one go, holding up
 * its requests for longer than any step of the reload should. Each part is a slice of one of the
 * set's large records (the heads as JSON text: see HeadParts); the last message is the answer with
 * those records emptied.
 */
export const PART_SIZE = 500;
export type PartField = 'policies' | 'sources';
export type ReloadMessage =
  | { kind: 'part'; which: 'live' | 'candidate'; field: PartField; entries: Array<[string, unknown]> }
  | { kind: 'heads'; which: 'live' | 'candidate'; json: string }
  | { kind: 'done'; answer: ReloadAnswer };

export function* reloadMessages(answer: ReloadAnswer): Generator<ReloadMessage> {
  const light = (set: CompiledPolicySet): CompiledPolicySet => ({ ...set, policies: {}, heads: undefined, sources: {} });
  const slices = <T,>(entries: T[]): T[][] => {
    const out: T[][] = [];
    for (let i = 0; i < entries.length; i += PART_SIZE) out.push(entries.slice(i, i + PART_SIZE));
    return out;
  };
  const parts = (which: 'live' | 'candidate', set: CompiledPolicySet): ReloadMessage[] => [
    ...(['policies', 'sources'] as const).flatMap((field) => slices(Object.entries(set[field])).map((entries): ReloadMessage => ({ kind: 'part', which, field, entries }))),
    ...slices(Object.entries(set.heads ?? {})).map((entries): ReloadMessage => ({ kind: 'heads', which, json: JSON.stringify(entries) })),
  ];
  const live = 'set' in answer.live ? answer.live.set : undefined;
  const candidate = answer.candidate && 'set' in answer.candidate ? answer.candidate.set : undefined;
  if (live) yield* parts('live', live);
  if (candidate) yield* parts('candidate', candidate);
  yield {
    kind: 'done',
    answer: { live: live ? { ...answer.live, set: light(live) } : answer.live, ...(answer.candidate !== undefined ? { candidate: candidate ? { set: light(candidate) } : answer.candidate } : {}) },
  };
}

// The same thread runs the policy bench's work on a supplied set (candidate-off-thread.ts): one
// answer, small (diagnostics, a test report, one decision), in one message.
const candidate = (workerData as { versiongateCandidate?: CandidateJob } | undefined)?.versiongateCandidate;
if (parentPort && candidate) {
  parentPort.postMessage(runCandidateJob(candidate));
  parentPort.close();
}

if (parentPort && (workerData as { versiongateReload?: ReloadJob } | undefined)?.versiongateReload) {
  const port = parentPort;
  const messages = reloadMessages(runReloadJob((workerData as { versiongateReload: ReloadJob }).versiongateReload));
  const next = () => {
    const m = messages.next();
    if (!m.done) port.postMessage(m.value);
    if (m.done || m.value.kind === 'done') port.close();
  };
  port.on('message', next);
  next();
}
