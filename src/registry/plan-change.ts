/**
 * Plans a status change over a set of versions with CodeArtifact's semantics: each version is checked
 * (exists, revision, expected status, transition); if any fails, nothing changes and every other
 * version is reported SKIPPED. Pure: the caller reads the current state and commits the plan.
 */
import { startsSync, targetOf, transitionProblem, type VersionOperation, type VersionStatus } from './statuses.ts';
import { byVersion, ownEntry } from './by-version.ts';

export type VersionErrorCode = 'ALREADY_EXISTS' | 'MISMATCHED_REVISION' | 'MISMATCHED_STATUS' | 'NOT_ALLOWED' | 'NOT_FOUND' | 'SKIPPED';

export interface VersionState {
  version: string;
  status: VersionStatus;
  revision: string;
}

export interface ChangeRequest {
  versions: string[];
  versionRevisions: Record<string, string>;
  expectedStatus?: VersionStatus | undefined;
  operation: VersionOperation;
}

export interface VersionChange {
  version: string;
  before: { status: VersionStatus; revision: string };
  after: { status: VersionStatus; revision: string };
}

export interface ChangePlan {
  successfulVersions: Record<string, { revision: string; status: VersionStatus }>;
  failedVersions: Record<string, { errorCode: VersionErrorCode; errorMessage: string }>;
  /** The writes to commit; empty when any version failed (all or nothing) or nothing changes. */
  changes: VersionChange[];
  /** The changed versions whose sync starts with the commit (an upload finished by a status change). */
  syncs: string[];
}

export function planChange(current: ReadonlyMap<string, VersionState>, request: ChangeRequest, newRevision: () => string): ChangePlan {
  const target = targetOf(request.operation);
  const failedVersions: ChangePlan['failedVersions'] = byVersion();
  const accepted: Array<{ version: string; state: VersionState }> = [];

  for (const version of request.versions) {
    const state = current.get(version);
    if (!state || state.status === 'Deleted') {
      failedVersions[version] = { errorCode: 'NOT_FOUND', errorMessage: `version ${version} does not exist` };
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
    if (request.expectedStatus !== undefined && request.expectedStatus !== state.status) {
      failedVersions[version] = {
        errorCode: 'MISMATCHED_STATUS',
        errorMessage: `current status: ${state.status}, expected status: ${request.expectedStatus}`,
      };
      continue;
    }
    const problem = transitionProblem(state.status, request.operation);
    if (problem) {
      failedVersions[version] = { errorCode: 'NOT_ALLOWED', errorMessage: problem };
      continue;
    }
    accepted.push({ version, state });
  }

  if (Object.keys(failedVersions).length > 0) {
    for (const { version } of accepted) {
      failedVersions[version] = { errorCode: 'SKIPPED', errorMessage: `version ${version} is skipped` };
    }
    return { successfulVersions: {}, failedVersions, changes: [], syncs: [] };
  }

  const successfulVersions: ChangePlan['successfulVersions'] = byVersion();
  const changes: VersionChange[] = [];
  const syncs: string[] = [];
  for (const { version, state } of accepted) {
    if (state.status === target) {
      successfulVersions[version] = { revision: state.revision, status: target };
      continue;
    }
    const revision = newRevision();
    successfulVersions[version] = { revision, status: target };
    changes.push({ version, before: { status: state.status, revision: state.revision }, after: { status: target, revision } });
    if (startsSync(state.status, target)) syncs.push(version);
  }
  return { successfulVersions, failedVersions: {}, changes, syncs };
}
