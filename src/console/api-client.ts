/**
 * The console's only way to data: versiongate's own API, called in-process through the app's fetch
 * handler with the session's bearer token. Each call is a real request (authenticated, authorized by
 * Cedar, audited, counted in the metrics, logged) with a request id derived from the page's, so the
 * audit records of a page can be found from its request id.
 */
import type { Context } from 'hono';

export type Fetch = (request: Request, env?: unknown) => Response | Promise<Response>;

export interface ApiResult<T = Record<string, unknown>> {
  status: number;
  ok: boolean;
  body: T;
  /** The API's error message (CodeArtifact's `message`, Cloudsmith's `detail`). */
  error?: string;
  /** The request id the call carried: its audit record's. */
  requestId: string;
}

export interface ApiClient {
  get<T = Record<string, unknown>>(path: string, query?: Record<string, string | undefined>): Promise<ApiResult<T>>;
  post<T = Record<string, unknown>>(path: string, query: Record<string, string | undefined> | undefined, body: unknown): Promise<ApiResult<T>>;
  /** The raw response, for streaming (the NDJSON export reads pages itself). */
  raw(method: string, path: string, query?: Record<string, string | undefined>): Promise<Response>;
}

/** The gateway answered 401 (or 503 for keys it cannot fetch): the page cannot go on with this session. */
export class SessionRefused extends Error {}

/**
 * How many in-process calls one page has in flight at once. A call runs on the event loop up to its
 * first real wait (an audited one's commit): a versions page's 300 reads started together ran as one
 * burst of ~0.3 s in which the gateway answered no one else.
 */
export const CALLS_AT_ONCE = 8;

/** The origin of in-process requests: never sent anywhere, only parsed by the router. */
const ORIGIN = 'http://versiongate.console';

export function apiClient(fetch: Fetch, c: Context, token: string | undefined): ApiClient {
  let n = 0;
  const pageId = (c.get('requestId' as never) as string | undefined) ?? 'console';
  // The connection's details, so the API records the browser's address as the source of the call.
  const env = (c.env as { incoming?: unknown } | undefined)?.incoming ? { incoming: (c.env as { incoming: unknown }).incoming } : undefined;

  const url = (path: string, query?: Record<string, string | undefined>) => {
    const u = new URL(path, ORIGIN);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== '') u.searchParams.set(k, v);
    return u;
  };
  let inFlight = 0;
  const waiting: Array<() => void> = [];
  /**
   * Each call waits for a slot (CALLS_AT_ONCE) and then for a turn of the event loop, so that other
   * clients' requests are answered between a page's calls.
   */
  const slot = async () => {
    if (inFlight >= CALLS_AT_ONCE) await new Promise<void>((resolve) => waiting.push(resolve));
    else inFlight++;
    await new Promise((resolve) => setImmediate(resolve));
  };
  /** Hands the slot to the next call waiting, or frees it. */
  const release = () => {
    const next = waiting.shift();
    if (next) next();
    else inFlight--;
  };
  const raw = async (method: string, path: string, query?: Record<string, string | undefined>, body?: unknown, requestId = `${pageId}.${++n}`.slice(0, 128)) => {
    const headers: Record<string, string> = { 'x-request-id': requestId };
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    await slot();
    try {
      return await fetch(new Request(url(path, query), { method, headers, body: body === undefined ? undefined : JSON.stringify(body) }), env);
    } finally {
      release();
    }
  };
  const call = async <T,>(method: string, path: string, query: Record<string, string | undefined> | undefined, body?: unknown): Promise<ApiResult<T>> => {
    const requestId = `${pageId}.${++n}`.slice(0, 128);
    const res = await raw(method, path, query, body, requestId);
    const text = await res.text();
    let parsed: unknown = {};
    try {
      parsed = text ? JSON.parse(text) : {};
    } catch {
      parsed = { message: text };
    }
    const p = parsed as { message?: unknown; detail?: unknown };
    const error = res.ok ? undefined : String(p.message ?? p.detail ?? `HTTP ${res.status}`);
    if (res.status === 401 && token) throw new SessionRefused(error);
    return { status: res.status, ok: res.ok, body: parsed as T, requestId, ...(error !== undefined ? { error } : {}) };
  };
  return {
    get: (path, query) => call('GET', path, query),
    post: (path, query, body) => call('POST', path, query, body),
    raw: (method, path, query) => raw(method, path, query),
  };
}
