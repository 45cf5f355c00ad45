/**
 * CodeArtifact's read operations over REST-JSON, as the AWS SDK calls them: ListPackageVersions,
 * DescribePackageVersion, ListPackageVersionAssets and GetPackageVersionAsset (which streams the
 * asset's bytes). Handlers validate and translate; the operations decide.
 */
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { describeVersion } from '../operations/describe-version.ts';
import type { PackageApiDeps } from '../operations/deps.ts';
import { getAsset } from '../operations/get-asset.ts';
import { listAssets } from '../operations/list-assets.ts';
import { INCLUDE_WORDS, type IncludeWord, listVersions, ORIGIN_TYPES, SORT_TYPES } from '../operations/list-versions.ts';
import { VERSION_STATUSES } from '../registry/statuses.ts';
import { parseAssetName } from '../resource/asset-name.ts';
import { checkRevision, parseVersion, type PackageCoordinates } from '../resource/coordinates.ts';
import type { AppEnv } from './app-env.ts';
import { arnHint, coordinatesFrom, packageQuerySchema } from './package-query.ts';
import { statusSchema } from './resync-api.ts';
import { errorResponses } from './version-api.ts';

/** CodeArtifact's page sizes: 1 to 1000, 50 by default. */
export const MAX_PAGE = 1000;
const pageFields = {
  'max-results': z.coerce.number().int().min(1).max(MAX_PAGE).default(50).openapi({ example: 50, description: 'Results per page.' }),
  'next-token': z.string().min(1).optional().openapi({ description: "The previous page's nextToken." }),
};
const versionField = z.string().openapi({ example: '4.1.0' });

/** Unknown words named in the message at most, each cut to this length (the query is the caller's text). */
const NAMED_UNKNOWN = { words: 5, chars: 64 };

/**
 * `include`, versiongate's extension of ListPackageVersions (the AWS SDK and CLI never send it): a
 * comma-separated subset of INCLUDE_WORDS, each word once in the result. A word it does not know is
 * refused rather than ignored: a misspelt one would otherwise answer a listing without what was asked.
 */
const includeField = z
  .string()
  .transform((raw, ctx): IncludeWord[] => {
    const words = raw.split(',');
    const unknown = [...new Set(words.filter((w) => !(INCLUDE_WORDS as readonly string[]).includes(w)))];
    if (unknown.length > 0) {
      const named = unknown.slice(0, NAMED_UNKNOWN.words).map((w) => JSON.stringify(w.slice(0, NAMED_UNKNOWN.chars)));
      const more = unknown.length > NAMED_UNKNOWN.words ? ` and ${unknown.length - NAMED_UNKNOWN.words} more` : '';
      ctx.addIssue({ code: 'custom', message: `unknown word(s) ${named.join(', ')}${more}: include takes ${INCLUDE_WORDS.join(' and ')}, separated by commas` });
      return z.NEVER;
    }
    return INCLUDE_WORDS.filter((w) => words.includes(w));
  })
  .optional()
  .openapi({
    type: 'string',
    example: 'publishedTime,sync',
    description:
      "versiongate's extension: what each version also carries, comma-separated. publishedTime: epoch seconds, as DescribePackageVersion answers it; sync: the sync state, as GET /v1/packages/{owner}/{repo}/{identifier}/status/ answers it. One decision and one audit record for the whole page; Cedar's context has `include`.",
  });

const listVersionsQuery = packageQuerySchema.extend({
  status: z.enum(VERSION_STATUSES).optional().openapi({ description: 'Only versions with this status. Without it, every version except Unlisted (and Deleted) ones.' }),
  sortBy: z.enum(SORT_TYPES).optional().openapi({ description: 'PUBLISHED_TIME: newest first. Without it, by version string.' }),
  originType: z.enum(ORIGIN_TYPES).optional(),
  ...pageFields,
  include: includeField,
});
const versionQuery = packageQuerySchema.extend({ version: versionField });
const listAssetsQuery = versionQuery.extend(pageFields);
const getAssetQuery = versionQuery.extend({
  asset: z.string().openapi({ example: 'chalk-4.1.0.tgz' }),
  revision: z.string().optional().openapi({ description: 'Refuse unless the version currently has this revision.' }),
});

/** versiongate's own member: the AWS SDK skips members it does not know. */
const identifierField = z.string().openapi({ example: '7jvagMH9vk7u', description: "The version's permanent identifier (12 base62 characters), for the /v1/packages/{owner}/{repo}/{identifier}/ paths." });
const origin = z.object({ domainEntryPoint: z.object({ repositoryName: z.string() }), originType: z.enum(ORIGIN_TYPES) });
const hashes = z.object({ MD5: z.string(), 'SHA-1': z.string(), 'SHA-256': z.string(), 'SHA-512': z.string() });
export const assetSummarySchema = z.object({ name: z.string(), size: z.number().int(), hashes }).openapi('AssetSummary');
const packageMembers = { format: z.string(), namespace: z.string().optional(), package: z.string() };

const listVersionsResult = z
  .object({
    defaultDisplayVersion: z.string().optional(),
    ...packageMembers,
    versions: z.array(
      z.object({
        version: z.string(),
        identifier: identifierField,
        revision: z.string(),
        status: z.enum(VERSION_STATUSES),
        origin,
        // versiongate's own, only with include: the AWS SDK skips members it does not know.
        publishedTime: z.number().optional().openapi({ description: 'With include=publishedTime: epoch seconds.' }),
        sync: statusSchema.optional().openapi({ description: 'With include=sync: the sync state.' }),
      }),
    ),
    nextToken: z.string().optional(),
  })
  .openapi('ListPackageVersionsResult');
const describeResult = z
  .object({
    packageVersion: z.object({
      format: z.string(),
      namespace: z.string().optional(),
      packageName: z.string(),
      displayName: z.string(),
      version: z.string(),
      identifier: identifierField,
      publishedTime: z.number().openapi({ description: 'Epoch seconds.' }),
      revision: z.string(),
      status: z.enum(VERSION_STATUSES),
      origin,
      summary: z.string().optional().openapi({ description: 'From the last completed sync: the manifest description.' }),
      homePage: z.string().optional(),
      sourceCodeRepository: z.string().optional(),
      licenses: z.array(z.object({ name: z.string() })).optional(),
    }),
  })
  .openapi('DescribePackageVersionResult');
const listAssetsResult = z
  .object({ ...packageMembers, version: z.string(), versionRevision: z.string(), assets: z.array(assetSummarySchema), nextToken: z.string().optional() })
  .openapi('ListPackageVersionAssetsResult');

const json = (schema: z.ZodType, description: string) => ({ 200: { description, content: { 'application/json': { schema } } }, ...errorResponses });

const listVersionsRoute = createRoute({
  method: 'post',
  path: '/v1/package/versions',
  operationId: 'ListPackageVersions',
  summary: "A package's versions, a page at a time. Unlisted versions appear only when asked for with status=Unlisted.",
  request: { query: listVersionsQuery },
  responses: json(listVersionsResult, 'A page of versions'),
});
const describeRoute = createRoute({
  method: 'get',
  path: '/v1/package/version',
  operationId: 'DescribePackageVersion',
  summary: 'One package version: status, revision, published time, origin.',
  request: { query: versionQuery },
  responses: json(describeResult, 'The version'),
});
const listAssetsRoute = createRoute({
  method: 'post',
  path: '/v1/package/version/assets',
  operationId: 'ListPackageVersionAssets',
  summary: "A version's assets with their sizes and MD5, SHA-1, SHA-256 and SHA-512 hashes, a page at a time.",
  request: { query: listAssetsQuery },
  responses: json(listAssetsResult, 'A page of assets'),
});
const getAssetRoute = createRoute({
  method: 'get',
  path: '/v1/package/version/asset',
  operationId: 'GetPackageVersionAsset',
  summary:
    "An asset's bytes. Published and Unlisted versions download once their synchronisation has completed; Unfinished, Archived and Disposed ones, and versions whose sync is awaiting, in progress or failed, are refused (409).",
  request: { query: getAssetQuery },
  responses: {
    200: {
      description: 'The bytes, with X-AssetName, X-PackageVersion and X-PackageVersionRevision headers',
      content: { 'application/octet-stream': { schema: z.string().openapi({ format: 'binary' }) } },
    },
    ...errorResponses,
  },
});

export function packageApi(deps: PackageApiDeps, app: OpenAPIHono<AppEnv>): void {
  /** The caller, once the query is known to be valid (a request that is not even valid is never authenticated). */
  const callerFor = (c: Context<AppEnv>, coordinates: PackageCoordinates, action: string) => c.var.caller(action, arnHint(deps.region, coordinates));

  app.openapi(listVersionsRoute, async (c) => {
    const q = c.req.valid('query');
    const coordinates = coordinatesFrom(q);
    const result = await listVersions(deps, {
      coordinates,
      caller: await callerFor(c, coordinates, 'ListPackageVersions'),
      status: q.status,
      sortBy: q.sortBy,
      originType: q.originType,
      maxResults: q['max-results'],
      nextToken: q['next-token'],
      include: q.include,
    });
    return c.json(result, 200);
  });

  app.openapi(describeRoute, async (c) => {
    const q = c.req.valid('query');
    const coordinates = coordinatesFrom(q);
    const version = parseVersion(coordinates.format, q.version);
    return c.json(await describeVersion(deps, { coordinates, caller: await callerFor(c, coordinates, 'DescribePackageVersion'), version }), 200);
  });

  app.openapi(listAssetsRoute, async (c) => {
    const q = c.req.valid('query');
    const coordinates = coordinatesFrom(q);
    const version = parseVersion(coordinates.format, q.version);
    const result = await listAssets(deps, { coordinates, caller: await callerFor(c, coordinates, 'ListPackageVersionAssets'), version, maxResults: q['max-results'], nextToken: q['next-token'] });
    return c.json(result, 200);
  });

  app.openapi(getAssetRoute, async (c) => {
    const q = c.req.valid('query');
    const coordinates = coordinatesFrom(q);
    const version = parseVersion(coordinates.format, q.version);
    const asset = parseAssetName(q.asset);
    const revision = q.revision === undefined ? undefined : checkRevision(q.revision);
    const download = await getAsset(deps, { coordinates, caller: await callerFor(c, coordinates, 'GetPackageVersionAsset'), version, asset, revision });
    return new Response(download.stream, {
      status: 200,
      headers: {
        'content-type': 'application/octet-stream',
        'content-length': String(download.size),
        'x-assetname': download.assetName,
        'x-packageversion': download.version,
        'x-packageversionrevision': download.revision,
      },
    });
  });
}
