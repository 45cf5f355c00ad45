/**
 * The version of a JWKS URL's key set, read on every request by the verified-token cache, so it
 * must cost nothing in the steady state.
 *
 * jose's own `jwks()` will not do: it returns a structured clone, a new object on every call. But
 * jose writes each key set it fetches into the exported cache object (the `jwksCache` option) in
 * the same synchronous step as it starts verifying with it, so a new object there means a fetch
 * happened, and comparing identities is free. Only then are the keys compared (as JSON text, once
 * per fetch): a fetch that brings the same keys (the 10-minute refresh, or an unknown kid after the
 * cooldown, which anyone can send) keeps the version and the cache, and different keys bump it.
 */
import type { ExportedJWKSCache, JWKSCacheInput, RemoteJWKSet } from 'jose';

export function remoteKeySetVersion(remote: RemoteJWKSet, fetched: JWKSCacheInput): () => number | undefined {
  let seen: unknown;
  let seenText: string | undefined;
  let version = 0;
  return () => {
    // Past its max age (or before the first fetch) jose fetches the set again before using it; an
    // earlier verification is not reused until it has, or a key rotated out upstream would stay
    // trusted for as long as cached tokens kept the set from being asked for.
    if (!remote.fresh) return undefined;
    const jwks = (fetched as Partial<ExportedJWKSCache>).jwks;
    if (jwks !== seen) {
      const text = JSON.stringify(jwks);
      if (text !== seenText) {
        version += 1;
        seenText = text;
      }
      seen = jwks;
    }
    return version;
  };
}
