/**
 * DeletePackage, with CodeArtifact's semantics: "Deletes a package and all associated package
 * versions. A deleted package cannot be restored." Every version goes, whatever its status, so Cedar
 * is told what would go (`versions`, `currentStatuses` of the versions that exist) and a policy can
 * refuse a package that still holds Published versions, or any package in prod.
 *
 * The commit is guarded by every version's revision as read: if a version was published, changed or
 * deleted in between, nothing is deleted and the decision is made again on the new state. The rows,
 * the blob deletions queued and the audit record (each existing version before, Deleted after)
 * commit together; the bytes are removed after the commit, as disposal removes them.
 */
import { ConflictError } from '../errors.ts';
import type { VersionChange } from '../registry/plan-change.ts';
import { packageSummary } from '../registry/package-view.ts';
import { exists } from '../registry/statuses.ts';
import { expiredError, removeBlobs } from './change-versions.ts';
import type { OperationDeps } from './deps.ts';
import { authorize, missingPackage, packageTarget, type PackageRequestInput } from './gate.ts';
import { commitDeadline } from './caller.ts';

const MAX_ATTEMPTS = 3;

/**
 * Up to this many of a deleted package's asset files are removed before the answer, as a dispose's
 * are (a dispose names at most 100 versions); past it, after the answer: a package of 100,000 assets
 * took 240 s of one-by-one removals to answer, so a CLI (60 s) reported a deletion that had long
 * committed as failed. The bytes stay queued until removed, so a crash only defers them to the next start.
 */
export const INLINE_BLOB_REMOVALS = 100;

export async function deletePackage(deps: OperationDeps, input: PackageRequestInput) {
  const { caller } = input;
  const target = await packageTarget(deps, input.coordinates);
  for (let attempt = 1; ; attempt++) {
    const snapshot = await deps.store.readPackageRecord(target.ref);
    const existing = snapshot.versions.filter((v) => exists(v.status));
    const versions = existing.map((v) => v.version);
    const allowed = await authorize(deps, caller, {
      target,
      action: 'DeletePackage',
      context: { versions, currentStatuses: [...new Set(existing.map((v) => v.status))] },
      request: { versions },
    });
    const missing = missingPackage({ ...snapshot, packageId: snapshot.package?.id ?? null }, target.ref);
    if (missing) return allowed.refuse('not_found', missing);

    // Recorded as DeletePackageVersions records a delete: the status before, Deleted after (no revision left).
    const changes: VersionChange[] = existing.map((v) => ({ version: v.version, before: { status: v.status, revision: v.revision }, after: { status: 'Deleted', revision: '' } }));
    const result = await deps.store.deletePackage({
      packageId: snapshot.package!.id,
      guards: snapshot.versions.map((v) => ({ version: v.version, revision: v.revision })),
      audit: { ...allowed.record('applied', 200), changes },
      expired: commitDeadline(caller, () => allowed.record('timeout', 503)),
    });
    if (result.ok) {
      // removeBlobs never throws: what it cannot remove stays queued, and is logged.
      if (result.blobsToDelete.length <= INLINE_BLOB_REMOVALS) await removeBlobs(deps, result.blobsToDelete);
      else void removeBlobs(deps, result.blobsToDelete);
      return { deletedPackage: packageSummary(target.ref, snapshot.package!.origin) };
    }
    if (result.reason === 'expired') throw expiredError(caller);
    if (attempt >= MAX_ATTEMPTS) {
      return allowed.refuse('conflict', new ConflictError(`package ${target.ref.name} kept changing while it was deleted; nothing was deleted, try again`, 'package', target.ref.name));
    }
  }
}
