/**
 * Columns derived from a record's hashed fields, stored beside it so queries can use indexes:
 * the repository and domain ARN of a package resource, the package name, the versions named.
 * `audit verify` recomputes them, so editing one to hide a record from a query is detected too.
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
 * A domain as the resource, as the audit names it (CreateRepository, DescribeDomain, DeleteDomain…):
 * its records belong to that domain, so domain-scoped readers and `resource=<domain ARN>` find them.
 * Records written before this was derived were back-filled by migration 0008 (SQLite) / 0002 (PostgreSQL).
 */
const DOMAIN_RESOURCE = /^Domain::"(arn:aws:codeartifact:[^:]+:\d{12}:domain\/[^/"]+)"$/;

export function deriveFields(r: Pick<AuditRecordInput, 'resource' | 'request' | 'changes' | 'packageScope'>): DerivedAuditFields {
  const versions = versionsNamed(r);
  const scope = r.packageScope;
  // The scope is the operation's, not a stored column: made storable as the resource was (linkRecord).
  if (scope) return { repositoryArn: storableText(scope.repositoryArn), domainArn: storableText(scope.domainArn), packageName: storableOrNull(scope.packageName), versions };
  const repo = r.resource ? REPOSITORY_ARN.exec(r.resource) : null;
  if (repo) return { repositoryArn: r.resource, domainArn: `${repo[1]}:domain/${repo[2]}`, packageName: null, versions };
  const domain = r.resource ? DOMAIN_RESOURCE.exec(r.resource) : null;
  if (domain) return { repositoryArn: null, domainArn: domain[1]!, packageName: null, versions };
  const m = r.resource ? PACKAGE_ARN.exec(r.resource) : null;
  return {
    repositoryArn: m ? `${m[1]}:repository/${m[2]}/${m[3]}` : null,
    domainArn: m ? `${m[1]}:domain/${m[2]}` : null,
    packageName: m ? m[4]! : null,
    versions,
  };
}

function versionsNamed(r: Pick<AuditRecordInput, 'request' | 'changes'>): string[] {
  const versions = new Set<string>();
  const requested = (r.request as { versions?: unknown }).versions;
  // Index columns: raw text, so stored as a column can hold it (verify derives them the same way).
  if (Array.isArray(requested)) for (const v of requested) if (typeof v === 'string') versions.add(storableText(v));
  for (const c of r.changes as Array<{ version?: unknown }>) if (typeof c?.version === 'string') versions.add(storableText(c.version));
  return [...versions].sort();
}
