/**
 * Request id, deadline, the canonical log line and the request metrics: one line per request with
 * request id, principal, action, resource, decision, status and duration. Never a token or an
 * Authorization header.
 */
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import { matchedRoutes } from 'hono/route';
import type { RequestMeta } from '../audit/build-record.ts';
import { createDeadline } from '../deadline.ts';
import type { Lifecycle } from '../lifecycle.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { AppEnv } from './app-env.ts';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
/** The route label of a request that matched no route: raw paths would make unbounded series. */
export const UNMATCHED_ROUTE = 'unmatched';

export interface RequestContextOptions {
  logger: Logger;
  metrics: Metrics;
  lifecycle: Lifecycle;
  /** Each request's deadline: a change not committing by then is not made (see deadline.ts). */
  deadlineMs: number;
}

export function requestContext({ logger, metrics, lifecycle, deadlineMs }: RequestContextOptions) {
  if (!Number.isInteger(deadlineMs) || deadlineMs <= 0) throw new Error(`requestContext: deadlineMs must be a positive integer, got ${deadlineMs}`);
  return createMiddleware<AppEnv>(async function requestContext(c, next) {
    const started = performance.now();
    const offered = c.req.header('x-request-id');
    // A client's id is kept only when it is safe to log and store; otherwise a fresh one is made.
    const requestId = offered && REQUEST_ID.test(offered) ? offered : randomUUID();
    c.set('requestId', requestId);
    c.set('deadline', createDeadline({ timeoutMs: deadlineMs, hardStop: lifecycle.hardStop }));
    lifecycle.began();
    try {
      await next();
    } finally {
      lifecycle.ended();
    }
    const set = headerSetter(c);
    set('x-request-id', requestId);
    // CodeArtifact's REST-JSON answers carry it too, successes included: the AWS SDK reports it as $metadata.requestId.
    set('x-amzn-requestid', requestId);
    // While draining, each connection closes after its response, so the server can finish closing.
    if (lifecycle.state === 'stopping') set('connection', 'close');

    const seconds = (performance.now() - started) / 1000;
    const route = routeOf(c);
    const labels = { method: c.req.method, route, status: String(c.res.status) };
    metrics.httpRequests.inc(labels);
    metrics.httpDuration.observe(labels, seconds);
    const principal = c.get('principal');
    logger.info('request', {
      requestId,
      method: c.req.method,
      route,
      path: c.req.path,
      status: c.res.status,
      durationMs: Math.round(seconds * 100_000) / 100,
      principal: principal ? principal.subject : null,
      action: c.get('action') ?? null,
      resource: c.get('resource') ?? null,
      decision: c.get('decision') ?? null,
    });
  });
}

/**
 * Sets a header on the response the handler made. From a socket, it is set on Node's response, which
 * has not been written yet: writeHead merges it with the handler's headers. Setting it on the handler's
 * Response instead would turn that response's plain header object into a fetch Headers object, and
 * @hono/node-server then writes the response the slow way: through Headers' validation, sorting and
 * iteration, on every request. An in-process request (the console, app.request()) has no Node
 * response, so its header goes on the Response; one whose headers are immutable is rebuilt.
 */
function headerSetter(c: Context<AppEnv>): (name: string, value: string) => void {
  const outgoing = (c.env as { outgoing?: ServerResponse } | undefined)?.outgoing;
  if (outgoing && !outgoing.headersSent) return (name, value) => outgoing.setHeader(name, value);
  return (name, value) => {
    try {
      c.res.headers.set(name, value);
    } catch {
      c.header(name, value);
    }
  };
}

/** The pattern of the route that answered (middleware is registered for ALL methods, routes are not). */
function routeOf(c: Context<AppEnv>): string {
  const routes = matchedRoutes(c);
  for (let i = routes.length - 1; i >= 0; i--) if (routes[i]!.method !== 'ALL') return routes[i]!.path;
  return UNMATCHED_ROUTE;
}

export function requestMeta(c: Context<AppEnv>): RequestMeta {
  let sourceIp: string | null = null;
  try {
    sourceIp = getConnInfo(c).remote.address ?? null;
  } catch {
    sourceIp = null; // app.request() in tests has no socket
  }
  return { requestId: c.get('requestId'), sourceIp };
}
