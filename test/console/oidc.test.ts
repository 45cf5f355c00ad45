/**
 * Console sign-in at an identity provider: OAuth 2.0 authorization code with PKCE against a small
 * OpenID provider served by this test (discovery, authorize, token, JWKS), with the real server
 * verifying the provider's tokens through VERSIONGATE_JWKS_URL.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { realServer, type RealServer } from '../ops/real-server.ts';

const CLIENT_ID = 'versiongate-console';

interface Provider {
  url: string;
  server: Server;
  /** Token requests it refused, with why. */
  refusals: string[];
}

async function startProvider(): Promise<Provider> {
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'test-key', alg: 'ES256', use: 'sig' };
  const codes = new Map<string, { challenge: string; redirectUri: string }>();
  const refusals: string[] = [];
  let url = '';
  const server = createServer((req, res) => {
    const u = new URL(req.url!, url);
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (u.pathname === '/.well-known/openid-configuration') {
      return json(200, { issuer: url, authorization_endpoint: `${url}/authorize`, token_endpoint: `${url}/token`, jwks_uri: `${url}/jwks`, code_challenge_methods_supported: ['S256'] });
    }
    if (u.pathname === '/jwks') return json(200, { keys: [jwk] });
    if (u.pathname === '/authorize') {
      const q = u.searchParams;
      if (q.get('client_id') !== CLIENT_ID || q.get('response_type') !== 'code' || q.get('code_challenge_method') !== 'S256' || !q.get('code_challenge')) return json(400, { error: 'invalid_request' });
      const code = randomBytes(16).toString('hex');
      codes.set(code, { challenge: q.get('code_challenge')!, redirectUri: q.get('redirect_uri')! });
      const back = new URL(q.get('redirect_uri')!);
      back.searchParams.set('code', code);
      back.searchParams.set('state', q.get('state')!);
      res.writeHead(302, { location: back.toString() });
      return res.end();
    }
    if (u.pathname === '/token' && req.method === 'POST') {
      let body = '';
      req.on('data', (d: Buffer) => (body += d));
      req.on('end', async () => {
        const f = new URLSearchParams(body);
        const grant = codes.get(f.get('code') ?? '');
        codes.delete(f.get('code') ?? '');
        const refuse = (why: string) => {
          refusals.push(why);
          json(400, { error: 'invalid_grant', error_description: why });
        };
        if (!grant) return refuse('unknown code');
        if (f.get('client_id') !== CLIENT_ID) return refuse('wrong client');
        if (f.get('redirect_uri') !== grant.redirectUri) return refuse('wrong redirect_uri');
        const verifier = f.get('code_verifier') ?? '';
        if (createHash('sha256').update(verifier).digest('base64url') !== grant.challenge) return refuse('PKCE verifier does not match');
        const accessToken = await new SignJWT({ groups: ['security'] })
          .setProtectedHeader({ alg: 'ES256', kid: 'test-key' })
          .setIssuer(url)
          .setAudience('versiongate')
          .setSubject('sam')
          .setIssuedAt()
          .setExpirationTime('10m')
          .sign(privateKey);
        json(200, { access_token: accessToken, token_type: 'Bearer', expires_in: 600 });
      });
      return undefined;
    }
    return json(404, { error: 'not_found' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  return { url, server, refusals };
}

let provider: Provider;
let gateway: RealServer;

beforeAll(async () => {
  provider = await startProvider();
  gateway = await realServer({ 'jwks-url': `${provider.url}/jwks`, issuer: provider.url, audience: 'versiongate', 'console-client-id': CLIENT_ID });
});
afterAll(async () => {
  await gateway?.cleanup();
  await new Promise<void>((resolve) => provider?.server.close(() => resolve()));
});

const cookieFrom = (res: Response, name: string) => res.headers.getSetCookie().find((c) => c.startsWith(`${name}=`))?.split(';')[0];

async function startSignIn() {
  const base = gateway.gateway.url;
  const page = await fetch(`${base}/console/sign-in`);
  expect(await page.text()).toContain('href="/console/oauth/start"');
  const start = await fetch(`${base}/console/oauth/start`, { redirect: 'manual' });
  expect(start.status).toBe(302);
  const authorize = new URL(start.headers.get('location')!);
  expect(authorize.origin).toBe(provider.url);
  expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
  expect(authorize.searchParams.get('client_id')).toBe(CLIENT_ID);
  expect(authorize.searchParams.get('redirect_uri')).toBe(`${base}/console/oauth/callback`);
  const oauthCookie = cookieFrom(start, 'vg_console_oauth')!;
  expect(start.headers.getSetCookie().join('\n')).toMatch(/vg_console_oauth=.*HttpOnly/);
  const back = await fetch(authorize, { redirect: 'manual' });
  expect(back.status).toBe(302);
  return { base, callback: back.headers.get('location')!, oauthCookie };
}

describe('console sign-in with the identity provider (authorization code + PKCE)', () => {
  it('signs in, and the session is the provider’s token, verified by the gateway on every call', async () => {
    const { base, callback, oauthCookie } = await startSignIn();
    const done = await fetch(callback, { headers: { cookie: oauthCookie }, redirect: 'manual' });
    expect(done.status).toBe(200);
    const session = cookieFrom(done, 'vg_console');
    expect(session).toBeDefined();
    expect(done.headers.getSetCookie().find((c) => c.startsWith('vg_console='))).toMatch(/HttpOnly; SameSite=Strict/);
    const overview = await fetch(`${base}/console/overview`, { headers: { cookie: session! } });
    expect(overview.status).toBe(200);
    const html = await overview.text();
    expect(html).toContain('data-testid="subject">sam<');
    // sam is in security by the provider's token, so Cedar lets him see the live set's hash.
    expect(html).toMatch(/data-testid="policy-hash">[0-9a-f]{64}</);
  });

  it('refuses a callback whose state does not match this browser', async () => {
    const { callback } = await startSignIn();
    const res = await fetch(callback, { headers: { cookie: 'vg_console_oauth=someone-else.verifier' }, redirect: 'manual' });
    expect(res.status).toBe(400);
    expect(cookieFrom(res, 'vg_console')).toBeUndefined();
    expect(await res.text()).toContain('could not be matched to this browser');
  });

  it('gets no token without the PKCE verifier the challenge was made from', async () => {
    const { callback, oauthCookie } = await startSignIn();
    const [state] = oauthCookie.slice('vg_console_oauth='.length).split('.');
    const res = await fetch(callback, { headers: { cookie: `vg_console_oauth=${state}.${randomBytes(32).toString('base64url')}` }, redirect: 'manual' });
    expect(res.status).toBe(401);
    expect(cookieFrom(res, 'vg_console')).toBeUndefined();
    expect(await res.text()).toContain('PKCE verifier does not match');
    expect(provider.refusals).toContain('PKCE verifier does not match');
  });
});
