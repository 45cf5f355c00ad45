/**
 * POST /v1/audit/verify: walks the whole audit chain and reports the first place it breaks, as
 * `versiongate audit verify` does, for those who may read the whole log (ReadAuditLog on
 * AuditLog::"versiongate", like the head). Optionally against a head saved earlier. Audited.
 */
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { formatHead, parseHead, verifyChain } from '../audit/verify-chain.ts';
import { VerifySingleFlight } from '../audit/verify-single-flight.ts';
import { ValidationError } from '../errors.ts';
import type { OperationDeps } from '../operations/deps.ts';
import { authorize } from '../operations/gate.ts';
import { auditLogResource } from '../policy/entities.ts';
import type { AppEnv } from './app-env.ts';

const verifyRoute = createRoute({
  method: 'post',
  path: '/v1/audit/verify',
  operationId: 'VerifyAuditChain',
  summary: 'Walk the audit chain and name the first record where it breaks; with a saved head, also catch a truncated or rewritten log.',
  request: { body: { required: false, content: { 'application/json': { schema: z.object({ head: z.string().max(100).optional() }).strict() } } } },
  responses: {
    200: {
      description: 'The result: ok, how many records, the head, and where it breaks',
      content: {
        'application/json': {
          schema: z.object({
            ok: z.boolean(),
            records: z.number(),
            head: z.string().nullable().openapi({ description: "The newest record, SEQ:HASH, when the chain is intact; null on a break (and for an empty log)." }),
            verifiedThrough: z.string().nullable().optional().openapi({ description: 'On a break: the last record that verified before it. Not the newest record: never save it as a head.' }),
            break: z.object({ seq: z.number(), problem: z.string() }).optional(),
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
    const headText = c.req.valid('json').head;
    const expectedHead = headText === undefined ? undefined : parseHead(headText);
    if (headText !== undefined && !expectedHead) throw new ValidationError('head must be SEQ:HASH with SEQ 1 or more, as GET /v1/audit/head returns it');
    const caller = await c.var.caller('ReadAuditLog', null);
    const allowed = await authorize(deps, caller, { action: 'ReadAuditLog', resource: auditLogResource(), context: {}, request: { verify: true, ...(headText ? { expectedHead: headText } : {}) } });
    await allowed.recordRead();
    // Authorized and recorded per caller above; only the walk is shared.
    const result = await walks.run(formatHead(expectedHead) ?? undefined, () => verifyChain(deps.store, { expectedHead }));
    return c.json({ ok: result.ok, records: result.records, head: formatHead(result.head), ...(result.break ? { verifiedThrough: formatHead(result.verifiedThrough), break: result.break } : {}) }, 200);
  });
}
