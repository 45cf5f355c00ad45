/**
 * GET /metrics: the Prometheus text exposition of this app's own registry. Unauthenticated, like
 * most scrape targets: it holds counts by route, action, decision and reason code, never a
 * principal, a package or a token. VERSIONGATE_METRICS turns it off or moves it to its own listener.
 */
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { Metrics } from '../metrics/metrics.ts';
import type { AppEnv } from './app-env.ts';
import { GatewayApp } from './openapi-app.ts';

const metricsRoute = createRoute({
  method: 'get',
  path: '/metrics',
  operationId: 'Metrics',
  summary: 'Prometheus metrics (text exposition format 0.0.4).',
  tags: ['operations'],
  security: [],
  responses: {
    200: { description: 'The metrics', content: { 'text/plain': { schema: z.string().openapi({ example: 'versiongate_http_requests_total{method="GET",route="/healthz",status="200"} 1' }) } } },
  },
});

export function metricsApi(metrics: Metrics, app: OpenAPIHono<AppEnv>): void {
  app.openapi(metricsRoute, async (c) => {
    const text = await metrics.registry.metrics();
    return c.text(text, 200, { 'content-type': metrics.registry.contentType, 'cache-control': 'no-store' });
  });
}

/** The app of a listener of its own (VERSIONGATE_METRICS=HOST:PORT): /metrics and nothing else. */
export function createMetricsApp(metrics: Metrics): OpenAPIHono<AppEnv> {
  const app = new GatewayApp<AppEnv>();
  metricsApi(metrics, app);
  app.notFound((c) => c.text('only GET /metrics is served here\n', 404));
  return app;
}
