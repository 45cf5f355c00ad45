/** DescribePackage: one package's name and origin restrictions, after Cedar allows reading it. */
import { packageDescription } from '../registry/package-view.ts';
import type { OperationDeps } from './deps.ts';
import { authorize, missingPackage, packageTarget, type PackageRequestInput } from './gate.ts';

export async function describePackage(deps: OperationDeps, input: PackageRequestInput) {
  const target = await packageTarget(deps, input.coordinates);
  const snapshot = await deps.store.readPackageRecord(target.ref);
  const allowed = await authorize(deps, input.caller, { target, action: 'DescribePackage', context: {}, request: {} });
  const missing = missingPackage({ ...snapshot, packageId: snapshot.package?.id ?? null }, target.ref);
  if (missing) return allowed.refuse('not_found', missing);
  await allowed.recordRead();
  return { package: packageDescription(target.ref, snapshot.package!.origin) };
}
