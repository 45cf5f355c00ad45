/**
 * PublishPackageVersion over REST-JSON, as the AWS SDK calls it: the asset's bytes are the request
 * body (never buffered: the operation streams them to disk), its SHA-256 is the x-amz-content-sha256
 * header. Everything that can be checked without the body is checked before the token, and the
 * token and Cedar before a byte of the body is read.
 */
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { PayloadTooLargeError, ValidationError } from '../errors.ts';
import type { PackageApiDeps } from '../operations/deps.ts';
import { publishVersion } from '../operations/publish-version.ts';
import { publishFormatProblem } from '../registry/plan-publish.ts';
import { VERSION_STATUSES } from '../registry/statuses.ts';
import { parseAssetName, parseSha256 } from '../resource/asset-name.ts';
import { parseVersion } from '../resource/coordinates.ts';
import type { AppEnv } from './app-env.ts';
import { declaredLength } from './declared-length.ts';
import { assetSummarySchema } from './package-api.ts';
import { arnHint, coordinatesFrom, packageQuerySchema } from './package-query.ts';
import { errorResponses } from './version-api.ts';

export const PUBLISH_PATH = '/v1/package/version/publish';

const publishQuery = packageQuerySchema.extend({
  version: z.string().openapi({ example: '1.0.0' }),
  asset: z.string().openapi({ example: 'asset.tar.gz', description: 'The asset name.' }),
  unfinished: z.enum(['true', 'false']).optional().openapi({ description: 'true: the version stays Unfinished, more assets will follow.' }),
});
const publishHeaders = z.object({
  'x-amz-content-sha256': z.string().openapi({ description: "The asset's SHA-256 in hex; the bytes must have it." }),
});
const publishResult = z
  .object({
    format: z.string(),
    namespace: z.string().optional(),
    package: z.string(),
    version: z.string(),
    versionRevision: z.string(),
    status: z.enum(VERSION_STATUSES),
    asset: assetSummarySchema,
  })
  .openapi('PublishPackageVersionResult');

const publishRoute = createRoute({
  method: 'post',
  path: PUBLISH_PATH,
  operationId: 'PublishPackageVersion',
  summary: 'Publish one asset of a generic package version (several calls for several assets; unfinished=true on all but the last).',
  request: {
    query: publishQuery,
    headers: publishHeaders,
    body: { required: true, content: { 'application/octet-stream': { schema: z.string().openapi({ format: 'binary' }) } } },
  },
  responses: {
    200: { description: 'The version and the asset as stored', content: { 'application/json': { schema: publishResult } } },
    402: { description: 'ServiceQuotaExceededException: the version already has 150 assets', content: errorResponses[400].content },
    413: { description: 'ValidationException: the asset is larger than VERSIONGATE_MAX_ASSET_SIZE', content: errorResponses[400].content },
    ...errorResponses,
  },
});

export function publishApi(deps: PackageApiDeps, app: OpenAPIHono<AppEnv>): void {
  app.openapi(publishRoute, async (c) => {
    const q = c.req.valid('query');
    const coordinates = coordinatesFrom(q);
    const formatProblem = publishFormatProblem(coordinates.format);
    if (formatProblem) throw new ValidationError(formatProblem);
    const version = parseVersion(coordinates.format, q.version);
    const assetName = parseAssetName(q.asset);
    const sha256 = parseSha256(c.req.valid('header')['x-amz-content-sha256']);
    // A declared length over the bound is refused before anything else; a chunked body is counted as it streams.
    if ((declaredLength(c) ?? 0) > deps.maxAssetBytes) {
      throw new PayloadTooLargeError(`the asset is larger than ${deps.maxAssetBytes} bytes, the most this gateway accepts (VERSIONGATE_MAX_ASSET_SIZE)`);
    }
    const body = bodyOnFirstRead(() => c.req.raw.body);

    const caller = await c.var.caller('PublishPackageVersion', arnHint(deps.region, coordinates));
    const result = await publishVersion(deps, {
      caller,
      coordinates,
      version,
      assetName,
      sha256,
      unfinished: q.unfinished === 'true',
      body,
    });
    return c.json(result, 200);
  });
}

/**
 * The request body, opened only when the operation reads it. Opening it starts reading the request
 * (a web stream pulls once as it is made), and that first read is what sends 100 Continue to a client
 * that sent Expect: 100-continue: so it must wait until the token, Cedar and the plan accept the upload.
 */
function bodyOnFirstRead(open: () => ReadableStream<Uint8Array> | null): ReadableStream<Uint8Array> {
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        reader ??= (open() ?? new ReadableStream<Uint8Array>({ start: (c) => c.close() })).getReader();
        const { done, value } = await reader.read();
        if (done) controller.close();
        else controller.enqueue(value);
      },
      cancel: (reason) => reader?.cancel(reason),
    },
    { highWaterMark: 0 }, // no pull until the operation asks
  );
}
