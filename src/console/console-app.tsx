/**
 * The web console, served under /console/ by the gateway's own app. Server-rendered with hono/jsx,
 * enhanced with htmx (served from the gateway). It is a client of the gateway's API and of nothing
 * else: every page's data comes from an in-process API call carrying the session's token, so Cedar
 * decides what each person sees and every read and change is in the audit log.
 *
 * Every response: a strict Content-Security-Policy (scripts and styles only from the gateway, no
 * inline script, no eval), no framing, no caching. Every POST: refused when the browser says it comes
 * from another site, and a CSRF token tied to the session (or, for sign-in, to the sign-in form).
 */
import { Hono, type Context } from 'hono';
import { getCookie, setCookie, deleteCookie } from 'hono/cookie';
import { randomBytes } from 'node:crypto';
import { apiClient, SessionRefused } from './api-client.ts';
import { serveAssets } from './assets.ts';
import type { ConsoleContext, ConsoleDeps, ConsoleEnv } from './console-env.ts';
export type { ConsoleSettings } from './console-env.ts';
import { Layout, Notice } from './layout.tsx';
import { createOidc, newPkce, OidcError, providerRefusal } from './oidc.ts';
import { quoted } from './quoted.ts';
import { auditPages } from './pages/audit.tsx';
import { overviewPage } from './pages/overview.tsx';
import { playgroundPages } from './pages/playground.tsx';
import { SignInPage, signInErrorText, type SignInErrorCode } from './pages/sign-in.tsx';
import { versionsPages } from './pages/versions.tsx';
import { CSRF_FIELD, createSessions, plainHttpElsewhere, secureCookies, SessionError, type Session } from './session.ts';

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
 * Why a POST comes from another site, or undefined. Browsers send Sec-Fetch-Site (which no page can
 * set) on every request: it alone decides when present, and it is right behind a TLS proxy, where the
 * gateway's own idea of its origin (http, maybe another Host) differs from the browser's. A browser too
 * old for it still sends Origin on a POST, compared with this request's host (http or https: a TLS
 * proxy that forwards Host). Without either (curl, an old client) the CSRF token decides alone. This
 * keeps a sibling origin that can set cookies (login CSRF: signing the victim in as the attacker) or a
 * cross-site form from acting, whatever cookies it managed to plant.
 */
function crossSitePost(c: Context<ConsoleEnv>): string | undefined {
  const site = c.req.header('sec-fetch-site');
  if (site !== undefined) {
    if (site === 'same-origin') return undefined;
    return `This form was not sent from the console's own pages (the browser says Sec-Fetch-Site: ${quoted(site, 40)}), so nothing was done. Open the console at its own address and try again.`;
  }
  const origin = c.req.header('origin');
  if (origin === undefined) return undefined;
  let from: URL | undefined;
  try {
    from = new URL(origin);
  } catch {
    from = undefined;
  }
  if (from && (from.protocol === 'https:' || from.protocol === 'http:') && from.host === new URL(c.req.url).host) return undefined;
  return `This form was not sent from the console's own pages (it came from ${quoted(origin, 100)}), so nothing was done. Open the console at its own address and try again.`;
}

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

  // Before anything reads a form or a cookie: a POST another site made is refused, signed in or not.
  app.use(async function sameOriginPosts(c, next) {
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
    const why = crossSitePost(c);
    if (why) return c.html(<Layout title="Refused"><Notice kind="error">{why}</Notice></Layout>, 403);
    return next();
  });

  // The session (and the API client bound to it) for every page but sign-in; a POST also needs
  // the session's CSRF token, or nothing is done.
  app.use(async function requireSession(c, next) {
    if (c.req.path.startsWith('/console/assets/') || PUBLIC.has(c.req.path)) return next();
    const session = ctx.sessions.read(c);
    if (!session) {
      // A form sent after the session ended: say that nothing was done, and where to sign in again.
      if (c.req.method !== 'GET' && c.req.method !== 'HEAD') return sessionEnded(c);
      // htmx follows a redirect inside its request and would swap the sign-in page into this one:
      // HX-Redirect sends the whole page there instead, with the reason.
      if (c.req.header('hx-request')) return c.body(null, 200, { 'hx-redirect': '/console/sign-in?error=ended' });
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

  /** The sign-in page; `error` is the console's own text (a link's `?error=` is only ever a code). */
  const signInPage = (c: Context<ConsoleEnv>, error?: string, status: 200 | 400 | 401 | 403 | 503 = 200) => {
    const nonce = randomBytes(16).toString('base64url');
    setCookie(c, LOGIN_COOKIE, nonce, { path: '/console/sign-in', httpOnly: true, sameSite: 'Strict', secure: secureCookies(c), maxAge: 3600 });
    return c.html(
      <SignInPage devMode={deps.devMode ?? false} oidc={deps.oidc} csrf={nonce} error={error} signedOut={c.req.query('signed-out') !== undefined} plainHttp={plainHttpElsewhere(c)} />,
      status,
    );
  };

  /**
   * Asks the gateway whether it takes the token, before any cookie is set: a token it refuses (a bad
   * signature, alg "none", another issuer) never becomes a session whose pages say "Signed in as"
   * whatever its claims say. The question is the one the versions page asks (POST /v1/authorize about
   * oneself, which the shipped own-access.cedar allows everyone), so a sign-in leaves one allowed
   * SimulateAuthorization record, not a denial; a refusal is audited and counted against the
   * browser's address like any other. Returns why not, or undefined.
   */
  const gatewayRefuses = async (c: Context<ConsoleEnv>, token: string): Promise<{ why: string; status: 401 | 503 } | undefined> => {
    let res;
    try {
      res = await apiClient(deps.fetch, c, token).post('/v1/authorize', undefined, { principal: { token }, action: 'ReadAuditLog', resource: 'AuditLog::"versiongate"' });
    } catch (err) {
      if (err instanceof SessionRefused) return { why: `The gateway refused this token: ${quoted(err.message)}.`, status: 401 };
      throw err;
    }
    // 200, or 403 where the policies allow no such question: either way the token was verified.
    if (res.status === 200 || res.status === 403) return undefined;
    return { why: `The gateway could not verify this token now (HTTP ${res.status}: ${quoted(res.error ?? 'no message')}). Try again shortly.`, status: 503 };
  };

  /** A session from a token the gateway verified, and the sign-in form's nonce cookie gone with its form. */
  const startSession = (c: Context<ConsoleEnv>, token: string) => {
    ctx.sessions.start(c, token);
    deleteCookie(c, LOGIN_COOKIE, { path: '/console/sign-in', httpOnly: true, sameSite: 'Strict', secure: secureCookies(c) });
  };

  app.get('/sign-in', (c) => signInPage(c, signInErrorText(c.req.query('error'))));
  app.post('/sign-in', async (c) => {
    const form = await readForm(c);
    if (!form) return signInPage(c, UNREADABLE_FORM, 400);
    // Login CSRF: the form's nonce must match the cookie set with the form (double submit), on top of
    // the same-origin check every POST has passed.
    const nonce = getCookie(c, LOGIN_COOKIE);
    if (!nonce || form[CSRF_FIELD] !== nonce) {
      // The usual reason a browser sends the form without its cookie: plain http to another host, where
      // it refused the Secure cookie. Say so, rather than blaming a token nobody can see.
      const why = plainHttpElsewhere(c)
        ? 'The sign-in cookie did not come back, so nothing was done. Your browser drops it when the console is reached over plain http at a name other than 127.0.0.1 or localhost: reach the console over https (a TLS proxy in front of the gateway), or on 127.0.0.1.'
        : 'This form has no valid CSRF token, so nothing was done. Reload the sign-in page.';
      return c.html(<Layout title="Refused"><Notice kind="error">{why}</Notice></Layout>, 403);
    }
    const token = typeof form.token === 'string' ? form.token.trim() : '';
    try {
      ctx.sessions.describe(token);
    } catch (err) {
      if (err instanceof SessionError) return signInPage(c, err.message, 400);
      throw err;
    }
    const refused = await gatewayRefuses(c, token);
    if (refused) return signInPage(c, refused.why, refused.status);
    startSession(c, token);
    return c.redirect('/console/overview', 303);
  });

  // The session is the token itself, so signing out removes it from this browser; it does not (cannot,
  // with nothing kept on the server) make the token invalid: it stays valid until it expires.
  app.post('/sign-out', (c) => {
    ctx.sessions.end(c);
    return c.redirect('/console/sign-in?signed-out', 303);
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
    setCookie(c, OAUTH_COOKIE, `${p.state}.${p.verifier}`, { path: '/console/oauth', httpOnly: true, sameSite: 'Lax', secure: secureCookies(c), maxAge: 600 });
    return c.redirect(location, 302);
  });
  app.get('/oauth/callback', async (c) => {
    if (!oidc) return c.redirect('/console/sign-in', 303);
    const [state, verifier] = (getCookie(c, OAUTH_COOKIE) ?? '').split('.');
    deleteCookie(c, OAUTH_COOKIE, { path: '/console/oauth' });
    // The state first: until it matches the sign-in this browser started, nothing in the query is the
    // identity provider's (anyone can send a link to this callback with an error of their wording).
    if (!state || !verifier || c.req.query('state') !== state) return signInPage(c, 'the sign-in could not be matched to this browser (state); start again', 400);
    const error = c.req.query('error');
    if (error !== undefined) return signInPage(c, providerRefusal(error, c.req.query('error_description')), 401);
    const code = c.req.query('code');
    if (!code) return signInPage(c, 'the identity provider sent no code', 400);
    let token: string;
    try {
      token = await oidc.exchange(code, new URL('/console/oauth/callback', c.req.url).toString(), verifier);
      ctx.sessions.describe(token);
    } catch (err) {
      if (err instanceof OidcError || err instanceof SessionError) return signInPage(c, err.message, 401);
      throw err;
    }
    const refused = await gatewayRefuses(c, token);
    if (refused) return signInPage(c, refused.why, refused.status);
    startSession(c, token);
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

  /** A POST without a session: nothing was done, and the way back in. */
  function sessionEnded(c: Context<ConsoleEnv>, code?: SignInErrorCode) {
    const why = code === 'expired' ? "your session's token has expired" : code === 'refused' ? "the gateway refused your session's token" : 'you signed out, or its token expired';
    return c.html(
      <Layout title="Session ended">
        <Notice kind="error">
          Your session has ended ({why}), so nothing was done. <a href={`/console/sign-in${code ? `?error=${code}` : ''}`}>Sign in again</a>, then go back to the page and send it again.
        </Notice>
      </Layout>,
      401,
    );
  }

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
      // A code, never text: the sign-in page shows only its own words for it (sign-in.tsx).
      const session = c.get('session') as Session | undefined;
      const code: SignInErrorCode = session && session.expiresAt <= deps.now() ? 'expired' : 'refused';
      const url = `/console/sign-in?error=${code}`;
      if (c.req.header('hx-request')) return c.body(null, 200, { 'hx-redirect': url });
      // A form: the gateway refused its first call, so nothing was done; say so before the sign-in.
      if (c.req.method === 'POST') return sessionEnded(c, code);
      return c.redirect(url, 303);
    }
    deps.logger.error('console page failed', { requestId: c.get('requestId'), err });
    return c.html(<Layout title="Something went wrong"><Notice kind="error">The console could not render this page. The gateway's log has the details (request {c.get('requestId')}).</Notice></Layout>, 500);
  });
  return app;
}
