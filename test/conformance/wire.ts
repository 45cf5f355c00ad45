/**
 * REST-JSON as the model describes it, in both directions: a model-level input (member name →
 * value) becomes an HTTP request the way an AWS SDK would serialise it, and an HTTP response is
 * read back into what the model says it carries. Nothing here knows one operation from another.
 */
import type { Operation, ServiceModel, Shape, ShapeRef } from './service-model.ts';

export type Input = Record<string, unknown>;

export interface WireRequest {
  method: string;
  /** Path and query string. */
  target: string;
  headers: Record<string, string>;
  body?: string | Uint8Array;
}

export interface WireResponse {
  status: number;
  headers: Headers;
  text: string;
  /** The body parsed as JSON, when it is JSON. */
  json?: unknown;
}

export function inputShape(model: ServiceModel, op: Operation): Shape {
  return op.input ? model.shapes[op.input.shape]! : { type: 'structure', members: {} };
}

export function outputShape(model: ServiceModel, op: Operation): Shape {
  return op.output ? model.shapes[op.output.shape]! : { type: 'structure', members: {} };
}

/** Serialises `input` for `op`: uri labels, query string, headers, then the payload or the JSON body. */
export function serialize(model: ServiceModel, op: Operation, input: Input): WireRequest {
  const shape = inputShape(model, op);
  const [uriPath, fixedQuery] = op.http.requestUri.split('?', 2) as [string, string | undefined];
  let path = uriPath;
  const query = new URLSearchParams(fixedQuery ?? '');
  const headers: Record<string, string> = {};
  const body: Record<string, unknown> = {};
  let payload: string | Uint8Array | undefined;

  for (const [name, ref] of Object.entries(shape.members ?? {})) {
    const value = input[name];
    if (value === undefined) continue;
    const wireName = ref.locationName ?? name;
    switch (ref.location) {
      case 'uri':
        path = path.replace(new RegExp(`\\{${wireName}\\+?\\}`), encodeURIComponent(scalarText(value)));
        break;
      case 'querystring':
        for (const v of Array.isArray(value) ? value : [value]) query.append(wireName, scalarText(v));
        break;
      case 'header':
        headers[wireName.toLowerCase()] = scalarText(value);
        break;
      default:
        if (shape.payload === name) {
          const target = model.shapes[ref.shape]!;
          payload = target.type === 'blob' || target.type === 'string' ? (value as string | Uint8Array) : JSON.stringify(value);
          headers['content-type'] = target.type === 'structure' ? 'application/json' : 'application/octet-stream';
        } else {
          body[wireName] = value;
        }
    }
  }
  if (payload === undefined && Object.keys(body).length > 0) {
    payload = JSON.stringify(body);
    headers['content-type'] = 'application/json';
  }
  const qs = query.toString();
  return { method: op.http.method, target: qs ? `${path}?${qs}` : path, headers, ...(payload === undefined ? {} : { body: payload }) };
}

/** How a scalar travels in a query string or header: booleans and numbers as text. */
function scalarText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new Error(`not a scalar: ${JSON.stringify(value)}`);
}

export async function send(baseUrl: string, request: WireRequest, token: string | undefined): Promise<WireResponse> {
  const res = await fetch(new URL(request.target, baseUrl), {
    method: request.method,
    headers: { ...request.headers, ...(token ? { authorization: `Bearer ${token}` } : {}) },
    ...(request.body === undefined ? {} : { body: request.body }),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** The error type an error response names (the x-amzn-ErrorType header, without any ':' suffix). */
export function errorType(res: WireResponse): string | undefined {
  return res.headers.get('x-amzn-errortype')?.split(':', 1)[0];
}

/** The members of `shape` that travel in the JSON body, by their wire name. */
export function bodyMembers(shape: Shape): Map<string, { name: string; ref: ShapeRef }> {
  const members = new Map<string, { name: string; ref: ShapeRef }>();
  for (const [name, ref] of Object.entries(shape.members ?? {})) {
    if (ref.location || shape.payload === name) continue;
    members.set(ref.locationName ?? name, { name, ref });
  }
  return members;
}
