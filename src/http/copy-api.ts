/**
 * CodeArtifact's CopyPackageVersions over REST-JSON, as the AWS SDK calls it:
 * POST /v1/package/versions/copy. Handlers translate; they decide nothing.
 */
import { packageQuerySchema } from './package-query.ts';
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { ValidationError } from '../errors.ts';
import { copyVersions } from '../operations/copy-versions.ts';
import type { OperationDeps } from '../operations/deps.ts';
import { checkRepositoryName, checkRevision, parseCoordinates, parseVersion } from '../resource/coordinates.ts';
import { VERSION_STATUSES } from '../registry/statuses.ts';
import type { AppEnv } from './app-env.ts';
import { arnHint } from './package-query.ts';
import { errorResponses, MAX_VERSIONS } from './version-api.ts';
import { revisionsField } from './revisions-field.ts';
import { byVersion, ownEntry } from '../registry/by-version.ts';

export const COPY_PATH = '/v1/package/versions/copy';

const copyQuery = z.object({
  domain: z.string().openapi({ example: 'my_domain', description: 'The domain that holds both repositories.' }),
  'domain-owner': z.string().optional().openapi({ example: '111122223333', description: '12-digit account id that owns the domain.' }),
  'source-repository': z.string().openapi({ example: 'staging', description: 'The repository the versions are copied from.' }),
  'destination-repository': z.string().openapi({ example: 'prod', description: 'The repository the versions are copied into.' }),
  format: z.string().openapi({ example: 'npm' }),
  namespace: packageQuerySchema.shape.namespace,
  package: z.string().openapi({ example: 'chalk' }),
});

const copyBody = z
  .object({
    versions: z.array(z.string()).min(1).max(MAX_VERSIONS).optional().openapi({ example: ['4.1.1'] }),
    versionRevisions: revisionsField,
    allowOverwrite: z.boolean().optional(),
    includeFromUpstream: z.boolean().optional(),
  })
  .strict()
  .openapi('CopyPackageVersionsRequest');

const copyResult = z
  .object({
    successfulVersions: z.record(z.string(), z.object({ revision: z.string(), status: z.enum(VERSION_STATUSES) })),
    failedVersions: z.record(
      z.string(),
      z.object({ errorCode: z.enum(['ALREADY_EXISTS', 'MISMATCHED_REVISION', 'MISMATCHED_STATUS', 'NOT_ALLOWED', 'NOT_FOUND', 'SKIPPED']), errorMessage: z.string() }),
    ),
  })
  .openapi('CopyPackageVersionsResult');

const copyRoute = createRoute({
  method: 'post',
  path: COPY_PATH,
  operationId: 'CopyPackageVersions',
  summary: 'Copy package versions, with their assets, from one repository to another of the same domain (Cedar decides on the destination package).',
  request: { query: copyQuery, body: { required: true, content: { 'application/json': { schema: copyBody } } } },
  responses: { 200: { description: 'Per-version results', content: { 'application/json': { schema: copyResult } } }, ...errorResponses },
});

/** The versions to copy, normalised for the format, each once; with their source revisions when given. */
function checkVersions(format: Parameters<typeof parseVersion>[0], body: z.infer<typeof copyBody>): { versions: string[]; versionRevisions: Record<string, string> } {
  // CodeArtifact: "You must specify versions or versionRevisions. You cannot specify both."
  if (body.versions !== undefined && body.versionRevisions !== undefined) throw new ValidationError('specify versions or versionRevisions, not both');
  const raw = body.versions ?? Object.keys(body.versionRevisions ?? {});
  if (raw.length === 0) throw new ValidationError('specify versions or versionRevisions (at least one version)');
  if (raw.length > MAX_VERSIONS) throw new ValidationError(`at most ${MAX_VERSIONS} versions may be copied at once`);
  const versions: string[] = [];
  const versionRevisions: Record<string, string> = byVersion();
  for (const r of raw) {
    const v = parseVersion(format, r);
    if (versions.includes(v)) throw new ValidationError(`version ${r} is listed more than once`);
    versions.push(v);
    const revision = ownEntry(body.versionRevisions, r);
    if (revision !== undefined) versionRevisions[v] = checkRevision(revision);
  }
  return { versions, versionRevisions };
}

/** The name checks call the field `repository`; this operation has two, named as its query names them. */
function asField<T>(field: string, check: () => T): T {
  try {
    return check();
  } catch (err) {
    if (err instanceof ValidationError && err.message.startsWith('repository ')) throw new ValidationError(`${field}${err.message.slice('repository'.length)}`, err.reason);
    throw err;
  }
}

export function copyApi(deps: OperationDeps, app: OpenAPIHono<AppEnv>): void {
  app.openapi(copyRoute, async (c) => {
    const q = c.req.valid('query');
    const body = c.req.valid('json');
    const source = asField('source-repository', () =>
      parseCoordinates({ domain: q.domain, domainOwner: q['domain-owner'], repository: q['source-repository'], format: q.format, namespace: q.namespace, package: q.package }),
    );
    const destinationRepository = asField('destination-repository', () => checkRepositoryName(q['destination-repository']));
    if (destinationRepository === source.repository) throw new ValidationError('source-repository and destination-repository must differ');
    const { versions, versionRevisions } = checkVersions(source.format, body);
    const caller = await c.var.caller('CopyPackageVersions', arnHint(deps.region, { ...source, repository: destinationRepository }));
    const result = await copyVersions(deps, {
      caller,
      source,
      destinationRepository,
      versions,
      versionRevisions,
      allowOverwrite: body.allowOverwrite ?? false,
      includeFromUpstream: body.includeFromUpstream ?? false,
    });
    return c.json(result, 200);
  });
}
