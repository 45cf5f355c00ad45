/**
 * Key rotation at a JWKS URL, with the verified-token cache on: a local HTTP server plays the
 * identity provider, keySourceFor builds the production key source (jose's remote set, its 10-minute
 * max age and 30-second cooldown), and jose's wall clock is moved with fake Date timers.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { JWK } from 'jose';
import { keySourceFor } from '../../src/auth/key-source.ts';
import type { TokenVerifier } from '../../src/auth/verify-token.ts';
import { fixedClock } from '../../src/clock.ts';
import { AUDIENCE, countingKeySource, expectUnauthenticated, ISSUER, NOW_ISO, sign, signingKey, verifierFor, type SigningKey } from './token-fixtures.ts';

let keyA: SigningKey;
let keyB: SigningKey;
let server: Server;
let url: URL;
let served: JWK[] = [];
let fetches = 0;

beforeAll(async () => {
  keyA = await signingKey('idp-a');
  keyB = await signingKey('idp-b');
  server = createServer((_req, res) => {
    fetches += 1;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: served }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`);
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

// Only Date is faked: jose reads Date.now() for its max age and cooldown; sockets and timers stay real.
let wall = Date.parse('2030-01-01T00:00:00Z');
beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(wall);
  fetches = 0;
});
afterEach(() => {
  wall += 86_400_000;
  vi.useRealTimers();
});
const advanceWallClock = (ms: number) => vi.setSystemTime(Date.now() + ms);

function setUp(keys: JWK[]): { verifier: TokenVerifier; keySource: ReturnType<typeof countingKeySource> } {
  served = keys;
  const keySource = countingKeySource(keySourceFor({ mode: 'jwks-url', url, issuer: ISSUER, audience: AUDIENCE }));
  // The token clock (frozen) is not jose's wall clock: tokens stay valid however far the wall clock moves.
  return { keySource, verifier: verifierFor(keySource, fixedClock(NOW_ISO), { cacheSize: 100 }) };
}

describe('a JWKS URL with the token cache', () => {
  it('repeats of a token are answered from the cache once the key set is fetched', async () => {
    const { verifier, keySource } = setUp([keyA.publicJwk]);
    const token = await sign(keyA);
    for (let i = 0; i < 5; i++) expect((await verifier.verify(token)).subject).toBe('alice');
    // The first verification fetched the set while it ran, so it was not kept; the second was.
    expect(keySource.getKeyCalls).toBe(2);
    expect(fetches).toBe(1);
  });

  it('when the identity provider drops a key, a cached token of that key is refused once the set is fetched again (max age)', async () => {
    const { verifier } = setUp([keyA.publicJwk, keyB.publicJwk]);
    const oldToken = await sign(keyA);
    await verifier.verify(oldToken);
    await verifier.verify(oldToken);
    served = [keyB.publicJwk];
    advanceWallClock(9 * 60_000);
    // Within jose's max age the set is not fetched: the cached answer stands, as jose's own would.
    expect((await verifier.verify(oldToken)).subject).toBe('alice');
    expect(fetches).toBe(1);
    advanceWallClock(60_001);
    await expectUnauthenticated(verifier.verify(oldToken), 'ERR_JWKS_NO_MATCHING_KEY');
    expect(fetches).toBe(2);
    expect((await verifier.verify(await sign(keyB, { sub: 'bob' }))).subject).toBe('bob');
  });

  it('when a token of a new key makes jose fetch the set (after the cooldown), a cached token of a dropped key is refused', async () => {
    const { verifier } = setUp([keyA.publicJwk]);
    const oldToken = await sign(keyA);
    await verifier.verify(oldToken);
    await verifier.verify(oldToken);
    served = [keyB.publicJwk];
    advanceWallClock(31_000);
    expect((await verifier.verify(await sign(keyB, { sub: 'bob' }))).subject).toBe('bob');
    expect(fetches).toBe(2);
    await expectUnauthenticated(verifier.verify(oldToken), 'ERR_JWKS_NO_MATCHING_KEY');
  });

  it('a fetch that brings the same keys keeps the cache', async () => {
    const { verifier, keySource } = setUp([keyA.publicJwk]);
    const tokenA = await sign(keyA);
    const tokenB = await sign(keyA, { sub: 'bob' });
    await verifier.verify(tokenA);
    await verifier.verify(tokenA);
    await verifier.verify(tokenB);
    expect(keySource.getKeyCalls).toBe(3);
    advanceWallClock(10 * 60_000 + 1);
    // The set is due again: this verification fetches it (same keys), and the entries stay good.
    await verifier.verify(tokenA);
    expect(fetches).toBe(2);
    expect(keySource.getKeyCalls).toBe(4);
    await verifier.verify(tokenA);
    await verifier.verify(tokenB);
    expect(keySource.getKeyCalls).toBe(4);
  });

  it('unknown kids (anyone can send them) make jose fetch the same keys again but do not flush the cache', async () => {
    const { verifier, keySource } = setUp([keyA.publicJwk]);
    const token = await sign(keyA);
    await verifier.verify(token);
    await verifier.verify(token);
    const stranger = await signingKey('unknown-kid');
    advanceWallClock(31_000);
    await expectUnauthenticated(verifier.verify(await sign(stranger)), 'ERR_JWKS_NO_MATCHING_KEY');
    expect(fetches).toBe(2);
    const calls = keySource.getKeyCalls;
    await verifier.verify(token);
    expect(keySource.getKeyCalls).toBe(calls);
  });
});
