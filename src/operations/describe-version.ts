/** DescribePackageVersion: one version's description, after Cedar allows reading it. */
import { exists } from '../registry/statuses.ts';
import { versionDescription } from '../registry/version-view.ts';
import type { OperationDeps } from './deps.ts';
import { authorize, missingPackage, missingVersion, packageTarget, type PackageRequestInput } from './gate.ts';

export interface DescribeVersionInput extends PackageRequestInput {
  version: string;
}

export async function describeVersion(deps: OperationDeps, input: DescribeVersionInput) {
  const target = await packageTarget(deps, input.coordinates);
  const snapshot = await deps.store.readVersion(target.ref, input.version);
  const current = snapshot.version && exists(snapshot.version.status) ? snapshot.version : null;
  const allowed = await authorize(deps, input.caller, {
    target,
    action: 'DescribePackageVersion',
    context: { version: input.version, ...(current ? { currentStatus: current.status } : {}) },
    request: { versions: [input.version] },
  });
  const missing = missingPackage(snapshot, target.ref) ?? (current ? undefined : missingVersion(target.ref, input.version));
  if (missing) return allowed.refuse('not_found', missing);
  const metadata = await deps.store.readVersionMetadata(current!.id);
  await allowed.recordRead();
  return { packageVersion: versionDescription(target.ref, current!, metadata) };
}
