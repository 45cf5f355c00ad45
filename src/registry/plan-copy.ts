/**
 * Plans CopyPackageVersions with CodeArtifact's semantics: each version is checked (exists in the
 * source, revision, a status that may be copied, not already in the destination unless overwriting);
 * if any fails, nothing is copied and every other version is reported SKIPPED, as for the status
 * operations. Pure: the caller reads both packages and commits the plan.
 */
import type { ChangePlan, VersionChange, VersionState } from './plan-change.ts';
import { copyProblem, exists, type VersionStatus } from './statuses.ts';
import { byVersion, ownEntry } from './by-version.ts';

export interface CopyRequest {
  versions: string[];
  /** The source revisions the copy is conditional on (CodeArtifact's versionRevisions). */
  versionRevisions: Record<string, string>;
  allowOverwrite: boolean;
}

/**
 * One version copied: a change of the destination's version (`before` is what it replaced; a version
 * that did not exist is recorded as coming from Deleted with an empty revision, as a publish records
 * it), and where it came from.
 */
export interface VersionCopy extends VersionChange {
  /** The source version, as it was copied. */
  source: { repository: string; status: VersionStatus; revision: string };
}

export type CopyPlan = Pick<ChangePlan, 'successfulVersions' | 'failedVersions'> & {
  /** The copies to commit; empty when any version failed (all or nothing). */
  copies: VersionCopy[];
};

export function planCopy(
  source: { repository: string; versions: ReadonlyMap<string, VersionState> },
  destination: { repository: string; versions: ReadonlyMap<string, VersionState> },
  request: CopyRequest,
  newRevision: () => string,
): CopyPlan {
  const failedVersions: CopyPlan['failedVersions'] = byVersion();
  const accepted: Array<{ version: string; state: VersionState }> = [];

  for (const version of request.versions) {
    const state = source.versions.get(version);
    if (!state || !exists(state.status)) {
      failedVersions[version] = { errorCode: 'NOT_FOUND', errorMessage: `version ${version} does not exist in repository ${source.repository}` };
      continue;
    }
    const expectedRevision = ownEntry(request.versionRevisions, version);
    if (expectedRevision !== undefined && expectedRevision !== state.revision) {
      failedVersions[version] = {
        errorCode: 'MISMATCHED_REVISION',
        errorMessage: `current revision: ${state.revision}, expected revision: ${expectedRevision}`,
      };
      continue;
    }
    const problem = copyProblem(state.status);
    if (problem) {
      failedVersions[version] = { errorCode: 'NOT_ALLOWED', errorMessage: `version ${version} cannot be copied: ${problem}` };
      continue;
    }
    const existing = destination.versions.get(version);
    if (existing && exists(existing.status) && !request.allowOverwrite) {
      failedVersions[version] = {
        errorCode: 'ALREADY_EXISTS',
        errorMessage: `version ${version} already exists in repository ${destination.repository} (status ${existing.status}); set allowOverwrite to replace it`,
      };
      continue;
    }
    accepted.push({ version, state });
  }

  if (Object.keys(failedVersions).length > 0) {
    for (const { version } of accepted) failedVersions[version] = { errorCode: 'SKIPPED', errorMessage: `version ${version} is skipped` };
    return { successfulVersions: {}, failedVersions, copies: [] };
  }

  const successfulVersions: CopyPlan['successfulVersions'] = byVersion();
  const copies: VersionCopy[] = [];
  for (const { version, state } of accepted) {
    // Always a new revision: even a copy over identical bytes is a new version record in the
    // destination, with its own identifier and its own sync.
    const revision = newRevision();
    const existing = destination.versions.get(version);
    successfulVersions[version] = { revision, status: state.status };
    copies.push({
      version,
      source: { repository: source.repository, status: state.status, revision: state.revision },
      before: existing ? { status: existing.status, revision: existing.revision } : { status: 'Deleted', revision: '' },
      after: { status: state.status, revision },
    });
  }
  return { successfulVersions, failedVersions: {}, copies };
}
