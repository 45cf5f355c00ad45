/** Who made a request, as a verified token says. Never holds the token itself. */
export interface Principal {
  issuer: string;
  subject: string;
  groups: string[];
}

/** The most groups a principal may have (a token's groups claim, or the claims a simulation gives). */
export const MAX_GROUPS = 256;

/**
 * Control characters, and UTF-16 surrogates standing alone (`"\ud800"` is valid JSON, so a signed
 * payload can carry one). Neither has a place in a name, and a lone surrogate breaks what follows:
 * Cedar's JSON parser refuses it, and UTF-8 storage replaces it, so the audit record would no longer
 * match its own hash.
 */
const NOT_A_NAME = /[\x00-\x1f\x7f]|\p{Cs}/u;

/**
 * What is wrong with a subject and a groups claim as a principal's, phrased after "the token's" or
 * "the simulated principal's": a token's claims and the claims the policy bench simulates are held to
 * the same rules. A malformed groups claim is refused, not read as "no groups": membership might be
 * what a forbid keys on.
 */
export function claimsProblem(subject: unknown, groups: unknown, groupsClaim: string): string | undefined {
  if (typeof subject !== 'string' || subject.length === 0 || subject.length > 256) return '"sub" claim must be a string of 1 to 256 characters';
  if (NOT_A_NAME.test(subject)) return '"sub" claim holds a control character or a lone UTF-16 surrogate';
  if (groups === undefined) return undefined;
  const ok = Array.isArray(groups) && groups.length <= MAX_GROUPS && groups.every((g) => typeof g === 'string' && g.length > 0 && g.length <= 256 && !NOT_A_NAME.test(g));
  return ok ? undefined : `"${groupsClaim}" claim must be an array of at most ${MAX_GROUPS} group names`;
}
