/**
 * CodeArtifact's domain and repository operations over REST-JSON, at the methods, paths and query
 * names of its service model: CreateDomain, DescribeDomain, ListDomains, DeleteDomain,
 * CreateRepository, DescribeRepository, ListRepositories, ListRepositoriesInDomain, UpdateRepository
 * and DeleteRepository. Handlers validate and translate; the operations decide.
 */
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { ValidationError } from '../errors.ts';
import type { PageTokens } from '../operations/page-token.ts';
import { createDomain, deleteDomain, describeDomain, listDomains } from '../operations/tenancy-domains.ts';
import type { TenancyDeps } from '../operations/tenancy-gate.ts';
import { createRepository, deleteRepository, describeRepository, listRepositories, updateRepository } from '../operations/tenancy-repositories.ts';
import { domainArn, repositoryArn } from '../resource/package-arn.ts';
import { checkDomainName, checkDomainOwner, checkRepositoryName } from '../resource/coordinates.ts';
import type { AppEnv } from './app-env.ts';
import { MAX_PAGE } from './package-api.ts';
import { errorResponses } from './version-api.ts';

export type TenancyApiDeps = TenancyDeps & { pageTokens: PageTokens };

const domainField = z.string().openapi({ example: 'my_domain' });
const ownerField = z.string().optional().openapi({ example: '111122223333', description: '12-digit account id that owns the domain.' });
const repositoryField = z.string().openapi({ example: 'my_repo' });
const maxResults = z.coerce.number().int().min(1).max(MAX_PAGE).default(50);
const nextToken = z.string().min(1).max(2000).optional();

const domainQuery = z.object({ domain: domainField, 'domain-owner': ownerField });
const repositoryQuery = domainQuery.extend({ repository: repositoryField });
const listRepositoriesQuery = z.object({ 'repository-prefix': z.string().optional(), 'max-results': maxResults, 'next-token': nextToken });
const listInDomainQuery = domainQuery.extend({ 'administrator-account': z.string().optional(), ...listRepositoriesQuery.shape });

/** Description: at most 1000 characters, none of them a control character (the model's \P{C}*). */
const descriptionField = z
  .string()
  .max(1000)
  .refine((s) => !/\p{C}/u.test(s), 'must not contain control characters')
  .openapi({ example: 'Releases promoted from staging' });
const upstreamsField = z.array(z.object({ repositoryName: z.string() }).strict()).openapi({ description: 'Stored and described only: versiongate resolves no package through upstreams.' });
const tagsField = z.array(z.object({ key: z.string(), value: z.string() }).strict()).max(200).optional();

const createDomainBody = z.object({ encryptionKey: z.string().optional(), tags: tagsField }).strict().openapi('CreateDomainRequest');
const listDomainsBody = z.object({ maxResults: z.number().int().min(1).max(MAX_PAGE).optional(), nextToken }).strict().openapi('ListDomainsRequest');
const createRepositoryBody = z.object({ description: descriptionField.optional(), upstreams: upstreamsField.optional(), tags: tagsField }).strict().openapi('CreateRepositoryRequest');
const updateRepositoryBody = z.object({ description: descriptionField.optional(), upstreams: upstreamsField.optional() }).strict().openapi('UpdateRepositoryRequest');

const domainSummary = { name: z.string(), owner: z.string(), arn: z.string(), status: z.enum(['Active', 'Deleted']), createdTime: z.number().openapi({ description: 'Epoch seconds.' }) };
const domainDescription = z.object({ ...domainSummary, repositoryCount: z.number().int(), assetSizeBytes: z.number().int() }).openapi('DomainDescription');
const repositorySummary = {
  name: z.string(),
  administratorAccount: z.string(),
  domainName: z.string(),
  domainOwner: z.string(),
  arn: z.string(),
  description: z.string().optional(),
  createdTime: z.number().openapi({ description: 'Epoch seconds.' }),
};
const repositoryDescription = z
  .object({ ...repositorySummary, upstreams: z.array(z.object({ repositoryName: z.string() })), externalConnections: z.array(z.object({})).openapi({ description: 'Always empty: versiongate has no external connections.' }) })
  .openapi('RepositoryDescription');

const domainResult = z.object({ domain: domainDescription });
const repositoryResult = z.object({ repository: repositoryDescription });
const json = (schema: z.ZodType, description: string) => ({ 200: { description, content: { 'application/json': { schema } } }, ...errorResponses });
const body = (schema: z.ZodType, required: boolean) => ({ required, content: { 'application/json': { schema } } });

const createDomainRoute = createRoute({
  method: 'post',
  path: '/v1/domain',
  operationId: 'CreateDomain',
  summary: "Creates a domain owned by the gateway's account (VERSIONGATE_ACCOUNT_ID). encryptionKey and tags are refused: versiongate has neither.",
  request: { query: z.object({ domain: domainField }), body: body(createDomainBody, false) },
  responses: json(domainResult, 'The new domain'),
});
const describeDomainRoute = createRoute({
  method: 'get',
  path: '/v1/domain',
  operationId: 'DescribeDomain',
  summary: 'A domain: owner, ARN, status, creation time, repository count and the bytes of the assets it holds.',
  request: { query: domainQuery },
  responses: json(domainResult, 'The domain'),
});
const deleteDomainRoute = createRoute({
  method: 'delete',
  path: '/v1/domain',
  operationId: 'DeleteDomain',
  summary: 'Deletes a domain that holds no repository (409 otherwise).',
  request: { query: domainQuery },
  responses: json(domainResult, 'The deleted domain'),
});
const listDomainsRoute = createRoute({
  method: 'post',
  path: '/v1/domains',
  operationId: 'ListDomains',
  summary: 'Every domain, a page at a time (maxResults and nextToken in the body, as CodeArtifact has them).',
  request: { body: body(listDomainsBody, false) },
  responses: json(z.object({ domains: z.array(z.object(domainSummary)), nextToken: z.string().optional() }).openapi('ListDomainsResult'), 'A page of domains'),
});
const createRepositoryRoute = createRoute({
  method: 'post',
  path: '/v1/repository',
  operationId: 'CreateRepository',
  summary: 'Creates a repository in a domain, with a description and upstream repositories of the same domain (stored and described only). tags are refused.',
  request: { query: repositoryQuery, body: body(createRepositoryBody, false) },
  responses: json(repositoryResult, 'The new repository'),
});
const describeRepositoryRoute = createRoute({
  method: 'get',
  path: '/v1/repository',
  operationId: 'DescribeRepository',
  summary: 'A repository: ARN, administrator account, description, upstreams, creation time.',
  request: { query: repositoryQuery },
  responses: json(repositoryResult, 'The repository'),
});
const updateRepositoryRoute = createRoute({
  method: 'put',
  path: '/v1/repository',
  operationId: 'UpdateRepository',
  summary: 'Changes the description and/or replaces the upstreams; a member left out stays as it is.',
  request: { query: repositoryQuery, body: body(updateRepositoryBody, false) },
  responses: json(repositoryResult, 'The repository as updated'),
});
const deleteRepositoryRoute = createRoute({
  method: 'delete',
  path: '/v1/repository',
  operationId: 'DeleteRepository',
  summary: 'Deletes a repository whose versions are all Deleted or Disposed, and that no repository names as an upstream (409 otherwise).',
  request: { query: repositoryQuery },
  responses: json(repositoryResult, 'The deleted repository'),
});
const listResult = z.object({ repositories: z.array(z.object(repositorySummary)), nextToken: z.string().optional() });
const listRepositoriesRoute = createRoute({
  method: 'post',
  path: '/v1/repositories',
  operationId: 'ListRepositories',
  summary: 'Every repository of every domain, a page at a time, optionally only those whose name starts with repository-prefix.',
  request: { query: listRepositoriesQuery },
  responses: json(listResult.openapi('ListRepositoriesResult'), 'A page of repositories'),
});
const listInDomainRoute = createRoute({
  method: 'post',
  path: '/v1/domain/repositories',
  operationId: 'ListRepositoriesInDomain',
  summary: "A domain's repositories, a page at a time.",
  request: { query: listInDomainQuery },
  responses: json(listResult.openapi('ListRepositoriesInDomainResult'), 'A page of repositories'),
});

interface DomainQuery {
  domain: string;
  'domain-owner'?: string | undefined;
}

function checkDomain(q: DomainQuery) {
  return { domain: checkDomainName(q.domain), domainOwner: q['domain-owner'] === undefined ? undefined : checkDomainOwner(q['domain-owner']) };
}

function checkRepository(q: DomainQuery & { repository: string }) {
  return { ...checkDomain(q), repository: checkRepositoryName(q.repository) };
}

function checkUpstreamNames(upstreams: ReadonlyArray<{ repositoryName: string }> | undefined): string[] | undefined {
  return upstreams?.map((u) => checkRepositoryName(u.repositoryName));
}

/** versiongate keeps no tags and encrypts with no KMS key: accepting them would pretend it did. */
function refuseUnsupported(b: { encryptionKey?: string | undefined; tags?: unknown[] | undefined }): void {
  if (b.encryptionKey !== undefined) throw new ValidationError('encryptionKey is not supported: versiongate does not encrypt with AWS KMS keys');
  if (b.tags !== undefined && b.tags.length > 0) throw new ValidationError('tags are not supported: versiongate keeps no resource tags');
}

/** The ARN a request aims at when it names the owner; for the audit of a token that fails. */
function hint(region: string, owner: string | undefined, domain: string, repository?: string): string | null {
  if (owner === undefined) return null;
  return repository === undefined ? domainArn(region, owner, domain) : repositoryArn(region, owner, domain, repository);
}

export function tenancyApi(deps: TenancyApiDeps, app: OpenAPIHono<AppEnv>): void {
  app.openapi(createDomainRoute, async (c) => {
    const domain = checkDomainName(c.req.valid('query').domain);
    refuseUnsupported(c.req.valid('json') ?? {});
    const caller = await c.var.caller('CreateDomain', domainArn(deps.region, deps.accountId, domain));
    return c.json(await createDomain(deps, { caller, domain }), 200);
  });

  app.openapi(describeDomainRoute, async (c) => {
    const q = checkDomain(c.req.valid('query'));
    const caller = await c.var.caller('DescribeDomain', hint(deps.region, q.domainOwner, q.domain));
    return c.json(await describeDomain(deps, { caller, ...q }), 200);
  });

  app.openapi(deleteDomainRoute, async (c) => {
    const q = checkDomain(c.req.valid('query'));
    const caller = await c.var.caller('DeleteDomain', hint(deps.region, q.domainOwner, q.domain));
    return c.json(await deleteDomain(deps, { caller, ...q }), 200);
  });

  app.openapi(listDomainsRoute, async (c) => {
    const b: z.infer<typeof listDomainsBody> = c.req.valid('json') ?? {};
    const caller = await c.var.caller('ListDomains', 'Registry::"versiongate"');
    return c.json(await listDomains(deps, { caller, maxResults: b.maxResults ?? 50, nextToken: b.nextToken }), 200);
  });

  app.openapi(createRepositoryRoute, async (c) => {
    const q = checkRepository(c.req.valid('query'));
    const b: z.infer<typeof createRepositoryBody> = c.req.valid('json') ?? {};
    refuseUnsupported(b);
    const upstreams = checkUpstreamNames(b.upstreams) ?? [];
    // The repository it would create, as its applied or denied record is scoped: a refused token's record goes to that repository's readers too.
    const caller = await c.var.caller('CreateRepository', hint(deps.region, q.domainOwner, q.domain, q.repository));
    return c.json(await createRepository(deps, { caller, ...q, description: b.description ?? null, upstreams }), 200);
  });

  app.openapi(describeRepositoryRoute, async (c) => {
    const q = checkRepository(c.req.valid('query'));
    const caller = await c.var.caller('DescribeRepository', hint(deps.region, q.domainOwner, q.domain, q.repository));
    return c.json(await describeRepository(deps, { caller, ...q }), 200);
  });

  app.openapi(updateRepositoryRoute, async (c) => {
    const q = checkRepository(c.req.valid('query'));
    const b: z.infer<typeof updateRepositoryBody> = c.req.valid('json') ?? {};
    const upstreams = checkUpstreamNames(b.upstreams);
    const caller = await c.var.caller('UpdateRepository', hint(deps.region, q.domainOwner, q.domain, q.repository));
    return c.json(await updateRepository(deps, { caller, ...q, description: b.description, upstreams }), 200);
  });

  app.openapi(deleteRepositoryRoute, async (c) => {
    const q = checkRepository(c.req.valid('query'));
    const caller = await c.var.caller('DeleteRepository', hint(deps.region, q.domainOwner, q.domain, q.repository));
    return c.json(await deleteRepository(deps, { caller, ...q }), 200);
  });

  app.openapi(listRepositoriesRoute, async (c) => {
    const q = c.req.valid('query');
    const prefix = q['repository-prefix'] === undefined ? undefined : checkRepositoryName(q['repository-prefix']);
    const caller = await c.var.caller('ListRepositories', 'Registry::"versiongate"');
    return c.json(await listRepositories(deps, { caller, repositoryPrefix: prefix, maxResults: q['max-results'], nextToken: q['next-token'] }), 200);
  });

  app.openapi(listInDomainRoute, async (c) => {
    const q = c.req.valid('query');
    const d = checkDomain(q);
    const prefix = q['repository-prefix'] === undefined ? undefined : checkRepositoryName(q['repository-prefix']);
    const administratorAccount = q['administrator-account'] === undefined ? undefined : checkAccount(q['administrator-account']);
    const caller = await c.var.caller('ListRepositoriesInDomain', hint(deps.region, d.domainOwner, d.domain));
    return c.json(
      await listRepositories(deps, { caller, ...d, administratorAccount, repositoryPrefix: prefix, maxResults: q['max-results'], nextToken: q['next-token'] }),
      200,
    );
  });
}

function checkAccount(account: string): string {
  if (!/^[0-9]{12}$/.test(account)) throw new ValidationError('administrator-account must be a 12-digit account id');
  return account;
}
