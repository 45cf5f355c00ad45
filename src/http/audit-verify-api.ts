/**
 * POST /v1/audit/verify: walks the whole audit chain and reports the first place it breaks, as
 * `versiongate audit verify` does, for those who may read the whole log (ReadAuditLog on
 * AuditLog::"versiongate", like the head). Optionally against a head saved earlier. Audited.
 */
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { parseHead, verifyChain } from '../audit/verify-chain.ts';
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
      content: { 'application/json': { schema: z.object({ ok: z.boolean(), records: z.number(), head: z.string().nullable(), break: z.object({ seq: z.number(), problem: z.string() }).optional() }) } },
    },
  },
});

export function auditVerifyApi(deps: OperationDeps, app: OpenAPIHono<AppEnv>): void {
  app.openapi(verifyRoute, async (c) => {
    const headText = c.req.valid('json').head;
    const expectedHead = headText === undefined ? undefined : parseHead(headText);
    if (headText !== undefined && !expectedHead) throw new ValidationError('head must be SEQ:HASH as GET /v1/audit/head returns it');
    const caller = await c.var.caller('ReadAuditLog', null);
    const allowed = await authorize(deps, caller, { action: 'ReadAuditLog', resource: auditLogResource(), context: {}, request: { verify: true, ...(headText ? { expectedHead: headText } : {}) } });
    await allowed.recordRead();
    const result = await verifyChain(deps.store, { expectedHead });
    return c.json({ ok: result.ok, records: result.records, head: result.head ? `${result.head.seq}:${result.head.hash}` : null, ...(result.break ? { break: result.break } : {}) }, 200);
  });
}
