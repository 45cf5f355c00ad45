/**
 * The gate for domain and repository operations: the same authorize → record path as the package
 * operations (gate.ts), with a Domain, Repository or the Registry as the resource. A change is made
 * by the store together with its audit record; a refusal found inside that transaction writes
 * nothing there and is recorded on its own with its outcome, so every decision has one record.
 */
import type { CedarValueJson } from '@cedar-policy/cedar-wasm/nodejs';
import { ConflictError, NotFoundError, ValidationError, type ApiError } from '../errors.ts';
import type { CedarResource } from '../policy/entities.ts';
import type { ActionName } from '../policy/engine.ts';
import type { TenancyChange, TenancyRefusal } from '../store/store.ts';
import type { Caller } from './caller.ts';
import type { OperationDeps } from './deps.ts';
import { authorize, type Allowed } from './gate.ts';
import type { PageScope, PageTokens } from './page-token.ts';

export type TenancyDeps = OperationDeps;

export interface TenancyRequest {
  caller: Caller;
  action: ActionName;
  resource: CedarResource;
  context?: Record<string, CedarValueJson> | undefined;
  /** What was asked, for the audit record. */
  request: Record<string, unknown>;
}

export function tenancyAuthorize(deps: OperationDeps, r: TenancyRequest): Promise<Allowed> {
  return authorize(deps, r.caller, { action: r.action, resource: r.resource, context: r.context ?? {}, request: r.request });
}

/** Authorizes, then makes the change with its audit record; a refusal is recorded and thrown. */
export async function applyTenancy(deps: OperationDeps, r: TenancyRequest, change: TenancyChange) {
  const allowed = await tenancyAuthorize(deps, r);
  const result = await deps.store.applyTenancyChange(change, allowed.record('applied', 200));
  if (result.ok) return result;
  const err = refusalError(result, change);
  return allowed.refuse(err instanceof NotFoundError ? 'not_found' : 'rejected', err);
}

function refusalError(r: TenancyRefusal, c: TenancyChange): ApiError {
  const repository = 'repository' in c ? c.repository : '';
  switch (r.reason) {
    case 'domain_exists':
      return new ConflictError(`domain ${c.domain} already exists for owner ${c.owner}`, 'domain', c.domain);
    case 'domain_missing':
      return new NotFoundError(`domain ${c.domain} (owner ${c.owner}) does not exist`, 'domain', c.domain);
    case 'domain_not_empty':
      return new ConflictError(`domain ${c.domain} contains repositories; delete them first`, 'domain', c.domain);
    case 'repository_exists':
      return new ConflictError(`repository ${repository} already exists in domain ${c.domain}`, 'repository', repository);
    case 'repository_missing':
      return new NotFoundError(`repository ${repository} does not exist in domain ${c.domain}`, 'repository', repository);
    case 'upstream_missing':
      return new NotFoundError(`upstream repository ${r.upstream} does not exist in domain ${c.domain}`, 'repository', r.upstream);
    case 'repository_holds_versions':
      return new ConflictError(
        `repository ${repository} holds ${r.versions} package version(s) that are neither Deleted nor Disposed; dispose or delete them first (DisposePackageVersions, DeletePackageVersions)`,
        'repository',
        repository,
      );
    case 'repository_is_upstream':
      return new ConflictError(`repository ${repository} is an upstream of ${r.downstream.join(', ')}; remove it from their upstreams first`, 'repository', repository);
  }
}

/**
 * The cursor in a listing's nextToken, with these string fields; a token this listing did not issue
 * is a refusal after the allow (400, recorded as rejected), anything else goes up as it is.
 */
export async function readCursor<K extends string>(
  pageTokens: PageTokens,
  allowed: Allowed,
  scope: PageScope,
  token: string,
  fields: readonly K[],
): Promise<Record<K, string>> {
  let cursor: unknown;
  try {
    cursor = await pageTokens.read(scope, token);
  } catch (err) {
    if (err instanceof ValidationError) return allowed.refuse('rejected', err);
    throw err;
  }
  const c = cursor as Record<string, unknown> | null;
  // Tokens are signed, so a bad shape here means a bug; still never a 500.
  if (!fields.every((f) => typeof c?.[f] === 'string')) return allowed.refuse('rejected', new ValidationError('next-token does not belong to this listing'));
  return c as Record<K, string>;
}
