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

/** A candidate's load (its hash), or a candidate that failed to load, which ends any before it. */
export type CandidateEvent = { time: string; hash: string } | { time: string; hash: null };

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
  if (r.outcome === 'loaded') {
    const files = (r.request as { files?: unknown } | null)?.files;
    const isCandidate = Array.isArray(files) && files.length > 0 && files.every(underCandidate);
    return isCandidate && r.policySetHash ? { time: r.time, hash: r.policySetHash } : undefined;
  }
  if (r.outcome === 'load_failed' && r.errors.length > 0 && r.errors.every(underCandidate)) return { time: r.time, hash: null };
  return undefined;
}

/**
 * The periods in which a candidate was evaluated, from the last event before the window (`before`,
 * or undefined) and the events in it, oldest first.
 */
export function candidatePeriods(before: CandidateEvent | undefined, events: readonly CandidateEvent[]): CandidatePeriod[] {
  const periods: CandidatePeriod[] = [];
  let open: CandidatePeriod | undefined = before?.hash ? { hash: before.hash, from: before.time } : undefined;
  for (const e of events) {
    if (open && open.hash === e.hash) continue; // the same candidate again (a restart): still evaluated
    if (open) periods.push({ ...open, to: e.time });
    open = e.hash ? { hash: e.hash, from: e.time } : undefined;
  }
  if (open) periods.push(open);
  return periods;
}
