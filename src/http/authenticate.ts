/**
 * Authentication, as one middleware for every /v1 route. It verifies the bearer token as the request
 * arrives and gives the request a `caller` function. A handler calls it once its input is valid (a
 * request that is not even valid is answered 400, never 401), naming the action and the resource the
 * request aims at: a failure is then audited with them and thrown (401, or 503 when the keys cannot
 * be fetched); a success is the request's Caller, built once, which every operation receives.
 */
import type { Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import type { RejectionLog } from '../audit/rejection-log.ts';
import type { Principal } from '../auth/principal.ts';
import type { TokenVerifier } from '../auth/verify-token.ts';
import type { Clock } from '../clock.ts';
import type { AuthFailureLimiter } from '../auth/failure-limiter.ts';
import { ServiceUnavailableError, ThrottlingError, UnauthenticatedError } from '../errors.ts';
import type { Caller } from '../operations/caller.ts';
import type { AppEnv } from './app-env.ts';
import { requestMeta } from './request-context.ts';

export interface AuthenticateDeps {
  verifier: TokenVerifier;
  /** Where refusals are audited: the first of each kind at once, the rest counted (rejection-log.ts). */
  rejections: RejectionLog;
  clock: Clock;
  /** Caps refused tokens per source address (failure-limiter.ts); none: no cap. */
  failures?: AuthFailureLimiter | undefined;
}

/** The request's caller, once the handler knows what the request is for. */
export type CallerOf = (action: string, resource: string | null) => Promise<Caller>;

type Verified = { ok: true; principal: Principal } | { ok: false; err: unknown };

export function createAuthenticate(deps: AuthenticateDeps) {
  if (!deps.verifier || !deps.rejections || !deps.clock) throw new Error('createAuthenticate: verifier, rejections and clock are required');
  return createMiddleware<AppEnv>(async function authenticate(c, next) {
    // Started now, awaited when the handler asks: validation and verification overlap, and a failure
    // is held (never an unhandled rejection) until it can be audited with what it was aimed at.
    let verified: Promise<Verified> | undefined;
    const source = deps.failures ? requestMeta(c).sourceIp : null;
    const verify = () =>
      (verified ??= Promise.resolve()
        .then(() => {
          // A source past its cap is answered before its token costs a signature check, unless it is
          // a token verified before: behind a load balancer every client shares one address, and one
          // client's garbage must not lock out the pipelines whose tokens are known good.
          const waitMs = deps.failures?.retryAfterMs(source, deps.clock.now().getTime()) ?? 0;
          if (waitMs > 0) {
            const known = rememberedCaller(c, deps.verifier);
            if (known) return known;
            throw new ThrottlingError('too many refused tokens from this address; try again later', Math.ceil(waitMs / 1000));
          }
          return deps.verifier.verify(bearerToken(c.req.header('authorization'), authorizationHeaderCount(c)));
        })
        .then(
          (principal): Verified => ({ ok: true, principal }),
          (err: unknown): Verified => {
            if (err instanceof UnauthenticatedError) deps.failures?.recordFailure(source, deps.clock.now().getTime());
            return { ok: false, err };
          },
        ));
    verify();
    c.set('caller', callerFor(c, deps, verify));
    await next();
  });
}

/** The request's principal if its token is one the verifier remembers as good; no signature is checked. */
function rememberedCaller(c: Context<AppEnv>, verifier: TokenVerifier): Principal | undefined {
  try {
    return verifier.remembered(bearerToken(c.req.header('authorization'), authorizationHeaderCount(c)));
  } catch {
    return undefined;
  }
}

function callerFor(c: Context<AppEnv>, deps: AuthenticateDeps, verify: () => Promise<Verified>): CallerOf {
  let caller: Promise<Caller> | undefined;
  return (action, resource) =>
    (caller ??= (async () => {
      c.set('action', action);
      if (resource) c.set('resource', resource);
      const meta = requestMeta(c);
      const v = await verify();
      if (!v.ok) {
        const err = v.err;
        // Any other failure of verification is still a refused token: a 401, never a 500.
        const refusal = err instanceof UnauthenticatedError || err instanceof ServiceUnavailableError || err instanceof ThrottlingError ? err : new UnauthenticatedError('the token is not valid', 'ERR_TOKEN_INVALID');
        const code = refusal instanceof UnauthenticatedError ? refusal.code : refusal instanceof ThrottlingError ? 'TOO_MANY_REFUSED_TOKENS' : 'KEY_SOURCE_UNAVAILABLE';
        c.set('decision', 'unauthenticated');
        await deps.rejections.record({ clock: deps.clock, meta, action, resource, code, httpStatus: refusal.status });
        throw refusal;
      }
      c.set('principal', v.principal);
      return {
        principal: v.principal,
        meta,
        deadline: c.get('deadline'),
        // The request's decision sink: its canonical log line reports the last decision made.
        decided: (d) => {
          c.set('resource', d.resource);
          c.set('decision', d.decision);
        },
      };
    })());
}

/**
 * How many Authorization headers the request carried. Node keeps the first of several and drops the
 * rest, while a proxy in front may act on the last: a request two readers can attribute to two
 * principals is refused, not interpreted. Only the Node server's raw headers can tell (app.request()
 * in tests has none: one header at most, as a Headers object holds).
 */
function authorizationHeaderCount(c: Context<AppEnv>): number {
  const raw = (c.env as { incoming?: { rawHeaders?: unknown } } | undefined)?.incoming?.rawHeaders;
  if (!Array.isArray(raw)) return c.req.header('authorization') === undefined ? 0 : 1;
  let n = 0;
  for (let i = 0; i < raw.length; i += 2) if (typeof raw[i] === 'string' && (raw[i] as string).toLowerCase() === 'authorization') n++;
  return n;
}

function bearerToken(header: string | undefined, headerCount: number): string {
  if (headerCount > 1) throw new UnauthenticatedError('the request has more than one Authorization header', 'ERR_TOKEN_SCHEME');
  if (!header) throw new UnauthenticatedError('a bearer token is required (Authorization: Bearer <JWT>)', 'ERR_TOKEN_MISSING');
  const match = /^Bearer +([^\s]+) *$/i.exec(header);
  if (!match) {
    throw new UnauthenticatedError('the Authorization header must be "Bearer <JWT>" (AWS SigV4 signatures are not accepted)', 'ERR_TOKEN_SCHEME');
  }
  return match[1]!;
}
