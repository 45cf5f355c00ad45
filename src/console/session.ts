/**
 * The console's session: the bearer token itself, in an HttpOnly, SameSite=Strict cookie that expires
 * an hour after the token (so an expired session is explained, not just gone; Secure unless the console is served on loopback, where browsers refuse Secure
 * cookies over plain http). Nothing is kept on the server, so a restart signs nobody out, and the
 * gateway verifies the token on every API call the console makes: a cookie is never trusted by itself.
 *
 * CSRF: every form that changes anything carries a value derived from the session's token, which a
 * cross-site page can neither read nor compute (SameSite=Strict already keeps the cookie off its
 * requests, and console-app.tsx refuses cross-site POSTs; this is the third lock).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { decodeJwt } from 'jose';

export const SESSION_COOKIE = 'vg_console';
export const CSRF_FIELD = 'csrf';
/** Browsers keep cookies up to about 4 KiB; a longer token cannot be a session. */
export const MAX_SESSION_TOKEN = 3800;
/**
 * How long the cookie outlives its token. A cookie that expired with the token left the browser
 * first, and the next page only found no session: a form sent then, or a page polling, could not say
 * the session had expired. Kept a little longer, the gateway refuses the expired token and the
 * sign-in page says so (?error=expired). The expired token is of no use to anyone meanwhile.
 */
export const SESSION_COOKIE_GRACE_SECONDS = 3600;

export interface Session {
  token: string;
  /** The token's claims as sent, unverified: for display only (the gateway verifies on every call). */
  subject: string;
  expiresAt: number;
  csrf: string;
}

export class SessionError extends Error {}

/**
 * The CSRF value of a session: HMAC-SHA256 of its token under a fixed, public label. The secret is the
 * token itself (a signed JWT the browser keeps HttpOnly; whoever holds it has the API anyway), so no
 * server key is needed, and with none every replica and every restart computes the same value: a form
 * rendered by one replica is accepted by any other behind the load balancer, and open forms survive a
 * restart. (A key made per process refused every other POST behind a load balancer.) The label keeps
 * the value from equalling any other hash of the token.
 */
const CSRF_LABEL = 'versiongate console CSRF v1';
const csrfOf = (token: string): string => createHmac('sha256', CSRF_LABEL).update(token).digest('base64url');

export function createSessions(now: () => number) {

  /** Reads what a pasted or issued token says about itself, to bound the cookie's life. */
  function describe(token: string): { subject: string; expiresAt: number } {
    if (token.length > MAX_SESSION_TOKEN) throw new SessionError(`the token is longer than ${MAX_SESSION_TOKEN} characters, too long for a browser cookie`);
    let claims;
    try {
      claims = decodeJwt(token);
    } catch {
      throw new SessionError('this is not a JWT (three base64url parts separated by dots)');
    }
    if (typeof claims.exp !== 'number') throw new SessionError('the token has no expiry (exp): the console only keeps tokens that expire');
    if (claims.exp * 1000 <= now()) throw new SessionError('the token has expired');
    return { subject: typeof claims.sub === 'string' ? claims.sub : '(no sub)', expiresAt: claims.exp * 1000 };
  }

  return {
    describe,
    start(c: Context, token: string): void {
      const { expiresAt } = describe(token);
      setCookie(c, SESSION_COOKIE, token, {
        path: '/console',
        httpOnly: true,
        sameSite: 'Strict',
        secure: secureCookies(c),
        maxAge: Math.max(1, Math.floor((expiresAt - now()) / 1000)) + SESSION_COOKIE_GRACE_SECONDS,
      });
    },
    end(c: Context): void {
      deleteCookie(c, SESSION_COOKIE, { path: '/console', secure: secureCookies(c), httpOnly: true, sameSite: 'Strict' });
    },
    /** The session of a request, or undefined. An expired token is still returned: the gateway refuses it, and says why. */
    read(c: Context): Session | undefined {
      const token = getCookie(c, SESSION_COOKIE);
      if (!token) return undefined;
      let claims;
      try {
        claims = decodeJwt(token);
      } catch {
        return undefined;
      }
      return { token, subject: typeof claims.sub === 'string' ? claims.sub : '(no sub)', expiresAt: typeof claims.exp === 'number' ? claims.exp * 1000 : 0, csrf: csrfOf(token) };
    },
    csrfMatches(session: Session, given: unknown): boolean {
      if (typeof given !== 'string') return false;
      const a = Buffer.from(given);
      const b = Buffer.from(session.csrf);
      return a.length === b.length && timingSafeEqual(a, b);
    },
  };
}

export type Sessions = ReturnType<typeof createSessions>;

/** Whether the request's Host names this machine. */
function isLoopback(c: Context): boolean {
  const host = new URL(c.req.url).hostname;
  return host === '127.0.0.1' || host === 'localhost' || host === '[::1]' || host === '::1';
}

/**
 * Whether the browser is known to reach the console over https: the connection's own scheme, or a TLS
 * proxy's `X-Forwarded-Proto: https` (the gateway serves plain http, so behind a proxy its own scheme
 * is always http). A client that sends the header without https only gets cookies its browser drops.
 */
export function overHttps(c: Context): boolean {
  if (new URL(c.req.url).protocol === 'https:') return true;
  return c.req.header('x-forwarded-proto')?.split(',')[0]?.trim().toLowerCase() === 'https';
}

/**
 * Cookies are Secure unless the console is reached over plain http on loopback, where browsers refuse
 * Secure cookies. A TLS proxy that forwards Host 127.0.0.1 gets Secure cookies only if it also sends
 * X-Forwarded-Proto: https; without either, the gateway cannot tell it from a browser on this machine.
 */
export function secureCookies(c: Context): boolean {
  return overHttps(c) || !isLoopback(c);
}

/**
 * Plain http to a name other than loopback, as far as the gateway can tell: the browser then drops the
 * Secure sign-in cookies, and sign-in cannot work. (A TLS proxy that sends no X-Forwarded-Proto looks
 * the same, so the page words its warning for the reader to check.)
 */
export function plainHttpElsewhere(c: Context): boolean {
  return !overHttps(c) && !isLoopback(c);
}
