/**
 * One audit record: one authorization decision (allow, deny, error or a 401) and, when the decision
 * led to a change, the change itself, per version before and after. Never a token or a secret.
 */
import type { VersionChange } from '../registry/plan-change.ts';
import type { VersionCopy } from '../registry/plan-copy.ts';

/** `none` for records that are not a request's decision (a policy set being loaded). */
export type AuditDecision = 'allow' | 'deny' | 'unauthenticated' | 'none';

/** What happened after the decision. */
export type AuditOutcome =
  | 'applied' // the changes in `changes` were committed with this record
  | 'rejected' // allowed, but a version failed its checks: nothing changed (all or nothing)
  | 'denied' // Cedar denied: nothing was read out or changed
  | 'not_found' // allowed, but the domain, repository or package does not exist
  | 'unauthenticated' // no valid token
  | 'conflict' // allowed, but the versions kept changing under the request: nothing changed
  | 'timeout' // allowed, but the request's deadline passed before the commit: nothing changed
  | 'read' // a read that changes nothing (the audit log itself)
  | 'loaded' // a policy set was loaded and became the live set
  | 'load_failed' // a policy set was refused
  | 'unloaded' // a policy set stopped being evaluated: policies/candidate/ was removed
  | 'shadow_disagreement'; // the shadow (candidate) set would have decided otherwise; nothing changed

export interface AuditPrincipal {
  issuer: string;
  subject: string;
  groups: string[];
}

export interface AuditRecordInput {
  decisionId: string;
  time: string;
  requestId: string;
  sourceIp: string | null;
  principal: AuditPrincipal | null;
  action: string;
  /** The resource ARN, or null when the request never got far enough to name one. */
  resource: string | null;
  decision: AuditDecision;
  /** A stable reason for a 401 (jose's error code) or a deny. */
  reason: string | null;
  determiningPolicies: string[];
  errors: string[];
  policySetHash: string | null;
  /** What was asked: versions, target and expected status. */
  request: Record<string, unknown>;
  /** Per version before and after; a copy names its source as well. */
  changes: Array<VersionChange | VersionCopy>;
  outcome: AuditOutcome;
  httpStatus: number;
  /**
   * The package the resource names, as the request resolved it. Not hashed and not stored as such:
   * the derived columns are taken from it instead of parsing the resource ARN back (verify still
   * derives them from the hashed resource, so the two must agree, and do: both come from one PackageRef).
   */
  packageScope?: PackageScope | undefined;
}

export interface PackageScope {
  repositoryArn: string;
  domainArn: string;
  packageName: string;
}

/** A stored record: its place in the chain and its hash. */
export interface AuditRecord extends AuditRecordInput {
  seq: number;
  prevHash: string;
  hash: string;
  /** Present only when a stored JSON field no longer parses: which, as stored (never hashed). */
  unreadable?: UnreadableFields | undefined;
}

export interface UnreadableFields {
  /** Field name → the stored text. */
  fields: Record<string, string>;
  problem: string;
}

/** The newest record's position, to be saved elsewhere and checked later (`audit verify --head`). */
export interface AuditHead {
  seq: number;
  hash: string;
}
