/**
 * UpdatePackageVersionsStatus, DisposePackageVersions and DeletePackageVersions: read the versions, ask Cedar, plan the
 * change with the registry's rules, and commit the change together with its audit record.
 * The commit is guarded by the revisions that were read (and judged): if another request changed a
 * version in between, nothing is written and the whole decision is made again on fresh state.
 */
import { ConflictError } from '../errors.ts';
import { DeadlineExceededError } from '../deadline.ts';
import type { ActionName } from '../policy/engine.ts';
import { planChange, type ChangePlan } from '../registry/plan-change.ts';
import { newRevision } from '../registry/revision.ts';
import { exists, removesAssets, type VersionOperation, type VersionStatus } from '../registry/statuses.ts';
import type { PackageCoordinates } from '../resource/coordinates.ts';
import { commitDeadline, type Caller } from './caller.ts';
import type { OperationDeps } from './deps.ts';
import { authorize, missingPackage, packageTarget } from './gate.ts';

const MAX_ATTEMPTS = 3;

export interface ChangeVersionsInput {
  caller: Caller;
  coordinates: PackageCoordinates;
  versions: string[];
  versionRevisions: Record<string, string>;
  expectedStatus?: VersionStatus | undefined;
  operation: VersionOperation;
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
  const { store } = deps;
  const { caller } = input;
  const action = actionOf(input.operation);
  const target = await packageTarget(deps, input.coordinates);
  const request = {
    versions: input.versions,
    ...(Object.keys(input.versionRevisions).length > 0 ? { versionRevisions: input.versionRevisions } : {}),
    ...(input.expectedStatus ? { expectedStatus: input.expectedStatus } : {}),
    ...(input.operation.kind === 'update' ? { targetStatus: input.operation.targetStatus } : {}),
  };

  for (let attempt = 1; ; attempt++) {
    const snapshot = await store.readPackage(target.ref, input.versions);
    const allowed = await authorize(deps, caller, {
      action,
      target,
      context: {
        versions: input.versions,
        // Deleted versions no longer exist, so they have no current status.
        currentStatuses: [...new Set([...snapshot.versions.values()].map((v) => v.status).filter(exists))],
        ...(input.operation.kind === 'update' ? { targetStatus: input.operation.targetStatus } : {}),
        ...(input.expectedStatus ? { expectedStatus: input.expectedStatus } : {}),
      },
      request,
    });
    const missing = missingPackage(snapshot, target.ref);
    if (missing) return allowed.refuse('not_found', missing);

    const plan = planChange(snapshot.versions, input, newRevision);
    const audit = { ...allowed.record(Object.keys(plan.failedVersions).length > 0 ? 'rejected' : 'applied', 200), changes: plan.changes };
    const guards = [...snapshot.versions.values()].map((v) => ({ version: v.version, revision: v.revision }));
    // The deadline is the last point where the client can still be told "nothing changed". Commits
    // are grouped, so the store checks it when this one's batch runs, not before: past it the change
    // is not made, and the decision, which was still a decision, is recorded as a timeout instead.
    const result = await store.commitVersionChanges({
      packageId: snapshot.packageId!,
      guards,
      changes: plan.changes,
      disposeAssets: removesAssets(input.operation),
      startSyncs: plan.syncs,
      audit,
      expired: commitDeadline(caller, () => allowed.record('timeout', 503)),
    });
    if (result.ok) {
      await removeBlobs(deps, result.blobsToDelete);
      if (plan.syncs.length > 0) deps.syncScheduled?.();
      return { successfulVersions: plan.successfulVersions, failedVersions: plan.failedVersions };
    }
    if (result.reason === 'expired') throw expiredError(caller);
    if (attempt >= MAX_ATTEMPTS) {
      return allowed.refuse(
        'conflict',
        new ConflictError(`versions ${result.staleVersions.join(', ')} kept changing while this request was applied; nothing was changed, try again`, 'package-version', result.staleVersions[0]!),
      );
    }
  }
}

/** The deadline's own error (it says why: the time, or a shutdown), for a commit the store did not make. */
export function expiredError(caller: Caller): DeadlineExceededError {
  try {
    caller.deadline?.check();
  } catch (err) {
    if (err instanceof DeadlineExceededError) return err;
    throw err;
  }
  return new DeadlineExceededError('The request did not finish in time. Nothing was changed; try again.');
}

/**
 * Disposed and deleted assets are deleted after the commit that removed their records: a crash in between leaves
 * bytes queued in blob_deletions, which the next start removes. Never the other way round. Nothing here
 * fails the request: its change has committed, and whatever stays queued is removed again later.
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
  try {
    await deps.store.forgetBlobDeletions(removed);
  } catch (err) {
    deps.logger.warn('removed disposed asset bytes but could not take them off the queue; they will be removed again', { blobs: removed.length, err });
  }
}
