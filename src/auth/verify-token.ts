/**
 * Bearer token → Principal. Fails closed: anything that cannot be verified is an UnauthenticatedError
 * (401), and a key source that cannot be reached is a ServiceUnavailableError (503), never a pass.
 */
import { errors, jwtVerify, type JWTPayload } from 'jose';
import type { Clock } from '../clock.ts';
import { ServiceUnavailableError, UnauthenticatedError } from '../errors.ts';
import { KeySourceUnavailable, type KeySource } from './key-source.ts';
import type { Principal } from './principal.ts';
import { findDuplicateKey } from './strict-json.ts';

/** Asymmetric algorithms only: a shared secret has no place in a JWKS, and `none` is never allowed. */
export const ALLOWED_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];
/** jose puts no bound on token size; real tokens are a few KiB at most. */
export const MAX_TOKEN_LENGTH = 8192;
const MAX_GROUPS = 256;

export interface TokenVerifierOptions {
  keySource: KeySource;
  issuer: string;
  audience: string;
  groupsClaim: string;
  clock: Clock;
  clockToleranceSeconds: number;
}

export interface TokenVerifier {
  verify(token: string): Promise<Principal>;
}

export function createTokenVerifier(o: TokenVerifierOptions): TokenVerifier {
  return {
    async verify(token) {
      if (token.length > MAX_TOKEN_LENGTH) {
        throw new UnauthenticatedError(`the token is longer than ${MAX_TOKEN_LENGTH} characters`, 'ERR_TOKEN_TOO_LARGE');
      }
      refuseAmbiguousJson(token);
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, o.keySource.getKey, {
          issuer: o.issuer,
          audience: o.audience,
          algorithms: ALLOWED_ALGORITHMS,
          // jose accepts a token without exp unless told otherwise: a token that never expires is refused.
          requiredClaims: ['exp', 'sub'],
          currentDate: o.clock.now(),
          clockTolerance: o.clockToleranceSeconds,
        }));
      } catch (err) {
        throw toAuthError(err);
      }
      return principalFrom(payload, o.groupsClaim);
    },
  };
}

function refuseAmbiguousJson(token: string): void {
  const parts = token.split('.');
  for (const [i, part] of parts.slice(0, 2).entries()) {
    let text: string;
    try {
      text = Buffer.from(part, 'base64url').toString('utf8');
    } catch {
      return; // malformed: jose reports it
    }
    const dup = findDuplicateKey(text);
    if (dup !== undefined) {
      throw new UnauthenticatedError(`the token's ${i === 0 ? 'header' : 'payload'} repeats the key "${dup}"`, 'ERR_JWT_DUPLICATE_KEY');
    }
  }
}

function toAuthError(err: unknown): Error {
  if (err instanceof KeySourceUnavailable) {
    return new ServiceUnavailableError('The identity provider\'s signing keys cannot be fetched right now; try again later.', { cause: err });
  }
  if (err instanceof errors.JOSEError) {
    const message =
      err instanceof errors.JWTExpired
        ? 'the token has expired'
        : err instanceof errors.JWKSNoMatchingKey
          ? 'the token is not signed by a known key'
          : err instanceof errors.JWSSignatureVerificationFailed
            ? 'the token signature is not valid'
            : err instanceof errors.JOSEAlgNotAllowed
              ? 'the token is signed with an algorithm that is not allowed'
              : `the token is not valid: ${err.message}`;
    return new UnauthenticatedError(message, err.code);
  }
  return new UnauthenticatedError('the token is not valid', 'ERR_TOKEN_INVALID');
}

function principalFrom(payload: JWTPayload, groupsClaim: string): Principal {
  const subject = payload.sub!;
  if (typeof subject !== 'string' || subject.length === 0 || subject.length > 256) {
    throw new UnauthenticatedError('the token\'s "sub" claim must be a string of 1 to 256 characters', 'ERR_JWT_CLAIM_VALIDATION_FAILED');
  }
  const raw = payload[groupsClaim];
  let groups: string[] = [];
  if (raw !== undefined) {
    // A malformed groups claim is refused, not read as "no groups": membership might be what a forbid keys on.
    const ok =
      Array.isArray(raw) &&
      raw.length <= MAX_GROUPS &&
      raw.every((g) => typeof g === 'string' && g.length > 0 && g.length <= 256 && !/[\x00-\x1f\x7f]/.test(g));
    if (!ok) {
      throw new UnauthenticatedError(
        `the token's "${groupsClaim}" claim must be an array of at most ${MAX_GROUPS} group names`,
        'ERR_JWT_CLAIM_VALIDATION_FAILED',
      );
    }
    groups = [...new Set(raw as string[])];
  }
  return { issuer: payload.iss!, subject, groups };
}
