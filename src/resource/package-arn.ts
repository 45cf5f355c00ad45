/** Package coordinates ↔ CodeArtifact ARNs. Coordinates reaching here were checked by coordinates.ts. */
import type { PackageFormat } from './formats.ts';

export interface ResolvedPackage {
  region: string;
  domain: string;
  domainOwner: string;
  repository: string;
  format: PackageFormat;
  namespace: string;
  name: string;
}

export interface PackageArns {
  domain: string;
  repository: string;
  package: string;
}

export function domainArn(region: string, owner: string, domain: string): string {
  return `arn:aws:codeartifact:${region}:${owner}:domain/${domain}`;
}

export function repositoryArn(region: string, owner: string, domain: string, repository: string): string {
  return `arn:aws:codeartifact:${region}:${owner}:repository/${domain}/${repository}`;
}

/** `…:package/<domain>/<repository>/<format>/<namespace>/<name>`; an empty namespace leaves `//`. */
export function packageArn(p: ResolvedPackage): string {
  return `arn:aws:codeartifact:${p.region}:${p.domainOwner}:package/${p.domain}/${p.repository}/${p.format}/${p.namespace}/${p.name}`;
}

export function arnsFor(p: ResolvedPackage): PackageArns {
  return {
    domain: domainArn(p.region, p.domainOwner, p.domain),
    repository: repositoryArn(p.region, p.domainOwner, p.domain, p.repository),
    package: packageArn(p),
  };
}

/** The display form: `@scope/name` for npm, `group:artifact` for maven, `namespace/name` otherwise. */
export function displayName(format: PackageFormat, namespace: string, name: string): string {
  if (!namespace) return name;
  if (format === 'npm') return `@${namespace}/${name}`;
  if (format === 'maven') return `${namespace}:${name}`;
  return `${namespace}/${name}`;
}
