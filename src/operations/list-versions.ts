/**
 * ListPackageVersions: a package's versions, a page at a time. Cedar decides on the package before
 * anything is read out; the page's nextToken is bound to this package and these filters.
 */
import { ValidationError } from '../errors.ts';
import { listedStatuses, type VersionStatus } from '../registry/statuses.ts';
import { packageMembers, versionSummary } from '../registry/version-view.ts';
import type { VersionCursor } from '../store/store.ts';
import type { PackageApiDeps } from './deps.ts';
import { authorize, missingPackage, packageTarget, type PackageRequestInput } from './gate.ts';

export const ORIGIN_TYPES = ['INTERNAL', 'EXTERNAL', 'UNKNOWN'] as const;
export type OriginType = (typeof ORIGIN_TYPES)[number];
export const SORT_TYPES = ['PUBLISHED_TIME'] as const;

export interface ListVersionsInput extends PackageRequestInput {
  status?: VersionStatus | undefined;
  sortBy?: (typeof SORT_TYPES)[number] | undefined;
  originType?: OriginType | undefined;
  maxResults: number;
  nextToken?: string | undefined;
}

export async function listVersions(deps: PackageApiDeps, input: ListVersionsInput) {
  const target = await packageTarget(deps, input.coordinates);
  const snapshot = await deps.store.readPackage(target.ref, []);
  const allowed = await authorize(deps, input.caller, {
    target,
    action: 'ListPackageVersions',
    context: input.status ? { status: input.status } : {},
    request: {
      ...(input.status ? { status: input.status } : {}),
      ...(input.sortBy ? { sortBy: input.sortBy } : {}),
      ...(input.originType ? { originType: input.originType } : {}),
      maxResults: input.maxResults,
      ...(input.nextToken ? { nextToken: true } : {}),
    },
  });
  const missing = missingPackage(snapshot, target.ref);
  if (missing) return allowed.refuse('not_found', missing);

  const order = input.sortBy === 'PUBLISHED_TIME' ? 'published' : 'version';
  const scope = { operation: 'ListPackageVersions', resource: target.ref.arn, status: input.status, order, originType: input.originType };
  let after: VersionCursor | undefined;
  if (input.nextToken !== undefined) {
    try {
      after = toCursor(await deps.pageTokens.read(scope, input.nextToken), order);
    } catch (err) {
      if (err instanceof ValidationError) return allowed.refuse('rejected', err);
      throw err;
    }
  }
  // Every version here was published to this repository (see version-view.ts): none is EXTERNAL or UNKNOWN.
  const statuses = input.originType === undefined || input.originType === 'INTERNAL' ? listedStatuses(input.status) : [];
  const { versions: rows, latestPublished: defaultDisplayVersion } = await deps.store.listVersions({ packageId: snapshot.packageId!, statuses, order, after, limit: input.maxResults + 1 });
  const page = rows.slice(0, input.maxResults);
  const last = page[page.length - 1];
  const nextToken =
    rows.length > input.maxResults && last
      ? await deps.pageTokens.issue(scope, order === 'version' ? { v: last.version } : { t: last.publishedAt, i: last.id })
      : undefined;
  // Recorded before anything is returned: a read that could not be recorded is not answered.
  await allowed.recordRead();
  return {
    ...(defaultDisplayVersion ? { defaultDisplayVersion } : {}),
    ...packageMembers(target.ref),
    versions: page.map((v) => versionSummary(target.ref, v)),
    ...(nextToken ? { nextToken } : {}),
  };
}

/** A token's cursor, checked: tokens are signed, so a bad shape here means a bug, still never a 500. */
function toCursor(raw: unknown, order: 'version' | 'published'): VersionCursor {
  const c = raw as { v?: unknown; t?: unknown; i?: unknown } | null;
  if (order === 'version' && typeof c?.v === 'string') return { order, version: c.v };
  if (order === 'published' && typeof c?.t === 'string' && Number.isSafeInteger(c?.i)) return { order, publishedAt: c.t, id: c.i as number };
  throw new ValidationError('next-token does not belong to this listing');
}
