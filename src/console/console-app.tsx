/**
 * The web console, served under /console/ by the gateway's own app. Server-rendered with hono/jsx,
 * enhanced with htmx (served from the gateway). It is a client of the gateway's API and of nothing
 * else: every page's data comes from an in-process API call carrying the session's token, so Cedar
 * decides what each person sees and every read and change is in the audit log.
 *
 * Every response: a strict Content-Security-Policy (scripts and styles only from the gateway, no
 * inline script, no eval), no framing, no caching. Every POST: a CSRF token tied to the session.
 */
import { Hono, type Context } from 'hono';
import { getCookie, setCookie, deleteCookie } from 'hono/cookie';
import { randomBytes } from 'node:crypto';
import { apiClient, SessionRefused } from './api-client.ts';
import { serveAssets } from './assets.ts';
import type { ConsoleContext, ConsoleDeps, ConsoleEnv } from './console-env.ts';
export type { ConsoleSettings } from './console-env.ts';
import { Layout, Notice } from './layout.tsx';
import { createOidc, newPkce, OidcError } from './oidc.ts';
import { auditPages } from './pages/audit.tsx';
import { overviewPage } from './pages/overview.tsx';
import { playgroundPages } from './pages/playground.tsx';
import { SignInPage } from './pages/sign-in.tsx';
import { versionsPages } from './pages/versions.tsx';
import { CSRF_FIELD, createSessions, isLoopback, SessionError, type Session } from './session.ts';

export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

const LOGIN_COOKIE = 'vg_console_login';
const OAUTH_COOKIE = 'vg_console_oauth';
/** Paths served without a session. */
const PUBLIC = new Set(['/console/sign-in', '/console/oauth/start', '/console/oauth/callback']);
const UNREADABLE_FORM = 'The form could not be read (a malformed body, or one cut short), so nothing was done. Reload the page and try again.';

/**
 * A POST's form fields, or undefined when its body cannot be read as a form (a malformed multipart
 * body, a client that hung up): a refusal of the client's request, never a page that "failed".
 */
async function readForm(c: Context<ConsoleEnv>): Promise<Record<string, unknown> | undefined> {
  try {
    return (await c.req.parseBody({ all: true })) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

export function consoleApp(deps: ConsoleDeps): Hono<ConsoleEnv> {
  const ctx: ConsoleContext = { ...deps, sessions: createSessions(deps.now) };
  const oidc = deps.oidc ? createOidc(deps.oidc) : undefined;
  const app = new Hono<ConsoleEnv>();

  app.use(async function consoleHeaders(c, next) {
    await next();
    c.res.headers.set('content-security-policy', CONTENT_SECURITY_POLICY);
    c.res.headers.set('x-frame-options', 'DENY');
    c.res.headers.set('x-content-type-options', 'nosniff');
    c.res.headers.set('referrer-policy', 'no-referrer');
    if (!c.res.headers.has('cache-control')) c.res.headers.set('cache-control', 'no-store');
  });
  serveAssets(app);

  // The session (and the API client bound to it) for every page but sign-in; a POST also needs
  // the session's CSRF token, or nothing is done.
  app.use(async function requireSession(c, next) {
    if (c.req.path.startsWith('/console/assets/') || PUBLIC.has(c.req.path)) return next();
    const session = ctx.sessions.read(c);
    if (!session) {
      if (c.req.method !== 'GET') return c.html(<Layout title="Not signed in"><Notice kind="error">Sign in first.</Notice></Layout>, 401);
      return c.redirect('/console/sign-in', 303);
    }
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD') {
      const form = await readForm(c);
      if (!form) return unreadableForm(c, session);
      if (!ctx.sessions.csrfMatches(session, form[CSRF_FIELD])) {
        return c.html(
          <Layout title="Refused" session={session}>
            <Notice kind="error">This form has no valid CSRF token, so nothing was done. Reload the page and try again.</Notice>
          </Layout>,
          403,
        );
      }
    }
    c.set('session', session);
    c.set('api', apiClient(deps.fetch, c, session.token));
    await next();
  });

  app.get('/', (c) => c.redirect('/console/overview', 303));

  const signInPage = (c: Context<ConsoleEnv>, error?: string, status: 200 | 400 | 401 = 200) => {
    const nonce = randomBytes(16).toString('base64url');
    setCookie(c, LOGIN_COOKIE, nonce, { path: '/console/sign-in', httpOnly: true, sameSite: 'Strict', secure: !isLoopback(c), maxAge: 3600 });
    return c.html(<SignInPage devMode={deps.devMode ?? false} oidc={deps.oidc} csrf={nonce} error={error ?? c.req.query('error')} />, status);
  };
  app.get('/sign-in', (c) => signInPage(c));
  app.post('/sign-in', async (c) => {
    const form = await readForm(c);
    if (!form) return signInPage(c, UNREADABLE_FORM, 400);
    // Login CSRF: the form's nonce must match the cookie set with the form (double submit).
    const nonce = getCookie(c, LOGIN_COOKIE);
    if (!nonce || form[CSRF_FIELD] !== nonce) return c.html(<Layout title="Refused"><Notice kind="error">This form has no valid CSRF token, so nothing was done. Reload the sign-in page.</Notice></Layout>, 403);
    const token = typeof form.token === 'string' ? form.token.trim() : '';
    try {
      ctx.sessions.start(c, token);
    } catch (err) {
      if (err instanceof SessionError) return signInPage(c, err.message, 400);
      throw err;
    }
    return c.redirect('/console/overview', 303);
  });

  app.post('/sign-out', (c) => {
    ctx.sessions.end(c);
    return c.redirect('/console/sign-in', 303);
  });

  app.get('/oauth/start', async (c) => {
    if (!oidc) return c.html(<Layout title="Sign-in"><Notice kind="error">No identity provider client is configured (VERSIONGATE_CONSOLE_CLIENT_ID).</Notice></Layout>, 404);
    const p = newPkce();
    const redirectUri = new URL('/console/oauth/callback', c.req.url).toString();
    let location: string;
    try {
      location = await oidc.authorizationUrl(redirectUri, p);
    } catch (err) {
      return signInPage(c, `the identity provider cannot be reached: ${(err as Error).message}`, 401);
    }
    // Lax: the identity provider sends the browser back with a cross-site navigation.
    setCookie(c, OAUTH_COOKIE, `${p.state}.${p.verifier}`, { path: '/console/oauth', httpOnly: true, sameSite: 'Lax', secure: !isLoopback(c), maxAge: 600 });
    return c.redirect(location, 302);
  });
  app.get('/oauth/callback', async (c) => {
    if (!oidc) return c.redirect('/console/sign-in', 303);
    const [state, verifier] = (getCookie(c, OAUTH_COOKIE) ?? '').split('.');
    deleteCookie(c, OAUTH_COOKIE, { path: '/console/oauth' });
    const error = c.req.query('error');
    if (error) return signInPage(c, `the identity provider refused the sign-in: ${error}`, 401);
    if (!state || !verifier || c.req.query('state') !== state) return signInPage(c, 'the sign-in could not be matched to this browser (state); start again', 400);
    const code = c.req.query('code');
    if (!code) return signInPage(c, 'the identity provider sent no code', 400);
    try {
      const token = await oidc.exchange(code, new URL('/console/oauth/callback', c.req.url).toString(), verifier);
      ctx.sessions.start(c, token);
    } catch (err) {
      if (err instanceof OidcError || err instanceof SessionError) return signInPage(c, err.message, 401);
      throw err;
    }
    // A page, not a redirect: the SameSite=Strict cookie is sent only on a navigation this site starts.
    return c.html(
      <html lang="en">
        <head>
          <meta http-equiv="refresh" content="0;url=/console/overview" />
          <title>Signed in · versiongate console</title>
        </head>
        <body>
          <p>
            Signed in. <a href="/console/overview">Continue to the console</a>.
          </p>
        </body>
      </html>,
    );
  });

  overviewPage(app, ctx);
  versionsPages(app, ctx);
  playgroundPages(app, ctx);
  auditPages(app, ctx);

  const unreadableForm = (c: Context<ConsoleEnv>, session: Session) =>
    c.html(
      <Layout title="Refused" session={session}>
        <Notice kind="error">{UNREADABLE_FORM}</Notice>
      </Layout>,
      400,
    );

  app.onError((err, c) => {
    // The gateway refused the session's token (expired, unknown key, wrong issuer): the session is over.
    if (err instanceof SessionRefused) {
      ctx.sessions.end(c);
      const url = `/console/sign-in?error=${encodeURIComponent(`the gateway refused your session's token: ${err.message}`)}`;
      if (c.req.header('hx-request')) return c.body(null, 200, { 'hx-redirect': url });
      return c.redirect(url, 303);
    }
    deps.logger.error('console page failed', { requestId: c.get('requestId'), err });
    return c.html(<Layout title="Something went wrong"><Notice kind="error">The console could not render this page. The gateway's log has the details (request {c.get('requestId')}).</Notice></Layout>, 500);
  });
  return app;
}
