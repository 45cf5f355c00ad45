/**
 * The answer to an action, carried from the POST that made it to the GET page that shows it
 * (Post/Redirect/Get): compressed into the result page's link and signed with a key derived from the
 * session's token. Nothing is kept on the server, so any replica behind a load balancer (or the same
 * gateway after a restart) shows the result another one made, as with the CSRF token (session.ts).
 * Reloading the page, or going back to it, shows the answer again and sends nothing to the API.
 *
 * Signed, because the page says in the console's voice what the gateway did: a link someone else
 * made ("Done: 3 versions now Published") must not render. Bound to the session (a link is only good
 * in the browser that made it) and short-lived (RESULT_TTL_MS): after that, the audit log has it.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { Session } from './session.ts';

/** How long a result link shows its result. */
export const RESULT_TTL_MS = 15 * 60_000;
/**
 * The longest sealed result a link carries: well inside the 16 KiB Node allows for a request's head.
 * A longer answer (100 versions, each refused with both revisions) keeps its first rows and says how
 * many it left out.
 */
export const MAX_SEALED = 8000;

const LABEL = 'versiongate console result v1';
const keyOf = (token: string) => createHmac('sha256', LABEL).update(token).digest();
const sign = (token: string, body: string) => createHmac('sha256', keyOf(token)).update(body).digest('base64url');

/** `value` as a link parameter, signed for this session; undefined when it cannot fit MAX_SEALED. */
export function seal(session: Session, value: unknown): string | undefined {
  const body = deflateRawSync(Buffer.from(JSON.stringify(value))).toString('base64url');
  const sealed = `${body}.${sign(session.token, body)}`;
  return sealed.length <= MAX_SEALED ? sealed : undefined;
}

export type Unsealed<T> = { ok: true; value: T & { at: number } } | { ok: false; why: 'invalid' | 'expired' };

/** The value `seal` made for this session, if the signature holds and it is younger than RESULT_TTL_MS. */
export function unseal<T>(session: Session, sealed: string | undefined, now: number): Unsealed<T> {
  const [body, signature, extra] = (sealed ?? '').split('.');
  if (!body || !signature || extra !== undefined) return { ok: false, why: 'invalid' };
  const a = Buffer.from(signature);
  const b = Buffer.from(sign(session.token, body));
  if (a.length !== b.length || !timingSafeEqual(a, b)) return { ok: false, why: 'invalid' };
  let value: T & { at: number };
  try {
    value = JSON.parse(inflateRawSync(Buffer.from(body, 'base64url'), { maxOutputLength: 1 << 20 }).toString()) as T & { at: number };
  } catch {
    return { ok: false, why: 'invalid' };
  }
  if (typeof value.at !== 'number' || now - value.at > RESULT_TTL_MS || value.at > now + 60_000) return { ok: false, why: 'expired' };
  return { ok: true, value };
}
