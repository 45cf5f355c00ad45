/**
 * Signing in to the console, as a hostile page or link would try it: cross-site POSTs (login CSRF from
 * a sibling origin that can plant cookies), words put in the sign-in page's mouth by a link, tokens
 * the gateway does not verify, sign-out, and a console reached over plain http.
 */
import { Hono } from 'hono';
import { afterEach, describe, expect, it } from 'vitest';
import { consoleApp } from '../../src/console/console-app.tsx';
import { PLAIN_HTTP_WARNING, SIGN_IN_ERRORS, SIGNED_OUT, UNKNOWN_SIGN_IN_ERROR } from '../../src/console/pages/sign-in.tsx';
import { silentLogger } from '../../src/log.ts';
import { testGateway, type TestGateway } from '../helpers/gateway.ts';

let gw: TestGateway | undefined;
afterEach(async () => {
  await gw?.close();
  gw = undefined;
});

const csrfOf = (html: string) => /name="csrf" value="([^"]+)"/.exec(html)?.[1];
const cookieOf = (res: Response, name: string) => res.headers.getSetCookie().find((c) => c.startsWith(`${name}=`));
/** As hono/jsx escapes text. */
const escaped = (text: string) => text.replaceAll('&', '&amp;').replaceAll('"', '&quot;').replaceAll("'", '&#39;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');

/** The sign-in form's nonce and its cookie, as a browser holds them after loading the page. */
async function signInForm(app: { request: Hono['request'] }, url = '/console/sign-in') {
  const page = await app.request(url);
  return { nonce: csrfOf(await page.text())!, loginCookie: cookieOf(page, 'vg_console_login')!.split(';')[0]! };
}

function postForm(cookie: string, fields: Record<string, string>, headers: Record<string, string> = {}) {
  return { method: 'POST', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(fields).toString() };
}

/** A console on its own, with an identity provider configured; its API is never reached by these tests. */
function consoleWithProvider() {
  const app = new Hono();
  app.route(
    '/console',
    consoleApp({
      fetch: () => {
        throw new Error('no API call expected');
      },
      now: () => Date.now(),
      logger: silentLogger,
      oidc: { issuer: 'https://idp.example.com', clientId: 'versiongate-console', scope: 'openid' },
    }),
  );
  return app;
}

describe('console POSTs from another site', () => {
  it('refuses a sign-in posted cross-site or from a sibling origin, even with a planted nonce cookie, and signs in from its own pages', async () => {
    gw = await testGateway();
    const attacker = await gw.token('mallory', []);
    for (const headers of <Array<Record<string, string>>>[{ 'sec-fetch-site': 'cross-site' }, { 'sec-fetch-site': 'same-site' }, { origin: 'https://evil.example.com' }, { origin: 'null' }, { origin: 'http://sibling.localhost' }]) {
      // The attacker's page holds a valid nonce and has planted its cookie: only the origin gives it away.
      const { nonce, loginCookie } = await signInForm(gw.app);
      const res = await gw.app.request('/console/sign-in', postForm(loginCookie, { csrf: nonce, token: attacker }, headers));
      expect(res.status, JSON.stringify(headers)).toBe(403);
      expect(await res.text()).toContain('This form was not sent from the console&#39;s own pages (');
      expect(cookieOf(res, 'vg_console')).toBeUndefined();
    }
    // The console's own page, by a browser that says so, or by its Origin (also behind a TLS proxy that forwards Host).
    for (const headers of <Array<Record<string, string>>>[{ 'sec-fetch-site': 'same-origin', origin: 'https://console.example.com' }, { origin: 'http://localhost' }, {}]) {
      const { nonce, loginCookie } = await signInForm(gw.app);
      const res = await gw.app.request('/console/sign-in', postForm(loginCookie, { csrf: nonce, token: await gw.token('alice', []) }, headers));
      expect(res.status, JSON.stringify(headers)).toBe(303);
      expect(cookieOf(res, 'vg_console')).toMatch(/HttpOnly/);
      // The sign-in form's nonce is spent with it.
      expect(cookieOf(res, 'vg_console_login')).toMatch(/^vg_console_login=;.*Max-Age=0/);
    }
    const proxied = await signInForm(gw.app, 'http://console.example.com/console/sign-in');
    const behindProxy = await gw.app.request('http://console.example.com/console/sign-in', postForm(proxied.loginCookie, { csrf: proxied.nonce, token: await gw.token('alice', []) }, { origin: 'https://console.example.com' }));
    expect(behindProxy.status).toBe(303);
  });

  it('refuses a signed-in action posted cross-site with a valid CSRF token, and changes nothing', async () => {
    gw = await testGateway();
    const { nonce, loginCookie } = await signInForm(gw.app);
    const signedIn = await gw.app.request('/console/sign-in', postForm(loginCookie, { csrf: nonce, token: await gw.token('alice', ['release-managers']) }));
    const cookie = cookieOf(signedIn, 'vg_console')!.split(';')[0]!;
    const fields = { domain: 'my_domain', 'domain-owner': '111122223333', repository: 'my_repo', pkg: 'npm//chalk', action: 'Archive', versions: '4.1.0' };
    const csrf = csrfOf(await (await gw.app.request(`/console/versions/confirm?${new URLSearchParams(fields)}`, { headers: { cookie } })).text())!;
    const refused = await gw.app.request('/console/versions/apply', postForm(cookie, { ...fields, csrf }, { 'sec-fetch-site': 'same-site', origin: 'https://sibling.example.com' }));
    expect(refused.status).toBe(403);
    expect(await gw.store.listAudit({ filter: { action: 'UpdatePackageVersionsStatus' }, limit: 10 })).toEqual([]);
    const applied = await gw.app.request('/console/versions/apply', postForm(cookie, { ...fields, csrf }, { 'sec-fetch-site': 'same-origin' }));
    expect(applied.status).toBe(303);
    expect(applied.headers.get('location')).toMatch(/^\/console\/versions\/result\?r=/);
  });
});

describe('messages on the sign-in page', () => {
  const phishing = 'Your session expired. Re-enter your token at https://evil.example';

  it('shows only its own words for an error code in the link', async () => {
    const app = consoleWithProvider();
    const forged = await (await app.request(`/console/sign-in?error=${encodeURIComponent(phishing)}`)).text();
    expect(forged).not.toContain('evil.example');
    expect(forged).toContain(UNKNOWN_SIGN_IN_ERROR);
    expect(await (await app.request('/console/sign-in?error=expired')).text()).toContain(escaped(SIGN_IN_ERRORS.expired));
    expect(await (await app.request('/console/sign-in?error=constructor')).text()).toContain(UNKNOWN_SIGN_IN_ERROR);
    expect(await (await app.request('/console/sign-in')).text()).not.toContain('role="alert"');
  });

  it("checks the OAuth state before showing anything about a provider's error, and labels and bounds the provider's words", async () => {
    const app = consoleWithProvider();
    const query = (state: string | undefined) => new URLSearchParams({ error: 'access_denied', error_description: phishing, ...(state ? { state } : {}) });
    // A link to the callback, not the return of a sign-in this browser started.
    for (const [state, cookie] of [[undefined, undefined], ['s1', undefined], ['s1', 'vg_console_oauth=other.verifier']] as const) {
      const res = await app.request(`/console/oauth/callback?${query(state)}`, cookie ? { headers: { cookie } } : {});
      expect(res.status).toBe(400);
      const html = await res.text();
      expect(html).toContain('could not be matched to this browser');
      expect(html).not.toContain('evil.example');
      expect(html).not.toContain('access_denied');
    }
    // The provider's own answer to this browser's sign-in: its code, and its words as its words.
    const ours = await app.request(`/console/oauth/callback?${query('s1')}`, { headers: { cookie: 'vg_console_oauth=s1.verifier' } });
    expect(ours.status).toBe(401);
    const html = await ours.text();
    expect(html).toContain('the identity provider refused the sign-in (error code access_denied)');
    expect(html).toContain(`The identity provider&#39;s own description, not versiongate&#39;s: &quot;${phishing}&quot;`);
    const long = await app.request(`/console/oauth/callback?${new URLSearchParams({ state: 's1', error: 'x"><b>', error_description: 'y'.repeat(5000) })}`, { headers: { cookie: 'vg_console_oauth=s1.verifier' } });
    const longHtml = await long.text();
    expect(longHtml).toContain(`&quot;${'y'.repeat(200)}…&quot;`);
    expect(longHtml).not.toContain('y'.repeat(201));
    expect(longHtml).not.toContain('error code');
  });

  it('says on sign-out that the token left this browser but stays valid until it expires', async () => {
    gw = await testGateway();
    const { nonce, loginCookie } = await signInForm(gw.app);
    const token = await gw.token('alice', []);
    const signedIn = await gw.app.request('/console/sign-in', postForm(loginCookie, { csrf: nonce, token }));
    const cookie = cookieOf(signedIn, 'vg_console')!.split(';')[0]!;
    const csrf = csrfOf(await (await gw.app.request('/console/overview', { headers: { cookie } })).text())!;
    const out = await gw.app.request('/console/sign-out', postForm(cookie, { csrf }));
    expect(out.status).toBe(303);
    expect(cookieOf(out, 'vg_console')).toMatch(/^vg_console=;.*Max-Age=0/);
    const page = await (await gw.app.request(out.headers.get('location')!)).text();
    expect(page).toContain(SIGNED_OUT);
    // As it says: the token itself still works at the API.
    expect((await gw.post('/v1/authorize', { principal: { token }, action: 'ReadAuditLog', resource: 'AuditLog::"versiongate"' }, token)).status).toBe(200);
  });
});

describe('tokens the gateway does not verify', () => {
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

  it('refuses to sign in with an unsigned (alg "none") or foreign token, with the reason, and sets no session', async () => {
    gw = await testGateway();
    const exp = Math.floor(Date.now() / 1000) + 3600;
    const unsigned = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'root', iss: 'versiongate-dev', aud: 'versiongate', exp, groups: ['security'] })}.`;
    const real = await gw.token('alice', []);
    const [header, payload] = real.split('.');
    const forgedSignature = `${header}.${b64({ ...JSON.parse(Buffer.from(payload!, 'base64url').toString()), sub: 'root' })}.${real.split('.')[2]}`;
    for (const [token, why] of [
      [unsigned, 'The gateway refused this token: '],
      [forgedSignature, 'The gateway refused this token: the token signature is not valid'],
    ] as const) {
      const { nonce, loginCookie } = await signInForm(gw.app);
      const res = await gw.app.request('/console/sign-in', postForm(loginCookie, { csrf: nonce, token }));
      expect(res.status).toBe(401);
      expect(await res.text()).toContain(why);
      expect(cookieOf(res, 'vg_console')).toBeUndefined();
    }
    // Planted as a cookie instead, it ends at the first page, with a code in the link and the page's own words.
    const planted = await gw.app.request('/console/overview', { headers: { cookie: `vg_console=${forgedSignature}` } });
    expect(planted.headers.get('location')).toBe('/console/sign-in?error=refused');
    expect(await (await gw.app.request('/console/sign-in?error=refused')).text()).toContain(escaped(SIGN_IN_ERRORS.refused));
    await gw.rejections.flush();
    expect((await gw.store.listAudit({ filter: { decision: 'unauthenticated' }, limit: 10 })).length).toBeGreaterThan(0);
  });
});

describe('a console reached over plain http', () => {
  it('says so on the sign-in page at a non-loopback name, and explains a sign-in whose cookie the browser dropped', async () => {
    const app = consoleWithProvider();
    const plain = await app.request('http://console.example.com/console/sign-in');
    expect(await plain.text()).toContain(escaped(PLAIN_HTTP_WARNING));
    // The sign-in form comes back without the Secure nonce cookie the browser refused to keep.
    const res = await app.request('http://console.example.com/console/sign-in', postForm('', { csrf: 'whatever', token: 'x' }, { origin: 'http://console.example.com' }));
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('The sign-in cookie did not come back');
    // Loopback, or behind a TLS proxy that says so: no warning, and the proxy's browser gets Secure cookies.
    expect(await (await app.request('http://127.0.0.1:8080/console/sign-in')).text()).not.toContain('address bar');
    const proxied = await app.request('http://127.0.0.1:8080/console/sign-in', { headers: { 'x-forwarded-proto': 'https' } });
    expect(await proxied.text()).not.toContain('address bar');
    expect(cookieOf(proxied, 'vg_console_login')).toMatch(/; Secure/);
  });
});
