/**
 * While the process is starting, only the operations endpoints answer; every other request gets
 * 503 ServiceUnavailableException with Retry-After (the SDKs retry it), before anything is read.
 */
import { createMiddleware } from 'hono/factory';
import { ServiceUnavailableError } from '../errors.ts';
import type { Lifecycle } from '../lifecycle.ts';
import type { AppEnv } from './app-env.ts';

export const OPS_PATHS: ReadonlySet<string> = new Set(['/healthz', '/readyz', '/metrics', '/openapi.json', '/docs']);

export function refuseWhileStarting(lifecycle: Lifecycle) {
  return createMiddleware<AppEnv>(async function refuseWhileStarting(c, next) {
    if (lifecycle.state === 'starting' && !OPS_PATHS.has(c.req.path)) {
      throw new ServiceUnavailableError('The gateway is starting; try again in a few seconds.');
    }
    await next();
  });
}
