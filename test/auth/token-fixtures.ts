/**
 * Keys, tokens and key sources for the verifier's tests: real ES256 keys made by jose, tokens with
 * every claim under the test's control, and a key source whose key set a test can swap and whose
 * calls it can count.
 */
import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import type { KeySource } from '../../src/auth/key-source.ts';
import { createTokenVerifier, type TokenVerifier, type TokenVerifierOptions } from '../../src/auth/verify-token.ts';
import type { Clock } from '../../src/clock.ts';
import { UnauthenticatedError } from '../../src/errors.ts';
import { rejectionOf } from '../helpers/rejection.ts';

export const ISSUER = 'https://idp.example.test/';
export const AUDIENCE = 'versiongate-api';
export const NOW_ISO = '2025-03-01T12:00:00.000Z';
export const NOW = Math.floor(Date.parse(NOW_ISO) / 1000);

export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export async function signingKey(kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  return { kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' } };
}

/** A token that is valid at NOW unless the claims say otherwise; `undefined` drops a default claim. */
export function sign(key: SigningKey, claims: Record<string, unknown> = {}): Promise<string> {
  const payload: JWTPayload = { iss: ISSUER, aud: AUDIENCE, sub: 'alice', iat: NOW, exp: NOW + 600, groups: ['release-managers'] };
  for (const [name, value] of Object.entries(claims)) {
    if (value === undefined) delete payload[name];
    else payload[name] = value;
  }
  return new SignJWT(payload).setProtectedHeader({ alg: 'ES256', kid: key.kid, typ: 'JWT' }).sign(key.privateKey);
}

/**
 * A key source over an in-memory key set that the test replaces, standing in for a JWKS URL whose
 * identity provider rotates keys. It counts getKey calls: each is one verification that was not
 * answered from the cache.
 */
export interface SwappableKeySource extends KeySource {
  setKeys(keys: JWK[]): void;
  readonly getKeyCalls: number;
}

export function swappableKeySource(keys: JWK[]): SwappableKeySource {
  let local = createLocalJWKSet({ keys });
  let version = 1;
  let calls = 0;
  return {
    description: 'test key set',
    getKey: (header, token) => {
      calls += 1;
      return local(header, token);
    },
    keySetVersion: () => version,
    setKeys(next) {
      local = createLocalJWKSet({ keys: next });
      version += 1;
    },
    get getKeyCalls() {
      return calls;
    },
  };
}

/** The same key source, counting getKey calls (each is a verification not answered from the cache). */
export function countingKeySource(inner: KeySource): KeySource & { readonly getKeyCalls: number } {
  let calls = 0;
  return {
    description: inner.description,
    getKey: (header, token) => {
      calls += 1;
      return inner.getKey(header, token);
    },
    ...(inner.keySetVersion ? { keySetVersion: () => inner.keySetVersion!() } : {}),
    get getKeyCalls() {
      return calls;
    },
  };
}

export function verifierFor(keySource: KeySource, clock: Clock, o: Partial<TokenVerifierOptions> = {}): TokenVerifier {
  return createTokenVerifier({ keySource, issuer: ISSUER, audience: AUDIENCE, groupsClaim: 'groups', clock, clockToleranceSeconds: 0, ...o });
}

/** Asserts a 401 with exactly this code and returns the error. */
export async function expectUnauthenticated(p: Promise<unknown>, code: string): Promise<UnauthenticatedError> {
  const err = await rejectionOf(p);
  if (!(err instanceof UnauthenticatedError)) throw new Error(`expected an UnauthenticatedError, got ${String(err)}`, { cause: err });
  if (err.code !== code || err.status !== 401) throw new Error(`expected a 401 ${code}, got ${err.status} ${err.code}: ${err.message}`);
  return err;
}
