/**
 * The console's session: the bearer token itself, in an HttpOnly, SameSite=Strict cookie that expires
 * with the token (Secure unless the console is served on loopback, where browsers refuse Secure
 * cookies over plain http). Nothing is kept on the server, so a restart signs nobody out, and the
 * gateway verifies the token on every API call the console makes: a cookie is never trusted by itself.
 *
 * CSRF: every form that changes anything carries HMAC(process key, token). A cross-site page cannot
 * read it (SameSite=Strict already keeps the cookie off its requests; this is the second lock).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { decodeJwt } from 'jose';

export const SESSION_COOKIE = 'vg_console';
export const CSRF_FIELD = 'csrf';
/** Browsers keep cookies up to about 4 KiB; a longer token cannot be a session. */
export const MAX_SESSION_TOKEN = 3800;

export interface Session {
  token: string;
  /** The token's claims as sent, unverified: for display only (the gateway verifies on every call). */
  subject: string;
  expiresAt: number;
  csrf: string;
}

export class SessionError extends Error {}

export function createSessions(now: () => number) {
  // A fresh key per process: forms rendered before a restart are refused once, then rendered again.
  const key = randomBytes(32);
  const csrfOf = (token: string) => createHmac('sha256', key).update(token).digest('base64url');

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
        secure: !isLoopback(c),
        maxAge: Math.max(1, Math.floor((expiresAt - now()) / 1000)),
      });
    },
    end(c: Context): void {
      deleteCookie(c, SESSION_COOKIE, { path: '/console', secure: !isLoopback(c), httpOnly: true, sameSite: 'Strict' });
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

/** Loopback: the only place a cookie may go without Secure (browsers keep Secure cookies off plain http). */
export function isLoopback(c: Context): boolean {
  const host = new URL(c.req.url).hostname;
  return host === '127.0.0.1' || host === 'localhost' || host === '[::1]' || host === '::1';
}
