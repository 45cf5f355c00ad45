/**
 * The time claims jose leaves unchecked unless told: a token issued in the future, a time claim
 * that is not a finite number, and (VERSIONGATE_MAX_TOKEN_AGE) a token issued too long ago. Each is
 * a 401 with a stable code and message, cached or not.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { CompactSign } from 'jose';
import { fixedClock } from '../../src/clock.ts';
import { expectUnauthenticated, NOW, NOW_ISO, sign, signingKey, swappableKeySource, verifierFor, ISSUER, AUDIENCE, type SigningKey } from './token-fixtures.ts';

const FUTURE_IAT = 'the token was issued in the future';
const TOO_OLD = 'the token is older than the maximum token age';

let key: SigningKey;
beforeAll(async () => {
  key = await signingKey('times-key');
});

/** Every case runs without and with the cache: a refusal must never depend on it. */
describe.each([0, 100])('with a token cache of %i entries', (cacheSize) => {
  const clock = fixedClock(NOW_ISO);
  const verifier = (o: { clockToleranceSeconds?: number; maxTokenAgeSeconds?: number } = {}) =>
    verifierFor(swappableKeySource([key.publicJwk]), clock, { cacheSize, ...o });

  describe('iat in the future', () => {
    it('is refused beyond the clock tolerance: 401 ERR_JWT_CLAIM_VALIDATION_FAILED', async () => {
      const e = await expectUnauthenticated(verifier().verify(await sign(key, { iat: NOW + 1 })), 'ERR_JWT_CLAIM_VALIDATION_FAILED');
      expect(e.message).toBe(FUTURE_IAT);
      await expectUnauthenticated(verifier({ clockToleranceSeconds: 30 }).verify(await sign(key, { iat: NOW + 31 })), 'ERR_JWT_CLAIM_VALIDATION_FAILED');
      // Far in the future, with an exp further still: still refused.
      await expectUnauthenticated(verifier().verify(await sign(key, { iat: NOW + 86_400, exp: NOW + 2 * 86_400 })), 'ERR_JWT_CLAIM_VALIDATION_FAILED');
    });

    it('is accepted within the clock tolerance, as nbf is', async () => {
      expect((await verifier({ clockToleranceSeconds: 30 }).verify(await sign(key, { iat: NOW + 30 }))).subject).toBe('alice');
      expect((await verifier().verify(await sign(key, { iat: NOW }))).subject).toBe('alice');
    });

    it('is refused with the same code and message when a maximum token age is set (jose checks it then)', async () => {
      const e = await expectUnauthenticated(verifier({ maxTokenAgeSeconds: 3600 }).verify(await sign(key, { iat: NOW + 1 })), 'ERR_JWT_CLAIM_VALIDATION_FAILED');
      expect(e.message).toBe(FUTURE_IAT);
    });

    it('a token without iat is still accepted when no maximum age is set', async () => {
      expect((await verifier().verify(await sign(key, { iat: undefined }))).subject).toBe('alice');
    });
  });

  describe('time claims that are not finite numbers', () => {
    it('a string iat: 401 ERR_JWT_CLAIM_VALIDATION_FAILED', async () => {
      const e = await expectUnauthenticated(verifier().verify(await sign(key, { iat: String(NOW) })), 'ERR_JWT_CLAIM_VALIDATION_FAILED');
      expect(e.message).toBe('the token is not valid: "iat" claim must be a number');
      await expectUnauthenticated(verifier().verify(await sign(key, { iat: null })), 'ERR_JWT_CLAIM_VALIDATION_FAILED');
      await expectUnauthenticated(verifier().verify(await sign(key, { iat: [NOW] })), 'ERR_JWT_CLAIM_VALIDATION_FAILED');
    });

    // JSON cannot say Infinity, but 1e400 parses to it and jose compares it as a number: an exp of
    // 1e400 would never expire.
    it.each([
      ['exp', '1e400'],
      ['iat', '-1e400'],
      ['nbf', '-1e400'],
    ])('%s of %s: 401 ERR_JWT_CLAIM_VALIDATION_FAILED', async (claim, literal) => {
      const claims: Record<string, string> = { iss: `"${ISSUER}"`, aud: `"${AUDIENCE}"`, sub: '"alice"', iat: String(NOW), exp: String(NOW + 600) };
      claims[claim] = literal;
      const payload = `{${Object.entries(claims).map(([k, v]) => `"${k}":${v}`).join(',')}}`;
      const token = await new CompactSign(new TextEncoder().encode(payload)).setProtectedHeader({ alg: 'ES256', kid: key.kid }).sign(key.privateKey);
      const e = await expectUnauthenticated(verifier().verify(token), 'ERR_JWT_CLAIM_VALIDATION_FAILED');
      expect(e.message).toBe(`the token is not valid: "${claim}" claim must be a finite number`);
      // With a maximum token age, jose itself refuses an iat of -1e400 as too old.
      if (claim === 'iat') await expectUnauthenticated(verifier({ maxTokenAgeSeconds: 3600 }).verify(token), 'ERR_JWT_EXPIRED');
    });
  });

  describe('maximum token age', () => {
    it('a token issued longer ago than the maximum age: 401 ERR_JWT_EXPIRED', async () => {
      const e = await expectUnauthenticated(verifier({ maxTokenAgeSeconds: 3600 }).verify(await sign(key, { iat: NOW - 3601 })), 'ERR_JWT_EXPIRED');
      expect(e.message).toBe(TOO_OLD);
    });

    it('a token exactly the maximum age old is accepted (jose refuses only beyond it), one second more is not', async () => {
      expect((await verifier({ maxTokenAgeSeconds: 3600 }).verify(await sign(key, { iat: NOW - 3600 }))).subject).toBe('alice');
      await expectUnauthenticated(verifier({ maxTokenAgeSeconds: 3600 }).verify(await sign(key, { iat: NOW - 3601 })), 'ERR_JWT_EXPIRED');
    });

    it('allows the clock tolerance on top of the maximum age', async () => {
      const v = verifier({ maxTokenAgeSeconds: 3600, clockToleranceSeconds: 30 });
      expect((await v.verify(await sign(key, { iat: NOW - 3630 }))).subject).toBe('alice');
      await expectUnauthenticated(v.verify(await sign(key, { iat: NOW - 3631 })), 'ERR_JWT_EXPIRED');
    });

    it('without a maximum age, an old token that has not expired is accepted', async () => {
      expect((await verifier().verify(await sign(key, { iat: NOW - 30 * 86_400 }))).subject).toBe('alice');
    });

    it('makes iat required: a token without it is 401 ERR_JWT_CLAIM_VALIDATION_FAILED', async () => {
      const e = await expectUnauthenticated(verifier({ maxTokenAgeSeconds: 3600 }).verify(await sign(key, { iat: undefined })), 'ERR_JWT_CLAIM_VALIDATION_FAILED');
      expect(e.message).toBe('the token is not valid: missing required "iat" claim');
    });
  });
});
