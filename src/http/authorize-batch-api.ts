/**
 * POST /v1/authorize/batch: many questions about the caller's own access, asked of the live set in one
 * request. The console asks one per version and action of a page (600 for 100 versions): one at a
 * time, each was a request and an audit record of its own, most of a page view's megabyte of log.
 * Here the caller is authorized once (SimulateAuthorization on PolicySet::"live" with
 * context.ownAccess, as the single form asks it about oneself), each question is decided by Cedar as
 * the single form decides it, and one audit record says how many were asked and which were allowed
 * and denied.
 */
import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { CedarValueJson } from '@cedar-policy/cedar-wasm/nodejs';
import { ValidationError } from '../errors.ts';
import { auditName, authorize } from '../operations/gate.ts';
import type { OperationDeps } from '../operations/deps.ts';
import { policySetResource, principalEntities, userUid, type CedarResource } from '../policy/entities.ts';
import { explain } from '../policy/explain.ts';
import { timeSlices } from '../time-slices.ts';
import type { AppEnv } from './app-env.ts';
import { errorResponses } from './version-api.ts';
import { MAX_SIMULATED_CONTEXT_CHARS, ownAccessAnswer, questionFields, resourceOf } from './simulated-question.ts';
import { measureContext } from './context-bounds.ts';

/** Questions one request may ask: a page of 100 versions asks at most 600 (six actions each). */
export const MAX_OWN_ACCESS_QUESTIONS = 1000;
/**
 * The questions' contexts together, as JSON. Cedar reads a context at ~0.45 ms a KiB: this bounds a
 * request to ~0.1 s of Cedar's reading, which runs in slices (other requests are answered between).
 * A page's 600 questions are about 50 KiB.
 */
export const MAX_OWN_ACCESS_CONTEXT_CHARS = 256 * 1024;
/** Version names the audit record lists at most; past them it says how many it left out. */
const MAX_AUDITED_VERSIONS = 1000;
/**
 * Groups of answers the audit record lists at most. A page's questions make a few groups (one per
 * action and decision); 1,000 questions about 1,000 long package names made a record of 450 KB,
 * which any signed-in caller could write at will.
 */
const MAX_AUDITED_GROUPS = 50;
/** Cedar works at most this long before other requests get a turn. */
const SLICE_MS = 8;

/**
 * The body's shape only. Each context's bounds and each question's resource are checked in the
 * handler, in slices: over 1,000 questions at once they held the event loop ~40 ms a request, and
 * sixteen such requests (no token needed to send them) held every other caller for half a second.
 */
const batchBody = z
  .object({
    questions: z
      .array(z.object({ ...questionFields, context: z.record(z.string(), z.unknown()).optional() }).strict())
      .min(1)
      .max(MAX_OWN_ACCESS_QUESTIONS, `at most ${MAX_OWN_ACCESS_QUESTIONS} questions a request`),
  })
  .strict()
  .openapi('AuthorizeOwnAccessBatchRequest');

const answerSchema = z.object({
  decision: z.enum(['allow', 'deny']),
  because: z.enum(['permit', 'forbid', 'no_permit', 'error']),
  determiningPolicies: z.array(z.object({ id: z.string() })),
  errors: z.array(z.string()),
});

const batchRoute = createRoute({
  method: 'post',
  path: '/v1/authorize/batch',
  operationId: 'SimulateOwnAccessBatch',
  summary: `Ask the live set up to ${MAX_OWN_ACCESS_QUESTIONS} questions about the caller's own access at once: one answer per question, in order, and one audit record. Changes nothing.`,
  request: { body: { required: true, content: { 'application/json': { schema: batchBody } } } },
  responses: {
    200: { description: 'An answer per question, in order', content: { 'application/json': { schema: z.object({ answers: z.array(answerSchema), evaluatedAgainst: z.literal('live') }).openapi('AuthorizeOwnAccessBatchResult') } } },
    400: errorResponses[400],
    401: errorResponses[401],
    403: errorResponses[403],
  },
});

type Question = z.infer<typeof batchBody>['questions'][number];
type Answer = ReturnType<typeof ownAccessAnswer>;

export function authorizeBatchApi(deps: OperationDeps, app: OpenAPIHono<AppEnv>): void {
  const bench = policySetResource();

  app.openapi(batchRoute, async (c) => {
    const { questions } = c.req.valid('json');
    const slices = timeSlices(SLICE_MS);
    // Checked before the caller is, as any request's input is (invalid is 400, never 401), but in
    // slices; the token's verification runs meanwhile.
    const resources: CedarResource[] = [];
    let contextChars = 0;
    for (const [i, q] of questions.entries()) {
      await slices.due();
      try {
        if (q.context !== undefined) {
          const measured = measureContext(q.context, MAX_SIMULATED_CONTEXT_CHARS);
          if ('problem' in measured) throw new ValidationError(`context ${measured.problem}`);
          contextChars += measured.chars;
          if (contextChars > MAX_OWN_ACCESS_CONTEXT_CHARS) throw new ValidationError(`the questions' contexts must be at most ${MAX_OWN_ACCESS_CONTEXT_CHARS} characters as JSON together`);
        }
        resources.push(resourceOf(q, deps.region));
      } catch (err) {
        if (err instanceof ValidationError) throw new ValidationError(`questions[${i}]: ${err.message}`);
        throw err;
      }
    }
    const caller = await c.var.caller('SimulateAuthorization', auditName(bench));
    // Every question is about the caller itself against the live set: ownAccess, as the single form
    // finds it for a caller asking about its own token.
    const allowed = await authorize(deps, caller, {
      action: 'SimulateAuthorization',
      resource: bench,
      context: { ownAccess: true },
      request: { simulation: { principal: caller.principal.subject, groups: caller.principal.groups, questions: questions.length, policySet: 'live' } },
    });
    // One set decides every question, even if a reload swaps the live one between two slices.
    const live = deps.authorizer();
    const principal = userUid(caller.principal);
    const principalEntityList = principalEntities(caller.principal);
    const answers: Answer[] = [];
    for (const [i, q] of questions.entries()) {
      await slices.due();
      const resource = resources[i]!;
      const decision = live.evaluate({
        principal,
        action: { type: 'Action', id: q.action },
        resource: resource.uid,
        context: (q.context ?? {}) as Record<string, CedarValueJson>,
        entities: [...principalEntityList, ...resource.entities],
      });
      answers.push(ownAccessAnswer(explain(live.policySet, decision)));
    }
    await deps.store.appendAudit({
      ...allowed.record('read', 200),
      // The hash of the set that answered (a reload may have come between the caller's authorization and the answers).
      request: { simulation: { principal: caller.principal.subject, groups: caller.principal.groups, policySet: 'live', answeredBy: live.policySet.hash, ...auditedAnswers(questions, resources, answers) } },
    });
    return c.json({ answers, evaluatedAgainst: 'live' as const }, 200);
  });
}

/**
 * What the audit record says of the answers: how many questions, how many allowed, denied and denied
 * for an error, and which, grouped by action, resource, target status and the answer (`because`),
 * with the versions their contexts named (a page's 600 questions are a few groups and its version
 * names, not 600 entries). Bounded: at most MAX_AUDITED_GROUPS groups and MAX_AUDITED_VERSIONS
 * versions, with how many questions and versions were left out.
 */
function auditedAnswers(questions: Question[], resources: CedarResource[], answers: Answer[]) {
  interface Group {
    action: string;
    resource: string;
    targetStatus?: unknown;
    because: Answer['because'];
    questions: number;
    versions: unknown[];
  }
  const groups = new Map<string, Group>();
  let listedVersions = 0;
  let versionsOmitted = 0;
  let questionsOmitted = 0;
  for (const [i, q] of questions.entries()) {
    const because = answers[i]!.because;
    const resource = auditName(resources[i]!);
    const targetStatus = q.context?.targetStatus;
    const key = JSON.stringify([q.action, resource, targetStatus ?? null, because]);
    let g = groups.get(key);
    if (!g) {
      if (groups.size >= MAX_AUDITED_GROUPS) {
        questionsOmitted++;
        continue;
      }
      groups.set(key, (g = { action: q.action, resource, ...(targetStatus !== undefined ? { targetStatus } : {}), because, questions: 0, versions: [] }));
    }
    g.questions++;
    // As the context gave them, whatever their type: the record says what was asked.
    const versions = Array.isArray(q.context?.versions) ? q.context.versions : [];
    for (const v of versions) {
      if (listedVersions < MAX_AUDITED_VERSIONS) {
        g.versions.push(v);
        listedVersions++;
      } else versionsOmitted++;
    }
  }
  const count = (b: Answer['because']) => answers.filter((a) => a.because === b).length;
  return {
    questions: questions.length,
    allowed: count('permit'),
    denied: answers.length - count('permit'),
    errors: count('error'),
    answers: [...groups.values()],
    ...(questionsOmitted > 0 ? { questionsOmitted } : {}),
    ...(versionsOmitted > 0 ? { versionsOmitted } : {}),
  };
}
