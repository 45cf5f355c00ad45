/** Package version statuses and the transitions between them. The one place these rules live. */
export const VERSION_STATUSES = ['Published', 'Unfinished', 'Unlisted', 'Archived', 'Disposed', 'Deleted'] as const;
export type VersionStatus = (typeof VERSION_STATUSES)[number];

/** What UpdatePackageVersionsStatus may set. Unfinished is never a target; Disposed only via dispose. */
export const TARGET_STATUSES = ['Published', 'Unlisted', 'Archived'] as const;
export type TargetStatus = (typeof TARGET_STATUSES)[number];

export type VersionOperation = { kind: 'update'; targetStatus: TargetStatus } | { kind: 'dispose' } | { kind: 'delete' };

export function targetOf(op: VersionOperation): VersionStatus {
  switch (op.kind) {
    case 'update':
      return op.targetStatus;
    case 'dispose':
      return 'Disposed';
    case 'delete':
      return 'Deleted';
  }
}

/** Dispose and delete remove the versions' assets (their bytes are deleted after the commit). */
export function removesAssets(op: VersionOperation): boolean {
  return op.kind !== 'update';
}

/**
 * Why `from` cannot become the operation's target, or undefined when it can.
 * Staying in the same status is allowed (an idempotent retry) and changes nothing.
 */
export function transitionProblem(from: VersionStatus, op: VersionOperation): string | undefined {
  const to = targetOf(op);
  if (from === to) return undefined;
  // Deleting is the way out of every status: the version's record goes, and its number is free again.
  if (op.kind === 'delete') return from === 'Deleted' ? `version is already deleted` : undefined;
  switch (from) {
    case 'Published':
    case 'Unlisted':
    case 'Archived':
      return undefined;
    case 'Unfinished':
      // CodeArtifact documents two ways to finish an upload: publish the last asset without the
      // unfinished flag, or set the version Published with UpdatePackageVersionsStatus. Nothing else
      // may skip Published (an Unlisted or Archived version was once complete; this one never was).
      return op.kind === 'dispose' || to === 'Published'
        ? undefined
        : `cannot change status from Unfinished to ${to}: an unfinished version is completed by publishing it (its last asset, or UpdatePackageVersionsStatus to Published)`;
    case 'Disposed':
      return `cannot change status from Disposed to ${to}: a disposed version's assets are gone and it can only be deleted`;
    case 'Deleted':
      return `cannot change status from Deleted to ${to}`;
  }
}

/**
 * Whether the change completes an upload, so the version's sync starts (as when its last asset is
 * published): a sync waits while a version is Unfinished.
 */
export function startsSync(from: VersionStatus, to: VersionStatus): boolean {
  return from === 'Unfinished' && to === 'Published';
}

/**
 * Why a version in this status cannot be copied to another repository, or undefined when it can.
 * Only a complete version whose bytes a consumer may download (Published or Unlisted) is copied.
 */
export function copyProblem(status: VersionStatus): string | undefined {
  switch (status) {
    case 'Published':
    case 'Unlisted':
      return undefined;
    case 'Unfinished':
      return 'it is Unfinished: publish it before copying it';
    case 'Archived':
      return 'it is Archived: an archived version cannot be copied until it is published again';
    case 'Disposed':
      return 'it is Disposed: its assets were deleted for good';
    case 'Deleted':
      return 'it was deleted';
  }
}

/**
 * Deleted versions no longer exist: they are kept as records only so that their last revision guards
 * a re-publish. Every read treats them as absent.
 */
export function exists(status: VersionStatus): boolean {
  return status !== 'Deleted';
}

/**
 * Why a version's assets cannot be downloaded in this status, or undefined when they can.
 * Published and Unlisted versions download (Unlisted only hides a version from listings).
 */
export function downloadProblem(status: VersionStatus): string | undefined {
  switch (status) {
    case 'Published':
    case 'Unlisted':
      return undefined;
    case 'Unfinished':
      return 'it is Unfinished: its assets can be downloaded once it is published';
    case 'Archived':
      return 'it is Archived: an archived version cannot be downloaded until it is published again';
    case 'Disposed':
      return 'it is Disposed: its assets were deleted for good';
    case 'Deleted':
      return 'it was deleted';
  }
}

/**
 * The statuses a listing returns. Without a status filter: every version that exists except Unlisted
 * ones, which a registry's users see only when they ask for them. With a filter: exactly that status
 * (Deleted versions do not exist, so asking for them lists nothing).
 */
export function listedStatuses(filter: VersionStatus | undefined): VersionStatus[] {
  if (filter === 'Deleted') return [];
  if (filter !== undefined) return [filter];
  return VERSION_STATUSES.filter((s) => s !== 'Unlisted' && s !== 'Deleted');
}
