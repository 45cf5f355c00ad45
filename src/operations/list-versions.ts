/**
 * ListPackageVersions: a package's versions, a page at a time. Cedar decides on the package before
 * anything is read out; the page's nextToken is bound to this package and these filters.
 *
 * versiongate's `include` adds to each version what a client would otherwise read version by version
 * (DescribePackageVersion's publishedTime, the status path's sync state), each such read an audited
 * record of its own: here it is the listing's one decision and one record, and policies see it in
 * the context (`include`), so a security team can refuse it without refusing the listing.
 */
import type { CedarValueJson } from '@cedar-policy/cedar-wasm/nodejs';
import { ValidationError } from '../errors.ts';
import { listedStatuses, type VersionStatus } from '../registry/statuses.ts';
import { packageMembers, publishedTime, versionSummary } from '../registry/version-view.ts';
import type { VersionCursor, VersionRecord } from '../store/store.ts';
import type { PackageApiDeps } from './deps.ts';
import { authorize, missingPackage, packageTarget, type PackageRequestInput } from './gate.ts';
import { syncStatus, type SyncStatus } from './resync.ts';

export const ORIGIN_TYPES = ['INTERNAL', 'EXTERNAL', 'UNKNOWN'] as const;
export type OriginType = (typeof ORIGIN_TYPES)[number];
export const SORT_TYPES = ['PUBLISHED_TIME'] as const;
/** What `include` may ask each version summary to carry besides CodeArtifact's members. */
export const INCLUDE_WORDS = ['publishedTime', 'sync'] as const;
export type IncludeWord = (typeof INCLUDE_WORDS)[number];

export interface ListVersionsInput extends PackageRequestInput {
  status?: VersionStatus | undefined;
  sortBy?: (typeof SORT_TYPES)[number] | undefined;
  originType?: OriginType | undefined;
  maxResults: number;
  nextToken?: string | undefined;
  /** Each word once, in INCLUDE_WORDS' order; undefined when the request does not name `include`. */
  include?: readonly IncludeWord[] | undefined;
}

export async function listVersions(deps: PackageApiDeps, input: ListVersionsInput) {
  const target = await packageTarget(deps, input.coordinates);
  const snapshot = await deps.store.readPackage(target.ref, []);
  const allowed = await authorize(deps, input.caller, {
    target,
    action: 'ListPackageVersions',
    context: contextOf(input),
    request: {
      ...(input.status ? { status: input.status } : {}),
      ...(input.sortBy ? { sortBy: input.sortBy } : {}),
      ...(input.originType ? { originType: input.originType } : {}),
      maxResults: input.maxResults,
      ...(input.nextToken ? { nextToken: true } : {}),
      ...(input.include ? { include: [...input.include] } : {}),
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
  const syncs = input.include?.includes('sync') ? await syncStatuses(deps, page) : undefined;
  const withTime = input.include?.includes('publishedTime') === true;
  // Recorded before anything is returned: a read that could not be recorded is not answered.
  await allowed.recordRead();
  return {
    ...(defaultDisplayVersion ? { defaultDisplayVersion } : {}),
    ...packageMembers(target.ref),
    versions: page.map((v, i) => ({
      ...versionSummary(target.ref, v),
      ...(withTime ? { publishedTime: publishedTime(v) } : {}),
      ...(syncs ? { sync: syncs[i]! } : {}),
    })),
    ...(nextToken ? { nextToken } : {}),
  };
}

/** What Cedar is told: the status filter and the include, each only when the request names it. */
function contextOf(input: ListVersionsInput): Record<string, CedarValueJson> {
  return { ...(input.status ? { status: input.status } : {}), ...(input.include ? { include: [...input.include] } : {}) };
}

/** Each version's sync state, as the status path answers it: the page's jobs in one read. */
async function syncStatuses(deps: PackageApiDeps, page: readonly VersionRecord[]): Promise<SyncStatus[]> {
  const jobs = await deps.store.readSyncJobs(page.map((v) => v.id));
  return page.map((v) => syncStatus(v, jobs.get(v.id) ?? null));
}

/** A token's cursor, checked: tokens are signed, so a bad shape here means a bug, still never a 500. */
function toCursor(raw: unknown, order: 'version' | 'published'): VersionCursor {
  const c = raw as { v?: unknown; t?: unknown; i?: unknown } | null;
  if (order === 'version' && typeof c?.v === 'string') return { order, version: c.v };
  if (order === 'published' && typeof c?.t === 'string' && Number.isSafeInteger(c?.i)) return { order, publishedAt: c.t, id: c.i as number };
  throw new ValidationError('next-token does not belong to this listing');
}
