/**
 * The first half of every package operation, in the order change-versions.ts follows: resolve the
 * package, ask Cedar, and record the decision. A deny is recorded and refused before anything is
 * read out; after an allow, the gate records exactly one outcome for the decision (read, applied,
 * not found, rejected…), and refusals go through it, so no decision is left unrecorded.
 */
import type { Principal } from '../auth/principal.ts';
import { decisionRecord, type DecisionRecordInput, type RequestMeta } from '../audit/build-record.ts';
import type { AuditOutcome, AuditRecordInput } from '../audit/audit-record.ts';
import { AccessDeniedError, ApiError, NotFoundError } from '../errors.ts';
import type { CedarValueJson } from '@cedar-policy/cedar-wasm/nodejs';
import { packageResource } from '../policy/entities.ts';
import type { ActionName, AuthorizationDecision } from '../policy/engine.ts';
import type { PackageCoordinates } from '../resource/coordinates.ts';
import { displayName, type ResolvedPackage } from '../resource/package-arn.ts';
import type { PackageKey } from '../store/store.ts';
import type { OperationDeps } from './deps.ts';
import { resolvePackage } from './resolve-package.ts';

/** What every package request carries besides its own fields. */
export interface PackageRequestInput {
  principal: Principal;
  meta: RequestMeta;
  coordinates: PackageCoordinates;
  /** Told each decision as it is made (for the request's log line). */
  onDecision?: ((d: { resource: string; decision: 'allow' | 'deny' }) => void) | undefined;
}

export interface PackageTarget {
  pkg: ResolvedPackage;
  key: PackageKey;
  /** The package ARN: the Cedar resource's id and the audit record's resource. */
  arn: string;
  resource: ReturnType<typeof packageResource>;
}

export async function packageTarget(deps: OperationDeps, coordinates: PackageCoordinates): Promise<PackageTarget> {
  const pkg = await resolvePackage(deps.store, deps.region, coordinates);
  const resource = packageResource(pkg);
  const key: PackageKey = { domainOwner: pkg.domainOwner, domain: pkg.domain, repository: pkg.repository, format: pkg.format, namespace: pkg.namespace, name: pkg.name };
  return { pkg, key, arn: resource.uid.id, resource };
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

export interface GateInput extends PackageRequestInput {
  action: ActionName;
  context: Record<string, CedarValueJson>;
  /** What was asked, for the audit record. Name single versions in `versions`: the version filter uses it. */
  request: Record<string, unknown>;
}

/** Asks Cedar; a deny is recorded and thrown (403), an allow is returned for its outcome to be recorded. */
export async function authorizePackage(deps: OperationDeps, target: PackageTarget, input: GateInput): Promise<Allowed> {
  const decision = deps.authorizer().authorize({ principal: input.principal, meta: input.meta, action: input.action, resource: target.resource, context: input.context });
  input.onDecision?.({ resource: target.arn, decision: decision.decision });
  const base: DecisionRecordInput = { clock: deps.clock, meta: input.meta, principal: input.principal, action: input.action, resource: target.arn, decision, request: input.request };
  if (decision.decision === 'deny') {
    await deps.store.appendAudit(decisionRecord(base, 'denied', 403));
    throw new AccessDeniedError(`User: ${input.principal.subject} is not authorized to perform: codeartifact:${input.action} on resource: ${target.arn}`);
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

/** Why the domain, repository or package cannot be found, or undefined when they all exist. */
export function missingPackage(
  snapshot: { domainExists: boolean; repositoryExists: boolean; packageId: number | null },
  pkg: ResolvedPackage,
  options: { packageMayBeMissing?: boolean } = {},
): NotFoundError | undefined {
  if (!snapshot.domainExists) return new NotFoundError(`domain ${pkg.domain} does not exist`, 'domain', pkg.domain);
  if (!snapshot.repositoryExists) return new NotFoundError(`repository ${pkg.repository} does not exist in domain ${pkg.domain}`, 'repository', pkg.repository);
  if (snapshot.packageId === null && !options.packageMayBeMissing) {
    return new NotFoundError(`package ${displayName(pkg.format, pkg.namespace, pkg.name)} does not exist in repository ${pkg.repository}`, 'package', pkg.name);
  }
  return undefined;
}

export function missingVersion(pkg: ResolvedPackage, version: string): NotFoundError {
  return new NotFoundError(`version ${version} of package ${displayName(pkg.format, pkg.namespace, pkg.name)} does not exist in repository ${pkg.repository}`, 'package-version', version);
}
