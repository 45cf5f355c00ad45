/**
 * The time claims (exp, nbf, iat): the checks jose leaves out, and the span of time in which jose
 * would accept a token it has just accepted, so that a cached verification is reused only while a
 * fresh one would still pass.
 *
 * jose compares whole seconds: "now" is floor(milliseconds / 1000). The instants below are in
 * milliseconds and chosen so that `notBeforeMs <= nowMs < expiresAtMs` holds exactly when jose's
 * checks (and refuseUnsafeTimes) pass at nowMs, to the millisecond.
 */
import { errors, type JWTPayload } from 'jose';

export interface TimeOptions {
  clockToleranceSeconds: number;
  /** Unset: tokens may be of any age. */
  maxTokenAgeSeconds?: number | undefined;
}

/** When a token that verified is acceptable: from notBeforeMs (inclusive) to expiresAtMs (exclusive). */
export interface AcceptanceWindow {
  notBeforeMs: number;
  expiresAtMs: number;
}

const TIME_CLAIMS = ['exp', 'nbf', 'iat'] as const;
/** 9999-12-31T23:59:59Z in seconds. */
const LATEST_NUMERIC_DATE = 253_402_300_799;

/**
 * Run after jose has verified the token and its own time checks. Throws jose's claim error so the
 * caller reports it like jose's: same code, same message, with or without a maximum token age.
 */
export function refuseUnsafeTimes(payload: JWTPayload, nowSeconds: number, o: TimeOptions): void {
  for (const claim of TIME_CLAIMS) {
    const value = payload[claim];
    // jose checks that these are numbers, not that they are finite: "exp": 1e400 parses to
    // Infinity and would never expire.
    if (value !== undefined && !Number.isFinite(value)) {
      throw new errors.JWTClaimValidationFailed(`"${claim}" claim must be a finite number`, payload, claim, 'invalid');
    }
    // Past year 9999 an instant has no ISO form (Date#toISOString throws): such a claim is a forgery
    // or a bug at the issuer, never a real expiry, and nothing downstream should have to handle it.
    if (value !== undefined && Math.abs(value) > LATEST_NUMERIC_DATE) {
      throw new errors.JWTClaimValidationFailed(`"${claim}" claim must be a date before the year 10000`, payload, claim, 'invalid');
    }
  }
  // jose checks iat only when given a maximum token age. A token issued in the future is refused
  // always: it is a clock or issuer fault, and it would otherwise outlive any maximum age set later.
  const iat = payload.iat;
  if (iat !== undefined && iat > nowSeconds + o.clockToleranceSeconds) {
    throw new errors.JWTClaimValidationFailed('"iat" claim timestamp check failed (it should be in the past)', payload, 'iat', 'check_failed');
  }
}

/** For a payload that has passed jose's checks and refuseUnsafeTimes (so exp is a finite number). */
export function acceptanceWindow(payload: JWTPayload, o: TimeOptions): AcceptanceWindow {
  const tolerance = o.clockToleranceSeconds;
  const { exp, nbf, iat } = payload;
  // jose refuses once now >= exp + tolerance.
  let expiresAtMs = Math.ceil(exp! + tolerance) * 1000;
  // jose refuses once now - iat - tolerance > maxTokenAge: the whole second iat + max + tolerance still passes.
  if (o.maxTokenAgeSeconds !== undefined && iat !== undefined) {
    expiresAtMs = Math.min(expiresAtMs, (Math.floor(iat + o.maxTokenAgeSeconds + tolerance) + 1) * 1000);
  }
  // nbf (jose) and iat (refuseUnsafeTimes) are refused while now < claim - tolerance. Only a clock
  // set back can meet this after a token verified, but then a cached verification must not pass either.
  let notBeforeMs = -Infinity;
  if (nbf !== undefined) notBeforeMs = Math.ceil(nbf - tolerance) * 1000;
  if (iat !== undefined) notBeforeMs = Math.max(notBeforeMs, Math.ceil(iat - tolerance) * 1000);
  return { notBeforeMs, expiresAtMs };
}
