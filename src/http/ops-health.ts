/**
 * GET /healthz (the process is up and answering) and GET /readyz (it may take traffic now).
 * Unauthenticated: load balancers and orchestrators call them, and they reveal only check names
 * and ok/failing, never a cause (that goes to the debug log).
 */
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { ReadinessReport } from '../readiness.ts';
import type { AppEnv } from './app-env.ts';

const checkStatus = z.enum(['ok', 'failing']);
const readinessSchema = z
  .object({
    status: z.enum(['ready', 'not_ready']),
    checks: z.object({
      lifecycle: z.enum(['starting', 'serving', 'stopping']).openapi({ description: 'Not ready while starting or stopping.' }),
      store: checkStatus.openapi({ description: 'The database answers a query.' }),
      policySet: checkStatus.openapi({ description: 'A validated policy set is loaded.' }),
      keySource: checkStatus.optional().openapi({ description: 'Signing keys can be obtained (for a JWKS URL: fetched now, result kept 5 s).' }),
    }),
  })
  .openapi('Readiness');

const healthRoute = createRoute({
  method: 'get',
  path: '/healthz',
  operationId: 'Health',
  summary: 'Liveness: the process is up and answering.',
  tags: ['operations'],
  security: [],
  responses: { 200: { description: 'Up', content: { 'application/json': { schema: z.object({ status: z.literal('ok') }).openapi('Health') } } } },
});

const readyRoute = createRoute({
  method: 'get',
  path: '/readyz',
  operationId: 'Readiness',
  summary: 'Readiness: serving, the store answers, a policy set is loaded, the key source is usable.',
  tags: ['operations'],
  security: [],
  responses: {
    200: { description: 'Ready to take traffic', content: { 'application/json': { schema: readinessSchema } } },
    503: { description: 'Not ready (starting, stopping, or a check failing)', content: { 'application/json': { schema: readinessSchema } } },
  },
});

export function healthApi(readiness: () => Promise<ReadinessReport>, app: OpenAPIHono<AppEnv>): void {
  app.openapi(healthRoute, (c) => c.json({ status: 'ok' as const }, 200));
  app.openapi(readyRoute, async (c) => {
    const report = await readiness();
    c.header('cache-control', 'no-store');
    const body = { status: report.ready ? ('ready' as const) : ('not_ready' as const), checks: report.checks };
    return report.ready ? c.json(body, 200) : c.json(body, 503);
  });
}
