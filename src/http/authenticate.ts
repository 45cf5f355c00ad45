/**
 * Authentication for handlers, called after the request has been validated (so a 401 can be audited
 * with the action and resource it was aimed at). Every failure is audited and rethrown.
 */
import type { Context } from 'hono';
import { unauthenticatedRecord } from '../audit/build-record.ts';
import type { Principal } from '../auth/principal.ts';
import type { TokenVerifier } from '../auth/verify-token.ts';
import type { Clock } from '../clock.ts';
import { ServiceUnavailableError, UnauthenticatedError } from '../errors.ts';
import type { Store } from '../store/store.ts';
import type { AppEnv } from './app-env.ts';
import { requestMeta } from './request-context.ts';

export interface AuthenticateDeps {
  verifier: TokenVerifier;
  store: Store;
  clock: Clock;
}

export type Authenticate = (c: Context<AppEnv>, action: string, resource: string | null) => Promise<Principal>;

export function createAuthenticate(deps: AuthenticateDeps): Authenticate {
  return async function authenticate(c, action, resource) {
    c.set('action', action);
    if (resource) c.set('resource', resource);
    try {
      const principal = await deps.verifier.verify(bearerToken(c.req.header('authorization')));
      c.set('principal', principal);
      return principal;
    } catch (err) {
      const status = err instanceof ServiceUnavailableError ? 503 : 401;
      const code = err instanceof UnauthenticatedError ? err.code : status === 503 ? 'KEY_SOURCE_UNAVAILABLE' : 'ERR_TOKEN_INVALID';
      c.set('decision', 'unauthenticated');
      await deps.store.appendAudit(unauthenticatedRecord({ clock: deps.clock, meta: requestMeta(c), action, resource, code, httpStatus: status }));
      throw err instanceof UnauthenticatedError || err instanceof ServiceUnavailableError ? err : new UnauthenticatedError('the token is not valid', code);
    }
  };
}

function bearerToken(header: string | undefined): string {
  if (!header) throw new UnauthenticatedError('a bearer token is required (Authorization: Bearer <JWT>)', 'ERR_TOKEN_MISSING');
  const match = /^Bearer +([^\s]+) *$/i.exec(header);
  if (!match) {
    throw new UnauthenticatedError('the Authorization header must be "Bearer <JWT>" (AWS SigV4 signatures are not accepted)', 'ERR_TOKEN_SCHEME');
  }
  return match[1]!;
}
