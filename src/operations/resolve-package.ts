/** Checked coordinates → a fully named package (the domain owner filled in) ready to become an ARN. */
import type { PackageCoordinates } from '../resource/coordinates.ts';
import type { ResolvedPackage } from '../resource/package-arn.ts';
import type { OperationDeps } from './deps.ts';

export function resolvePackage(deps: Pick<OperationDeps, 'accountId' | 'region'>, c: PackageCoordinates): ResolvedPackage {
  return { region: deps.region, domain: c.domain, domainOwner: domainOwnerOf(deps, c.domainOwner), repository: c.repository, format: c.format, namespace: c.namespace, name: c.name };
}

/**
 * The domain's owner: the one given, or, as CodeArtifact takes the caller's account, the gateway's
 * (VERSIONGATE_ACCOUNT_ID). Nothing is looked up: whether a domain exists is told only after Cedar
 * has allowed the request (before, a missing owner was looked up by the domain's name first, so any
 * caller learnt which domain names exist, and two domains of one name made it a 400).
 */
export function domainOwnerOf(deps: Pick<OperationDeps, 'accountId'>, given: string | undefined): string {
  return given ?? deps.accountId;
}
