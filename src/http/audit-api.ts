/** GET /v1/audit: audit records newest first, a page at a time. */
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { OperationDeps } from '../operations/deps.ts';
import { readAudit } from '../operations/read-audit.ts';
import type { AppEnv } from './app-env.ts';
import type { Authenticate } from './authenticate.ts';
import { requestMeta } from './request-context.ts';

export const MAX_AUDIT_PAGE = 500;

const auditRoute = createRoute({
  method: 'get',
  path: '/v1/audit',
  operationId: 'ListAuditRecords',
  summary: 'Audit records, newest first.',
  request: {
    query: z.object({
      limit: z.coerce.number().int().min(1).max(MAX_AUDIT_PAGE).default(50).openapi({ example: 50 }),
      'next-token': z
        .string()
        .regex(/^[1-9][0-9]{0,15}$/, 'next-token must be a token returned by a previous page')
        .optional(),
    }),
  },
  responses: {
    200: {
      description: 'A page of records',
      content: { 'application/json': { schema: z.object({ records: z.array(z.record(z.string(), z.unknown())), nextToken: z.string().optional() }) } },
    },
  },
});

export function auditApi(deps: OperationDeps, authenticate: Authenticate, app: OpenAPIHono<AppEnv>): void {
  app.openapi(auditRoute, async (c) => {
    const q = c.req.valid('query');
    const principal = await authenticate(c, 'ReadAuditLog', null);
    const page = await readAudit(deps, {
      principal,
      meta: requestMeta(c),
      limit: q.limit,
      beforeSeq: q['next-token'] === undefined ? undefined : Number(q['next-token']),
      onDecision: (d) => {
        c.set('resource', d.resource);
        c.set('decision', d.decision);
      },
    });
    return c.json(page, 200);
  });
}
