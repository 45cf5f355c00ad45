/**
 * GET /v1/audit: records newest first, filtered, a page at a time (keyset on seq).
 * GET /v1/audit/head: the chain's head {seq, hash}, to be saved somewhere else and checked later.
 */
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { formatHead } from '../audit/verify-chain.ts';
import { auditFilterSchema, toAuditFilter } from '../audit/query-filter.ts';
import type { OperationDeps } from '../operations/deps.ts';
import { readAudit, readAuditHead } from '../operations/read-audit.ts';
import type { AppEnv } from './app-env.ts';

export const MAX_AUDIT_PAGE = 500;

export const auditQuerySchema = auditFilterSchema.extend({
  // Digits only: z.coerce took 0x10, 1e2, +3, " 5" and 00003 (Number() does), and said "Too small" for limit=.
  limit: z
    .string()
    .regex(/^[1-9][0-9]{0,2}$/, `limit must be a whole number from 1 to ${MAX_AUDIT_PAGE}`)
    .refine((s) => Number(s) <= MAX_AUDIT_PAGE, `limit must be a whole number from 1 to ${MAX_AUDIT_PAGE}`)
    .optional()
    .transform((s) => (s === undefined ? 50 : Number(s)))
    .openapi({ type: 'integer', minimum: 1, maximum: MAX_AUDIT_PAGE, default: 50, example: 50, description: `1 to ${MAX_AUDIT_PAGE}, digits only; 50 when absent.` }),
  'next-token': z.string().regex(/^[1-9][0-9]{0,15}$/, 'next-token must be a token returned by a previous page').optional(),
});

const recordSchema = z.record(z.string(), z.unknown()).openapi('AuditRecord');

const listRoute = createRoute({
  method: 'get',
  path: '/v1/audit',
  operationId: 'ListAuditRecords',
  summary: 'Audit records, newest first, filtered to what the caller may read.',
  request: { query: auditQuerySchema },
  responses: {
    200: { description: 'A page of records', content: { 'application/json': { schema: z.object({ records: z.array(recordSchema), nextToken: z.string().optional() }) } } },
  },
});

const headRoute = createRoute({
  method: 'get',
  path: '/v1/audit/head',
  operationId: 'GetAuditHead',
  summary: "The audit chain's newest record: save it elsewhere and pass it to `versiongate audit verify --head`.",
  responses: {
    200: { description: 'The head, or nulls for an empty log', content: { 'application/json': { schema: z.object({ seq: z.number().nullable(), hash: z.string().nullable(), head: z.string().nullable() }) } } },
  },
});

export function auditApi(deps: OperationDeps, app: OpenAPIHono<AppEnv>): void {
  app.openapi(listRoute, async (c) => {
    const q = c.req.valid('query');
    const page = await readAudit(deps, {
      caller: await c.var.caller('ReadAuditLog', null),
      filter: toAuditFilter(q),
      limit: q.limit,
      beforeSeq: q['next-token'] === undefined ? undefined : Number(q['next-token']),
    });
    return c.json(page, 200);
  });

  app.openapi(headRoute, async (c) => {
    const head = await readAuditHead(deps, await c.var.caller('ReadAuditLog', null));
    return c.json({ seq: head?.seq ?? null, hash: head?.hash ?? null, head: formatHead(head) }, 200);
  });
}
