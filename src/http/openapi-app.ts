/**
 * The OpenAPIHono every route is mounted on, with each route's input checked by one synchronous
 * middleware instead of @hono/zod-openapi's chain.
 *
 * The library mounts an async middleware per input: one for the query, one for the headers, one for the
 * media type, and one for the body. Each awaits zod's safeParseAsync, the hook, and the next middleware.
 * On this machine that chain cost ~18 µs of every API request, more than the validation itself (a
 * minimal hono app under the load benchmark's requests: 73 against 53 µs of CPU each). Here the same
 * route definitions are checked by safeParse in one function. The one await left is reading the body.
 *
 * Everything a client can observe is the library's:
 * - the same OpenAPI document (the route is registered the same way);
 * - the same order of checks (query, params, headers, media type, body);
 * - the same 415 for a body of a type the route does not declare;
 * - the same 400 for a body that is not JSON;
 * - the hook called with the same result;
 * - `c.req.valid()` holding the same data.
 * A route asking for what no route here uses (cookies, form bodies) is refused when it is mounted, not
 * served unchecked.
 */
import { OpenAPIHono, type RouteConfig } from '@hono/zod-openapi';
import type { Context, Env, MiddlewareHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ZodType } from 'zod';
import { ValidationError } from '../errors.ts';
import { findDuplicateKey } from '../strict-json.ts';
import { LARGE_BODY_CHARS, largeBodyTurn } from './large-body-turns.ts';
import { unreadableBody } from './unreadable-body.ts';

type Target = 'query' | 'param' | 'header' | 'json';
type HookResult = Response | { response: Response } | undefined | void;
type Hook = (result: { target: Target; data?: unknown; success: boolean; error?: unknown }, c: Context) => HookResult | Promise<HookResult>;

export class GatewayApp<E extends Env = Env> extends OpenAPIHono<E> {
  override openapi = ((config: RouteConfig, handler: MiddlewareHandler, hook?: Hook) => {
    const { middleware, hide, ...route } = config;
    if (!hide) this.openAPIRegistry.registerPath(route);
    const routeMiddleware = middleware ? (Array.isArray(middleware) ? middleware : [middleware]) : [];
    const check = inputCheck(route, hook ?? (this.defaultHook as Hook | undefined));
    this.on([route.method], [route.path.replaceAll(/\/{(.+?)}/g, '/:$1')], ...(routeMiddleware as MiddlewareHandler[]), ...(check ? [check] : []), handler);
    return this;
  }) as unknown as OpenAPIHono<E>['openapi'];
}

/** hono's: which media types its JSON validator parses (anything else validates as {}). */
const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json$/i;

/** The route's input check, or none when it declares no input to check. */
function inputCheck(route: Omit<RouteConfig, 'middleware' | 'hide'>, hook: Hook | undefined): MiddlewareHandler | undefined {
  const request = route.request;
  if (!request) return undefined;
  if (request.cookies) throw new Error(`${route.method} ${route.path}: cookie schemas are not supported here`);
  const query = request.query as ZodType | undefined;
  const params = request.params as ZodType | undefined;
  const headers = request.headers as ZodType | undefined;
  if (headers !== undefined && !isZod(headers)) throw new Error(`${route.method} ${route.path}: header schemas must be zod objects`);
  const headerKeys = headers ? caseInsensitiveKeys(headers) : undefined;

  const content = request.body?.content ?? {};
  const declared = Object.keys(content);
  let json: ZodType | undefined;
  let gated = false;
  for (const mediaType of declared) {
    const schema: unknown = (content[mediaType] as { schema?: unknown } | undefined)?.schema;
    if (!isZod(schema)) continue;
    if (isFormContentType(mediaType)) throw new Error(`${route.method} ${route.path}: form bodies are not supported here`);
    if (isJSONContentType(mediaType)) {
      json = schema;
      gated = true;
    }
  }
  const bodyRequired = request.body?.required === true;
  if (!query && !params && !headers && !json) return undefined;

  return async function validateInput(c, next) {
    let refused: Response | undefined;
    if (query && (refused = validate(c, hook, 'query', query, queryValue(c)))) return refused;
    if (params && (refused = validate(c, hook, 'param', params, c.req.param()))) return refused;
    if (headers && (refused = validate(c, hook, 'header', headers, headerValue(c, headerKeys!)))) return refused;
    const contentType = c.req.header('content-type');
    if (gated) {
      if (contentType) {
        if (!declared.some((m) => matchesMediaType(contentType, m))) throw new HTTPException(415, { message: 'Unsupported Media Type' });
      } else if (await hasRequestBody(c)) {
        throw new HTTPException(415, { message: 'Unsupported Media Type' });
      }
    }
    if (json) {
      if (!bodyRequired && !(contentType && isJSONContentType(contentType))) {
        c.req.addValidatedData('json', {});
      } else {
        let value: unknown = {};
        if (contentType && JSON_MEDIA_TYPE.test(contentType.split(';')[0]!.trim().toLowerCase())) {
          let text: string;
          try {
            text = await c.req.text();
          } catch (err) {
            throw unreadableBody(err);
          }
          // A large body waits for a turn of its own (large-body-turns.ts); the rest goes straight on.
          const endTurn = text.length >= LARGE_BODY_CHARS ? await largeBodyTurn() : undefined;
          try {
            try {
              value = JSON.parse(text);
            } catch {
              throw new HTTPException(400, { message: 'Malformed JSON in request body' });
            }
            // JSON.parse keeps the last of a repeated key, another reader (a proxy, a WAF, a log
            // pipeline) may keep the first: a body two readers can read differently is refused, as
            // a token is (auth/verify-token.ts), rather than acted on as one of its readings.
            const repeated = findDuplicateKey(text);
            if (repeated !== undefined) throw new ValidationError(`the request body is not valid JSON: it gives the key ${JSON.stringify(repeated)} twice in one object`, 'CANNOT_PARSE');
            if ((refused = validate(c, hook, 'json', json, value))) return refused;
          } finally {
            endTurn?.();
          }
          return next();
        }
        if ((refused = validate(c, hook, 'json', json, value))) return refused;
      }
    }
    return next();
  } as MiddlewareHandler;
}

/**
 * One input through its schema and the hook, as @hono/zod-validator does: the hook sees every result;
 * a Response from it (or a failure it let through) answers the request; otherwise the data is the
 * handler's. A hook that returns a promise is not awaited: none here does, and one that did would be
 * a mistake to find at once, so it is refused.
 */
function validate(c: Context, hook: Hook | undefined, target: Target, schema: ZodType, value: unknown): Response | undefined {
  const result = schema.safeParse(value);
  if (hook) {
    const answer = hook({ data: value, ...result, target } as Parameters<Hook>[0], c);
    if (answer instanceof Promise) throw new Error('an input hook must answer synchronously');
    if (answer instanceof Response) return answer;
    if (answer && 'response' in answer) return answer.response;
  }
  if (!result.success) return c.json(result, 400);
  c.req.addValidatedData(target, result.data as object);
  return undefined;
}

/** hono's query value: a parameter given once is a string, given more often a list. */
function queryValue(c: Context): Record<string, string | string[]> {
  const value: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(c.req.queries())) value[k] = v.length === 1 ? v[0]! : v;
  return value;
}

/** Header names arrive lower-cased; the schema's own spelling is restored, as @hono/zod-validator does. */
function headerValue(c: Context, keys: Map<string, string>): Record<string, string> {
  const value: Record<string, string> = {};
  for (const [k, v] of Object.entries(c.req.header())) value[keys.get(k) ?? k] = v;
  return value;
}

function caseInsensitiveKeys(schema: ZodType): Map<string, string> {
  const shape = (schema as unknown as { shape?: Record<string, unknown>; in?: { shape: Record<string, unknown> } }).in?.shape ?? (schema as unknown as { shape?: Record<string, unknown> }).shape ?? {};
  return new Map(Object.keys(shape).map((k) => [k.toLowerCase(), k]));
}

// @hono/zod-openapi's own tests of a media type, which it does not export.
function isZod(x: unknown): x is ZodType {
  return typeof x === 'object' && x !== null && typeof (x as ZodType).safeParse === 'function' && typeof (x as ZodType).safeParseAsync === 'function';
}
function isJSONContentType(contentType: string): boolean {
  return /^application\/([a-z-.]+\+)?json/i.test(contentType);
}
function isFormContentType(contentType: string): boolean {
  const lower = contentType.toLowerCase();
  return lower.startsWith('multipart/form-data') || lower.startsWith('application/x-www-form-urlencoded');
}
const JSON_REQUEST = /^application\/([a-z-.]+\+)?json(;\s*[a-zA-Z0-9-]+=([^;]+))*$/i;
function matchesMediaType(contentType: string, mediaType: string): boolean {
  if (mediaType === '*/*') return true;
  if (isJSONContentType(mediaType)) return JSON_REQUEST.test(contentType);
  const essence = contentType.split(';')[0]!.trim().toLowerCase();
  if (mediaType.endsWith('/*')) return essence.startsWith(mediaType.slice(0, -1).toLowerCase());
  return essence === mediaType.toLowerCase();
}
async function hasRequestBody(c: Context): Promise<boolean> {
  const raw = c.req.raw;
  if (raw.body === null) return false;
  if (raw.bodyUsed) return (await c.req.arrayBuffer()).byteLength > 0;
  const body = raw.clone().body;
  if (body === null) return false;
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return false;
      if (value.byteLength > 0) return true;
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}
