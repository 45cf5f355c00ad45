/**
 * Resync and sync status the Cloudsmith way (a version named by its permanent identifier, owner =
 * the domain, Cloudsmith's {detail, fields?} error bodies), and the same resync addressed the
 * CodeArtifact way (POST /v1/package/versions/resync, successfulVersions / failedVersions).
 * Handlers translate; the operations in src/operations/resync.ts decide and audit.
 */
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { AccessDeniedError, ApiError, NotFoundError, ValidationError } from '../errors.ts';
import type { OperationDeps } from '../operations/deps.ts';
import { readSyncStatus, resolveIdentifier, resyncVersion, resyncVersions, WRONG_STATE, WrongStateError } from '../operations/resync.ts';
import { parseVersion } from '../resource/coordinates.ts';
import { VERSION_STATUSES } from '../registry/statuses.ts';
import type { AppEnv } from './app-env.ts';
import { arnHint, coordinatesFrom, packageQuerySchema } from './package-query.ts';
import { errorResponses, MAX_VERSIONS } from './version-api.ts';
import { UnknownOperationError } from './error-envelope.ts';
import { byVersion } from '../registry/by-version.ts';

export const MAX_BULK = 100;

/** Paths answered with Cloudsmith's error bodies rather than CodeArtifact's envelope. */
export function isCloudsmithPath(path: string): boolean {
  return path.startsWith('/v1/packages/') || path.startsWith('/v1/bulk-action/');
}

/** Cloudsmith's error body: {detail, fields?}. */
export function cloudsmithError(err: ApiError, requestId: string): Response {
  let detail = err.message;
  if (err instanceof NotFoundError || err instanceof UnknownOperationError) detail = 'Not found.';
  else if (err instanceof AccessDeniedError) detail = 'You do not have permission to perform this action.';
  else if (err instanceof WrongStateError) detail = WRONG_STATE;
  const body: { detail: string; fields?: Record<string, string[]> } = { detail };
  if (err instanceof ValidationError && !(err instanceof WrongStateError)) body.fields = err.fieldErrors ?? { non_field_errors: [err.message] };
  return new Response(JSON.stringify(body), { status: err.status, headers: { 'content-type': 'application/json', 'x-request-id': requestId, ...err.headers() } });
}

const cloudsmithErrorSchema = z.object({ detail: z.string(), fields: z.record(z.string(), z.array(z.string())).optional() }).openapi('CloudsmithError');
const cloudsmithErrors = {
  400: { description: 'The package is in the wrong state for the requested operation, or the request is invalid.', content: { 'application/json': { schema: cloudsmithErrorSchema } } },
  401: { description: 'Missing or invalid bearer token', content: { 'application/json': { schema: cloudsmithErrorSchema } } },
  403: { description: 'Cedar denied the request', content: { 'application/json': { schema: cloudsmithErrorSchema } } },
  404: { description: 'No version with this identifier in this owner and repository', content: { 'application/json': { schema: cloudsmithErrorSchema } } },
} as const;

/** Also each version's `sync` in ListPackageVersions with include=sync (package-api.ts). */
export const statusSchema = z
  .object({
    identifier: z.string(),
    version: z.string(),
    status: z.number().int().openapi({ description: '1 awaiting, 2 in progress, 3 completed, 4 failed.' }),
    status_str: z.string(),
    stage: z.number().int(),
    stage_str: z.string(),
    status_reason: z.string().nullable(),
    sync_progress: z.number().int().min(0).max(100),
    is_sync_awaiting: z.boolean(),
    is_sync_in_flight: z.boolean(),
    is_sync_in_progress: z.boolean(),
    is_sync_completed: z.boolean(),
    is_sync_failed: z.boolean(),
    is_resyncable: z.boolean(),
    status_updated_at: z.string(),
    stage_updated_at: z.string(),
    sync_finished_at: z.string().nullable(),
  })
  .openapi('PackageSyncStatus');

const params = z.object({
  owner: z.string().openapi({ example: 'my_domain', description: 'The domain.' }),
  repo: z.string().openapi({ example: 'my_repo' }),
  identifier: z.string().openapi({ example: '7jvagMH9vk7u', description: "The version's permanent identifier." }),
});

const resyncRoute = createRoute({
  method: 'post',
  path: '/v1/packages/{owner}/{repo}/{identifier}/resync/',
  operationId: 'ResyncPackage',
  summary: "Schedule a resync of one version (Cedar Action::\"Resync\"): its assets re-read and checked, its metadata extracted again.",
  request: { params },
  responses: { 200: { description: 'The version\'s status: scheduled.', content: { 'application/json': { schema: statusSchema } } }, ...cloudsmithErrors },
});
const statusRoute = createRoute({
  method: 'get',
  path: '/v1/packages/{owner}/{repo}/{identifier}/status/',
  operationId: 'GetPackageSyncStatus',
  summary: 'The sync status of one version (authorized as DescribePackageVersion).',
  request: { params },
  responses: { 200: { description: 'The status.', content: { 'application/json': { schema: statusSchema } } }, ...cloudsmithErrors },
});
const bulkBody = z
  .object({
    action: z.literal('Resync'),
    identifiers: z.array(z.string()).min(1).max(MAX_BULK),
    repository: z.string().optional(),
  })
  .strict()
  .openapi('BulkAction');
const bulkResult = z
  .object({ action: z.string(), packages_actioned: z.array(z.string()), packages_failed_to_action: z.record(z.string(), z.object({ reason: z.string() })) })
  .openapi('BulkActionResult');
const bulkRoute = createRoute({
  method: 'post',
  path: '/v1/bulk-action/{owner}/',
  operationId: 'BulkAction',
  summary: 'Resync up to 100 versions of a domain by identifier; each is authorized and audited on its own.',
  request: { params: z.object({ owner: params.shape.owner }), body: { required: true, content: { 'application/json': { schema: bulkBody } } } },
  responses: { 200: { description: 'What was actioned and what was not, with why.', content: { 'application/json': { schema: bulkResult } } }, ...cloudsmithErrors },
});
const batchBody = z.object({ versions: z.array(z.string()).min(1).max(MAX_VERSIONS) }).strict().openapi('ResyncPackageVersionsRequest');
const batchResult = z
  .object({
    successfulVersions: z.record(z.string(), z.object({ revision: z.string(), status: z.enum(VERSION_STATUSES) })),
    failedVersions: z.record(z.string(), z.object({ errorCode: z.string(), errorMessage: z.string() })),
  })
  .openapi('ResyncPackageVersionsResult');
const batchRoute = createRoute({
  method: 'post',
  path: '/v1/package/versions/resync',
  operationId: 'ResyncPackageVersions',
  summary: 'Schedule resyncs of versions of one package, all or nothing (Cedar Action::"Resync").',
  request: { query: packageQuerySchema, body: { required: true, content: { 'application/json': { schema: batchBody } } } },
  responses: { 200: { description: 'Per-version results', content: { 'application/json': { schema: batchResult } } }, ...errorResponses },
});

export function resyncApi(deps: OperationDeps, app: OpenAPIHono<AppEnv>): void {
  const byIdentifier = async (c: Context<AppEnv>, owner: string, repo: string, identifier: string, action: 'Resync' | 'DescribePackageVersion') => {
    const caller = await c.var.caller(action, null);
    const { coordinates, version } = await resolveIdentifier(deps, { caller, action, owner, repository: repo, identifier });
    return { caller, coordinates, version, identifier };
  };

  app.openapi(resyncRoute, async (c) => {
    const { owner, repo, identifier } = c.req.valid('param');
    return c.json(await resyncVersion(deps, await byIdentifier(c, owner, repo, identifier, 'Resync')), 200);
  });

  app.openapi(statusRoute, async (c) => {
    const { owner, repo, identifier } = c.req.valid('param');
    return c.json(await readSyncStatus(deps, await byIdentifier(c, owner, repo, identifier, 'DescribePackageVersion')), 200);
  });

  app.openapi(bulkRoute, async (c) => {
    const { owner } = c.req.valid('param');
    const body = c.req.valid('json');
    const caller = await c.var.caller('Resync', null);
    const actioned: string[] = [];
    const failed: Record<string, { reason: string }> = byVersion();
    for (const identifier of [...new Set(body.identifiers)]) {
      try {
        const { coordinates, version } = await resolveIdentifier(deps, { caller, action: 'Resync', owner, repository: body.repository, identifier });
        await resyncVersion(deps, { caller, coordinates, version, identifier });
        actioned.push(identifier);
      } catch (err) {
        if (err instanceof NotFoundError) failed[identifier] = { reason: 'Not found.' };
        else if (err instanceof AccessDeniedError) failed[identifier] = { reason: 'You do not have permission to perform this action.' };
        else if (err instanceof WrongStateError) failed[identifier] = { reason: WRONG_STATE };
        else throw err;
      }
    }
    return c.json({ action: body.action, packages_actioned: actioned, packages_failed_to_action: failed }, 200);
  });

  app.openapi(batchRoute, async (c) => {
    const query = c.req.valid('query');
    const coordinates = coordinatesFrom(query);
    const versions: string[] = [];
    for (const raw of c.req.valid('json').versions) {
      const v = parseVersion(coordinates.format, raw);
      if (versions.includes(v)) throw new ValidationError(`version ${raw} is listed more than once`);
      versions.push(v);
    }
    const caller = await c.var.caller('Resync', arnHint(deps.region, coordinates));
    const result = await resyncVersions(deps, { caller, coordinates, versions });
    return c.json(result, 200);
  });
}
