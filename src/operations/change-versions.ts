/**
 * UpdatePackageVersionsStatus, DisposePackageVersions and DeletePackageVersions: read the versions, ask Cedar, plan the
 * change with the registry's rules, and commit the change together with its audit record.
 * The commit is guarded by the revisions that were read (and judged): if another request changed a
 * version in between, nothing is written and the whole decision is made again on fresh state.
 */
import type { Principal } from '../auth/principal.ts';
import { decisionRecord, type RequestMeta } from '../audit/build-record.ts';
import type { Deadline } from '../deadline.ts';
import { AccessDeniedError, ConflictError, NotFoundError } from '../errors.ts';
import { packageResource } from '../policy/entities.ts';
import type { ActionName } from '../policy/engine.ts';
import { planChange, type ChangePlan } from '../registry/plan-change.ts';
import { newRevision } from '../registry/revision.ts';
import { exists, removesAssets, type VersionOperation, type VersionStatus } from '../registry/statuses.ts';
import type { PackageCoordinates } from '../resource/coordinates.ts';
import { displayName } from '../resource/package-arn.ts';
import type { PackageKey } from '../store/store.ts';
import type { OperationDeps } from './deps.ts';
import { resolvePackage } from './resolve-package.ts';

const MAX_ATTEMPTS = 3;

export interface ChangeVersionsInput {
  principal: Principal;
  meta: RequestMeta;
  coordinates: PackageCoordinates;
  versions: string[];
  versionRevisions: Record<string, string>;
  expectedStatus?: VersionStatus | undefined;
  operation: VersionOperation;
  /** Checked immediately before committing: past it, nothing is written (503). */
  deadline?: Deadline | undefined;
  /** Told each decision as it is made (for the request's log line). */
  onDecision?: (d: { resource: string; decision: 'allow' | 'deny' }) => void;
}

export type ChangeVersionsResult = Pick<ChangePlan, 'successfulVersions' | 'failedVersions'>;

/** The Cedar action (and CodeArtifact operation) of each kind of change. */
export function actionOf(op: VersionOperation): ActionName {
  switch (op.kind) {
    case 'update':
      return 'UpdatePackageVersionsStatus';
    case 'dispose':
      return 'DisposePackageVersions';
    case 'delete':
      return 'DeletePackageVersions';
  }
}

export async function changeVersions(deps: OperationDeps, input: ChangeVersionsInput): Promise<ChangeVersionsResult> {
  const { store, clock } = deps;
  const action = actionOf(input.operation);
  const pkg = await resolvePackage(store, deps.region, input.coordinates);
  const resource = packageResource(pkg);
  const key: PackageKey = { domainOwner: pkg.domainOwner, domain: pkg.domain, repository: pkg.repository, format: pkg.format, namespace: pkg.namespace, name: pkg.name };
  const requestSummary = {
    versions: input.versions,
    ...(Object.keys(input.versionRevisions).length > 0 ? { versionRevisions: input.versionRevisions } : {}),
    ...(input.expectedStatus ? { expectedStatus: input.expectedStatus } : {}),
    ...(input.operation.kind === 'update' ? { targetStatus: input.operation.targetStatus } : {}),
  };

  for (let attempt = 1; ; attempt++) {
    const snapshot = await store.readPackage(key, input.versions);
    const decision = deps.authorizer().authorize({
      principal: input.principal,
      meta: input.meta,
      action,
      resource,
      context: {
        versions: input.versions,
        // Deleted versions no longer exist, so they have no current status.
        currentStatuses: [...new Set([...snapshot.versions.values()].map((v) => v.status).filter(exists))],
        ...(input.operation.kind === 'update' ? { targetStatus: input.operation.targetStatus } : {}),
        ...(input.expectedStatus ? { expectedStatus: input.expectedStatus } : {}),
      },
    });
    input.onDecision?.({ resource: resource.uid.id, decision: decision.decision });
    const record = { clock, meta: input.meta, principal: input.principal, action, resource: resource.uid.id, decision, request: requestSummary };

    if (decision.decision === 'deny') {
      await store.appendAudit(decisionRecord(record, 'denied', 403));
      throw new AccessDeniedError(`User: ${input.principal.subject} is not authorized to perform: codeartifact:${action} on resource: ${resource.uid.id}`);
    }

    const missing = !snapshot.domainExists
      ? new NotFoundError(`domain ${pkg.domain} does not exist`, 'domain', pkg.domain)
      : !snapshot.repositoryExists
        ? new NotFoundError(`repository ${pkg.repository} does not exist in domain ${pkg.domain}`, 'repository', pkg.repository)
        : snapshot.packageId === null
          ? new NotFoundError(`package ${displayName(pkg.format, pkg.namespace, pkg.name)} does not exist in repository ${pkg.repository}`, 'package', pkg.name)
          : undefined;
    if (missing) {
      await store.appendAudit(decisionRecord(record, 'not_found', 404));
      throw missing;
    }

    const plan = planChange(snapshot.versions, { ...input }, newRevision);
    const audit = { ...decisionRecord(record, Object.keys(plan.failedVersions).length > 0 ? 'rejected' : 'applied', 200), changes: plan.changes };
    const guards = [...snapshot.versions.values()].map((v) => ({ version: v.version, revision: v.revision }));
    // The last point where the client can still be told "nothing changed": once the commit starts it
    // completes. A decision that ran out of time is still a decision, so it is recorded.
    if (input.deadline?.expired()) {
      await store.appendAudit(decisionRecord(record, 'timeout', 503)).catch((err: unknown) => deps.logger.error('could not record a timed-out decision', { err }));
      input.deadline.check();
    }
    const result = await store.commitVersionChanges({ packageId: snapshot.packageId!, guards, changes: plan.changes, disposeAssets: removesAssets(input.operation), audit });
    if (result.ok) {
      await removeBlobs(deps, result.blobsToDelete);
      return { successfulVersions: plan.successfulVersions, failedVersions: plan.failedVersions };
    }
    if (attempt >= MAX_ATTEMPTS) {
      await store.appendAudit(decisionRecord(record, 'conflict', 409));
      throw new ConflictError(
        `versions ${result.staleVersions.join(', ')} kept changing while this request was applied; nothing was changed, try again`,
        'package-version',
        result.staleVersions[0]!,
      );
    }
  }
}

/**
 * Disposed and deleted assets are deleted after the commit that removed their records: a crash in between leaves
 * bytes queued in blob_deletions, which the next start removes. Never the other way round.
 */
export async function removeBlobs(deps: Pick<OperationDeps, 'store' | 'blobs' | 'logger'>, keys: readonly string[]): Promise<void> {
  if (keys.length === 0) return;
  const removed: string[] = [];
  for (const key of keys) {
    try {
      await deps.blobs.remove(key);
      removed.push(key);
    } catch (err) {
      deps.logger.warn('could not remove disposed asset bytes; they stay queued for the next start', { blobKey: key, err });
    }
  }
  await deps.store.forgetBlobDeletions(removed);
}
