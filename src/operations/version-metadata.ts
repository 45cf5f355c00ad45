/**
 * GetPackageVersionReadme and ListPackageVersionDependencies: what the version's last completed sync
 * extracted from its assets (an npm tarball's README and package.json, a Maven pom), after Cedar
 * allows reading the version. A version never synced, or whose assets carry none, has none.
 */
import { ValidationError } from '../errors.ts';
import type { ActionName } from '../policy/engine.ts';
import { dependencyView } from '../registry/package-view.ts';
import { exists } from '../registry/statuses.ts';
import { packageMembers } from '../registry/version-view.ts';
import type { VersionMetadata } from '../store/store.ts';
import type { OperationDeps } from './deps.ts';
import { authorize, missingPackage, missingVersion, packageTarget, type PackageRequestInput } from './gate.ts';

export interface VersionMetadataInput extends PackageRequestInput {
  version: string;
}

/** Reads one version's metadata through the gate: Cedar on the package with the version's status. */
async function readMetadata(deps: OperationDeps, input: VersionMetadataInput, action: ActionName, request: Record<string, unknown> = {}) {
  const target = await packageTarget(deps, input.coordinates);
  const snapshot = await deps.store.readVersion(target.ref, input.version);
  const current = snapshot.version && exists(snapshot.version.status) ? snapshot.version : null;
  const allowed = await authorize(deps, input.caller, {
    target,
    action,
    context: { version: input.version, ...(current ? { currentStatus: current.status } : {}) },
    request: { versions: [input.version], ...request },
  });
  const missing = missingPackage(snapshot, target.ref) ?? (current ? undefined : missingVersion(target.ref, input.version));
  if (missing) return allowed.refuse('not_found', missing);
  const metadata: VersionMetadata = await deps.store.readVersionMetadata(current!.id);
  return { target, version: current!, metadata, allowed };
}

export async function getVersionReadme(deps: OperationDeps, input: VersionMetadataInput) {
  const { target, version, metadata, allowed } = await readMetadata(deps, input, 'GetPackageVersionReadme');
  await allowed.recordRead();
  return { ...packageMembers(target.ref), version: version.version, versionRevision: version.revision, ...(metadata.readme ? { readme: metadata.readme } : {}) };
}

export interface ListDependenciesInput extends VersionMetadataInput {
  nextToken?: string | undefined;
}

export async function listVersionDependencies(deps: OperationDeps, input: ListDependenciesInput) {
  const { target, version, metadata, allowed } = await readMetadata(deps, input, 'ListPackageVersionDependencies', input.nextToken ? { nextToken: true } : {});
  // A manifest's dependencies are few: they all come in one page, so no next-token was ever issued.
  if (input.nextToken !== undefined) {
    return allowed.refuse('rejected', new ValidationError('next-token is not a token this listing issued: every dependency comes in the first page'));
  }
  await allowed.recordRead();
  return {
    ...packageMembers(target.ref),
    version: version.version,
    versionRevision: version.revision,
    dependencies: (metadata.dependencies ?? []).map(dependencyView),
  };
}
