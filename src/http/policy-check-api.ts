/**
 * The policy playground's endpoints, for the security team (the same permissions as the test bench):
 *   GET /v1/policies/source: the policy folder's text (schema, policies, templates, links, tests),
 *     the starting point of a candidate set. ReadPolicies. Read asynchronously, and only up to
 *     MAX_SOURCE_BYTES in all: a stray large file in the folder is refused (413), never read on the
 *     event loop. A folder that cannot be read as a set (no schema, a link to nothing, bytes that
 *     are not UTF-8, a file removed meanwhile) is a 503, never a 500.
 *   POST /v1/policies/check: checks a candidate set as a reload would (its files, then Cedar's
 *     diagnostics at file:line:column, then its test cases: a failing one makes it invalid).
 *     SimulateAuthorization. Changes nothing: a set becomes live only through the policy folder.
 * Both are judged by the live set and audited.
 */
import { open } from 'node:fs/promises';
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { PayloadTooLargeError, ServiceUnavailableError, ValidationError } from '../errors.ts';
import type { OperationDeps } from '../operations/deps.ts';
import { auditName, authorize } from '../operations/gate.ts';
import type { ActionName } from '../policy/engine.ts';
import { policySetResource } from '../policy/entities.ts';
import type { CandidateRunner } from '../policy/candidate-off-thread.ts';
import { decodePolicyFile, formatDiagnostic, listPolicyFiles, PolicySetError, type PolicyFileEntry, type PolicyFileText } from '../policy/policy-files.ts';
import type { AppEnv } from './app-env.ts';

const fileText = z.object({ file: z.string().min(1).max(256), text: z.string() }).strict();
const checkBody = z
  .object({
    schema: z.string(),
    files: z.array(fileText.extend({ file: z.string().regex(/^[A-Za-z0-9._-]+\.cedar$/, 'policy files are NAME.cedar') })).max(1000),
    templates: z.array(fileText.extend({ file: z.string().regex(/^templates\/[A-Za-z0-9._-]+\.cedar$/, 'templates are templates/NAME.cedar') })).max(1000).optional(),
    links: z.array(fileText.extend({ file: z.string().regex(/^(links\.json|links\/[A-Za-z0-9._-]+\.json)$/, 'links are links.json or links/NAME.json') })).max(1000).optional(),
    tests: z.array(fileText.extend({ file: z.string().regex(/^tests\/[A-Za-z0-9._-]+\.json$/, 'tests are tests/NAME.json') })).max(1000).optional(),
  })
  .strict()
  .openapi('PolicySetCandidate');

const sourceRoute = createRoute({
  method: 'get',
  path: '/v1/policies/source',
  operationId: 'GetPolicySource',
  summary: "The policy folder's text: schema, policies, templates, links and tests.",
  responses: { 200: { description: 'The folder', content: { 'application/json': { schema: z.record(z.string(), z.unknown()) } } } },
});
const checkRoute = createRoute({
  method: 'post',
  path: '/v1/policies/check',
  operationId: 'CheckPolicySet',
  summary: "Validate a candidate policy set (Cedar's diagnostics) and run test cases against it. Changes nothing.",
  request: { body: { required: true, content: { 'application/json': { schema: checkBody } } } },
  responses: { 200: { description: 'Diagnostics and test results', content: { 'application/json': { schema: z.record(z.string(), z.unknown()) } } } },
});

/** GET /v1/policies/source serves at most this many bytes of files (a set's text is far smaller). */
export const MAX_SOURCE_BYTES = 8 * 1024 * 1024;

export interface PolicyCheckApiDeps extends OperationDeps {
  /** The policy folder; without one, GET /v1/policies/source answers 400. */
  policyDir?: string | undefined;
  groupsClaim: string;
  candidates: CandidateRunner;
}

export function policyCheckApi(deps: PolicyCheckApiDeps, app: OpenAPIHono<AppEnv>): void {
  const bench = policySetResource();
  // A candidate check is never about the caller's own access to the live set.
  const gate = async (c: Context<AppEnv>, action: ActionName, request: Record<string, unknown>) =>
    authorize(deps, await c.var.caller(action, auditName(bench)), { action, resource: bench, context: action === 'SimulateAuthorization' ? { ownAccess: false } : {}, request });

  app.openapi(sourceRoute, async (c) => {
    await (await gate(c, 'ReadPolicies', { source: true })).recordRead();
    if (!deps.policyDir) throw new ValidationError('this gateway was started without a policy folder to serve');
    const files = await readSource(deps.policyDir);
    const of = (kind: PolicyFileEntry['kind']) => files.filter((f) => f.kind === kind).map(({ file, text }) => ({ file, text }));
    return c.json({ liveHash: deps.authorizer().policySet.hash, schema: of('schema')[0]!.text, files: of('policy'), templates: of('template'), links: of('links'), tests: of('test') }, 200);
  });

  app.openapi(checkRoute, async (c) => {
    const body = c.req.valid('json');
    const allowed = await gate(c, 'SimulateAuthorization', { check: { files: body.files.length, tests: body.tests?.length ?? 0 } });
    await allowed.recordRead();
    const set = { schema: body.schema, files: body.files, templates: body.templates ?? [], links: body.links ?? [] };
    const answer = await deps.candidates.run({ kind: 'check', set, tests: body.tests, groupsClaim: deps.groupsClaim }, c.get('deadline').remainingMs());
    if (answer.kind !== 'check') throw new Error(`a policy check was answered as a ${answer.kind}`);
    return c.json(answer.report, 200);
  });
}

const unreadable = (why: string) => new ServiceUnavailableError(`the policy folder cannot be read now: ${why}`);

/**
 * The folder's files as the reload reads them (symbolic links followed; see listPolicyFiles), read
 * asynchronously, each no further than the size it was listed with, and refused past MAX_SOURCE_BYTES.
 * Empty policy files are served as they are: this is the folder as it is on disk, not a set.
 */
async function readSource(dir: string): Promise<Array<PolicyFileText & { kind: PolicyFileEntry['kind'] }>> {
  let entries: PolicyFileEntry[];
  try {
    entries = listPolicyFiles(dir, { tests: true });
  } catch (err) {
    if (err instanceof PolicySetError) throw unreadable(err.diagnostics.map(formatDiagnostic).join('; '));
    throw unreadable((err as Error).message);
  }
  const total = entries.reduce((sum, e) => sum + e.size, 0);
  if (total > MAX_SOURCE_BYTES) {
    const largest = [...entries].sort((a, b) => b.size - a.size)[0]!;
    throw new PayloadTooLargeError(
      `the policy folder's files hold ${total} bytes, more than the ${MAX_SOURCE_BYTES} this endpoint serves (the largest is ${largest.file}, ${largest.size} bytes); read the folder itself`,
    );
  }
  const out: Array<PolicyFileText & { kind: PolicyFileEntry['kind'] }> = [];
  for (const e of entries) {
    let bytes: Buffer;
    try {
      const handle = await open(e.path, 'r');
      try {
        // One byte more than listed tells a file that grew since it was listed.
        bytes = Buffer.alloc(e.size + 1);
        let n = 0;
        for (let got = -1; got !== 0 && n < bytes.length; n += got) got = (await handle.read(bytes, n, bytes.length - n, n)).bytesRead;
        if (n > e.size) throw new Error('it changed while it was read; try again');
        bytes = bytes.subarray(0, n);
      } finally {
        await handle.close();
      }
    } catch (err) {
      throw unreadable(`${e.file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    const read = decodePolicyFile(e.file, bytes);
    if ('message' in read) throw unreadable(formatDiagnostic(read));
    out.push({ ...read, kind: e.kind });
  }
  return out;
}
