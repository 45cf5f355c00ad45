/**
 * CodeArtifact's version-status operations over REST-JSON, as the AWS SDK calls them:
 * UpdatePackageVersionsStatus, DisposePackageVersions and DeletePackageVersions. Handlers translate;
 * they decide nothing.
 */
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { ValidationError } from '../errors.ts';
import { actionOf, changeVersions } from '../operations/change-versions.ts';
import type { OperationDeps } from '../operations/deps.ts';
import { checkRevision, parseVersion } from '../resource/coordinates.ts';
import type { PackageFormat } from '../resource/formats.ts';
import { TARGET_STATUSES, VERSION_STATUSES, type VersionOperation } from '../registry/statuses.ts';
import type { AppEnv } from './app-env.ts';
import { arnHint, coordinatesFrom, packageQuerySchema } from './package-query.ts';
import { byVersion } from '../registry/by-version.ts';
import { revisionsField } from './revisions-field.ts';

export const MAX_VERSIONS = 100;

const versionsField = z.array(z.string()).min(1).max(MAX_VERSIONS).openapi({ example: ['4.1.0', '4.1.1'] });
const expectedStatusField = z.enum(VERSION_STATUSES).optional();

const updateBody = z
  .object({ versions: versionsField, versionRevisions: revisionsField, expectedStatus: expectedStatusField, targetStatus: z.enum(TARGET_STATUSES) })
  .strict()
  .openapi('UpdatePackageVersionsStatusRequest');
const disposeBody = z
  .object({ versions: versionsField, versionRevisions: revisionsField, expectedStatus: expectedStatusField })
  .strict()
  .openapi('DisposePackageVersionsRequest');
// CodeArtifact's DeletePackageVersions takes no versionRevisions: here it may, an extension the AWS SDK
// and CLI never send. Without it a client (the console) could only check revisions before the delete,
// and a change that keeps the status (a resync completing) in between would be deleted over.
const deleteBody = z
  .object({
    versions: versionsField,
    versionRevisions: revisionsField.openapi({ description: "versiongate's extension (CodeArtifact's DeletePackageVersions has none): the revision each version must have." }),
    expectedStatus: expectedStatusField,
  })
  .strict()
  .openapi('DeletePackageVersionsRequest');

const resultSchema = z
  .object({
    successfulVersions: z.record(z.string(), z.object({ revision: z.string(), status: z.enum(VERSION_STATUSES) })),
    failedVersions: z.record(
      z.string(),
      z.object({ errorCode: z.enum(['ALREADY_EXISTS', 'MISMATCHED_REVISION', 'MISMATCHED_STATUS', 'NOT_ALLOWED', 'NOT_FOUND', 'SKIPPED']), errorMessage: z.string() }),
    ),
  })
  .openapi('PackageVersionsResult');

const errorSchema = z.object({ message: z.string() }).passthrough().openapi('Error');
/** CodeArtifact's error envelope, for every route's OpenAPI description. */
export const errorResponses = {
  400: { description: 'ValidationException', content: { 'application/json': { schema: errorSchema } } },
  401: { description: 'Missing or invalid bearer token', content: { 'application/json': { schema: errorSchema } } },
  403: { description: 'AccessDeniedException: Cedar denied the request', content: { 'application/json': { schema: errorSchema } } },
  404: { description: 'ResourceNotFoundException', content: { 'application/json': { schema: errorSchema } } },
  409: { description: 'ConflictException', content: { 'application/json': { schema: errorSchema } } },
} as const;

const route = (path: string, operationId: string, body: z.ZodType, summary: string) =>
  createRoute({
    method: 'post',
    path,
    operationId,
    summary,
    request: { query: packageQuerySchema, body: { required: true, content: { 'application/json': { schema: body } } } },
    responses: { 200: { description: 'Per-version results', content: { 'application/json': { schema: resultSchema } } }, ...errorResponses },
  });

const updateRoute = route('/v1/package/versions/update_status', 'UpdatePackageVersionsStatus', updateBody, 'Set the status of package versions (Published, Unlisted, Archived).');
const disposeRoute = route('/v1/package/versions/dispose', 'DisposePackageVersions', disposeBody, "Dispose package versions: their assets are deleted for good.");
const deleteRoute = route(
  '/v1/package/versions/delete',
  'DeletePackageVersions',
  deleteBody,
  'Delete package versions, whatever their status: their assets are deleted and the version can be published again.',
);

interface BodyFields {
  versions: string[];
  versionRevisions?: Record<string, string> | undefined;
  expectedStatus?: (typeof VERSION_STATUSES)[number] | undefined;
}

/** Versions normalised for the format, each once; revisions only for listed versions. */
function checkVersions(format: PackageFormat, body: BodyFields): { versions: string[]; versionRevisions: Record<string, string> } {
  const versions: string[] = [];
  const seen = new Set<string>();
  for (const raw of body.versions) {
    const v = parseVersion(format, raw);
    if (seen.has(v)) throw new ValidationError(`version ${raw} is listed more than once`);
    seen.add(v);
    versions.push(v);
  }
  const versionRevisions: Record<string, string> = byVersion();
  for (const [raw, revision] of Object.entries(body.versionRevisions ?? {})) {
    const v = parseVersion(format, raw);
    if (!seen.has(v)) throw new ValidationError(`versionRevisions names version ${raw}, which is not in versions`);
    versionRevisions[v] = checkRevision(revision);
  }
  return { versions, versionRevisions };
}

export function versionApi(deps: OperationDeps, app: OpenAPIHono<AppEnv>): void {
  const handle = async (c: Context<AppEnv>, query: z.infer<typeof packageQuerySchema>, body: BodyFields, operation: VersionOperation) => {
    const coordinates = coordinatesFrom(query);
    const { versions, versionRevisions } = checkVersions(coordinates.format, body);
    const caller = await c.var.caller(actionOf(operation), arnHint(deps.region, coordinates));
    return changeVersions(deps, { caller, coordinates, versions, versionRevisions, expectedStatus: body.expectedStatus, operation });
  };

  app.openapi(updateRoute, async (c) => {
    const body = c.req.valid('json') as z.infer<typeof updateBody>;
    return c.json(await handle(c, c.req.valid('query'), body, { kind: 'update', targetStatus: body.targetStatus }), 200);
  });
  app.openapi(disposeRoute, async (c) => {
    const body = c.req.valid('json') as z.infer<typeof disposeBody>;
    return c.json(await handle(c, c.req.valid('query'), body, { kind: 'dispose' }), 200);
  });
  app.openapi(deleteRoute, async (c) => {
    const body = c.req.valid('json') as z.infer<typeof deleteBody>;
    return c.json(await handle(c, c.req.valid('query'), body, { kind: 'delete' }), 200);
  });
}
