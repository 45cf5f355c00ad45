/**
 * Columns derived from a record's hashed fields, stored beside it so queries can use indexes:
 * the repository and domain a record is of, the package name, the versions named. They decide what
 * a scoped reader reads and what `resource=<repository or domain ARN>` finds (read-audit.ts).
 * `audit verify` recomputes them, so editing one to hide a record from a query is detected too; a
 * rule changed here needs a migration that back-fills the records written before, on both stores.
 */
import type { AuditRecordInput } from './audit-record.ts';
import { storableOrNull, storableText } from './storable-text.ts';

export interface DerivedAuditFields {
  repositoryArn: string | null;
  domainArn: string | null;
  packageName: string | null;
  versions: string[];
}

const PACKAGE_ARN = /^(arn:aws:codeartifact:[^:]+:\d{12}):package\/([^/]+)\/([^/]+)\/[^/]+\/[^/]*\/([^/]+)$/;
/** A repository as the resource (ListPackages): its records belong to that repository, and name no package. */
const REPOSITORY_ARN = /^(arn:aws:codeartifact:[^:]+:\d{12}):repository\/([^/]+)\/([^/]+)$/;
/**
 * A domain as the resource, as the audit names it (CreateDomain, DescribeDomain, CreateRepository…):
 * its records belong to that domain, so domain-scoped readers and `resource=<domain ARN>` find them;
 * one about a repository belongs to that repository too (repositoryNamed).
 * Records written before this was derived were back-filled by migration 0008 (SQLite) / 0002 (PostgreSQL).
 */
const DOMAIN_RESOURCE = /^Domain::"(arn:aws:codeartifact:[^:]+:\d{12}:domain\/[^/"]+)"$/;
/**
 * A domain's ARN as the resource of a refused token (the route's hint: DescribeDomain,
 * CreateRepository… naming the owner). Back-filled by migration 0010 (SQLite) / 0004 (PostgreSQL).
 */
const DOMAIN_ARN = /^arn:aws:codeartifact:[^:]+:\d{12}:domain\/[^/]+$/;
/** A repository's name as CreateRepository takes it (checkRepositoryName): nothing else names one in an ARN. */
const REPOSITORY_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{1,99}$/;

export function deriveFields(r: Pick<AuditRecordInput, 'resource' | 'request' | 'changes' | 'packageScope'>): DerivedAuditFields {
  const versions = versionsNamed(r);
  const scope = r.packageScope;
  // The scope is the operation's, not a stored column: made storable as the resource was (linkRecord).
  if (scope) return { repositoryArn: storableText(scope.repositoryArn), domainArn: storableText(scope.domainArn), packageName: storableOrNull(scope.packageName), versions };
  const repo = r.resource ? REPOSITORY_ARN.exec(r.resource) : null;
  if (repo) return { repositoryArn: r.resource, domainArn: `${repo[1]}:domain/${repo[2]}`, packageName: null, versions };
  const domain = r.resource ? DOMAIN_RESOURCE.exec(r.resource) : null;
  if (domain) return { repositoryArn: repositoryNamed(domain[1]!, r.request), domainArn: domain[1]!, packageName: null, versions };
  if (r.resource && DOMAIN_ARN.test(r.resource)) return { repositoryArn: null, domainArn: r.resource, packageName: null, versions };
  const m = r.resource ? PACKAGE_ARN.exec(r.resource) : null;
  return {
    repositoryArn: m ? `${m[1]}:repository/${m[2]}/${m[3]}` : null,
    domainArn: m ? `${m[1]}:domain/${m[2]}` : null,
    packageName: m ? m[4]! : null,
    versions,
  };
}

/**
 * The repository a domain's record is about (CreateRepository's `repository`), or null for a record
 * about the domain itself (DescribeDomain, ListRepositoriesInDomain…). Such a record belongs to that
 * repository: its readers see who created it, and a reader allowed the domain except that repository
 * does not. Back-filled by migration 0010 (SQLite) / 0004 (PostgreSQL), which must read it the same way.
 */
function repositoryNamed(domainArn: string, request: Record<string, unknown>): string | null {
  const name = request.repository;
  return typeof name === 'string' && REPOSITORY_NAME.test(name) ? `${domainArn.replace(':domain/', ':repository/')}/${name}` : null;
}

function versionsNamed(r: Pick<AuditRecordInput, 'request' | 'changes'>): string[] {
  const versions = new Set<string>();
  const requested = (r.request as { versions?: unknown }).versions;
  // Index columns: raw text, so stored as a column can hold it (verify derives them the same way).
  if (Array.isArray(requested)) for (const v of requested) if (typeof v === 'string') versions.add(storableText(v));
  for (const c of r.changes as Array<{ version?: unknown }>) if (typeof c?.version === 'string') versions.add(storableText(c.version));
  return [...versions].sort();
}
