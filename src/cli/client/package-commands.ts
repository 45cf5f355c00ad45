/**
 * The client commands of the package operations, each an `aws codeartifact` command of the same name
 * with its flags, printing what that command prints: describe-package, list-packages, delete-package,
 * put-package-origin-configuration, get-package-version-readme, list-package-version-dependencies.
 */
import type { AllowPublish, AllowUpstream, PackageFormat } from '@aws-sdk/client-codeartifact';
import { ClientUsageError, type FlagSpec } from './args.ts';
import { sdk } from './sdk.ts';
import { SHAPES } from './aws-json.ts';
import { coordinates, itemShape, list, PACKAGE_FLAGS, PACKAGE_VERSION, PAGINATION_FLAGS, print, type ClientCommand } from './commands.ts';

/** The flags that name a repository (list-packages): the package flags up to the repository. */
const REPOSITORY_FLAGS: readonly FlagSpec[] = PACKAGE_FLAGS.filter((f) => ['domain', 'domain-owner', 'repository'].includes(f.name));

const RESTRICTION = (name: 'publish' | 'upstream'): FlagSpec => ({
  name,
  type: 'string',
  help: `Only packages whose origin configuration sets ${name} to this: ALLOW or BLOCK.`,
});

const listPackagesConfig = {
  resultKey: 'packages',
  nonAggregateKeys: [],
  shape: SHAPES.ListPackagesResult,
  itemShape: itemShape(SHAPES.ListPackagesResult, 'packages'),
} as const;

/** --restrictions as the aws CLI takes it: publish=BLOCK,upstream=ALLOW, or the same as JSON. */
function restrictions(value: unknown): { publish: AllowPublish; upstream: AllowUpstream } {
  const r = value as Record<string, string>;
  const unknown = Object.keys(r).filter((k) => k !== 'publish' && k !== 'upstream');
  if (unknown.length > 0) throw new ClientUsageError(`--restrictions: unknown key(s) ${unknown.join(', ')}; give publish=ALLOW|BLOCK,upstream=ALLOW|BLOCK`);
  if (r.publish === undefined || r.upstream === undefined) throw new ClientUsageError('--restrictions needs both publish and upstream, e.g. publish=BLOCK,upstream=ALLOW');
  return { publish: r.publish as AllowPublish, upstream: r.upstream as AllowUpstream };
}

export const PACKAGE_COMMANDS: readonly ClientCommand[] = [
  {
    name: 'describe-package',
    operation: 'DescribePackage',
    summary: "Describes a package: its format, namespace, name and origin configuration.",
    flags: PACKAGE_FLAGS,
    mutates: false,
    async run(ctx) {
      print(ctx, await ctx.client.send(new (sdk().DescribePackageCommand)(coordinates(ctx.values))), SHAPES.DescribePackageResult);
      return 0;
    },
  },
  {
    name: 'list-packages',
    operation: 'ListPackages',
    summary: "Lists a repository's packages, following every page unless --max-items or --no-paginate says otherwise.",
    flags: [
      ...REPOSITORY_FLAGS,
      { name: 'format', type: 'string', help: 'Only packages of this format.' },
      { name: 'namespace', type: 'string', help: 'Only packages whose namespace starts with this.' },
      { name: 'package-prefix', type: 'string', help: 'Only packages whose name starts with this.' },
      RESTRICTION('publish'),
      RESTRICTION('upstream'),
      ...PAGINATION_FLAGS,
    ],
    mutates: false,
    async run(ctx) {
      const v = ctx.values;
      return list(ctx, listPackagesConfig, (nextToken, maxResults) =>
        ctx.client.send(
          new (sdk().ListPackagesCommand)({
            domain: v.domain as string,
            domainOwner: v['domain-owner'] as string | undefined,
            repository: v.repository as string,
            format: v.format as PackageFormat | undefined,
            namespace: v.namespace as string | undefined,
            packagePrefix: v['package-prefix'] as string | undefined,
            publish: v.publish as AllowPublish | undefined,
            upstream: v.upstream as AllowUpstream | undefined,
            maxResults,
            nextToken,
          }),
        ),
      );
    },
  },
  {
    name: 'delete-package',
    operation: 'DeletePackage',
    summary: 'Deletes a package and every version it holds, whatever their status; their assets are deleted for good.',
    flags: PACKAGE_FLAGS,
    mutates: true,
    async run(ctx) {
      print(ctx, await ctx.client.send(new (sdk().DeletePackageCommand)(coordinates(ctx.values))), SHAPES.DeletePackageResult);
      return 0;
    },
  },
  {
    name: 'put-package-origin-configuration',
    operation: 'PutPackageOriginConfiguration',
    summary: "Sets a package's origin restrictions; creates the package, with no versions, if it does not exist.",
    flags: [...PACKAGE_FLAGS, { name: 'restrictions', type: 'map', required: true, help: 'publish=ALLOW|BLOCK,upstream=ALLOW|BLOCK (or the same as JSON).' }],
    mutates: true,
    async run(ctx) {
      const output = await ctx.client.send(new (sdk().PutPackageOriginConfigurationCommand)({ ...coordinates(ctx.values), restrictions: restrictions(ctx.values.restrictions) }));
      print(ctx, output, SHAPES.PutPackageOriginConfigurationResult);
      return 0;
    },
  },
  {
    name: 'get-package-version-readme',
    operation: 'GetPackageVersionReadme',
    summary: "Prints a package version's README, as its synchronisation read it from the assets.",
    flags: [...PACKAGE_FLAGS, PACKAGE_VERSION],
    mutates: false,
    async run(ctx) {
      const v = ctx.values;
      print(ctx, await ctx.client.send(new (sdk().GetPackageVersionReadmeCommand)({ ...coordinates(v), packageVersion: v['package-version'] as string })), SHAPES.GetPackageVersionReadmeResult);
      return 0;
    },
  },
  {
    name: 'list-package-version-dependencies',
    operation: 'ListPackageVersionDependencies',
    summary: "Lists a package version's direct dependencies, from its package.json or pom.",
    flags: [...PACKAGE_FLAGS, PACKAGE_VERSION, { name: 'next-token', type: 'string', help: 'The nextToken of a previous call.' }],
    mutates: false,
    async run(ctx) {
      const v = ctx.values;
      const output = await ctx.client.send(
        new (sdk().ListPackageVersionDependenciesCommand)({ ...coordinates(v), packageVersion: v['package-version'] as string, nextToken: v['next-token'] as string | undefined }),
      );
      print(ctx, output, SHAPES.ListPackageVersionDependenciesResult);
      return 0;
    },
  },
];
