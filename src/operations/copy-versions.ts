/**
 * CopyPackageVersions: promote versions of one package from a source repository to a destination
 * repository of the same domain. Read both → Cedar decides on the DESTINATION package (the one that
 * changes), with the source package, its repository and the versions' statuses in the context → plan
 * with the registry's rules (all or nothing) → commit the copies with their audit record, guarded by
 * the revisions read on both sides. If either side changed meanwhile, the request is decided again.
 */
import { ConflictError } from '../errors.ts';
import { planCopy, type CopyPlan } from '../registry/plan-copy.ts';
import { newRevision } from '../registry/revision.ts';
import { exists } from '../registry/statuses.ts';
import type { PackageCoordinates } from '../resource/coordinates.ts';
import { commitDeadline, type Caller } from './caller.ts';
import { expiredError, removeBlobs } from './change-versions.ts';
import type { OperationDeps } from './deps.ts';
import { authorize, missingPackage, packageTarget } from './gate.ts';

const MAX_ATTEMPTS = 3;

export interface CopyVersionsInput {
  caller: Caller;
  /** The source package (its repository is the source repository). */
  source: PackageCoordinates;
  destinationRepository: string;
  versions: string[];
  versionRevisions: Record<string, string>;
  allowOverwrite: boolean;
  includeFromUpstream: boolean;
}

export type CopyVersionsResult = Pick<CopyPlan, 'successfulVersions' | 'failedVersions'>;

export async function copyVersions(deps: OperationDeps, input: CopyVersionsInput): Promise<CopyVersionsResult> {
  const { store } = deps;
  const { caller } = input;
  const sourceTarget = await packageTarget(deps, input.source);
  // The destination is the same package in the other repository, under the owner the source resolved to.
  const target = await packageTarget(deps, { ...input.source, domainOwner: sourceTarget.ref.domainOwner, repository: input.destinationRepository });
  const request = {
    sourceRepository: sourceTarget.ref.repository,
    destinationRepository: target.ref.repository,
    sourcePackage: sourceTarget.ref.arn,
    versions: input.versions,
    ...(Object.keys(input.versionRevisions).length > 0 ? { versionRevisions: input.versionRevisions } : {}),
    allowOverwrite: input.allowOverwrite,
    includeFromUpstream: input.includeFromUpstream,
  };

  for (let attempt = 1; ; attempt++) {
    // Asked together, the two reads share one turn: one read transaction on SQLite, one statement on
    // PostgreSQL (its package reads of a turn are coalesced).
    const [source, destination] = await Promise.all([store.readPackage(sourceTarget.ref, input.versions), store.readPackage(target.ref, input.versions)]);
    const allowed = await authorize(deps, caller, {
      action: 'CopyPackageVersions',
      target,
      context: {
        versions: input.versions,
        // Deleted versions no longer exist, so they have no current status.
        currentStatuses: [...new Set([...source.versions.values()].map((v) => v.status).filter(exists))],
        sourcePackage: sourceTarget.ref.arn,
        sourceRepository: sourceTarget.ref.repositoryArn,
        destinationStatuses: [...new Set([...destination.versions.values()].map((v) => v.status))],
        allowOverwrite: input.allowOverwrite,
        includeFromUpstream: input.includeFromUpstream,
      },
      request,
    });
    const missing = missingPackage(source, sourceTarget.ref) ?? missingPackage(destination, target.ref, { packageMayBeMissing: true });
    if (missing) return allowed.refuse('not_found', missing);

    const plan = planCopy(
      { repository: sourceTarget.ref.repository, versions: source.versions },
      { repository: target.ref.repository, versions: destination.versions },
      input,
      newRevision,
    );
    const audit = { ...allowed.record(plan.copies.length > 0 ? 'applied' : 'rejected', 200), changes: plan.copies };
    if (plan.copies.length === 0) {
      // All or nothing: some version failed its checks, so nothing is written but the decision's record.
      await store.appendAudit(audit);
      return { successfulVersions: plan.successfulVersions, failedVersions: plan.failedVersions };
    }
    const result = await store.commitVersionCopies({
      source: { packageId: source.packageId!, guards: [...source.versions.values()].map((v) => ({ version: v.version, revision: v.revision })) },
      destination: {
        key: target.ref,
        packageId: destination.packageId,
        guards: input.versions.map((version) => ({ version, revision: destination.versions.get(version)?.revision ?? null })),
      },
      copies: plan.copies,
      audit,
      expired: commitDeadline(caller, () => allowed.record('timeout', 503)),
    });
    if (result.ok) {
      await removeBlobs(deps, result.blobsToDelete);
      deps.syncScheduled?.();
      return { successfulVersions: plan.successfulVersions, failedVersions: plan.failedVersions };
    }
    if (result.reason === 'expired') throw expiredError(caller);
    if (attempt >= MAX_ATTEMPTS) {
      return allowed.refuse(
        'conflict',
        new ConflictError(`versions ${result.staleVersions.join(', ')} kept changing while they were copied; nothing was copied, try again`, 'package-version', result.staleVersions[0]!),
      );
    }
  }
}
