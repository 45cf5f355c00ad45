/**
 * CreateRepository (decided on its Domain), DescribeRepository, UpdateRepository and DeleteRepository
 * (on the Repository), ListRepositoriesInDomain (on the Domain) and ListRepositories (on the
 * Registry: it spans every domain). Changes commit with their audit record; the store checks again,
 * inside that transaction, what each change requires (see tenancy-store.ts).
 */
import { NotFoundError, ServiceQuotaExceededError, ValidationError } from '../errors.ts';
import { domainResource, registryResource, repositoryResource } from '../policy/entities.ts';
import type { RepositoryCursor, RepositoryDetail } from '../store/store.ts';
import type { Caller } from './caller.ts';
import type { PageTokens } from './page-token.ts';
import { domainOwnerOf } from './resolve-package.ts';
import { applyTenancy, readCursor, tenancyAuthorize, type TenancyDeps } from './tenancy-gate.ts';
import { repositoryDescription, repositorySummary } from './tenancy-view.ts';

/** CodeArtifact's quota on upstream repositories per repository. */
export const MAX_UPSTREAMS = 10;

export interface RepositoryInput {
  caller: Caller;
  domain: string;
  domainOwner?: string | undefined;
  repository: string;
}

function checkUpstreams(repository: string, upstreams: readonly string[]): void {
  if (upstreams.includes(repository)) throw new ValidationError(`repository ${repository} cannot be its own upstream`);
  const duplicate = upstreams.find((u, i) => upstreams.indexOf(u) !== i);
  if (duplicate !== undefined) throw new ValidationError(`upstream repository ${duplicate} is listed more than once`);
  if (upstreams.length > MAX_UPSTREAMS) {
    throw new ServiceQuotaExceededError(`a repository has at most ${MAX_UPSTREAMS} upstream repositories, got ${upstreams.length}`, 'repository', repository);
  }
}

export async function createRepository(deps: TenancyDeps, input: RepositoryInput & { description: string | null; upstreams: string[] }) {
  checkUpstreams(input.repository, input.upstreams);
  const owner = domainOwnerOf(deps, input.domainOwner);
  const result = await applyTenancy(
    deps,
    {
      caller: input.caller,
      action: 'CreateRepository',
      resource: domainResource(deps.region, owner, input.domain),
      context: { repository: input.repository, upstreams: input.upstreams },
      request: { domain: input.domain, repository: input.repository, upstreams: input.upstreams, ...(input.description !== null ? { description: input.description } : {}) },
    },
    { kind: 'createRepository', owner, domain: input.domain, repository: input.repository, description: input.description, upstreams: input.upstreams },
  );
  return { repository: repositoryDescription(deps.region, result.repository!) };
}

export async function describeRepository(deps: TenancyDeps, input: RepositoryInput) {
  const owner = domainOwnerOf(deps, input.domainOwner);
  const allowed = await tenancyAuthorize(deps, {
    caller: input.caller,
    action: 'DescribeRepository',
    resource: repositoryResource(deps.region, owner, input.domain, input.repository),
    request: { domain: input.domain, repository: input.repository },
  });
  const repository = await deps.store.describeRepository(owner, input.domain, input.repository);
  if (!repository) return allowed.refuse('not_found', new NotFoundError(`repository ${input.repository} does not exist in domain ${input.domain}`, 'repository', input.repository));
  await allowed.recordRead();
  return { repository: repositoryDescription(deps.region, repository) };
}

/** An absent member leaves that setting as it is; `upstreams: []` removes every upstream. */
export async function updateRepository(deps: TenancyDeps, input: RepositoryInput & { description?: string | undefined; upstreams?: string[] | undefined }) {
  if (input.upstreams !== undefined) checkUpstreams(input.repository, input.upstreams);
  const owner = domainOwnerOf(deps, input.domainOwner);
  const result = await applyTenancy(
    deps,
    {
      caller: input.caller,
      action: 'UpdateRepository',
      resource: repositoryResource(deps.region, owner, input.domain, input.repository),
      context: { description: input.description !== undefined, ...(input.upstreams !== undefined ? { upstreams: input.upstreams } : {}) },
      request: {
        domain: input.domain,
        repository: input.repository,
        ...(input.description !== undefined ? { description: input.description } : {}),
        ...(input.upstreams !== undefined ? { upstreams: input.upstreams } : {}),
      },
    },
    { kind: 'updateRepository', owner, domain: input.domain, repository: input.repository, description: input.description, upstreams: input.upstreams },
  );
  return { repository: repositoryDescription(deps.region, result.repository!) };
}

export async function deleteRepository(deps: TenancyDeps, input: RepositoryInput) {
  const owner = domainOwnerOf(deps, input.domainOwner);
  const result = await applyTenancy(
    deps,
    {
      caller: input.caller,
      action: 'DeleteRepository',
      resource: repositoryResource(deps.region, owner, input.domain, input.repository),
      request: { domain: input.domain, repository: input.repository },
    },
    { kind: 'deleteRepository', owner, domain: input.domain, repository: input.repository },
  );
  return { repository: repositoryDescription(deps.region, result.repository!) };
}

export interface ListRepositoriesInput {
  caller: Caller;
  /** ListRepositoriesInDomain: this domain. ListRepositories: absent. */
  domain?: string | undefined;
  domainOwner?: string | undefined;
  administratorAccount?: string | undefined;
  repositoryPrefix?: string | undefined;
  maxResults: number;
  nextToken?: string | undefined;
}

export async function listRepositories(deps: TenancyDeps & { pageTokens: PageTokens }, input: ListRepositoriesInput) {
  const owner = input.domain === undefined ? undefined : domainOwnerOf(deps, input.domainOwner);
  const resource = input.domain === undefined ? registryResource() : domainResource(deps.region, owner!, input.domain);
  const operation = input.domain === undefined ? 'ListRepositories' : 'ListRepositoriesInDomain';
  const allowed = await tenancyAuthorize(deps, {
    caller: input.caller,
    action: operation,
    resource,
    context: input.repositoryPrefix !== undefined ? { repositoryPrefix: input.repositoryPrefix } : {},
    request: {
      ...(input.domain !== undefined ? { domain: input.domain } : {}),
      ...(input.repositoryPrefix !== undefined ? { repositoryPrefix: input.repositoryPrefix } : {}),
      ...(input.administratorAccount !== undefined ? { administratorAccount: input.administratorAccount } : {}),
      maxResults: input.maxResults,
      ...(input.nextToken ? { nextToken: true } : {}),
    },
  });
  if (input.domain !== undefined && !(await deps.store.describeDomain(owner!, input.domain))) {
    return allowed.refuse('not_found', new NotFoundError(`domain ${input.domain} (owner ${owner}) does not exist`, 'domain', input.domain));
  }
  const scope = { operation, resource: resource.uid.id, prefix: input.repositoryPrefix, administratorAccount: input.administratorAccount };
  let after: RepositoryCursor | undefined;
  if (input.nextToken !== undefined) {
    const c = await readCursor(deps.pageTokens, allowed, scope, input.nextToken, ['o', 'd', 'n']);
    after = { domainOwner: c.o, domain: c.d, name: c.n };
  }
  // Every repository is administered by its domain's owner: another administrator account has none.
  const rows: RepositoryDetail[] =
    input.administratorAccount !== undefined && owner !== undefined && input.administratorAccount !== owner
      ? []
      : await deps.store.listRepositoryPage({
          domain: owner !== undefined ? { owner, name: input.domain! } : undefined,
          prefix: input.repositoryPrefix,
          after,
          limit: input.maxResults + 1,
        });
  const page = rows.slice(0, input.maxResults);
  const last = page[page.length - 1];
  const nextToken = rows.length > input.maxResults && last ? await deps.pageTokens.issue(scope, { o: last.domainOwner, d: last.domain, n: last.name }) : undefined;
  await allowed.recordRead();
  return { repositories: page.map((r) => repositorySummary(deps.region, r)), ...(nextToken ? { nextToken } : {}) };
}
