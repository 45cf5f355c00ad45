/**
 * The domain and repository client commands, each an `aws codeartifact` command of the same name
 * with its flags and output: create-domain, describe-domain, list-domains, delete-domain,
 * create-repository, describe-repository, list-repositories, list-repositories-in-domain,
 * update-repository and delete-repository. They go through the API, so Cedar decides and the audit
 * records them (`versiongate domain …` / `repository …` without an endpoint write the database file
 * instead, for bootstrap: see src/cli/main.ts).
 */
import type { FlagSpec, FlagValues } from './args.ts';
import { sdk } from './sdk.ts';
import type { Shape } from './aws-json.ts';
import { itemShape, list, PAGINATION_FLAGS, print, type ClientCommand } from './commands.ts';

const struct = (...members: Array<readonly [string, Shape]>): Shape => ({ struct: members });

/** CodeArtifact's output structures, members in the model's order (the order the aws CLI prints). */
const DomainSummary = struct(['name', 'scalar'], ['owner', 'scalar'], ['arn', 'scalar'], ['status', 'scalar'], ['createdTime', 'timestamp'], ['encryptionKey', 'scalar']);
const DomainDescription = struct(
  ['name', 'scalar'],
  ['owner', 'scalar'],
  ['arn', 'scalar'],
  ['status', 'scalar'],
  ['createdTime', 'timestamp'],
  ['encryptionKey', 'scalar'],
  ['repositoryCount', 'scalar'],
  ['assetSizeBytes', 'scalar'],
  ['s3BucketArn', 'scalar'],
);
const RepositorySummary = struct(
  ['name', 'scalar'],
  ['administratorAccount', 'scalar'],
  ['domainName', 'scalar'],
  ['domainOwner', 'scalar'],
  ['arn', 'scalar'],
  ['description', 'scalar'],
  ['createdTime', 'timestamp'],
);
const RepositoryDescription = struct(
  ['name', 'scalar'],
  ['administratorAccount', 'scalar'],
  ['domainName', 'scalar'],
  ['domainOwner', 'scalar'],
  ['arn', 'scalar'],
  ['description', 'scalar'],
  ['upstreams', { list: struct(['repositoryName', 'scalar']) }],
  ['externalConnections', { list: struct(['externalConnectionName', 'scalar'], ['packageFormat', 'scalar'], ['status', 'scalar']) }],
  ['createdTime', 'timestamp'],
);
const DomainResult = struct(['domain', DomainDescription]);
const RepositoryResult = struct(['repository', RepositoryDescription]);
const ListDomainsResult = struct(['domains', { list: DomainSummary }], ['nextToken', 'scalar']);
const ListRepositoriesResult = struct(['repositories', { list: RepositorySummary }], ['nextToken', 'scalar']);

const DOMAIN: FlagSpec = { name: 'domain', type: 'string', required: true, help: 'The domain, e.g. my_domain.' };
const DOMAIN_OWNER: FlagSpec = { name: 'domain-owner', type: 'string', help: "The 12-digit account that owns the domain. Default: the gateway's account (VERSIONGATE_ACCOUNT_ID on the server)." };
const REPOSITORY: FlagSpec = { name: 'repository', type: 'string', required: true, help: 'The repository, e.g. my_repo.' };
const DESCRIPTION: FlagSpec = { name: 'description', type: 'string', help: "The repository's description (at most 1000 characters)." };
const UPSTREAMS: FlagSpec = {
  name: 'upstreams',
  type: 'list',
  member: 'repositoryName',
  help: 'Upstream repositories of the same domain, in priority order: --upstreams repositoryName=my_repo repositoryName=prod, or JSON (\'[]\' for none). Stored and described only: versiongate resolves no package through them.',
};

const domainOf = (v: FlagValues) => ({ domain: v.domain as string, domainOwner: v['domain-owner'] as string | undefined });
const repositoryOf = (v: FlagValues) => ({ ...domainOf(v), repository: v.repository as string });
const upstreamsOf = (v: FlagValues) => (v.upstreams === undefined ? undefined : (v.upstreams as string[]).map((repositoryName) => ({ repositoryName })));

const listRepositoriesConfig = { resultKey: 'repositories', nonAggregateKeys: [], shape: ListRepositoriesResult, itemShape: itemShape(ListRepositoriesResult, 'repositories') } as const;

export const TENANCY_COMMANDS: readonly ClientCommand[] = [
  {
    name: 'create-domain',
    operation: 'CreateDomain',
    summary: "Creates a domain, owned by the gateway's account (VERSIONGATE_ACCOUNT_ID).",
    // No --encryption-key and no --tags: versiongate encrypts with no KMS key and keeps no tags.
    flags: [DOMAIN],
    mutates: true,
    async run(ctx) {
      const v = ctx.values;
      const out = await ctx.client.send(new (sdk().CreateDomainCommand)({ domain: v.domain as string }));
      print(ctx, out, DomainResult);
      return 0;
    },
  },
  {
    name: 'describe-domain',
    operation: 'DescribeDomain',
    summary: 'Describes a domain: owner, ARN, status, creation time, repository count and the bytes of the assets it holds.',
    flags: [DOMAIN, DOMAIN_OWNER],
    mutates: false,
    async run(ctx) {
      print(ctx, await ctx.client.send(new (sdk().DescribeDomainCommand)(domainOf(ctx.values))), DomainResult);
      return 0;
    },
  },
  {
    name: 'list-domains',
    operation: 'ListDomains',
    summary: 'Lists every domain, following every page unless --max-items or --no-paginate says otherwise.',
    flags: [...PAGINATION_FLAGS],
    mutates: false,
    async run(ctx) {
      const config = { resultKey: 'domains', nonAggregateKeys: [], shape: ListDomainsResult, itemShape: itemShape(ListDomainsResult, 'domains') } as const;
      return list(ctx, config, (nextToken, maxResults) => ctx.client.send(new (sdk().ListDomainsCommand)({ maxResults, nextToken })));
    },
  },
  {
    name: 'delete-domain',
    operation: 'DeleteDomain',
    summary: 'Deletes a domain that holds no repository.',
    flags: [DOMAIN, DOMAIN_OWNER],
    mutates: true,
    async run(ctx) {
      print(ctx, await ctx.client.send(new (sdk().DeleteDomainCommand)(domainOf(ctx.values))), DomainResult);
      return 0;
    },
  },
  {
    name: 'create-repository',
    operation: 'CreateRepository',
    summary: 'Creates a repository in a domain.',
    flags: [DOMAIN, DOMAIN_OWNER, REPOSITORY, DESCRIPTION, UPSTREAMS],
    mutates: true,
    async run(ctx) {
      const v = ctx.values;
      const out = await ctx.client.send(
        new (sdk().CreateRepositoryCommand)({ ...repositoryOf(v), description: v.description as string | undefined, upstreams: upstreamsOf(v) }),
      );
      print(ctx, out, RepositoryResult);
      return 0;
    },
  },
  {
    name: 'describe-repository',
    operation: 'DescribeRepository',
    summary: 'Describes a repository: ARN, administrator account, description, upstreams, creation time.',
    flags: [DOMAIN, DOMAIN_OWNER, REPOSITORY],
    mutates: false,
    async run(ctx) {
      print(ctx, await ctx.client.send(new (sdk().DescribeRepositoryCommand)(repositoryOf(ctx.values))), RepositoryResult);
      return 0;
    },
  },
  {
    name: 'update-repository',
    operation: 'UpdateRepository',
    summary: 'Changes the description and/or replaces the upstreams of a repository; what is not given stays as it is.',
    flags: [DOMAIN, DOMAIN_OWNER, REPOSITORY, DESCRIPTION, UPSTREAMS],
    mutates: true,
    async run(ctx) {
      const v = ctx.values;
      const out = await ctx.client.send(new (sdk().UpdateRepositoryCommand)({ ...repositoryOf(v), description: v.description as string | undefined, upstreams: upstreamsOf(v) }));
      print(ctx, out, RepositoryResult);
      return 0;
    },
  },
  {
    name: 'delete-repository',
    operation: 'DeleteRepository',
    summary: 'Deletes a repository whose versions are all Deleted or Disposed and that no repository names as an upstream.',
    flags: [DOMAIN, DOMAIN_OWNER, REPOSITORY],
    mutates: true,
    async run(ctx) {
      print(ctx, await ctx.client.send(new (sdk().DeleteRepositoryCommand)(repositoryOf(ctx.values))), RepositoryResult);
      return 0;
    },
  },
  {
    name: 'list-repositories',
    operation: 'ListRepositories',
    summary: 'Lists the repositories of every domain, following every page unless --max-items or --no-paginate says otherwise.',
    flags: [{ name: 'repository-prefix', type: 'string', help: 'Only repositories whose name starts with this.' }, ...PAGINATION_FLAGS],
    mutates: false,
    async run(ctx) {
      const prefix = ctx.values['repository-prefix'] as string | undefined;
      return list(ctx, listRepositoriesConfig, (nextToken, maxResults) => ctx.client.send(new (sdk().ListRepositoriesCommand)({ repositoryPrefix: prefix, maxResults, nextToken })));
    },
  },
  {
    name: 'list-repositories-in-domain',
    operation: 'ListRepositoriesInDomain',
    summary: "Lists a domain's repositories, following every page unless --max-items or --no-paginate says otherwise.",
    flags: [
      DOMAIN,
      DOMAIN_OWNER,
      { name: 'administrator-account', type: 'string', help: 'Only repositories administered by this account (in versiongate, the domain owner).' },
      { name: 'repository-prefix', type: 'string', help: 'Only repositories whose name starts with this.' },
      ...PAGINATION_FLAGS,
    ],
    mutates: false,
    async run(ctx) {
      const v = ctx.values;
      return list(ctx, listRepositoriesConfig, (nextToken, maxResults) =>
        ctx.client.send(
          new (sdk().ListRepositoriesInDomainCommand)({
            ...domainOf(v),
            administratorAccount: v['administrator-account'] as string | undefined,
            repositoryPrefix: v['repository-prefix'] as string | undefined,
            maxResults,
            nextToken,
          }),
        ),
      );
    },
  },
];
