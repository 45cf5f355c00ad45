/**
 * Request id and the canonical log line: one line per request with request id, principal, action,
 * resource, decision, status and duration. Never a token or an Authorization header.
 */
import { randomUUID } from 'node:crypto';
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import type { RequestMeta } from '../audit/build-record.ts';
import type { Logger } from '../log.ts';
import type { AppEnv } from './app-env.ts';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestContext(logger: Logger) {
  return createMiddleware<AppEnv>(async function requestContext(c, next) {
    const started = performance.now();
    const offered = c.req.header('x-request-id');
    // A client's id is kept only when it is safe to log and store; otherwise a fresh one is made.
    const requestId = offered && REQUEST_ID.test(offered) ? offered : randomUUID();
    c.set('requestId', requestId);
    await next();
    c.header('x-request-id', requestId);
    const principal = c.get('principal');
    logger.info('request', {
      requestId,
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      durationMs: Math.round((performance.now() - started) * 100) / 100,
      principal: principal ? principal.subject : null,
      action: c.get('action') ?? null,
      resource: c.get('resource') ?? null,
      decision: c.get('decision') ?? null,
    });
  });
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
