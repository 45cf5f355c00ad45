/**
 * PutPackageOriginConfiguration: sets a package's origin restrictions (publish, upstream: ALLOW or
 * BLOCK). As in CodeArtifact, a package that does not exist yet is created with no versions, so a
 * name can be blocked before anyone publishes it. The change and its audit record commit together.
 */
import type { OriginRestrictions } from '../store/store.ts';
import { originConfiguration } from '../registry/package-view.ts';
import { expiredError } from './change-versions.ts';
import type { OperationDeps } from './deps.ts';
import { authorize, missingPackage, packageTarget, type PackageRequestInput } from './gate.ts';
import { commitDeadline } from './caller.ts';

export interface PutOriginInput extends PackageRequestInput {
  restrictions: OriginRestrictions;
}

export async function putPackageOrigin(deps: OperationDeps, input: PutOriginInput) {
  const { caller, restrictions } = input;
  const target = await packageTarget(deps, input.coordinates);
  const snapshot = await deps.store.readPackageRecord(target.ref);
  const before = snapshot.package?.origin ?? null;
  // The audit shows the restrictions before (null: the package was created) and after.
  const request = { restrictions, before };
  const allowed = await authorize(deps, caller, {
    target,
    action: 'PutPackageOriginConfiguration',
    context: { publish: restrictions.publish, upstream: restrictions.upstream },
    request,
  });
  const missing = missingPackage({ ...snapshot, packageId: snapshot.package?.id ?? null }, target.ref, { packageMayBeMissing: true });
  if (missing) return allowed.refuse('not_found', missing);
  const result = await deps.store.putPackageOrigin({
    key: target.ref,
    origin: restrictions,
    audit: allowed.record('applied', 200),
    expired: commitDeadline(caller, () => allowed.record('timeout', 503)),
  });
  if (result === 'expired') throw expiredError(caller);
  return { originConfiguration: originConfiguration(restrictions) };
}
