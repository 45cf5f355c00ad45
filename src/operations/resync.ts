/**
 * Resync and sync status: a version named by its permanent identifier (or by its coordinates, for
 * the CodeArtifact-shaped batch), authorized by Cedar on its package, every decision audited.
 * A resync schedules the version's sync job (see src/sync/); the worker pool runs it.
 */
import type { CedarValueJson } from '@cedar-policy/cedar-wasm/nodejs';
import { unresolvedRecord } from '../audit/build-record.ts';
import { AccessDeniedError, ApiError, NotFoundError } from '../errors.ts';
import { IDENTIFIER_PATTERN } from '../registry/identifier.ts';
import { exists, type VersionStatus } from '../registry/statuses.ts';
import type { PackageCoordinates } from '../resource/coordinates.ts';
import type { SyncJob, SyncState, VersionDetail, VersionRecord } from '../store/store.ts';
import type { Caller } from './caller.ts';
import type { OperationDeps } from './deps.ts';
import { authorize, missingPackage, missingVersion, packageTarget, type PackageTarget } from './gate.ts';
import { byVersion } from '../registry/by-version.ts';

export const WRONG_STATE = 'The package is in the wrong state for the requested operation.';

/** A version that cannot be resynced now (Disposed, Deleted, or its sync already awaiting or running). */
export class WrongStateError extends ApiError {
  readonly status = 400;
  readonly type = 'ValidationException';
  constructor(message = WRONG_STATE) {
    super(message);
  }
  override fields() {
    return { reason: 'WRONG_STATE' };
  }
}

/**
 * Cloudsmith-style status codes. A version with no sync job was stored before synchronisation
 * existed (every publish and seed now schedules one): it counts as completed, as it downloads.
 */
const STATES = {
  awaiting: { status: 1, status_str: 'Awaiting Synchronisation' },
  in_progress: { status: 2, status_str: 'Sync In Progress' },
  completed: { status: 3, status_str: 'Completed' },
  failed: { status: 4, status_str: 'Sync Failure' },
} as const;

export interface SyncStatus {
  identifier: string;
  version: string;
  status: number;
  status_str: string;
  stage: number;
  stage_str: string;
  status_reason: string | null;
  sync_progress: number;
  is_sync_awaiting: boolean;
  is_sync_in_flight: boolean;
  is_sync_in_progress: boolean;
  is_sync_completed: boolean;
  is_sync_failed: boolean;
  is_resyncable: boolean;
  status_updated_at: string;
  stage_updated_at: string;
  sync_finished_at: string | null;
}

function stageOf(job: SyncJob | null): { stage: number; stage_str: string } {
  if (!job || job.state === 'completed') return { stage: 9, stage_str: 'Fully Synchronised' };
  if (job.state === 'awaiting') return { stage: 1, stage_str: 'Pending' };
  if (job.state === 'failed') return { stage: 0, stage_str: 'Failed' };
  return job.progress < 90 ? { stage: 2, stage_str: 'Checking Assets' } : { stage: 3, stage_str: 'Extracting Metadata' };
}

/** Not Disposed or Deleted, and its sync (if it has one) not awaiting or in progress. */
export function isResyncable(status: VersionStatus, syncState: SyncState | null): boolean {
  if (status === 'Disposed' || status === 'Deleted') return false;
  return syncState === null || syncState === 'completed' || syncState === 'failed';
}

/** The status path's answer for a version and its sync job (also each version's `sync` in a listing that includes it). */
export function syncStatus(v: VersionRecord, job: SyncJob | null): SyncStatus {
  const state = job?.state ?? 'completed';
  const s = STATES[state];
  return {
    identifier: v.identifier,
    version: v.version,
    ...s,
    ...stageOf(job),
    status_reason: job?.statusReason ?? null,
    sync_progress: job ? job.progress : 100,
    is_sync_awaiting: state === 'awaiting',
    is_sync_in_flight: state === 'awaiting' || state === 'in_progress',
    is_sync_in_progress: state === 'in_progress',
    is_sync_completed: state === 'completed',
    is_sync_failed: state === 'failed',
    is_resyncable: isResyncable(v.status, job?.state ?? null),
    status_updated_at: job?.updatedAt ?? v.publishedAt,
    stage_updated_at: job?.updatedAt ?? v.publishedAt,
    sync_finished_at: job ? job.finishedAt : v.publishedAt,
  };
}

export interface IdentifierLookup {
  caller: Caller;
  /** The action the request is for, recorded when the identifier is unknown. */
  action: 'Resync' | 'DescribePackageVersion';
  /** Cloudsmith's owner: the domain. */
  owner: string;
  /** The repository it must be in; any repository of the domain when undefined (the bulk action without one). */
  repository?: string | undefined;
  identifier: string;
}

/**
 * The package and version an identifier names in this domain (and repository). Otherwise a 404,
 * decided before Cedar (there is no package to decide on) and recorded with no resource, so that
 * probing for identifiers shows in the audit log like any other request. The owner names a domain of
 * the gateway's account, as an omitted domain-owner does on CodeArtifact's paths: a same-named domain
 * of another account is not reached through it.
 */
export async function resolveIdentifier(deps: OperationDeps, l: IdentifierLookup): Promise<{ coordinates: PackageCoordinates; version: string }> {
  // A malformed identifier names nothing either; it is looked up no further.
  const found = IDENTIFIER_PATTERN.test(l.identifier) ? await deps.store.resolveIdentifier(l.identifier) : null;
  if (!found || found.key.domain !== l.owner || found.key.domainOwner !== deps.accountId || (l.repository !== undefined && found.key.repository !== l.repository)) {
    await deps.store.appendAudit(
      unresolvedRecord({
        clock: deps.clock,
        meta: l.caller.meta,
        principal: l.caller.principal,
        action: l.action,
        // Bounded: the identifier is the caller's text.
        request: { identifier: l.identifier.slice(0, 64), owner: l.owner, ...(l.repository !== undefined ? { repository: l.repository } : {}) },
      }),
    );
    throw unknownIdentifier(l.identifier, l.owner, l.repository);
  }
  const { key } = found;
  return { coordinates: { domain: key.domain, domainOwner: key.domainOwner, repository: key.repository, format: key.format, namespace: key.namespace, name: key.name }, version: found.version };
}

function unknownIdentifier(identifier: string, owner: string, repository: string | undefined): NotFoundError {
  const where = repository === undefined ? owner : `${owner}/${repository}`;
  return new NotFoundError(`no package version with identifier ${identifier.slice(0, 64)} in ${where}`, 'package-version', identifier.slice(0, 64));
}

interface VersionInput {
  caller: Caller;
  coordinates: PackageCoordinates;
  version: string;
  /** Recorded in the audit record's request. */
  identifier?: string | undefined;
}

async function readTarget(deps: OperationDeps, input: VersionInput) {
  const target = await packageTarget(deps, input.coordinates);
  const snapshot = await deps.store.readVersion(target.ref, input.version);
  const current = snapshot.version && exists(snapshot.version.status) ? snapshot.version : null;
  return { target, snapshot, current };
}

const requestOf = (input: VersionInput) => ({ versions: [input.version], ...(input.identifier ? { identifier: input.identifier } : {}) });

type IdentifierAction = 'Resync' | 'DescribePackageVersion';

/** What Cedar is told of the version, for each action the identifier paths ask about. */
function contextOf(action: IdentifierAction, input: VersionInput, current: VersionDetail | null): Record<string, CedarValueJson> {
  if (action === 'Resync') return { versions: [input.version], currentStatuses: current ? [current.status] : [] };
  return { version: input.version, ...(current ? { currentStatus: current.status } : {}) };
}

/**
 * A version named by its identifier exists only for whoever may do something with it. A caller
 * denied who may neither describe nor resync the version gets the unknown identifier's 404, as
 * Cloudsmith answers "Not found." for what one cannot see; otherwise a 403 would tell anyone which
 * identifiers exist in a domain. (The deny is in the audit log as any other.) Whoever may do the
 * other (resync but not read the status, say) knows the version is there and is told 403. Addressed
 * by coordinates, a deny stays a 403: the caller named the package, as CodeArtifact's callers do.
 */
async function hideUnseen(deps: OperationDeps, input: VersionInput, target: PackageTarget, current: VersionDetail | null, asked: IdentifierAction, err: unknown): Promise<never> {
  if (err instanceof AccessDeniedError && input.identifier !== undefined) {
    const other: IdentifierAction = asked === 'Resync' ? 'DescribePackageVersion' : 'Resync';
    const seen = deps.authorizer().authorize({ principal: input.caller.principal, meta: input.caller.meta, action: other, resource: target.resource, context: contextOf(other, input, current) });
    if (seen.decision !== 'allow') throw unknownIdentifier(input.identifier, input.coordinates.domain, input.coordinates.repository);
  }
  throw err;
}

/** Schedules a resync of one version; the status object it answers with says it is awaiting. */
export async function resyncVersion(deps: OperationDeps, input: VersionInput): Promise<SyncStatus> {
  const { target, snapshot, current } = await readTarget(deps, input);
  const allowed = await authorize(deps, input.caller, {
    target,
    action: 'Resync',
    context: contextOf('Resync', input, current),
    request: requestOf(input),
  }).catch((err: unknown) => hideUnseen(deps, input, target, current, 'Resync', err));
  // A Deleted version still has its identifier: it is there, in the wrong state (400), not unknown (404).
  const row = snapshot.version;
  const missing = missingPackage(snapshot, target.ref) ?? (row ? undefined : missingVersion(target.ref, input.version));
  if (missing) return allowed.refuse('not_found', missing);
  if (!isResyncable(row!.status, row!.syncState)) return allowed.refuse('rejected', new WrongStateError());
  // The schedule and its audit record commit together.
  if (!(await deps.store.scheduleSync([row!.id], allowed.record('applied', 200)))) return allowed.refuse('rejected', new WrongStateError());
  deps.syncScheduled?.();
  return syncStatus(row!, await deps.store.readSyncJob(row!.id));
}

/**
 * The sync status of one version: a read, authorized as DescribePackageVersion (whoever may describe
 * a version may see how its processing went; resyncing needs Resync).
 */
export async function readSyncStatus(deps: OperationDeps, input: VersionInput): Promise<SyncStatus> {
  const { target, snapshot, current } = await readTarget(deps, input);
  const allowed = await authorize(deps, input.caller, {
    target,
    action: 'DescribePackageVersion',
    context: contextOf('DescribePackageVersion', input, current),
    request: requestOf(input),
  }).catch((err: unknown) => hideUnseen(deps, input, target, current, 'DescribePackageVersion', err));
  const row = snapshot.version;
  const missing = missingPackage(snapshot, target.ref) ?? (row ? undefined : missingVersion(target.ref, input.version));
  if (missing) return allowed.refuse('not_found', missing);
  const job = await deps.store.readSyncJob(row!.id);
  await allowed.recordRead();
  return syncStatus(row!, job);
}

export interface ResyncVersionsInput {
  caller: Caller;
  coordinates: PackageCoordinates;
  versions: string[];
}

type FailedVersion = { errorCode: 'NOT_FOUND' | 'MISMATCHED_STATUS' | 'SKIPPED'; errorMessage: string };

/**
 * The CodeArtifact-shaped batch: one decision on the package for every version named, then all or
 * nothing, like the other batch operations. A version that cannot be resynced fails, the others are
 * SKIPPED, and nothing is scheduled.
 */
export async function resyncVersions(deps: OperationDeps, input: ResyncVersionsInput) {
  const target = await packageTarget(deps, input.coordinates);
  const rows = new Map<string, VersionDetail | null>();
  let snapshot: Awaited<ReturnType<typeof deps.store.readVersion>> | undefined;
  for (const v of input.versions) {
    snapshot = await deps.store.readVersion(target.ref, v);
    rows.set(v, snapshot.version && exists(snapshot.version.status) ? snapshot.version : null);
  }
  const present = [...rows.values()].filter((r): r is VersionDetail => r !== null);
  const allowed = await authorize(deps, input.caller, {
    target,
    action: 'Resync',
    context: { versions: input.versions, currentStatuses: [...new Set(present.map((r) => r.status))] },
    request: { versions: input.versions },
  });
  const missing = snapshot ? missingPackage(snapshot, target.ref) : undefined;
  if (missing) return allowed.refuse('not_found', missing);
  const failedVersions: Record<string, FailedVersion> = byVersion();
  for (const [v, row] of rows) {
    if (!row) {
      failedVersions[v] = { errorCode: 'NOT_FOUND', errorMessage: `version ${v} does not exist` };
      continue;
    }
    if (!isResyncable(row.status, row.syncState)) failedVersions[v] = { errorCode: 'MISMATCHED_STATUS', errorMessage: WRONG_STATE };
  }
  const scheduled = Object.keys(failedVersions).length === 0 && (await deps.store.scheduleSync(present.map((r) => r.id), allowed.record('applied', 200)));
  if (!scheduled) {
    for (const v of input.versions) {
      if (!failedVersions[v]) {
        failedVersions[v] =
          Object.keys(failedVersions).length === 0
            ? { errorCode: 'MISMATCHED_STATUS', errorMessage: WRONG_STATE }
            : { errorCode: 'SKIPPED', errorMessage: 'not resynced: another version of the request failed' };
      }
    }
    await deps.store.appendAudit(allowed.record('rejected', 200));
    return { successfulVersions: {}, failedVersions };
  }
  deps.syncScheduled?.();
  const successfulVersions: Record<string, { revision: string; status: VersionStatus }> = byVersion();
  for (const r of present) successfulVersions[r.version] = { revision: r.revision, status: r.status };
  return { successfulVersions, failedVersions: {} };
}

export type { PackageTarget };
