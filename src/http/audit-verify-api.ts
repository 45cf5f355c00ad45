/**
 * POST /v1/audit/verify: walks the whole audit chain and reports the first place it breaks, as
 * `versiongate audit verify` does, for those who may read the whole log (ReadAuditLog on
 * AuditLog::"versiongate", like the head). Optionally against a head saved earlier, and with
 * `state`, compares every version's status and revision with what the log says (verify-state.ts).
 * Audited.
 */
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { formatHead, parseHead, verifyChain, type VerifyResult } from '../audit/verify-chain.ts';
import { verifyChainAndState, type StateResult } from '../audit/verify-state.ts';
import { VerifySingleFlight } from '../audit/verify-single-flight.ts';
import { ValidationError } from '../errors.ts';
import type { OperationDeps } from '../operations/deps.ts';
import { authorize } from '../operations/gate.ts';
import { auditLogResource } from '../policy/entities.ts';
import type { AppEnv } from './app-env.ts';

/**
 * The most discrepancies (and unverifiable versions) an answer lists; the counts say how many there
 * are. A registry rewritten wholesale would otherwise answer megabytes; `audit verify --state` lists all.
 */
export const STATE_LIST_LIMIT = 100;

const versionState = z.object({ status: z.string(), revision: z.string() });

const verifyRoute = createRoute({
  method: 'post',
  path: '/v1/audit/verify',
  operationId: 'VerifyAuditChain',
  summary:
    "Walk the audit chain and name the first record where it breaks; with a saved head, also catch a truncated or rewritten log; with state, also compare every version's status and revision with the log.",
  request: {
    body: {
      required: false,
      content: {
        'application/json': {
          schema: z
            .object({
              head: z.string().max(100).optional(),
              state: z.boolean().optional().openapi({ description: "Also compare every version's status and revision with what the audit log says they are (edits made around the log)." }),
            })
            .strict(),
        },
      },
    },
  },
  responses: {
    200: {
      description: 'The result: ok, how many records, the head, and where it breaks',
      content: {
        'application/json': {
          schema: z.object({
            ok: z.boolean().openapi({ description: 'The chain is intact and, when state was asked for, no version differs from the log.' }),
            records: z.number(),
            head: z.string().nullable().openapi({ description: "The newest record, SEQ:HASH, when the chain is intact; null on a break (and for an empty log)." }),
            verifiedThrough: z.string().nullable().optional().openapi({ description: 'On a break: the last record that verified before it. Not the newest record: never save it as a head.' }),
            break: z.object({ seq: z.number(), problem: z.string() }).optional(),
            state: z
              .object({
                ok: z.boolean(),
                versions: z.number().openapi({ description: 'Version rows compared.' }),
                discrepancyCount: z.number(),
                discrepancies: z
                  .array(
                    z.object({
                      version: z.string().openapi({ description: 'domain/repository/format/namespace/package@version' }),
                      domainOwner: z.string(),
                      store: versionState.nullable(),
                      log: versionState.nullable(),
                      seq: z.number().nullable(),
                      problem: z.string(),
                    }),
                  )
                  .openapi({ description: `The first ${STATE_LIST_LIMIT}.` }),
                unverifiableCount: z.number(),
                unverifiable: z
                  .array(z.object({ version: z.string(), domainOwner: z.string(), store: versionState.nullable(), reason: z.string() }))
                  .openapi({ description: `The first ${STATE_LIST_LIMIT}: versions that cannot be checked, and why (never a failure).` }),
              })
              .nullable()
              .optional()
              .openapi({ description: 'With state: the comparison; null when the chain is broken (an edited log says nothing of the registry).' }),
          }),
        },
      },
    },
  },
});

export function auditVerifyApi(deps: OperationDeps, app: OpenAPIHono<AppEnv>): void {
  // One walk at a time for the whole app (the console's "Verify the chain" calls this route too).
  const walks = new VerifySingleFlight();
  app.openapi(verifyRoute, async (c) => {
    const { head: headText, state } = c.req.valid('json');
    const expectedHead = headText === undefined ? undefined : parseHead(headText);
    if (headText !== undefined && !expectedHead) throw new ValidationError('head must be SEQ:HASH with SEQ 1 or more, as GET /v1/audit/head returns it');
    const caller = await c.var.caller('ReadAuditLog', null);
    const allowed = await authorize(deps, caller, {
      action: 'ReadAuditLog',
      resource: auditLogResource(),
      context: {},
      request: { verify: true, ...(headText ? { expectedHead: headText } : {}), ...(state ? { state: true } : {}) },
    });
    await allowed.recordRead();
    // Authorized and recorded per caller above; only the walk is shared.
    const what = { head: formatHead(expectedHead) ?? undefined, state: state === true };
    if (what.state) {
      const result = await walks.run(what, () => verifyChainAndState(deps.store, { expectedHead, listLimit: STATE_LIST_LIMIT }));
      return c.json({ ...chainAnswer(result), ok: result.ok && result.state?.ok === true, state: result.state && stateAnswer(result.state) }, 200);
    }
    const result = await walks.run(what, () => verifyChain(deps.store, { expectedHead }));
    return c.json(chainAnswer(result), 200);
  });
}

function chainAnswer(result: VerifyResult) {
  return { ok: result.ok, records: result.records, head: formatHead(result.head), ...(result.break ? { verifiedThrough: formatHead(result.verifiedThrough), break: result.break } : {}) };
}

function stateAnswer(s: StateResult) {
  return {
    ok: s.ok,
    versions: s.versions,
    discrepancyCount: s.discrepancyCount,
    discrepancies: s.discrepancies,
    unverifiableCount: s.unverifiableCount,
    unverifiable: s.unverifiable,
  };
}
