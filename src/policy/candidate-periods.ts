/**
 * When a shadow candidate was being evaluated, from the audit's LoadPolicySet records, so that
 * `versiongate policy diff` can tell "the candidate agrees" from "there was no candidate to disagree".
 * The policy manager reports a candidate's load through the same records as the live set's, with its
 * files and errors named under candidate/ (policy-manager.ts), which is how they are told apart here.
 */
import { CANDIDATE_DIR } from './policy-files.ts';

/** The fields of a LoadPolicySet record read here (a stored record, or one from GET /v1/audit). */
export interface LoadRecord {
  action: string;
  outcome: string;
  time: string;
  policySetHash?: string | null | undefined;
  errors: readonly string[];
  request: unknown;
}

/**
 * What a LoadPolicySet record says about the candidate: one loaded (its hash; `atStart` when the
 * gateway loaded it as it started), one that ended (it failed to load, or policies/candidate/ was
 * removed), or a start of the gateway, which ends whatever candidate ran before unless that start
 * loads it again (records from before the trigger was recorded carry no start).
 */
export type CandidateEvent =
  | { time: string; kind: 'loaded'; hash: string; atStart: boolean }
  | { time: string; kind: 'ended' }
  | { time: string; kind: 'start' };

export interface CandidatePeriod {
  hash: string;
  from: string;
  /** Undefined: still being evaluated at the last record read. */
  to?: string | undefined;
}

const underCandidate = (name: unknown) => typeof name === 'string' && name.startsWith(`${CANDIDATE_DIR}/`);

/** The record as a candidate event, or undefined when it is not about the candidate. */
export function candidateEvent(r: LoadRecord): CandidateEvent | undefined {
  if (r.action !== 'LoadPolicySet') return undefined;
  const request = (r.request ?? {}) as { files?: unknown; trigger?: unknown; set?: unknown };
  const atStart = request.trigger === 'start';
  const files = request.files;
  if (r.outcome === 'loaded' && Array.isArray(files) && files.length > 0 && files.every(underCandidate)) {
    return r.policySetHash ? { time: r.time, kind: 'loaded', hash: r.policySetHash, atStart } : undefined;
  }
  if (r.outcome === 'load_failed' && r.errors.length > 0 && r.errors.every(underCandidate)) return { time: r.time, kind: 'ended' };
  if (r.outcome === 'unloaded' && request.set === 'candidate') return { time: r.time, kind: 'ended' };
  // The live set's load as the gateway started, loaded or refused.
  return atStart ? { time: r.time, kind: 'start' } : undefined;
}

/**
 * The periods in which a candidate was evaluated, from the last event before the window (`before`,
 * or undefined) and the events in it, oldest first. A restart that loads the same candidate again
 * continues its period; one that loads none (the folder removed while the gateway was stopped) ends
 * it at the start.
 */
export function candidatePeriods(before: CandidateEvent | undefined, events: readonly CandidateEvent[]): CandidatePeriod[] {
  const periods: CandidatePeriod[] = [];
  let open: CandidatePeriod | undefined = before?.kind === 'loaded' ? { hash: before.hash, from: before.time } : undefined;
  /** The time of a start that has not (yet) loaded the open period's candidate again. */
  let restartedAt: string | undefined;
  for (const e of events) {
    if (e.kind === 'start') {
      restartedAt ??= e.time;
      continue;
    }
    if (open && e.kind === 'loaded' && open.hash === e.hash && (restartedAt === undefined || e.atStart)) {
      restartedAt = undefined; // the same candidate again (a restart, or an echo): still evaluated
      continue;
    }
    if (open) periods.push({ ...open, to: restartedAt ?? e.time });
    restartedAt = undefined;
    open = e.kind === 'loaded' ? { hash: e.hash, from: e.time } : undefined;
  }
  if (open) periods.push(restartedAt === undefined ? open : { ...open, to: restartedAt });
  return periods;
}
