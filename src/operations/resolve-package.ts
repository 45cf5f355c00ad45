/** Checked coordinates → a fully named package (the domain owner filled in) ready to become an ARN. */
import { NotFoundError, ValidationError } from '../errors.ts';
import type { PackageCoordinates } from '../resource/coordinates.ts';
import type { ResolvedPackage } from '../resource/package-arn.ts';
import type { Store } from '../store/store.ts';

export async function resolvePackage(store: Store, region: string, c: PackageCoordinates): Promise<ResolvedPackage> {
  const domainOwner = await resolveDomainOwner(store, c.domain, c.domainOwner);
  return { region, domain: c.domain, domainOwner, repository: c.repository, format: c.format, namespace: c.namespace, name: c.name };
}

/** The domain's owner: the one given, or that of the one domain with this name. */
export async function resolveDomainOwner(store: Store, domain: string, domainOwner: string | undefined): Promise<string> {
  if (domainOwner !== undefined) return domainOwner;
  // CodeArtifact lets domain-owner default; the ARN needs it, so it comes from the one domain with this name.
  const owners = await store.domainOwners(domain);
  if (owners.length === 0) throw new NotFoundError(`domain ${domain} does not exist`, 'domain', domain);
  if (owners.length > 1) throw new ValidationError(`domain-owner is required: more than one domain is named ${domain}`);
  return owners[0]!;
}
