/**
 * The policy playground's endpoints, for the security team (the same permissions as the test bench):
 *   GET /v1/policies/source: the policy folder's text (schema, policies, templates, links, tests),
 *     the starting point of a candidate set. ReadPolicies.
 *   POST /v1/policies/check: validates a candidate set as a reload would (Cedar's diagnostics at
 *     file:line:column) and runs test cases against it. SimulateAuthorization. Changes nothing: a
 *     set becomes live only through the policy folder.
 * Both are judged by the live set and audited.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { ValidationError } from '../errors.ts';
import type { OperationDeps } from '../operations/deps.ts';
import { auditName, authorize } from '../operations/gate.ts';
import type { ActionName } from '../policy/engine.ts';
import { policySetResource } from '../policy/entities.ts';
import type { CandidateRunner } from '../policy/candidate-off-thread.ts';
import { readPolicyDir } from '../policy/load-policies.ts';
import { TESTS_DIR } from '../policy/run-tests.ts';
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
    const dir = deps.policyDir;
    const sources = readPolicyDir(dir);
    const testsDir = join(dir, TESTS_DIR);
    const tests = existsSync(testsDir)
      ? readdirSync(testsDir)
          .filter((f) => f.endsWith('.json'))
          .sort()
          .map((f) => ({ file: `${TESTS_DIR}/${f}`, text: readFileSync(join(testsDir, f), 'utf8') }))
      : [];
    return c.json({ liveHash: deps.authorizer().policySet.hash, schema: sources.schemaText, files: sources.files, templates: sources.templates ?? [], links: sources.links ?? [], tests }, 200);
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
