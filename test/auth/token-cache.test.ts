/**
 * The verified-token cache as the verifier uses it: a repeated token costs one signature check, a
 * cached answer is exactly what a fresh verification would answer at that instant (expiry to the
 * millisecond, clock tolerance, maximum token age, nbf), a key rotated out is refused once the key
 * set changes, a failure is never kept, and the cache is a bounded LRU.
 */
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { JWK } from 'jose';
import { KeySourceUnavailable, type KeySource } from '../../src/auth/key-source.ts';
import { fixedClock } from '../../src/clock.ts';
import { ServiceUnavailableError, UnauthenticatedError } from '../../src/errors.ts';
import { rejectionOf } from '../helpers/rejection.ts';
import {
  countingKeySource,
  expectUnauthenticated,
  ISSUER,
  NOW,
  NOW_ISO,
  sign,
  signingKey,
  swappableKeySource,
  verifierFor,
  type SigningKey,
} from './token-fixtures.ts';

let keyA: SigningKey;
let keyB: SigningKey;
beforeAll(async () => {
  keyA = await signingKey('key-a');
  keyB = await signingKey('key-b');
});
afterEach(() => {
  vi.restoreAllMocks();
});

const ALICE = { issuer: ISSUER, subject: 'alice', groups: ['release-managers'] };
const at = (seconds: number, ms = 0) => new Date(seconds * 1000 + ms);

describe('a repeated token', () => {
  it('is verified once: later calls reach neither the key source nor signature verification', async () => {
    const keys = swappableKeySource([keyA.publicJwk]);
    const verifier = verifierFor(keys, fixedClock(NOW_ISO), { cacheSize: 10 });
    const token = await sign(keyA);
    const signatureChecks = vi.spyOn(crypto.subtle, 'verify');
    const first = await verifier.verify(token);
    expect(first).toEqual(ALICE);
    for (let i = 0; i < 5; i++) expect(await verifier.verify(token)).toBe(first);
    expect(keys.getKeyCalls).toBe(1);
    expect(signatureChecks).toHaveBeenCalledTimes(1);
  });

  it('gets a principal no later request can change', async () => {
    const verifier = verifierFor(swappableKeySource([keyA.publicJwk]), fixedClock(NOW_ISO), { cacheSize: 10 });
    const token = await sign(keyA);
    const principal = await verifier.verify(token);
    expect(() => principal.groups.push('admins')).toThrow(TypeError);
    expect(() => Object.assign(principal, { subject: 'root' })).toThrow(TypeError);
    expect(await verifier.verify(token)).toEqual(ALICE);
  });

  it('a token differing in one character is another entry (keyed on the whole token)', async () => {
    const keys = swappableKeySource([keyA.publicJwk]);
    const verifier = verifierFor(keys, fixedClock(NOW_ISO), { cacheSize: 10 });
    const token = await sign(keyA);
    await verifier.verify(token);
    // The signature's first character carries six bits of it (its last one carries padding bits too,
    // so changing that one can leave the signature as it was).
    const start = token.lastIndexOf('.') + 1;
    const tampered = token.slice(0, start) + (token[start] === 'A' ? 'Q' : 'A') + token.slice(start + 1);
    await expectUnauthenticated(verifier.verify(tampered), 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
    expect(keys.getKeyCalls).toBe(2);
  });
});

describe('a cached token is answered as a fresh verification would be at that instant', () => {
  it('expiry to the second: accepted at exp + tolerance - 1 s, refused at exp + tolerance + 1 s with ERR_JWT_EXPIRED', async () => {
    const tolerance = 30;
    const exp = NOW + 60;
    const clock = fixedClock(NOW_ISO);
    const keys = swappableKeySource([keyA.publicJwk]);
    const cached = verifierFor(keys, clock, { cacheSize: 10, clockToleranceSeconds: tolerance });
    const uncached = verifierFor(swappableKeySource([keyA.publicJwk]), clock, { clockToleranceSeconds: tolerance });
    const token = await sign(keyA, { exp });
    await cached.verify(token);

    clock.set(at(exp + tolerance - 1));
    expect(await cached.verify(token)).toEqual(ALICE);
    clock.set(at(exp + tolerance, -1));
    expect(await cached.verify(token)).toEqual(ALICE);
    expect(keys.getKeyCalls).toBe(1);

    clock.set(at(exp + tolerance + 1));
    const refused = await expectUnauthenticated(cached.verify(token), 'ERR_JWT_EXPIRED');
    const fresh = await expectUnauthenticated(uncached.verify(token), 'ERR_JWT_EXPIRED');
    expect(refused.message).toBe('the token has expired');
    expect(refused.message).toBe(fresh.message);
    // Refused by a fresh verification, not from the cache: the error is jose's own.
    expect(keys.getKeyCalls).toBe(2);
  });

  it('is refused at exactly exp + tolerance, as jose refuses it', async () => {
    const clock = fixedClock(NOW_ISO);
    const cached = verifierFor(swappableKeySource([keyA.publicJwk]), clock, { cacheSize: 10, clockToleranceSeconds: 30 });
    const token = await sign(keyA, { exp: NOW + 60 });
    await cached.verify(token);
    clock.set(at(NOW + 90));
    await expectUnauthenticated(cached.verify(token), 'ERR_JWT_EXPIRED');
  });

  it('an expired entry is not kept: once refused, the token is verified afresh even if the clock goes back', async () => {
    const clock = fixedClock(NOW_ISO);
    const keys = swappableKeySource([keyA.publicJwk]);
    const cached = verifierFor(keys, clock, { cacheSize: 10 });
    const token = await sign(keyA, { exp: NOW + 60 });
    await cached.verify(token);
    clock.set(at(NOW + 61));
    await expectUnauthenticated(cached.verify(token), 'ERR_JWT_EXPIRED');
    clock.set(NOW_ISO);
    expect(await cached.verify(token)).toEqual(ALICE);
    expect(keys.getKeyCalls).toBe(3);
  });

  it('the maximum token age expires an entry at iat + max age + tolerance, before exp', async () => {
    const clock = fixedClock(NOW_ISO);
    const keys = swappableKeySource([keyA.publicJwk]);
    const cached = verifierFor(keys, clock, { cacheSize: 10, clockToleranceSeconds: 30, maxTokenAgeSeconds: 3600 });
    const iat = NOW - 3500;
    const token = await sign(keyA, { iat, exp: NOW + 7200 });
    await cached.verify(token);
    // jose accepts the whole second iat + max age + tolerance, and refuses from the next.
    clock.set(at(iat + 3600 + 30, 999));
    expect(await cached.verify(token)).toEqual(ALICE);
    expect(keys.getKeyCalls).toBe(1);
    clock.set(at(iat + 3600 + 31));
    const e = await expectUnauthenticated(cached.verify(token), 'ERR_JWT_EXPIRED');
    expect(e.message).toBe('the token is older than the maximum token age');
  });

  it('a clock set back before nbf - tolerance refuses a cached token, as jose would', async () => {
    const clock = fixedClock(NOW_ISO);
    const cached = verifierFor(swappableKeySource([keyA.publicJwk]), clock, { cacheSize: 10, clockToleranceSeconds: 30 });
    const token = await sign(keyA, { nbf: NOW + 20, iat: NOW - 60 });
    await cached.verify(token);
    clock.set(at(NOW + 20 - 30, -1));
    await expectUnauthenticated(cached.verify(token), 'ERR_JWT_CLAIM_VALIDATION_FAILED');
  });

  // Cached and uncached verifiers side by side, one millisecond either side of every boundary: they
  // must agree on every instant, on the outcome and on the code.
  it.each([
    ['exp + tolerance', { exp: NOW + 60 }, NOW + 60 + 30, {}],
    ['iat + max age + tolerance', { iat: NOW - 3500, exp: NOW + 7200 }, NOW - 3500 + 3600 + 30 + 1, { maxTokenAgeSeconds: 3600 }],
    ['nbf - tolerance', { nbf: NOW + 20, iat: NOW - 60 }, NOW + 20 - 30, {}],
    ['iat - tolerance', { iat: NOW + 20 }, NOW + 20 - 30, {}],
    ['a fractional exp', { exp: NOW + 60.5 }, NOW + 60 + 30 + 1, {}],
  ])('agrees with a fresh verification around %s', async (_label, claims, boundary, options) => {
    const clock = fixedClock(NOW_ISO);
    const o = { clockToleranceSeconds: 30, ...options };
    const cached = verifierFor(swappableKeySource([keyA.publicJwk]), clock, { cacheSize: 10, ...o });
    const uncached = verifierFor(swappableKeySource([keyA.publicJwk]), clock, o);
    const token = await sign(keyA, claims);
    const outcome = async (p: Promise<unknown>) => {
      try {
        await p;
        return 'accepted';
      } catch (err) {
        return (err as UnauthenticatedError).code;
      }
    };
    const seen = new Set<string>();
    for (const offset of [-1001, -1000, -1, 0, 1, 999, 1000]) {
      clock.set(NOW_ISO);
      await cached.verify(token); // cached at NOW, inside the window
      clock.set(at(boundary, offset));
      const expected = await outcome(uncached.verify(token));
      expect(await outcome(cached.verify(token)), `at boundary ${offset >= 0 ? '+' : ''}${offset} ms`).toBe(expected);
      seen.add(expected);
    }
    // The offsets straddle the boundary: both outcomes occurred.
    expect(seen.size).toBe(2);
  });
});

describe('key rotation', () => {
  it('a token of a key rotated out of the set is refused once the key set changes', async () => {
    const keys = swappableKeySource([keyA.publicJwk, keyB.publicJwk]);
    const verifier = verifierFor(keys, fixedClock(NOW_ISO), { cacheSize: 10 });
    const oldToken = await sign(keyA);
    const newToken = await sign(keyB, { sub: 'bob' });
    await verifier.verify(oldToken);
    await verifier.verify(newToken);
    expect(await verifier.verify(oldToken)).toEqual(ALICE);
    expect(keys.getKeyCalls).toBe(2);

    keys.setKeys([keyB.publicJwk]);
    const e = await expectUnauthenticated(verifier.verify(oldToken), 'ERR_JWKS_NO_MATCHING_KEY');
    expect(e.message).toBe('the token is not signed by a known key');
    // A token of the key that stayed is verified again once, then cached under the new set.
    expect((await verifier.verify(newToken)).subject).toBe('bob');
    expect((await verifier.verify(newToken)).subject).toBe('bob');
    expect(keys.getKeyCalls).toBe(4);
  });

  it('a verification during which the key set changed is not answered from the cache', async () => {
    const inner = swappableKeySource([keyA.publicJwk]);
    let rotateDuringNextCall = true;
    const keys: KeySource = {
      description: 'rotates while a key is being looked up',
      getKey: async (header, token) => {
        const key = await inner.getKey(header, token);
        if (rotateDuringNextCall) {
          rotateDuringNextCall = false;
          inner.setKeys([keyA.publicJwk]);
        }
        return key;
      },
      keySetVersion: () => inner.keySetVersion!(),
    };
    const verifier = verifierFor(keys, fixedClock(NOW_ISO), { cacheSize: 10 });
    const token = await sign(keyA);
    await verifier.verify(token); // the key set changed meanwhile
    await verifier.verify(token); // so this is verified again, under the new set
    await verifier.verify(token); // from the cache
    expect(inner.getKeyCalls).toBe(2);
  });

  it('a key source that cannot say when its keys change is never cached', async () => {
    const inner = swappableKeySource([keyA.publicJwk]);
    const keys: KeySource = { description: 'no version', getKey: inner.getKey };
    const verifier = verifierFor(keys, fixedClock(NOW_ISO), { cacheSize: 10 });
    const token = await sign(keyA);
    for (let i = 0; i < 3; i++) await verifier.verify(token);
    expect(inner.getKeyCalls).toBe(3);
  });

  it('while the source cannot vouch for its keys (no version), tokens are verified afresh; the entries return with the same version', async () => {
    const inner = swappableKeySource([keyA.publicJwk]);
    let vouching = true;
    const keys = countingKeySource({ ...inner, keySetVersion: () => (vouching ? inner.keySetVersion!() : undefined) });
    const verifier = verifierFor(keys, fixedClock(NOW_ISO), { cacheSize: 10 });
    const token = await sign(keyA);
    await verifier.verify(token);
    await verifier.verify(token);
    expect(keys.getKeyCalls).toBe(1);
    vouching = false;
    await verifier.verify(token);
    await verifier.verify(token);
    expect(keys.getKeyCalls).toBe(3);
    vouching = true;
    await verifier.verify(token);
    expect(keys.getKeyCalls).toBe(3);
  });
});

describe('failures are never cached', () => {
  it('a token whose key is unknown is verified again, and passes once the key appears', async () => {
    const keys = swappableKeySource([keyA.publicJwk]);
    const verifier = verifierFor(keys, fixedClock(NOW_ISO), { cacheSize: 10 });
    const token = await sign(keyB, { sub: 'bob' });
    await expectUnauthenticated(verifier.verify(token), 'ERR_JWKS_NO_MATCHING_KEY');
    await expectUnauthenticated(verifier.verify(token), 'ERR_JWKS_NO_MATCHING_KEY');
    expect(keys.getKeyCalls).toBe(2);
    keys.setKeys([keyA.publicJwk, keyB.publicJwk]);
    expect((await verifier.verify(token)).subject).toBe('bob');
  });

  it('a failure is asked of the key source every time, even when the key set is unchanged', async () => {
    // A source whose answer changes without a new version: only a verifier that keeps no failure sees it.
    let known: JWK[] = [keyA.publicJwk];
    const inner = swappableKeySource([]);
    const keys = countingKeySource({
      description: 'answers from a list the test edits',
      getKey: (header, token) => {
        inner.setKeys(known);
        return inner.getKey(header, token);
      },
      keySetVersion: () => 1,
    });
    const verifier = verifierFor(keys, fixedClock(NOW_ISO), { cacheSize: 10 });
    const token = await sign(keyB, { sub: 'bob' });
    await expectUnauthenticated(verifier.verify(token), 'ERR_JWKS_NO_MATCHING_KEY');
    known = [keyA.publicJwk, keyB.publicJwk];
    expect((await verifier.verify(token)).subject).toBe('bob');
    expect(keys.getKeyCalls).toBe(2);
  });

  it('an unreachable key source (503) is asked again next time', async () => {
    const inner = swappableKeySource([keyA.publicJwk]);
    let up = false;
    const keys: KeySource = {
      description: 'flaky',
      getKey: (header, token) => {
        if (!up) throw new KeySourceUnavailable('down');
        return inner.getKey(header, token);
      },
      keySetVersion: () => 1,
    };
    const verifier = verifierFor(keys, fixedClock(NOW_ISO), { cacheSize: 10 });
    const token = await sign(keyA);
    expect(await rejectionOf(verifier.verify(token))).toBeInstanceOf(ServiceUnavailableError);
    up = true;
    expect(await verifier.verify(token)).toEqual(ALICE);
  });

  it('a token refused after jose accepted it (a malformed groups claim) is refused every time', async () => {
    const keys = swappableKeySource([keyA.publicJwk]);
    const verifier = verifierFor(keys, fixedClock(NOW_ISO), { cacheSize: 10 });
    const token = await sign(keyA, { groups: 'release-managers' });
    for (let i = 0; i < 2; i++) await expectUnauthenticated(verifier.verify(token), 'ERR_JWT_CLAIM_VALIDATION_FAILED');
    expect(keys.getKeyCalls).toBe(2);
  });
});

describe('the bound', () => {
  it('more distinct tokens than the size evict the least recently used', async () => {
    const keys = swappableKeySource([keyA.publicJwk]);
    const verifier = verifierFor(keys, fixedClock(NOW_ISO), { cacheSize: 2 });
    const [t1, t2, t3] = await Promise.all(['u1', 'u2', 'u3'].map((sub) => sign(keyA, { sub })));
    await verifier.verify(t1!);
    await verifier.verify(t2!);
    await verifier.verify(t1!); // a hit: t1 is now the most recently used
    expect(keys.getKeyCalls).toBe(2);
    await verifier.verify(t3!); // evicts t2
    expect(keys.getKeyCalls).toBe(3);
    await verifier.verify(t1!);
    await verifier.verify(t3!);
    expect(keys.getKeyCalls).toBe(3);
    await verifier.verify(t2!); // was evicted: verified again (and now evicts t1)
    expect(keys.getKeyCalls).toBe(4);
    await verifier.verify(t1!);
    expect(keys.getKeyCalls).toBe(5);
  });

  it.each([
    ['a size of 0', { cacheSize: 0 }],
    ['no size', {}],
  ])('%s disables the cache', async (_label, options) => {
    const keys = swappableKeySource([keyA.publicJwk]);
    const verifier = verifierFor(keys, fixedClock(NOW_ISO), options);
    const token = await sign(keyA);
    for (let i = 0; i < 3; i++) expect(await verifier.verify(token)).toEqual(ALICE);
    expect(keys.getKeyCalls).toBe(3);
  });

  it('an oversized token is refused before any lookup', async () => {
    const keys = swappableKeySource([keyA.publicJwk]);
    const verifier = verifierFor(keys, fixedClock(NOW_ISO), { cacheSize: 10 });
    await expectUnauthenticated(verifier.verify('x'.repeat(8193)), 'ERR_TOKEN_TOO_LARGE');
    expect(keys.getKeyCalls).toBe(0);
  });
});
