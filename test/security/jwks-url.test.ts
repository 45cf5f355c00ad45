/**
 * A JWKS URL in production mode: the key source the server builds (keySourceFor jwks-url, jose's
 * remote set with its cooldown and max age, the bounded fetch, the backoff) and the verifier with its
 * token cache, against a local HTTP server playing a misbehaving identity provider. jose's wall
 * clock is moved with fake Date timers (sockets and timers stay real); the token clock is the
 * verifier's own and moves only when a test says so.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { JWKS_BACKOFF_MS, keySourceFor, MAX_JWKS_BYTES } from '../../src/auth/key-source.ts';
import { createTokenVerifier, type TokenVerifier } from '../../src/auth/verify-token.ts';
import type { Clock } from '../../src/clock.ts';
import { ServiceUnavailableError, UnauthenticatedError } from '../../src/errors.ts';
import { createLogger } from '../../src/log.ts';
import { rejectionOf } from '../helpers/rejection.ts';
import { LogCapture } from '../ops/ops-app.ts';
import { AUDIENCE, expectUnauthenticated, ISSUER, NOW, NOW_ISO, sign, signingKey, type SigningKey } from '../auth/token-fixtures.ts';

let keyA: SigningKey;
let keyB: SigningKey;
let server: Server;
let url: URL;
let fetches = 0;
let handler: (req: IncomingMessage, res: ServerResponse) => void;

const serveKeys = (keys: JWK[]) => (_req: IncomingMessage, res: ServerResponse) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ keys }));
};

beforeAll(async () => {
  keyA = await signingKey('idp-a');
  keyB = await signingKey('idp-b');
  server = createServer((req, res) => {
    fetches += 1;
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`);
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

let wall = Date.parse('2031-01-01T00:00:00Z');
beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(wall);
  fetches = 0;
});
afterEach(() => {
  wall += 86_400_000;
  vi.useRealTimers();
});
const advanceWall = (ms: number) => vi.setSystemTime(Date.now() + ms);

function movableClock(iso: string): Clock & { advance(seconds: number): void } {
  let ms = Date.parse(iso);
  return { now: () => new Date(ms), advance: (s) => (ms += s * 1000) };
}

function verifierWith(clock: Clock): TokenVerifier {
  const keySource = keySourceFor({ mode: 'jwks-url', url, issuer: ISSUER, audience: AUDIENCE });
  return createTokenVerifier({ keySource, issuer: ISSUER, audience: AUDIENCE, groupsClaim: 'groups', clock, clockToleranceSeconds: 0, cacheSize: 1000 });
}

async function expectUnavailable(p: Promise<unknown>): Promise<void> {
  const err = await rejectionOf(p);
  expect(err, String(err)).toBeInstanceOf(ServiceUnavailableError);
  expect((err as ServiceUnavailableError).headers()).toEqual({ 'retry-after': String(JWKS_BACKOFF_MS / 1000) });
}

describe('key rotation', () => {
  it('a new kid is fetched on first sight once the cooldown has passed, and then verifies', async () => {
    handler = serveKeys([keyA.publicJwk]);
    const verifier = verifierWith(movableClock(NOW_ISO));
    expect((await verifier.verify(await sign(keyA))).subject).toBe('alice');
    expect(fetches).toBe(1);
    // The identity provider adds key B; the first token of B after the 30 s cooldown fetches the set.
    handler = serveKeys([keyA.publicJwk, keyB.publicJwk]);
    advanceWall(31_000);
    expect((await verifier.verify(await sign(keyB))).subject).toBe('alice');
    expect(fetches).toBe(2);
  });

  it('a flood of unknown kids fetches the set at most once per cooldown, each refused 401', async () => {
    handler = serveKeys([keyA.publicJwk]);
    const verifier = verifierWith(movableClock(NOW_ISO));
    await verifier.verify(await sign(keyA));
    const strangers = await Promise.all(Array.from({ length: 20 }, (_, i) => signingKey(`unknown-${i}`)));
    for (let round = 0; round < 3; round++) {
      advanceWall(31_000);
      const before = fetches;
      const results = await Promise.all(strangers.flatMap((k) => [sign(k), sign(k, { sub: 'x' })]).map(async (t) => rejectionOf(verifier.verify(await t))));
      for (const err of results) expect((err as UnauthenticatedError).code).toBe('ERR_JWKS_NO_MATCHING_KEY');
      expect(fetches - before).toBeLessThanOrEqual(1);
    }
    expect(fetches).toBeLessThanOrEqual(4);
  });
});

describe('the identity provider down', () => {
  it('is a 503 with Retry-After, never an allow; a flood of requests makes at most one fetch per backoff', async () => {
    handler = (_req, res) => {
      res.writeHead(500);
      res.end();
    };
    const verifier = verifierWith(movableClock(NOW_ISO));
    const tokens = await Promise.all(Array.from({ length: 50 }, (_, i) => sign(keyA, { sub: `user-${i}` })));
    for (const t of tokens) await expectUnavailable(verifier.verify(t));
    expect(fetches).toBe(1);
    advanceWall(JWKS_BACKOFF_MS + 1);
    for (const t of tokens) await expectUnavailable(verifier.verify(t));
    expect(fetches).toBe(2);
  });

  it("a failed fetch for an unknown kid does not stop the set at hand from verifying new tokens: only a set past its max age does", async () => {
    handler = serveKeys([keyA.publicJwk]);
    const verifier = verifierWith(movableClock(NOW_ISO));
    expect((await verifier.verify(await sign(keyA, { sub: 'first' }))).subject).toBe('first');
    expect(fetches).toBe(1);
    // The identity provider goes down; past jose's 30 s cooldown an unknown kid (a readiness probe,
    // anyone's made-up token) makes it fetch, and the fetch fails: a 503 for that token.
    handler = (_req, res) => {
      res.writeHead(500);
      res.end();
    };
    advanceWall(40_000);
    await expectUnavailable(verifier.verify(await sign(keyB, { sub: 'unknown-kid' })));
    expect(fetches).toBe(2);
    // During the backoff, tokens signed by a key of the set fetched 40 s ago verify, never seen or not;
    // another unknown kid is refused as unknown (401), without a fetch.
    for (const sub of ['bob', 'carol', 'dave']) expect((await verifier.verify(await sign(keyA, { sub }))).subject).toBe(sub);
    await expectUnauthenticated(verifier.verify(await sign(keyB, { sub: 'unknown-again' })), 'ERR_JWKS_NO_MATCHING_KEY');
    expect(fetches).toBe(2);
    // Past the set's 10-minute max age nothing is trusted without a fetch: a new token is a 503.
    advanceWall(10 * 60_000);
    await expectUnavailable(verifier.verify(await sign(keyA, { sub: 'erin' })));
  });

  it('says once, with why, when the key set cannot be fetched, and once when it can again', async () => {
    const log = new LogCapture();
    const keySource = keySourceFor({ mode: 'jwks-url', url, issuer: ISSUER, audience: AUDIENCE }, undefined, createLogger({ level: 'info', destination: log }));
    const verifier = createTokenVerifier({ keySource, issuer: ISSUER, audience: AUDIENCE, groupsClaim: 'groups', clock: movableClock(NOW_ISO), clockToleranceSeconds: 0 });
    handler = (_req, res) => {
      res.writeHead(500);
      res.end();
    };
    for (let i = 0; i < 3; i++) {
      await expectUnavailable(verifier.verify(await sign(keyA, { sub: `u${i}` })));
      advanceWall(JWKS_BACKOFF_MS + 1);
    }
    expect(fetches).toBe(3);
    handler = serveKeys([keyA.publicJwk]);
    expect((await verifier.verify(await sign(keyA, { sub: 'back' }))).subject).toBe('back');
    expect((await verifier.verify(await sign(keyA, { sub: 'again' }))).subject).toBe('again');
    expect(log.lines.map((l) => [l.level, l.msg, l.jwksUrl])).toEqual([
      ['warn', 'the key set cannot be fetched: tokens that need it are answered 503 until it can', url.href],
      ['info', 'the key set is fetched again', url.href],
    ]);
    expect(log.lines[0]!.err).toMatch(/Expected 200 OK/);
  });

  it('where nothing listens: 503, and the backoff holds', async () => {
    const dead = createServer();
    await new Promise<void>((resolve) => dead.listen(0, '127.0.0.1', resolve));
    const deadUrl = new URL(`http://127.0.0.1:${(dead.address() as AddressInfo).port}/jwks.json`);
    await new Promise<void>((resolve) => dead.close(() => resolve()));
    const keySource = keySourceFor({ mode: 'jwks-url', url: deadUrl, issuer: ISSUER, audience: AUDIENCE });
    const verifier = createTokenVerifier({ keySource, issuer: ISSUER, audience: AUDIENCE, groupsClaim: 'groups', clock: movableClock(NOW_ISO), clockToleranceSeconds: 0 });
    for (let i = 0; i < 10; i++) await expectUnavailable(verifier.verify(await sign(keyA)));
  });

  it('tokens already verified keep working from the cache until their exp; never-seen tokens are refused', async () => {
    handler = serveKeys([keyA.publicJwk]);
    const clock = movableClock(NOW_ISO);
    const verifier = verifierWith(clock);
    const seen = await sign(keyA, { exp: NOW + 3600 });
    // The first verification fetches the set; only under a fetched set is a verification remembered.
    expect((await verifier.verify(seen)).subject).toBe('alice');
    expect((await verifier.verify(seen)).subject).toBe('alice');
    // The identity provider goes down; the set passes its 10-minute max age, so jose must fetch again.
    handler = (req) => req.socket.destroy();
    advanceWall(11 * 60_000);
    clock.advance(11 * 60);
    expect((await verifier.verify(seen)).subject).toBe('alice');
    expect((await verifier.verify(seen)).subject).toBe('alice');
    // A token never verified here is not let through.
    await expectUnavailable(verifier.verify(await sign(keyA, { sub: 'mallory', exp: NOW + 3600 })));
    // Past the seen token's exp, it is not either.
    clock.advance(3600);
    await expectUnavailable(verifier.verify(seen));
    // Back up: verified afresh, refused as expired (jose's answer, not the cache's).
    handler = serveKeys([keyA.publicJwk]);
    advanceWall(JWKS_BACKOFF_MS + 1);
    await expectUnauthenticated(verifier.verify(seen), 'ERR_JWT_EXPIRED');
  });
});

describe('hostile key set answers: each a 503, never a key', () => {
  const cases: Array<[string, (req: IncomingMessage, res: ServerResponse) => void]> = [
    ['huge, with a Content-Length', (_req, res) => {
      const body = JSON.stringify({ keys: [keyA.publicJwk], pad: 'x'.repeat(MAX_JWKS_BYTES + 1) });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    }],
    ['huge, chunked without a length (4 MB)', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(`{"keys":[${JSON.stringify(keyA.publicJwk)}],"pad":"`);
      const chunk = 'x'.repeat(64 * 1024);
      let sent = 0;
      const more = () => {
        while (sent < 64) {
          sent++;
          if (!res.write(chunk)) return void res.once('drain', more);
        }
        res.end('"}');
      };
      res.on('error', () => {});
      more();
    }],
    ['slow: headers, then a body that never ends', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"keys":[');
    }],
    ['slow: no answer at all', () => {}],
    ['not JSON', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('<html>sign in</html>');
    }],
    ['a symmetric key beside the real one', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: [keyA.publicJwk, { kty: 'oct', kid: 'idp-a', alg: 'HS256', k: Buffer.from('shared-secret').toString('base64url') }] }));
    }],
    ['an empty key set (no way to verify anything: an outage, not a verdict on each token)', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: [] }));
    }],
    ['a private key', async (_req, res) => {
      const { privateKey } = await generateKeyPair('ES256', { extractable: true });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: [{ ...(await exportJWK(privateKey)), kid: 'idp-a' }] }));
    }],
  ];

  it.each(cases)('%s', async (_name, h) => {
    handler = h;
    const verifier = verifierWith(movableClock(NOW_ISO));
    await expectUnavailable(verifier.verify(await sign(keyA)));
    // An HS256 token keyed with the published secret is never accepted either.
    const hs = await new SignJWT({ iss: ISSUER, aud: AUDIENCE, sub: 'mallory', iat: NOW, exp: NOW + 600 })
      .setProtectedHeader({ alg: 'HS256', kid: 'idp-a' })
      .sign(Buffer.from('shared-secret'));
    const err = await rejectionOf(verifier.verify(hs));
    expect(err).toBeInstanceOf(UnauthenticatedError);
    expect((err as UnauthenticatedError).code).toBe('ERR_JOSE_ALG_NOT_ALLOWED');
  }, 30_000);
});
