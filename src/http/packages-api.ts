/**
 * CodeArtifact's package operations over REST-JSON, as the AWS SDK calls them: DescribePackage,
 * ListPackages, DeletePackage, PutPackageOriginConfiguration, GetPackageVersionReadme and
 * ListPackageVersionDependencies. Handlers validate and translate; the operations decide.
 */
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { deletePackage } from '../operations/delete-package.ts';
import type { PackageApiDeps } from '../operations/deps.ts';
import { describePackage } from '../operations/describe-package.ts';
import { listPackages } from '../operations/list-packages.ts';
import { putPackageOrigin } from '../operations/put-package-origin.ts';
import { getVersionReadme, listVersionDependencies } from '../operations/version-metadata.ts';
import { checkDomainName, checkDomainOwner, checkFormat, checkRepositoryName, parseVersion, type PackageCoordinates } from '../resource/coordinates.ts';
import { FORMATS } from '../resource/formats.ts';
import { repositoryArn } from '../resource/package-arn.ts';
import type { AppEnv } from './app-env.ts';
import { MAX_PAGE } from './package-api.ts';
import { arnHint, coordinatesFrom, packageQuerySchema } from './package-query.ts';
import { errorResponses } from './version-api.ts';

const RESTRICTIONS = ['ALLOW', 'BLOCK'] as const;
/** CodeArtifact's PackageName / PackageNamespace pattern, for the prefixes ListPackages filters by. */
const prefixField = z.string().min(1).max(255).regex(/^[^#/\s]+$/, 'must be 1 to 255 characters without #, / or whitespace');

const listPackagesQuery = z.object({
  domain: packageQuerySchema.shape.domain,
  'domain-owner': packageQuerySchema.shape['domain-owner'],
  repository: packageQuerySchema.shape.repository,
  format: z.string().optional().openapi({ description: `Only packages of this format: one of ${FORMATS.join(', ')}.` }),
  namespace: prefixField.optional().openapi({ description: 'Only packages whose namespace starts with this (a prefix, as in CodeArtifact).' }),
  'package-prefix': prefixField.optional().openapi({ description: 'Only packages whose name starts with this.' }),
  publish: z.enum(RESTRICTIONS).optional().openapi({ description: "Only packages whose origin configuration's publish restriction is this." }),
  upstream: z.enum(RESTRICTIONS).optional().openapi({ description: "Only packages whose origin configuration's upstream restriction is this." }),
  'max-results': z.coerce.number().int().min(1).max(MAX_PAGE).default(50).openapi({ example: 50, description: 'Results per page.' }),
  'next-token': z.string().min(1).optional().openapi({ description: "The previous page's nextToken." }),
});
const versionQuery = packageQuerySchema.extend({ version: z.string().openapi({ example: '8.0.0' }) });
const dependenciesQuery = versionQuery.extend({ 'next-token': z.string().min(1).optional() });

const restrictions = z.object({ publish: z.enum(RESTRICTIONS), upstream: z.enum(RESTRICTIONS) }).strict();
const originConfiguration = z.object({ restrictions: z.object({ publish: z.enum(RESTRICTIONS), upstream: z.enum(RESTRICTIONS) }) });
const putOriginBody = z.object({ restrictions }).strict().openapi('PutPackageOriginConfigurationRequest');
const packageSummary = z.object({ format: z.string(), namespace: z.string().optional(), package: z.string(), originConfiguration }).openapi('PackageSummary');

const describeResult = z
  .object({ package: z.object({ format: z.string(), namespace: z.string().optional(), name: z.string(), originConfiguration }) })
  .openapi('DescribePackageResult');
const listResult = z.object({ packages: z.array(packageSummary), nextToken: z.string().optional() }).openapi('ListPackagesResult');
const deleteResult = z.object({ deletedPackage: packageSummary }).openapi('DeletePackageResult');
const putOriginResult = z.object({ originConfiguration }).openapi('PutPackageOriginConfigurationResult');
const versionMembers = { format: z.string(), namespace: z.string().optional(), package: z.string(), version: z.string(), versionRevision: z.string() };
const readmeResult = z.object({ ...versionMembers, readme: z.string().optional() }).openapi('GetPackageVersionReadmeResult');
const dependenciesResult = z
  .object({
    ...versionMembers,
    dependencies: z.array(z.object({ namespace: z.string().optional(), package: z.string(), dependencyType: z.string().optional(), versionRequirement: z.string().optional() })),
    nextToken: z.string().optional(),
  })
  .openapi('ListPackageVersionDependenciesResult');

const json = (schema: z.ZodType, description: string) => ({ 200: { description, content: { 'application/json': { schema } } }, ...errorResponses });

const describeRoute = createRoute({
  method: 'get',
  path: '/v1/package',
  operationId: 'DescribePackage',
  summary: "A package: its format, namespace, name and origin configuration.",
  request: { query: packageQuerySchema },
  responses: json(describeResult, 'The package'),
});
const listRoute = createRoute({
  method: 'post',
  path: '/v1/packages',
  operationId: 'ListPackages',
  summary: "A repository's packages, a page at a time, by format, namespace and name.",
  request: { query: listPackagesQuery },
  responses: json(listResult, 'A page of packages'),
});
const deleteRoute = createRoute({
  method: 'delete',
  path: '/v1/package',
  operationId: 'DeletePackage',
  summary: 'Delete a package and every version it holds, whatever their status: their assets are deleted for good.',
  request: { query: packageQuerySchema },
  responses: json(deleteResult, 'The deleted package'),
});
const putOriginRoute = createRoute({
  method: 'post',
  path: '/v1/package',
  operationId: 'PutPackageOriginConfiguration',
  summary: "Set a package's origin restrictions (publish, upstream: ALLOW or BLOCK); creates the package, with no versions, if needed.",
  request: { query: packageQuerySchema, body: { required: true, content: { 'application/json': { schema: putOriginBody } } } },
  responses: json(putOriginResult, 'The origin configuration now in force'),
});
const readmeRoute = createRoute({
  method: 'get',
  path: '/v1/package/version/readme',
  operationId: 'GetPackageVersionReadme',
  summary: "A version's README, as its last completed synchronisation read it from the assets.",
  request: { query: versionQuery },
  responses: json(readmeResult, 'The README'),
});
const dependenciesRoute = createRoute({
  method: 'post',
  path: '/v1/package/version/dependencies',
  operationId: 'ListPackageVersionDependencies',
  summary: "A version's direct dependencies, from the manifest (package.json, pom) its last completed synchronisation read.",
  request: { query: dependenciesQuery },
  responses: json(dependenciesResult, 'The dependencies'),
});

export function packagesApi(deps: PackageApiDeps, app: OpenAPIHono<AppEnv>): void {
  /** The caller, once the query is known to be valid (a request that is not even valid is never authenticated). */
  const callerFor = (c: Context<AppEnv>, coordinates: PackageCoordinates, action: string) => c.var.caller(action, arnHint(deps.region, coordinates));

  app.openapi(describeRoute, async (c) => {
    const coordinates = coordinatesFrom(c.req.valid('query'));
    return c.json(await describePackage(deps, { coordinates, caller: await callerFor(c, coordinates, 'DescribePackage') }), 200);
  });

  app.openapi(listRoute, async (c) => {
    const q = c.req.valid('query');
    const domain = checkDomainName(q.domain);
    const domainOwner = q['domain-owner'] === undefined ? undefined : checkDomainOwner(q['domain-owner']);
    const repository = checkRepositoryName(q.repository);
    const format = q.format === undefined ? undefined : checkFormat(q.format);
    const caller = await c.var.caller('ListPackages', domainOwner ? repositoryArn(deps.region, domainOwner, domain, repository) : null);
    const result = await listPackages(deps, {
      caller,
      domain,
      domainOwner,
      repository,
      format,
      namespace: q.namespace,
      packagePrefix: q['package-prefix'],
      publish: q.publish,
      upstream: q.upstream,
      maxResults: q['max-results'],
      nextToken: q['next-token'],
    });
    return c.json(result, 200);
  });

  app.openapi(deleteRoute, async (c) => {
    const coordinates = coordinatesFrom(c.req.valid('query'));
    return c.json(await deletePackage(deps, { coordinates, caller: await callerFor(c, coordinates, 'DeletePackage') }), 200);
  });

  app.openapi(putOriginRoute, async (c) => {
    const coordinates = coordinatesFrom(c.req.valid('query'));
    const body = c.req.valid('json') as z.infer<typeof putOriginBody>;
    const caller = await callerFor(c, coordinates, 'PutPackageOriginConfiguration');
    return c.json(await putPackageOrigin(deps, { coordinates, caller, restrictions: body.restrictions }), 200);
  });

  app.openapi(readmeRoute, async (c) => {
    const q = c.req.valid('query');
    const coordinates = coordinatesFrom(q);
    const version = parseVersion(coordinates.format, q.version);
    return c.json(await getVersionReadme(deps, { coordinates, caller: await callerFor(c, coordinates, 'GetPackageVersionReadme'), version }), 200);
  });

  app.openapi(dependenciesRoute, async (c) => {
    const q = c.req.valid('query');
    const coordinates = coordinatesFrom(q);
    const version = parseVersion(coordinates.format, q.version);
    const caller = await callerFor(c, coordinates, 'ListPackageVersionDependencies');
    return c.json(await listVersionDependencies(deps, { coordinates, caller, version, nextToken: q['next-token'] }), 200);
  });
}
