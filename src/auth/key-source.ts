/**
 * Where the public keys that sign tokens come from: a JWKS URL, a JWKS file, or the development key.
 * Every source is wrapped so that a failure to *get* keys (network, timeout, bad key set) is told
 * apart from a token that names no known key: the first is a 503, the second a 401.
 *
 * A JWKS file and the development key are read once, at start: their key set is fixed for the life
 * of the process (restart to rotate keys). A JWKS URL is fetched again as jose decides (every 10
 * minutes, or for an unknown kid at most every 30 s), and its key set changes when the fetched keys do.
 */
import { readFileSync } from 'node:fs';
import { createLocalJWKSet, createRemoteJWKSet, errors, jwksCache, type JSONWebKeySet, type JWKSCacheInput, type JWTVerifyGetKey } from 'jose';
import type { AuthConfig } from '../config.ts';
import { ConfigError } from '../errors.ts';
import type { DevKey } from './dev-key.ts';
import { remoteKeySetVersion } from './remote-key-set-version.ts';

export class KeySourceUnavailable extends Error {
  override readonly name = 'KeySourceUnavailable';
}

export interface KeySource {
  getKey: JWTVerifyGetKey;
  description: string;
  /**
   * Which key set getKey answers from: the same number means the same keys (a number is never
   * reused for other keys), so a token verified under it may be trusted again without asking (see
   * verified-token-cache.ts). undefined means the source cannot vouch for its keys right now (a
   * remote set due to be fetched again). Tokens are never cached for a source without this method.
   */
  keySetVersion?(): number | undefined;
}

/** A set read once never changes. */
const FIXED_KEY_SET = (): number => 0;

export function keySourceFor(auth: AuthConfig, devKey?: DevKey): KeySource {
  switch (auth.mode) {
    case 'jwks-url': {
      // jose writes each key set it fetches into this object: what remoteKeySetVersion watches.
      const fetched: JWKSCacheInput = {};
      const remote = createRemoteJWKSet(auth.url, { timeoutDuration: 5_000, cooldownDuration: 30_000, cacheMaxAge: 600_000, [jwksCache]: fetched });
      return guarded(remote, `JWKS ${auth.url.href}`, remoteKeySetVersion(remote, fetched));
    }
    case 'jwks-file':
      return guarded(createLocalJWKSet(readJwksFile(auth.file)), `JWKS file ${auth.file}`, FIXED_KEY_SET);
    case 'dev':
      if (!devKey) throw new Error('development mode needs the development key');
      return guarded(createLocalJWKSet({ keys: [devKey.publicJwk] }), `development key ${devKey.path}`, FIXED_KEY_SET);
  }
}

export function readJwksFile(file: string): JSONWebKeySet {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(`VERSIONGATE_JWKS_FILE (--jwks-file): cannot read ${file} as JSON: ${(err as Error).message}`);
  }
  const keys = typeof parsed === 'object' && parsed !== null ? (parsed as { keys?: unknown }).keys : undefined;
  if (!Array.isArray(keys) || keys.length === 0) {
    throw new ConfigError(`VERSIONGATE_JWKS_FILE (--jwks-file): ${file} is not a JWK set with at least one key`);
  }
  for (const key of keys as unknown[]) {
    if (typeof key !== 'object' || key === null || Array.isArray(key)) {
      throw new ConfigError(`VERSIONGATE_JWKS_FILE (--jwks-file): ${file} has a key that is not a JSON object`);
    }
    // A verifier needs public keys only; private or shared-secret material here is a mistake to stop on.
    const jwk = key as Record<string, unknown>;
    if ('d' in jwk || jwk.kty === 'oct') {
      throw new ConfigError(
        `VERSIONGATE_JWKS_FILE (--jwks-file): ${file} holds private or symmetric key material (kid ${String(jwk.kid)}); give public keys only`,
      );
    }
  }
  return parsed as JSONWebKeySet;
}

function guarded(getKey: JWTVerifyGetKey, description: string, keySetVersion: () => number | undefined): KeySource {
  return {
    description,
    keySetVersion,
    getKey: async (header, token) => {
      try {
        return await getKey(header, token);
      } catch (err) {
        // These say something about the token (no key with its kid/alg): the caller answers 401.
        if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys) throw err;
        throw new KeySourceUnavailable(`cannot get signing keys from ${description}`, { cause: err });
      }
    },
  };
}
