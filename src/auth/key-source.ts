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
import { createLocalJWKSet, createRemoteJWKSet, customFetch, errors, jwksCache, type ExportedJWKSCache, type JSONWebKeySet, type JWKSCacheInput, type JWTVerifyGetKey, type RemoteJWKSet } from 'jose';
import type { AuthConfig } from '../config.ts';
import { ConfigError } from '../errors.ts';
import type { Logger } from '../log.ts';
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

export function keySourceFor(auth: AuthConfig, devKey?: DevKey, logger?: Logger): KeySource {
  switch (auth.mode) {
    case 'jwks-url': {
      // jose writes each key set it fetches into this object: what remoteKeySetVersion watches.
      const fetched: JWKSCacheInput = {};
      const remote = createRemoteJWKSet(auth.url, {
        timeoutDuration: JWKS_TIMEOUT_MS,
        cooldownDuration: 30_000,
        cacheMaxAge: 600_000,
        [jwksCache]: fetched,
        [customFetch]: fetchJwksBounded,
      });
      return guarded(withBackoff(remote, fetched, JWKS_BACKOFF_MS, fetchOutage(logger, auth.url.href)), `JWKS ${auth.url.href}`, remoteKeySetVersion(remote, fetched));
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

/** The whole fetch of a JWKS URL, body included. */
export const JWKS_TIMEOUT_MS = 5_000;
/** A key set is a few KiB; a larger answer is refused before it is parsed (jose reads any size). */
export const MAX_JWKS_BYTES = 256 * 1024;
/** After a failed fetch, how long every verification needing the URL fails at once (the 503's Retry-After). */
export const JWKS_BACKOFF_MS = 5_000;

/**
 * jose's fetch, bounded: the body is read up to MAX_JWKS_BYTES (under jose's timeout signal, so a
 * body that trickles in is cut off too), and a set holding private or shared-secret key material is
 * refused whole, as a JWKS file holding it is refused at start. Any refusal is a failed fetch (503).
 */
export async function fetchJwksBounded(url: string, init: RequestInit): Promise<Response> {
  const response = await fetch(url, init);
  if (response.status !== 200 || !response.body) return response;
  const declared = Number(response.headers.get('content-length'));
  if (declared > MAX_JWKS_BYTES) {
    await response.body.cancel();
    throw new Error(`the key set is ${declared} bytes, more than ${MAX_JWKS_BYTES}`);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.length;
    if (size > MAX_JWKS_BYTES) throw new Error(`the key set is more than ${MAX_JWKS_BYTES} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return new Response(text, { status: 200 }); // jose reports it as not JSON
  }
  const keys = (parsed as { keys?: unknown } | null)?.keys;
  // No key is no way to verify anything: an outage of the identity provider's (503), not a verdict
  // on every token (401, counted against each client's address, the cache flushed).
  if (Array.isArray(keys) && keys.length === 0) throw new Error('the key set holds no keys');
  if (Array.isArray(keys)) {
    for (const key of keys as unknown[]) {
      const jwk = key as Record<string, unknown> | null;
      if (jwk && typeof jwk === 'object' && ('d' in jwk || jwk.kty === 'oct')) {
        throw new Error(`the key set holds private or symmetric key material (kid ${String(jwk.kid)})`);
      }
    }
  }
  return new Response(text, { status: 200, headers: { 'content-type': 'application/json' } });
}

/**
 * After a fetch fails, no call fetches again for `ms`: while the identity provider is down (or
 * refuses at once), a flood of requests cannot become a flood of fetches. jose's own cooldown covers
 * the other flood: unknown kids fetch again at most every 30 s.
 *
 * Meanwhile a key set fetched within its max age still answers, as it would have without the failed
 * fetch: a token signed by a key it holds verifies, and a kid it lacks is refused as unknown (as
 * jose does during its cooldown). Only once the set is past its max age is every call a 503. Before,
 * one fetch failing for an unknown kid (a /readyz probe, or anyone's made-up token) made every new
 * token a 503 for the backoff, though the keys that sign them were at hand, and took every replica
 * out of its load balancer's rotation at once.
 */
function withBackoff(remote: RemoteJWKSet, fetched: JWKSCacheInput, ms: number, outage: FetchOutage): JWTVerifyGetKey {
  let failedAt = -Infinity;
  let lastError: unknown;
  /** The set jose fetched last, as a local set (built once per fetched set). */
  let local: { jwks: unknown; getKey: JWTVerifyGetKey } | undefined;
  const fromFetchedSet = (): JWTVerifyGetKey | undefined => {
    const jwks = (fetched as Partial<ExportedJWKSCache>).jwks;
    if (!remote.fresh || !jwks) return undefined;
    if (local?.jwks !== jwks) local = { jwks, getKey: createLocalJWKSet(jwks) };
    return local.getKey;
  };
  return async (header, token) => {
    if (Date.now() - failedAt < ms) {
      const fresh = fromFetchedSet();
      if (fresh) return fresh(header, token);
      throw new KeySourceUnavailable('the last fetch of the key set failed; not trying again yet', { cause: lastError });
    }
    // jose writes each set it fetches into `fetched` as a new object: a new one means a fetch worked.
    const before = (fetched as Partial<ExportedJWKSCache>).jwks;
    const fetchedAgain = () => (fetched as Partial<ExportedJWKSCache>).jwks !== before && outage.ended();
    try {
      const key = await remote(header, token);
      fetchedAgain();
      return key;
    } catch (err) {
      if (!(err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys)) {
        failedAt = Date.now();
        lastError = err;
        outage.began(err);
      } else fetchedAgain();
      throw err;
    }
  };
}

/** Says once when fetching the key set starts failing, with why, and once when it works again. */
interface FetchOutage {
  began(err: unknown): void;
  ended(): void;
}

function fetchOutage(logger: Logger | undefined, url: string): FetchOutage {
  let failing = false;
  return {
    began(err) {
      if (failing) return;
      failing = true;
      logger?.warn('the key set cannot be fetched: tokens that need it are answered 503 until it can', { jwksUrl: url, err: (err as Error).message });
    },
    ended() {
      if (!failing) return;
      failing = false;
      logger?.info('the key set is fetched again', { jwksUrl: url });
    },
  };
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
