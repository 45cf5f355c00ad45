/**
 * GET /v1/audit: records newest first, filtered, a page at a time (keyset on seq).
 * GET /v1/audit/head: the chain's head {seq, hash}, to be saved somewhere else and checked later.
 */
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { resourceFilter } from '../audit/resource-filter.ts';
import type { OperationDeps } from '../operations/deps.ts';
import { readAudit, readAuditHead } from '../operations/read-audit.ts';
import type { AuditFilter } from '../store/store.ts';
import type { AppEnv } from './app-env.ts';
import type { Authenticate } from './authenticate.ts';
import { requestMeta } from './request-context.ts';

export const MAX_AUDIT_PAGE = 500;

const printable = (max: number) => z.string().min(1).max(max).regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces');
const isoTime = z
  .string()
  .refine((s) => /^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:\d{2}))?$/.test(s) && !Number.isNaN(Date.parse(s)), 'must be an ISO 8601 time such as 2026-11-21T09:00:00Z')
  .transform((s) => new Date(s).toISOString());

export const auditQuerySchema = z.object({
  principal: z.string().min(1).max(256).optional().openapi({ description: "The principal's subject (the token's sub)." }),
  action: z.string().regex(/^[A-Za-z]{1,64}$/).optional().openapi({ example: 'DisposePackageVersions' }),
  decision: z.enum(['allow', 'deny', 'unauthenticated', 'none']).optional(),
  resource: printable(2048).optional().openapi({
    description: 'A package ARN; a repository or domain ARN (every package in it); or a prefix ending in *.',
    example: 'arn:aws:codeartifact:us-east-1:111122223333:repository/my_domain/my_repo',
  }),
  package: z.string().min(1).max(255).optional().openapi({ description: 'Package name (normalised, without namespace).', example: 'chalk' }),
  version: z.string().min(1).max(255).optional().openapi({ example: '4.1.0' }),
  since: isoTime.optional().openapi({ description: 'Inclusive.', example: '2026-11-01T00:00:00Z' }),
  until: isoTime.optional().openapi({ description: 'Exclusive.' }),
  limit: z.coerce.number().int().min(1).max(MAX_AUDIT_PAGE).default(50).openapi({ example: 50 }),
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

export function auditApi(deps: OperationDeps, authenticate: Authenticate, app: OpenAPIHono<AppEnv>): void {
  const onDecision = (c: Parameters<Authenticate>[0]) => (d: { resource: string; decision: 'allow' | 'deny' }) => {
    c.set('resource', d.resource);
    c.set('decision', d.decision);
  };

  app.openapi(listRoute, async (c) => {
    const q = c.req.valid('query');
    const filter: AuditFilter = {
      principal: q.principal,
      action: q.action,
      decision: q.decision,
      ...(q.resource !== undefined ? resourceFilter(q.resource) : {}),
      packageName: q.package,
      version: q.version,
      since: q.since,
      until: q.until,
    };
    const principal = await authenticate(c, 'ReadAuditLog', null);
    const page = await readAudit(deps, {
      principal,
      meta: requestMeta(c),
      filter: Object.fromEntries(Object.entries(filter).filter(([, v]) => v !== undefined)) as AuditFilter,
      limit: q.limit,
      beforeSeq: q['next-token'] === undefined ? undefined : Number(q['next-token']),
      onDecision: onDecision(c),
    });
    return c.json(page, 200);
  });

  app.openapi(headRoute, async (c) => {
    const principal = await authenticate(c, 'ReadAuditLog', null);
    const head = await readAuditHead(deps, { principal, meta: requestMeta(c), onDecision: onDecision(c) });
    return c.json({ seq: head?.seq ?? null, hash: head?.hash ?? null, head: head ? `${head.seq}:${head.hash}` : null }, 200);
  });
}
