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

/**
 * One package, named once: its coordinates (the store's PackageKey is a subset of them) with its
 * ARNs, built once when the request is resolved. Cedar's resource, the audit record and its derived
 * columns all read these; nothing builds an ARN again or parses one back.
 */
export interface PackageRef extends ResolvedPackage {
  arn: string;
  repositoryArn: string;
  domainArn: string;
}

export function packageRef(p: ResolvedPackage): PackageRef {
  return {
    region: p.region,
    domain: p.domain,
    domainOwner: p.domainOwner,
    repository: p.repository,
    format: p.format,
    namespace: p.namespace,
    name: p.name,
    arn: packageArn(p),
    repositoryArn: repositoryArn(p.region, p.domainOwner, p.domain, p.repository),
    domainArn: domainArn(p.region, p.domainOwner, p.domain),
  };
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
