/**
 * CreateDomain, DescribeDomain, ListDomains and DeleteDomain. Each is decided by Cedar on the Domain
 * (ListDomains on the Registry, since it spans every domain) and audited; changes commit with their
 * audit record.
 */
import { NotFoundError } from '../errors.ts';
import { domainResource, registryResource } from '../policy/entities.ts';
import { domainOwnerOf } from './resolve-package.ts';
import type { Caller } from './caller.ts';
import type { PageTokens } from './page-token.ts';
import { applyTenancy, readCursor, tenancyAuthorize, type TenancyDeps } from './tenancy-gate.ts';
import { domainDescription, domainSummary } from './tenancy-view.ts';

export interface DomainInput {
  caller: Caller;
  domain: string;
  /** Absent: the gateway's account (as for the package operations). */
  domainOwner?: string | undefined;
}

export async function createDomain(deps: TenancyDeps, input: { caller: Caller; domain: string }) {
  const owner = deps.accountId;
  const result = await applyTenancy(
    deps,
    { caller: input.caller, action: 'CreateDomain', resource: domainResource(deps.region, owner, input.domain), request: { domain: input.domain } },
    { kind: 'createDomain', owner, domain: input.domain },
  );
  return { domain: domainDescription(deps.region, result.domain) };
}

export async function describeDomain(deps: TenancyDeps, input: DomainInput) {
  const owner = domainOwnerOf(deps, input.domainOwner);
  const allowed = await tenancyAuthorize(deps, { caller: input.caller, action: 'DescribeDomain', resource: domainResource(deps.region, owner, input.domain), request: { domain: input.domain } });
  const domain = await deps.store.describeDomain(owner, input.domain);
  if (!domain) return allowed.refuse('not_found', new NotFoundError(`domain ${input.domain} (owner ${owner}) does not exist`, 'domain', input.domain));
  await allowed.recordRead();
  return { domain: domainDescription(deps.region, domain) };
}

export async function deleteDomain(deps: TenancyDeps, input: DomainInput) {
  const owner = domainOwnerOf(deps, input.domainOwner);
  const result = await applyTenancy(
    deps,
    { caller: input.caller, action: 'DeleteDomain', resource: domainResource(deps.region, owner, input.domain), request: { domain: input.domain } },
    { kind: 'deleteDomain', owner, domain: input.domain },
  );
  return { domain: domainDescription(deps.region, result.domain, 'Deleted') };
}

export async function listDomains(deps: TenancyDeps & { pageTokens: PageTokens }, input: { caller: Caller; maxResults: number; nextToken?: string | undefined }) {
  const allowed = await tenancyAuthorize(deps, {
    caller: input.caller,
    action: 'ListDomains',
    resource: registryResource(),
    request: { maxResults: input.maxResults, ...(input.nextToken ? { nextToken: true } : {}) },
  });
  const scope = { operation: 'ListDomains', resource: 'Registry::"versiongate"' };
  let after: { owner: string; name: string } | undefined;
  if (input.nextToken !== undefined) {
    const c = await readCursor(deps.pageTokens, allowed, scope, input.nextToken, ['o', 'n']);
    after = { owner: c.o, name: c.n };
  }
  const rows = await deps.store.listDomainPage(after, input.maxResults + 1);
  const page = rows.slice(0, input.maxResults);
  const last = page[page.length - 1];
  const nextToken = rows.length > input.maxResults && last ? await deps.pageTokens.issue(scope, { o: last.owner, n: last.name }) : undefined;
  await allowed.recordRead();
  return { domains: page.map((d) => domainSummary(deps.region, d)), ...(nextToken ? { nextToken } : {}) };
}
