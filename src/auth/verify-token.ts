/**
 * Bearer token → Principal. Fails closed: anything that cannot be verified is an UnauthenticatedError
 * (401), and a key source that cannot be reached is a ServiceUnavailableError (503), never a pass.
 *
 * With a cache size, a token that verified is remembered (verified-token-cache.ts): a repeat costs a
 * map lookup and a comparison with the clock, and is answered exactly as a fresh verification would
 * be, or verified afresh.
 */
import { errors, jwtVerify, type JWTHeaderParameters, type JWTPayload, type JWTVerifyOptions } from 'jose';
import type { Clock } from '../clock.ts';
import { ServiceUnavailableError, UnauthenticatedError } from '../errors.ts';
import { KeySourceUnavailable, type KeySource } from './key-source.ts';
import { claimsProblem, type Principal } from './principal.ts';
import { findDuplicateKey } from '../strict-json.ts';
import { acceptanceWindow, refuseUnsafeTimes, type AcceptanceWindow } from './time-claims.ts';
import { VerifiedTokenCache } from './verified-token-cache.ts';

/** Asymmetric algorithms only: a shared secret has no place in a JWKS, and `none` is never allowed. */
export const ALLOWED_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];
/** jose puts no bound on token size; real tokens are a few KiB at most. */
export const MAX_TOKEN_LENGTH = 8192;

export interface TokenVerifierOptions {
  keySource: KeySource;
  issuer: string;
  audience: string;
  groupsClaim: string;
  clock: Clock;
  clockToleranceSeconds: number;
  /** Refuse a token issued longer ago than this; `iat` is then required. Unset: no bound. */
  maxTokenAgeSeconds?: number | undefined;
  /** How many verified tokens to remember (least recently used go first). 0 or unset: none. */
  cacheSize?: number | undefined;
}

export interface TokenVerifier {
  verify(token: string): Promise<Principal>;
  /**
   * The principal of a token verified before and still good now, from the verified-token cache,
   * without a signature check; undefined otherwise (or without a cache). For a request answered
   * before its token is checked (a source past its cap of refused tokens): a token known good goes on.
   */
  remembered(token: string): Principal | undefined;
}

export function createTokenVerifier(o: TokenVerifierOptions): TokenVerifier {
  const times = { clockToleranceSeconds: o.clockToleranceSeconds, maxTokenAgeSeconds: o.maxTokenAgeSeconds };
  const joseOptions: JWTVerifyOptions = {
    issuer: o.issuer,
    audience: o.audience,
    algorithms: ALLOWED_ALGORITHMS,
    // jose accepts a token without exp unless told otherwise: a token that never expires is refused.
    requiredClaims: ['exp', 'sub'],
    clockTolerance: o.clockToleranceSeconds,
    ...(o.maxTokenAgeSeconds !== undefined ? { maxTokenAge: o.maxTokenAgeSeconds } : {}),
  };

  /** The full verification: structure, signature (jose), claims, principal. */
  async function verifyAfresh(token: string, nowMs: number): Promise<{ principal: Principal; window: AcceptanceWindow }> {
    refuseNonCanonicalForm(token);
    const ambiguity = ambiguousJson(token);
    if (ambiguity) throw ambiguity;
    let payload: JWTPayload;
    try {
      let protectedHeader: JWTHeaderParameters;
      ({ payload, protectedHeader } = await jwtVerify(token, o.keySource.getKey, { ...joseOptions, currentDate: new Date(nowMs) }));
      refuseForeignType(protectedHeader);
      refuseUnsafeTimes(payload, Math.floor(nowMs / 1000), times);
    } catch (err) {
      throw toAuthError(err);
    }
    return { principal: principalFrom(payload, o.groupsClaim), window: acceptanceWindow(payload, times) };
  }

  const cache = o.cacheSize ? new VerifiedTokenCache(o.cacheSize) : undefined;
  if (!cache) {
    return {
      async verify(token) {
        refuseOversized(token);
        return (await verifyAfresh(token, o.clock.now().getTime())).principal;
      },
      remembered: () => undefined,
    };
  }
  return {
    remembered: (token) => (token.length > MAX_TOKEN_LENGTH ? undefined : cache.get(token, o.clock.now().getTime(), o.keySource.keySetVersion?.())),
    async verify(token) {
      // First, as it is O(1): it also bounds what hashing the token for the lookup can cost.
      refuseOversized(token);
      const nowMs = o.clock.now().getTime();
      // Read before verifying and stored with the result: if the keys change while this token is
      // verified, the entry belongs to the old set and the next lookup (under the new one) drops it.
      const keySet = o.keySource.keySetVersion?.();
      const cached = cache.get(token, nowMs, keySet);
      if (cached) return cached;
      let fresh: Awaited<ReturnType<typeof verifyAfresh>>;
      try {
        fresh = await verifyAfresh(token, nowMs);
      } catch (err) {
        // The identity provider is down (503): a token this process verified under the last key set
        // it had keeps working until its own expiry, as it would have had the set been fresh. Nothing
        // unverified ever passes: a token never verified here is still refused.
        if (err instanceof ServiceUnavailableError) {
          const stale = cache.getDuringOutage(token, nowMs);
          if (stale) return stale;
        }
        throw err;
      }
      const { principal, window } = fresh;
      // One object serves every later request with this token: none of them may change it.
      Object.freeze(principal.groups);
      Object.freeze(principal);
      if (keySet !== undefined) cache.set(token, { principal, ...window }, keySet);
      return principal;
    },
  };
}

function refuseOversized(token: string): void {
  if (token.length > MAX_TOKEN_LENGTH) {
    throw new UnauthenticatedError(`the token is longer than ${MAX_TOKEN_LENGTH} characters`, 'ERR_TOKEN_TOO_LARGE');
  }
}

/**
 * A JWS compact serialisation is three base64url segments without padding (RFC 7515 §7.1, §2). jose
 * decodes more leniently (padding, the '+/' alphabet, whitespace), so one signed token could be
 * written many ways: each would be a different key in the verified-token cache and a different string
 * to any log or replay check. Only the one canonical spelling is accepted.
 */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

function refuseNonCanonicalForm(token: string): void {
  if (!COMPACT_JWS.test(token)) {
    throw new UnauthenticatedError('the token is not a JWS in compact form (three base64url segments, no padding)', 'ERR_JWS_INVALID');
  }
}

/**
 * The token types an access token may declare (RFC 9068 §2.1 `at+jwt`, or plain `JWT`), compared as
 * RFC 7515 §4.1.9 says: case-insensitively, with "application/" optional. No `typ` at all is accepted
 * (many identity providers send none). Any other type is a token minted for something else (an ID
 * token's cousin, a DPoP proof, a logout token) and is never taken as an access token.
 */
const ACCESS_TOKEN_TYPES = new Set(['jwt', 'at+jwt']);

function refuseForeignType(header: JWTHeaderParameters): void {
  const typ: unknown = header.typ;
  if (typ === undefined) return;
  const normalised = typeof typ === 'string' ? typ.toLowerCase().replace(/^application\//, '') : undefined;
  if (normalised === undefined || !ACCESS_TOKEN_TYPES.has(normalised)) {
    throw new errors.JWTClaimValidationFailed('unexpected "typ" JWT header value', {}, 'typ', 'check_failed');
  }
}

/**
 * Looks at the header and payload only (not the signature), each decoded once: no duplicate keys in
 * either, and a header that is a JSON object. The last is jose's first check too, made here so that
 * the commonest garbage (a token that is not a JWT at all) is refused without building a JOSEError,
 * whose stack trace cost more than the rest of the refusal; the answer is jose's, word for word.
 *
 * The refusal is returned, not thrown: V8 decides to optimise a function when it returns or loops,
 * so one that left by a throw on every call ran in the interpreter for good, and under a flood of
 * garbage tokens that was ~6% of the event loop.
 */
function ambiguousJson(token: string): UnauthenticatedError | undefined {
  const headerEnd = token.indexOf('.');
  if (headerEnd < 0) return undefined; // malformed: jose reports it
  const payloadEnd = token.indexOf('.', headerEnd + 1);
  const parts = [token.slice(0, headerEnd), token.slice(headerEnd + 1, payloadEnd < 0 ? undefined : payloadEnd)] as const;
  for (const [i, part] of parts.entries()) {
    // base64url decoding never throws: anything malformed is left for JSON.parse or jose to report.
    const text = Buffer.from(part, 'base64url').toString('utf8');
    if (i === 0 && !isJsonObject(text)) return new UnauthenticatedError('the token is not valid: JWS Protected Header is invalid', 'ERR_JWS_INVALID');
    const dup = findDuplicateKey(text);
    if (dup !== undefined) {
      return new UnauthenticatedError(`the token's ${i === 0 ? 'header' : 'payload'} repeats the key "${dup}"`, 'ERR_JWT_DUPLICATE_KEY');
    }
  }
  return undefined;
}

function isJsonObject(text: string): boolean {
  // Garbage decodes to text that cannot open an object: answered without JSON.parse, whose
  // SyntaxError (a stack trace each) was most of what refusing such a token cost.
  if (!/^[ \t\n\r]*\{/.test(text)) return false;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value);
  } catch {
    return false;
  }
}

function toAuthError(err: unknown): Error {
  if (err instanceof KeySourceUnavailable) {
    return new ServiceUnavailableError('The identity provider\'s signing keys cannot be fetched right now; try again later.', { cause: err });
  }
  if (err instanceof errors.JOSEError) return new UnauthenticatedError(messageFor(err), err.code);
  return new UnauthenticatedError('the token is not valid', 'ERR_TOKEN_INVALID');
}

function messageFor(err: errors.JOSEError): string {
  if (err instanceof errors.JWTExpired) return err.claim === 'iat' ? 'the token is older than the maximum token age' : 'the token has expired';
  // jose's (with a maximum token age) or refuseUnsafeTimes' (without): one message either way.
  if (err instanceof errors.JWTClaimValidationFailed && err.claim === 'iat' && err.reason === 'check_failed') return 'the token was issued in the future';
  if (err instanceof errors.JWKSNoMatchingKey) return 'the token is not signed by a known key';
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'the token signature is not valid';
  if (err instanceof errors.JWTClaimValidationFailed && err.claim === 'typ') return 'the token\'s type ("typ") is not an access token\'s (JWT or at+jwt)';
  if (err instanceof errors.JOSEAlgNotAllowed) return 'the token is signed with an algorithm that is not allowed';
  return `the token is not valid: ${err.message}`;
}

function principalFrom(payload: JWTPayload, groupsClaim: string): Principal {
  const raw = payload[groupsClaim];
  const problem = claimsProblem(payload.sub, raw, groupsClaim);
  if (problem) throw new UnauthenticatedError(`the token's ${problem}`, 'ERR_JWT_CLAIM_VALIDATION_FAILED');
  return { issuer: payload.iss!, subject: payload.sub!, groups: raw === undefined ? [] : [...new Set(raw as string[])] };
}
