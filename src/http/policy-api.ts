/**
 * The security team's endpoints.
 *   POST /v1/authorize: the test bench, a dry run of one request (principal as token claims or a
 *     token, action, package coordinates, context) against the live set or a set supplied in the
 *     body. It changes nothing. The caller needs SimulateAuthorization on PolicySet::"live", judged
 *     by the live set: a supplied set can never authorize its own use.
 *   POST /v1/authorize/batch: many questions about the caller's own access in one request and one
 *     audit record (authorize-batch-api.ts).
 *   GET /v1/policies: the live set (hash, load time, files, policy ids) and the last reload.
 * All are audited.
 */
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { CedarValueJson } from '@cedar-policy/cedar-wasm/nodejs';
import { claimsProblem, type Principal } from '../auth/principal.ts';
import type { TokenVerifier } from '../auth/verify-token.ts';
import { ValidationError } from '../errors.ts';
import { auditName, authorize } from '../operations/gate.ts';
import type { OperationDeps } from '../operations/deps.ts';
import type { CandidateSources } from '../policy/candidate-job.ts';
import type { CandidateRunner } from '../policy/candidate-off-thread.ts';
import type { ActionName, CedarCall } from '../policy/engine.ts';
import { policySetResource, principalEntities, userUid } from '../policy/entities.ts';
import { explain, type Explanation } from '../policy/explain.ts';
import type { CompiledPolicySet } from '../policy/load-policies.ts';
import type { PolicyStatus } from '../policy/policy-manager.ts';
import type { AppEnv } from './app-env.ts';
import { authorizeBatchApi } from './authorize-batch-api.ts';
import { MAX_SIMULATED_CONTEXT_CHARS, ownAccessAnswer, questionFields, resourceOf } from './simulated-question.ts';

export { MAX_SIMULATED_CONTEXT_CHARS };

const authorizeBody = z
  .object({
    principal: z.union([
      z.object({ claims: z.record(z.string(), z.unknown()) }).strict(),
      z.object({ token: z.string().min(1).max(8192) }).strict(),
    ]),
    ...questionFields,
    policies: z
      .object({
        schema: z.string().optional(),
        files: z.record(z.string().regex(/^[A-Za-z0-9._-]+\.cedar$/, 'file names are NAME.cedar'), z.string()),
        templates: z.record(z.string().regex(/^[A-Za-z0-9._-]+\.cedar$/), z.string()).optional(),
        links: z.array(z.unknown()).optional(),
      })
      .strict()
      .optional(),
  })
  .strict()
  .openapi('AuthorizeRequest');

const authorizeRoute = createRoute({
  method: 'post',
  path: '/v1/authorize',
  operationId: 'SimulateAuthorization',
  summary: 'Dry-run one request against the live policy set, or a supplied one. Changes nothing.',
  request: { body: { required: true, content: { 'application/json': { schema: authorizeBody } } } },
  responses: { 200: { description: 'The decision and why', content: { 'application/json': { schema: z.record(z.string(), z.unknown()) } } } },
});

const policiesRoute = createRoute({
  method: 'get',
  path: '/v1/policies',
  operationId: 'GetPolicies',
  summary: 'The live policy set: hash, load time, files, policy ids, and the last reload.',
  responses: { 200: { description: 'The live set', content: { 'application/json': { schema: z.record(z.string(), z.unknown()) } } } },
});

export interface PolicyApiDeps extends OperationDeps {
  verifier: TokenVerifier;
  groupsClaim: string;
  policyStatus?: (() => PolicyStatus) | undefined;
  candidates: CandidateRunner;
}

export function policyApi(deps: PolicyApiDeps, app: OpenAPIHono<AppEnv>): void {
  const bench = policySetResource();

  /** The caller, authorized against the live set (whatever set a request supplies): a deny is recorded and thrown. */
  const gate = async (c: Context<AppEnv>, action: ActionName) =>
    authorize(deps, await c.var.caller(action, auditName(bench)), { action, resource: bench, context: action === 'SimulateAuthorization' ? { ownAccess: false } : {}, request: {} });

  app.openapi(authorizeRoute, async (c) => {
    const body = c.req.valid('json');
    const resource = resourceOf(body, deps.region);
    const caller = await c.var.caller('SimulateAuthorization', auditName(bench));
    const simulated = await simulatedPrincipal(body.principal, deps).catch((err: unknown) => {
      if (err instanceof ValidationError) return err;
      throw err;
    });
    // Asking the live set about oneself tells the caller only what trying would tell it (and each
    // try is audited too); the policies decide whether that is allowed, through context.ownAccess.
    // A principal that is not valid is nobody's own: the caller must be allowed to ask about others
    // before hearing why, or anyone could learn whether a token they hold is valid.
    const ownAccess = !(simulated instanceof ValidationError) && body.policies === undefined && samePrincipal(simulated, caller.principal);
    const allowed = await authorize(deps, caller, { action: 'SimulateAuthorization', resource: bench, context: { ownAccess }, request: {} });
    if (simulated instanceof ValidationError) return allowed.refuse('rejected', simulated);
    const call: CedarCall = {
      principal: userUid(simulated),
      action: { type: 'Action', id: body.action },
      resource: resource.uid,
      context: (body.context ?? {}) as Record<string, CedarValueJson>,
      entities: [...principalEntities(simulated), ...resource.entities],
    };
    const live = deps.authorizer();
    // A supplied set is compiled and decided by in a worker thread (a set of thousands of policies
    // takes seconds to compile), and only after the caller is allowed to use the bench.
    const explanation = body.policies ? await decideBySupplied(deps.candidates, suppliedSources(body.policies, live.policySet.schemaText), call, c.get('deadline').remainingMs()) : explain(live.policySet, live.evaluate(call));
    await deps.store.appendAudit({
      ...allowed.record('read', 200),
      request: { simulation: { principal: simulated.subject, groups: simulated.groups, action: body.action, resource: resource.uid.id, decision: explanation.decision, policySet: body.policies ? 'supplied' : 'live' } },
    });
    return c.json({ ...(ownAccess ? ownAccessAnswer(explanation) : explanation), evaluatedAgainst: body.policies ? 'supplied' : 'live' }, 200);
  });

  app.openapi(policiesRoute, async (c) => {
    await (await gate(c, 'ReadPolicies')).recordRead();
    const status = deps.policyStatus?.() ?? minimalStatus(deps.authorizer().policySet);
    return c.json(status as unknown as Record<string, unknown>, 200);
  });

  authorizeBatchApi(deps, app);
}

/** The same principal: issuer, subject and the same groups (in any order). */
function samePrincipal(a: Principal, b: Principal): boolean {
  if (a.issuer !== b.issuer || a.subject !== b.subject || a.groups.length !== b.groups.length) return false;
  const groups = new Set(b.groups);
  return a.groups.every((g) => groups.has(g));
}

async function simulatedPrincipal(p: z.infer<typeof authorizeBody>['principal'], deps: PolicyApiDeps): Promise<Principal> {
  if ('token' in p) {
    try {
      return await deps.verifier.verify(p.token);
    } catch (err) {
      // The simulated token is data here, not the caller's credential: a bad one is a bad request.
      throw new ValidationError(`the simulated principal's token is not valid: ${(err as Error).message}`);
    }
  }
  const { claims } = p;
  if (claims.sub === undefined) throw new ValidationError('principal.claims needs "sub"');
  // Held to a token's rules: a principal no token could carry is no principal to simulate.
  const problem = claimsProblem(claims.sub, claims[deps.groupsClaim], deps.groupsClaim);
  if (problem) throw new ValidationError(`the simulated principal's ${problem}`);
  const groups = (claims[deps.groupsClaim] as string[] | undefined) ?? [];
  return { issuer: typeof claims.iss === 'string' ? claims.iss : 'urn:versiongate:simulation', subject: claims.sub as string, groups: [...new Set(groups)] };
}

/** The supplied set as files: its schema (the live set's when it gives none), policies, templates and links. */
function suppliedSources(p: NonNullable<z.infer<typeof authorizeBody>['policies']>, liveSchema: string): CandidateSources {
  return {
    schema: p.schema ?? liveSchema,
    files: Object.entries(p.files).map(([file, text]) => ({ file, text })),
    templates: Object.entries(p.templates ?? {}).map(([file, text]) => ({ file: `templates/${file}`, text })),
    links: p.links ? [{ file: 'links.json', text: JSON.stringify(p.links) }] : [],
  };
}

async function decideBySupplied(candidates: CandidateRunner, set: CandidateSources, call: CedarCall, timeoutMs: number): Promise<Explanation> {
  const answer = await candidates.run({ kind: 'decide', set, call }, timeoutMs);
  if (answer.kind === 'invalid') throw new ValidationError(answer.message);
  if (answer.kind !== 'decide') throw new Error(`a decision by a supplied set was answered as a ${answer.kind}`);
  return answer.explanation;
}

function minimalStatus(set: CompiledPolicySet) {
  return {
    hash: set.hash,
    files: set.files,
    policies: [...Object.keys(set.policies), ...Object.keys(set.templates), ...set.links.map((l) => l.id)],
    counts: { policies: Object.keys(set.policies).length, templates: Object.keys(set.templates).length, links: set.links.length },
    lastReload: null,
  };
}
