/**
 * Requests refused before anything is read, with 503 ServiceUnavailableException and Retry-After
 * (the SDKs retry it): every request but the operations endpoints' while the process is starting,
 * and every request on a connection accepted past the connection cap (connection-cap.ts).
 */
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { createMiddleware } from 'hono/factory';
import { ServiceUnavailableError } from '../errors.ts';
import type { Lifecycle } from '../lifecycle.ts';
import type { AppEnv } from './app-env.ts';

export const OPS_PATHS: ReadonlySet<string> = new Set(['/healthz', '/readyz', '/metrics', '/openapi.json', '/docs']);

/**
 * One middleware for both. A connection accepted past the cap gets its request answered, not a
 * reset: 503, and the connection closed after it, so its place goes to another. The operations
 * endpoints are served on it all the same: an orchestrator must not restart a gateway for being busy.
 */
export function refuseBeforeReading(lifecycle: Lifecycle, refuses?: ((socket: Socket) => boolean) | undefined) {
  return createMiddleware<AppEnv>(async function refuseBeforeReading(c, next) {
    if (!OPS_PATHS.has(c.req.path)) {
      if (lifecycle.state === 'starting') throw new ServiceUnavailableError('The gateway is starting; try again in a few seconds.');
      const env = c.env as { incoming?: { socket?: Socket }; outgoing?: ServerResponse } | undefined;
      const socket = env?.incoming?.socket;
      if (refuses !== undefined && socket !== undefined && refuses(socket)) {
        env!.outgoing?.setHeader('connection', 'close');
        throw new ServiceUnavailableError('The gateway holds as many connections as it may: this one is closed after this answer; try again shortly.');
      }
    }
    await next();
  });
}
