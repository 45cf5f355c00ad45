/**
 * ListPackageVersionAssets: a version's assets by name, a page at a time, with their sizes and hashes.
 * The nextToken is bound to this package and version.
 */
import { ValidationError } from '../errors.ts';
import { exists } from '../registry/statuses.ts';
import { assetSummary, packageMembers } from '../registry/version-view.ts';
import type { PackageApiDeps } from './deps.ts';
import { authorize, missingPackage, missingVersion, packageTarget, type PackageRequestInput } from './gate.ts';

export interface ListAssetsInput extends PackageRequestInput {
  version: string;
  maxResults: number;
  nextToken?: string | undefined;
}

export async function listAssets(deps: PackageApiDeps, input: ListAssetsInput) {
  const target = await packageTarget(deps, input.coordinates);
  const snapshot = await deps.store.readVersion(target.ref, input.version);
  const current = snapshot.version && exists(snapshot.version.status) ? snapshot.version : null;
  const allowed = await authorize(deps, input.caller, {
    target,
    action: 'ListPackageVersionAssets',
    context: { version: input.version, ...(current ? { currentStatus: current.status } : {}) },
    request: { versions: [input.version], maxResults: input.maxResults, ...(input.nextToken ? { nextToken: true } : {}) },
  });
  const missing = missingPackage(snapshot, target.ref) ?? (current ? undefined : missingVersion(target.ref, input.version));
  if (missing) return allowed.refuse('not_found', missing);

  const scope = { operation: 'ListPackageVersionAssets', resource: target.ref.arn, version: input.version };
  let after: string | undefined;
  if (input.nextToken !== undefined) {
    try {
      const cursor = (await deps.pageTokens.read(scope, input.nextToken)) as { a?: unknown } | null;
      if (typeof cursor?.a !== 'string') throw new ValidationError('next-token does not belong to this listing');
      after = cursor.a;
    } catch (err) {
      if (err instanceof ValidationError) return allowed.refuse('rejected', err);
      throw err;
    }
  }
  const rows = await deps.store.listAssets(current!.id, after, input.maxResults + 1);
  const page = rows.slice(0, input.maxResults);
  const nextToken = rows.length > input.maxResults ? await deps.pageTokens.issue(scope, { a: page[page.length - 1]!.name }) : undefined;
  await allowed.recordRead();
  return {
    ...packageMembers(target.ref),
    version: current!.version,
    versionRevision: current!.revision,
    assets: page.map(assetSummary),
    ...(nextToken ? { nextToken } : {}),
  };
}
