/**
 * The body length a request declares (Content-Length), when it is a plain number. A chunked body
 * declares none: it is counted as it streams instead.
 */
import type { Context } from 'hono';

export function declaredLength(c: Context): number | undefined {
  const length = c.req.header('content-length');
  if (length === undefined || !/^\d+$/.test(length) || c.req.header('transfer-encoding') !== undefined) return undefined;
  return Number(length);
}
