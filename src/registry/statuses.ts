/** Package version statuses and the transitions between them. The one place these rules live. */
export const VERSION_STATUSES = ['Published', 'Unfinished', 'Unlisted', 'Archived', 'Disposed', 'Deleted'] as const;
export type VersionStatus = (typeof VERSION_STATUSES)[number];

/** What UpdatePackageVersionsStatus may set. Unfinished is never a target; Disposed only via dispose. */
export const TARGET_STATUSES = ['Published', 'Unlisted', 'Archived'] as const;
export type TargetStatus = (typeof TARGET_STATUSES)[number];

export type VersionOperation = { kind: 'update'; targetStatus: TargetStatus } | { kind: 'dispose' };

export function targetOf(op: VersionOperation): VersionStatus {
  return op.kind === 'dispose' ? 'Disposed' : op.targetStatus;
}

/**
 * Why `from` cannot become the operation's target, or undefined when it can.
 * Staying in the same status is allowed (an idempotent retry) and changes nothing.
 */
export function transitionProblem(from: VersionStatus, op: VersionOperation): string | undefined {
  const to = targetOf(op);
  if (from === to) return undefined;
  switch (from) {
    case 'Published':
    case 'Unlisted':
    case 'Archived':
      return undefined;
    case 'Unfinished':
      return op.kind === 'dispose'
        ? undefined
        : `cannot change status from Unfinished to ${to}: an unfinished version is completed by publishing it`;
    case 'Disposed':
      return `cannot change status from Disposed to ${to}: a disposed version's assets are gone and it can only be deleted`;
    case 'Deleted':
      return `cannot change status from Deleted to ${to}`;
  }
}
