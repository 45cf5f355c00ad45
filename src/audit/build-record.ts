/** Builds audit records from what a request carried and what was decided. */
import { randomUUID } from 'node:crypto';
import type { Principal } from '../auth/principal.ts';
import type { Clock } from '../clock.ts';
import type { AuthorizationDecision } from '../policy/engine.ts';
import type { PackageRef } from '../resource/package-arn.ts';
import type { VersionStatus } from '../registry/statuses.ts';
import type { AuditOutcome, AuditRecordInput } from './audit-record.ts';

export interface RequestMeta {
  requestId: string;
  sourceIp: string | null;
}

export interface DecisionRecordInput {
  clock: Clock;
  meta: RequestMeta;
  principal: Principal;
  action: string;
  resource: string;
  decision: AuthorizationDecision;
  request: Record<string, unknown>;
  /** The package `resource` names, when it is one: its derived columns come from here. */
  ref?: PackageRef | undefined;
}

/** The fields that open the record of an authenticated principal's request. */
function requestHeader(i: { clock: Clock; meta: RequestMeta; principal: Principal }) {
  return {
    decisionId: randomUUID(),
    time: i.clock.now().toISOString(),
    requestId: i.meta.requestId,
    sourceIp: i.meta.sourceIp,
    principal: { issuer: i.principal.issuer, subject: i.principal.subject, groups: i.principal.groups },
  };
}

/**
 * A record of a Cedar decision; the caller sets the outcome, status and changes. One object literal
 * rather than the header spread into it: built per request, the spread made every field after it a
 * slow store (~10 µs a record under load).
 */
export function decisionRecord(i: DecisionRecordInput, outcome: AuditOutcome, httpStatus: number): AuditRecordInput {
  const d = i.decision;
  const h = requestHeader(i);
  return {
    decisionId: h.decisionId,
    time: h.time,
    requestId: h.requestId,
    sourceIp: h.sourceIp,
    principal: h.principal,
    action: i.action,
    resource: i.resource,
    decision: d.decision,
    reason: d.decision === 'allow' ? null : d.denyKind === 'error' || d.errors.length > 0 ? 'evaluation_error' : (d.denyKind ?? (d.determiningPolicies.length > 0 ? 'forbid' : 'no_permit')),
    determiningPolicies: d.determiningPolicies,
    errors: d.errors,
    policySetHash: d.policySetHash,
    request: i.request,
    changes: [],
    outcome,
    httpStatus,
    packageScope: i.ref ? { repositoryArn: i.ref.repositoryArn, domainArn: i.ref.domainArn, packageName: i.ref.name } : undefined,
  };
}

export interface UnresolvedRecordInput {
  clock: Clock;
  meta: RequestMeta;
  principal: Principal;
  action: string;
  /** What was asked for, e.g. the identifier and where it was looked up. */
  request: Record<string, unknown>;
}

/**
 * A request naming something unknown before Cedar could be asked (an identifier that resolves to no
 * package version): there is no resource to decide on, so no decision, but the attempt is recorded.
 */
export function unresolvedRecord(i: UnresolvedRecordInput): AuditRecordInput {
  return {
    ...requestHeader(i),
    action: i.action,
    resource: null,
    decision: 'none',
    reason: 'unknown_identifier',
    determiningPolicies: [],
    errors: [],
    policySetHash: null,
    request: i.request,
    changes: [],
    outcome: 'not_found',
    httpStatus: 404,
  };
}

export interface UnauthenticatedRecordInput {
  clock: Clock;
  meta: RequestMeta;
  action: string;
  resource: string | null;
  /** A stable code such as ERR_JWT_EXPIRED; never the token. */
  code: string;
  httpStatus: number;
}

export function unauthenticatedRecord(i: UnauthenticatedRecordInput): AuditRecordInput {
  return {
    decisionId: randomUUID(),
    time: i.clock.now().toISOString(),
    requestId: i.meta.requestId,
    sourceIp: i.meta.sourceIp,
    principal: null,
    action: i.action,
    resource: i.resource,
    decision: 'unauthenticated',
    reason: i.code,
    determiningPolicies: [],
    errors: [],
    policySetHash: null,
    request: {},
    changes: [],
    outcome: 'unauthenticated',
    httpStatus: i.httpStatus,
  };
}

export interface PolicyLoadRecordInput {
  clock: Clock;
  /** Where the set came from (the policy folder), recorded as the request. */
  source: string;
  /** The set that became live, or undefined when it was refused. */
  loaded?: { hash: string; files: string[]; policies: number } | undefined;
  /** Why a set was refused (diagnostics as text). */
  errors?: string[];
  /** What set off the load (start, watch, signal, api): a start ends a candidate it does not load again. */
  trigger?: string | undefined;
  /** The candidate set was removed (policies/candidate/ is gone): shadow evaluation stopped. */
  unloaded?: 'candidate' | undefined;
}

/** A policy set being loaded (or refused) is recorded like a decision, with no principal. */
export function policyLoadRecord(i: PolicyLoadRecordInput): AuditRecordInput {
  return {
    decisionId: randomUUID(),
    time: i.clock.now().toISOString(),
    requestId: 'policy-load',
    sourceIp: null,
    principal: null,
    action: 'LoadPolicySet',
    resource: null,
    decision: 'none',
    reason: null,
    determiningPolicies: [],
    errors: i.errors ?? [],
    policySetHash: i.loaded?.hash ?? null,
    request: {
      source: i.source,
      ...(i.trigger ? { trigger: i.trigger } : {}),
      ...(i.unloaded ? { set: i.unloaded } : {}),
      ...(i.loaded ? { files: i.loaded.files, policies: i.loaded.policies } : {}),
    },
    changes: [],
    outcome: i.unloaded ? 'unloaded' : i.loaded ? 'loaded' : 'load_failed',
    httpStatus: 0,
  };
}

export interface ShadowRecordInput {
  clock: Clock;
  meta?: RequestMeta | undefined;
  principal: Principal;
  action: string;
  resource: string;
  live: AuthorizationDecision;
  candidate: AuthorizationDecision;
}

/**
 * A shadow disagreement: the candidate set would have decided otherwise than the live set. The
 * record's decision, policies and hash are the candidate's; the live ones are in `request.live`.
 * It changed nothing (the live decision was enforced).
 */
export function shadowRecord(i: ShadowRecordInput): AuditRecordInput {
  return {
    ...decisionRecord(
      { clock: i.clock, meta: i.meta ?? { requestId: 'unknown', sourceIp: null }, principal: i.principal, action: i.action, resource: i.resource, decision: i.candidate, request: {} },
      'shadow_disagreement',
      0,
    ),
    request: {
      shadow: true,
      live: { decision: i.live.decision, determiningPolicies: i.live.determiningPolicies, policySetHash: i.live.policySetHash, reason: i.live.denyKind ?? null },
    },
  };
}

export interface SyncRecordInput {
  clock: Clock;
  resource: string;
  version: string;
  jobId: number;
  attempt: number;
}

/**
 * A completed sync: a change made by the gateway itself (no principal, no Cedar decision; the
 * resync that scheduled it was decided and recorded on its own). The store fills in `changes`.
 */
export function syncRecord(i: SyncRecordInput): AuditRecordInput {
  return {
    decisionId: randomUUID(),
    time: i.clock.now().toISOString(),
    requestId: `sync-job-${i.jobId}`,
    sourceIp: null,
    principal: null,
    action: 'SyncPackageVersion',
    resource: i.resource,
    decision: 'none',
    reason: null,
    determiningPolicies: [],
    errors: [],
    policySetHash: null,
    request: { versions: [i.version], syncJob: i.jobId, attempt: i.attempt },
    changes: [],
    outcome: 'applied',
    httpStatus: 0,
  };
}

/** Which `seed demo` made a record: the operator's local command, not a request. */
const SEED_DEMO = { requestId: 'seed-demo', action: 'SeedDemo' } as const;

/** The bootstrap commands (`domain create`, `repository create` without an endpoint). */
const BOOTSTRAP = { requestId: 'bootstrap' } as const;

/**
 * A record of an operator's local command (`seed demo`, the bootstrap): like a policy load it has no
 * principal and no Cedar decision, but what it creates or changes is on the chain, in the
 * transaction that makes it.
 */
function operatorRecord(
  who: { requestId: string; action: string },
  clock: Clock,
  resource: string,
  request: Record<string, unknown>,
  changes: AuditRecordInput['changes'],
  ref?: PackageRef,
): AuditRecordInput {
  return {
    decisionId: randomUUID(),
    time: clock.now().toISOString(),
    requestId: who.requestId,
    sourceIp: null,
    principal: null,
    action: who.action,
    resource,
    decision: 'none',
    reason: null,
    determiningPolicies: [],
    errors: [],
    policySetHash: null,
    request,
    changes,
    outcome: 'applied',
    httpStatus: 0,
    packageScope: ref ? { repositoryArn: ref.repositoryArn, domainArn: ref.domainArn, packageName: ref.name } : undefined,
  };
}

function seedRecord(clock: Clock, resource: string, request: Record<string, unknown>, changes: AuditRecordInput['changes'], ref?: PackageRef): AuditRecordInput {
  return operatorRecord(SEED_DEMO, clock, resource, request, changes, ref);
}

/**
 * `versiongate domain create` or `repository create` writing straight to the database: recorded as
 * the API's CreateDomain and CreateRepository are (the domain as resource, the repository in the
 * request, so the record is that repository's for scoped readers), with `bootstrap: true` and no
 * principal: the command is the operator's, before any token may create anything.
 */
export function bootstrapTenancyRecord(i: TenancyRecordInput): AuditRecordInput {
  const request = i.repository === undefined ? { bootstrap: true, domain: i.domain } : { bootstrap: true, domain: i.domain, repository: i.repository };
  return operatorRecord({ ...BOOTSTRAP, action: i.repository === undefined ? 'CreateDomain' : 'CreateRepository' }, i.clock, `Domain::"${i.domainArn}"`, request, []);
}

export interface TenancyRecordInput {
  clock: Clock;
  /** The domain's ARN (in the region the command was given). */
  domainArn: string;
  domain: string;
  /** The repository created; absent for the domain itself. */
  repository?: string | undefined;
}

/**
 * `seed demo` creating its domain or one of its repositories. Named as CreateDomain and
 * CreateRepository name theirs (the domain as resource, the repository in the request), so the
 * record belongs to that domain, and to that repository, for scoped readers.
 */
export function seedTenancyRecord(i: TenancyRecordInput): AuditRecordInput {
  const request = i.repository === undefined ? { create: 'domain', domain: i.domain } : { create: 'repository', domain: i.domain, repository: i.repository };
  return seedRecord(i.clock, `Domain::"${i.domainArn}"`, request, []);
}

export interface SeedVersionRecordInput {
  clock: Clock;
  /** The version's package. */
  ref: PackageRef;
  version: string;
  assetName: string;
  revision: string;
}

/**
 * `seed demo` creating a demo version, Published. Its change is a publish's for a new version: from
 * Deleted with no revision (to the registry a version that never existed is a version number free to
 * publish, planPublish), so `audit verify --state` reads its state from this record.
 */
export function seedVersionRecord(i: SeedVersionRecordInput): AuditRecordInput {
  return seedRecord(
    i.clock,
    i.ref.arn,
    { versions: [i.version], assetName: i.assetName },
    [{ version: i.version, before: { status: 'Deleted', revision: '' }, after: { status: 'Published', revision: i.revision } }],
    i.ref,
  );
}

export interface SeedRestoreRecordInput {
  clock: Clock;
  /** The restored version's package. */
  ref: PackageRef;
  version: string;
  assetName: string;
  before: { status: VersionStatus; revision: string };
  revision: string;
}

/** `seed demo` publishing a deleted or disposed demo version again. */
export function seedRestoreRecord(i: SeedRestoreRecordInput): AuditRecordInput {
  return seedRecord(
    i.clock,
    i.ref.arn,
    { versions: [i.version], restore: true, assetName: i.assetName },
    [{ version: i.version, before: i.before, after: { status: 'Published', revision: i.revision } }],
    i.ref,
  );
}
