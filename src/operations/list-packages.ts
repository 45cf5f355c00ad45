/**
 * ListPackages: a repository's packages, a page at a time, filtered by format, namespace prefix,
 * package-name prefix and origin restrictions. Cedar decides on the Repository (the listing names
 * packages no single Package policy was asked about); the page's nextToken is bound to the
 * repository and the filters.
 */
import { NotFoundError, ValidationError } from '../errors.ts';
import { repositoryResource } from '../policy/entities.ts';
import { packageSummary } from '../registry/package-view.ts';
import { FORMAT_RULES, type PackageFormat } from '../resource/formats.ts';
import type { OriginRestriction, PackageListQuery } from '../store/store.ts';
import type { Caller } from './caller.ts';
import type { PackageApiDeps } from './deps.ts';
import { authorize } from './gate.ts';
import { domainOwnerOf } from './resolve-package.ts';

export interface ListPackagesInput {
  caller: Caller;
  domain: string;
  domainOwner?: string | undefined;
  repository: string;
  format?: PackageFormat | undefined;
  /** CodeArtifact's `namespace` filter, which matches a prefix. */
  namespace?: string | undefined;
  packagePrefix?: string | undefined;
  publish?: OriginRestriction | undefined;
  upstream?: OriginRestriction | undefined;
  maxResults: number;
  nextToken?: string | undefined;
}

export async function listPackages(deps: PackageApiDeps, input: ListPackagesInput) {
  const domainOwner = domainOwnerOf(deps, input.domainOwner);
  const resource = repositoryResource(deps.region, domainOwner, input.domain, input.repository);
  // Prefixes are normalised as the names they match were (an npm scope without @, PyPI's PEP 503…).
  const rule = input.format ? FORMAT_RULES[input.format] : undefined;
  const namespacePrefix = input.namespace === undefined ? undefined : rule ? rule.normaliseNamespace(input.namespace) : input.namespace.replace(/^@/, '');
  const packagePrefix = input.packagePrefix === undefined ? undefined : rule ? rule.normaliseName(input.packagePrefix) : input.packagePrefix;
  const filters = {
    ...(input.format ? { format: input.format } : {}),
    ...(namespacePrefix !== undefined ? { namespace: namespacePrefix } : {}),
    ...(packagePrefix !== undefined ? { packagePrefix } : {}),
  };
  const allowed = await authorize(deps, input.caller, {
    action: 'ListPackages',
    resource,
    context: filters,
    request: {
      ...filters,
      ...(input.publish ? { publish: input.publish } : {}),
      ...(input.upstream ? { upstream: input.upstream } : {}),
      maxResults: input.maxResults,
      ...(input.nextToken ? { nextToken: true } : {}),
    },
  });
  const owners = await deps.store.domainOwners(input.domain);
  if (!owners.includes(domainOwner)) return allowed.refuse('not_found', new NotFoundError(`domain ${input.domain} does not exist`, 'domain', input.domain));
  const repositories = await deps.store.listRepositories(domainOwner, input.domain);
  if (!repositories.some((r) => r.name === input.repository)) {
    return allowed.refuse('not_found', new NotFoundError(`repository ${input.repository} does not exist in domain ${input.domain}`, 'repository', input.repository));
  }

  const scope = { operation: 'ListPackages', resource: resource.uid.id, ...filters, publish: input.publish, upstream: input.upstream };
  let after: PackageListQuery['after'];
  if (input.nextToken !== undefined) {
    try {
      after = toCursor(await deps.pageTokens.read(scope, input.nextToken));
    } catch (err) {
      if (err instanceof ValidationError) return allowed.refuse('rejected', err);
      throw err;
    }
  }
  const rows = await deps.store.listPackages({
    domainOwner,
    domain: input.domain,
    repository: input.repository,
    format: input.format,
    namespacePrefix,
    packagePrefix,
    publish: input.publish,
    upstream: input.upstream,
    after,
    limit: input.maxResults + 1,
  });
  const page = rows.slice(0, input.maxResults);
  const last = page[page.length - 1];
  const nextToken = rows.length > input.maxResults && last ? await deps.pageTokens.issue(scope, { f: last.format, s: last.namespace, n: last.name }) : undefined;
  // Recorded before anything is returned: a read that could not be recorded is not answered.
  await allowed.recordRead();
  return { packages: page.map((p) => packageSummary(p, p.origin)), ...(nextToken ? { nextToken } : {}) };
}

/** A token's cursor, checked: tokens are signed, so a bad shape here means a bug, still never a 500. */
function toCursor(raw: unknown): NonNullable<PackageListQuery['after']> {
  const c = raw as { f?: unknown; s?: unknown; n?: unknown } | null;
  if (typeof c?.f === 'string' && typeof c.s === 'string' && typeof c.n === 'string') return { format: c.f, namespace: c.s, name: c.n };
  throw new ValidationError('next-token does not belong to this listing');
}
