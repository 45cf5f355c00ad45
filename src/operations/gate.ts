/**
 * The gate every operation passes through, in one order: resolve the package once (one PackageRef
 * carrying its ARNs), ask Cedar, and record the decision. A deny is recorded and refused (403) before
 * anything is read out; after an allow, the operation records exactly one outcome for the decision
 * (read, applied, not found, rejected…), and its refusals go through `refuse`, so no decision is
 * left unrecorded. Operations decide what to ask and what follows; this module is the only place
 * that turns a deny into an audit record and an AccessDeniedError.
 */
import type { CedarValueJson } from '@cedar-policy/cedar-wasm/nodejs';
import { decisionRecord, type DecisionRecordInput } from '../audit/build-record.ts';
import type { AuditOutcome, AuditRecordInput } from '../audit/audit-record.ts';
import { AccessDeniedError, type ApiError, NotFoundError } from '../errors.ts';
import { packageResource, type CedarResource } from '../policy/entities.ts';
import type { ActionName, AuthorizationDecision } from '../policy/engine.ts';
import type { PackageCoordinates } from '../resource/coordinates.ts';
import { displayName, packageRef, type PackageRef } from '../resource/package-arn.ts';
import type { Caller } from './caller.ts';
import type { OperationDeps } from './deps.ts';
import { resolvePackage } from './resolve-package.ts';

/** What every package request carries besides its own fields. */
export interface PackageRequestInput {
  caller: Caller;
  coordinates: PackageCoordinates;
}

/** A package request's target: the package named once, and the same package as Cedar's resource. */
export interface PackageTarget {
  ref: PackageRef;
  resource: CedarResource;
}

export async function packageTarget(deps: OperationDeps, coordinates: PackageCoordinates): Promise<PackageTarget> {
  const ref = packageRef(resolvePackage(deps, coordinates));
  return { ref, resource: packageResource(ref) };
}

/** An allowed decision, waiting for its one outcome to be recorded. */
export interface Allowed {
  decision: AuthorizationDecision;
  /** The record of this decision with an outcome and status, to commit with a change. */
  record(outcome: AuditOutcome, httpStatus: number): AuditRecordInput;
  /** Records a read (200) on its own. */
  recordRead(): Promise<void>;
  /** Records the outcome of a refusal after the allow, then throws the refusal. */
  refuse(outcome: AuditOutcome, err: ApiError): Promise<never>;
}

export interface GateRequest {
  action: ActionName;
  /** What was asked, for the audit record. Name single versions in `versions`: the version filter uses it. */
  request: Record<string, unknown>;
  /** The package it is about (for a package operation): its ARN is the resource. */
  target?: PackageTarget | undefined;
  /** Any other resource (the audit log, the live policy set); ignored when `target` is given. */
  resource?: CedarResource | undefined;
  /** The deny's message, when the default ("… on resource: <ARN>") does not fit. */
  deniedMessage?: string | undefined;
}

/** Asks Cedar; a deny is recorded and thrown (403), an allow is returned for its outcome to be recorded. */
export async function authorize(deps: OperationDeps, caller: Caller, g: GateRequest & { context: Record<string, CedarValueJson> }): Promise<Allowed> {
  const resource = g.target?.resource ?? g.resource;
  if (!resource) throw new Error(`authorize(${g.action}): neither a package target nor a resource`);
  const decision = deps.authorizer().authorize({ principal: caller.principal, meta: caller.meta, action: g.action, resource, context: g.context });
  return admit(deps, caller, g, decision);
}

/**
 * Records a decision made elsewhere (reading the audit log combines several Cedar answers into one):
 * a deny is recorded and thrown, an allow returned for its outcome.
 */
export async function admit(deps: OperationDeps, caller: Caller, g: GateRequest, decision: AuthorizationDecision): Promise<Allowed> {
  const resource = g.target ? g.target.ref.arn : auditName(g.resource!);
  caller.decided?.({ action: g.action, resource, decision: decision.decision });
  const base: DecisionRecordInput = {
    clock: deps.clock,
    meta: caller.meta,
    principal: caller.principal,
    action: g.action,
    resource,
    decision,
    request: g.request,
    ref: g.target?.ref,
  };
  if (decision.decision === 'deny') {
    await deps.store.appendAudit(decisionRecord(base, 'denied', 403));
    throw new AccessDeniedError(g.deniedMessage ?? deniedMessage(caller, g.action, g.target ? g.target.ref.arn : g.resource!));
  }
  return {
    decision,
    record: (outcome, httpStatus) => decisionRecord(base, outcome, httpStatus),
    recordRead: async () => {
      await deps.store.appendAudit(decisionRecord(base, 'read', 200));
    },
    refuse: async (outcome, err) => {
      await deps.store.appendAudit(decisionRecord(base, outcome, err.status));
      throw err;
    },
  };
}

/**
 * How the audit names a resource: a package or a repository by its ARN (so the record's repository
 * and domain columns are derived from it), anything else as `AuditLog::"versiongate"`, `PolicySet::"live"`.
 */
/**
 * A deny in CodeArtifact's words ("… perform: codeartifact:<Action> on resource: <ARN>") for its
 * resources (packages, repositories, domains); versiongate's own (the audit log, the policy set, the
 * registry) by their Cedar names.
 */
function deniedMessage(caller: Caller, action: string, resource: string | CedarResource): string {
  const who = `User: ${caller.principal.subject} is not authorized to perform:`;
  const arn = typeof resource === 'string' ? resource : resource.uid.id;
  return arn.startsWith('arn:aws:codeartifact:') ? `${who} codeartifact:${action} on resource: ${arn}` : `${who} ${action} on ${auditName(resource as CedarResource)}`;
}

export function auditName(resource: CedarResource): string {
  return resource.uid.type === 'Package' || resource.uid.type === 'Repository' ? resource.uid.id : `${resource.uid.type}::"${resource.uid.id}"`;
}

/** Why the domain, repository or package cannot be found, or undefined when they all exist. */
export function missingPackage(
  snapshot: { domainExists: boolean; repositoryExists: boolean; packageId: number | null },
  pkg: PackageRef,
  options: { packageMayBeMissing?: boolean } = {},
): NotFoundError | undefined {
  if (!snapshot.domainExists) return new NotFoundError(`domain ${pkg.domain} does not exist`, 'domain', pkg.domain);
  if (!snapshot.repositoryExists) return new NotFoundError(`repository ${pkg.repository} does not exist in domain ${pkg.domain}`, 'repository', pkg.repository);
  if (snapshot.packageId === null && !options.packageMayBeMissing) {
    return new NotFoundError(`package ${displayName(pkg.format, pkg.namespace, pkg.name)} does not exist in repository ${pkg.repository}`, 'package', pkg.name);
  }
  return undefined;
}

export function missingVersion(pkg: PackageRef, version: string): NotFoundError {
  return new NotFoundError(`version ${version} of package ${displayName(pkg.format, pkg.namespace, pkg.name)} does not exist in repository ${pkg.repository}`, 'package-version', version);
}
