/**
 * GatewayApp checks a route's input in one synchronous middleware: what a client sees must be what
 * @hono/zod-openapi's own validators give (the API's routes are tested through it everywhere else;
 * these are the library behaviours no route of ours exercises on its own).
 */
import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { describe, expect, it } from 'vitest';
import { GatewayApp } from '../../src/http/openapi-app.ts';

const route = createRoute({
  method: 'post',
  path: '/things/{id}',
  request: {
    params: z.object({ id: z.string().regex(/^\d+$/) }),
    query: z.object({ tag: z.string().optional() }),
    headers: z.object({ 'X-Thing-Kind': z.enum(['a', 'b']) }),
    body: { required: true, content: { 'application/json': { schema: z.object({ n: z.number() }).strict() } } },
  },
  responses: { 200: { description: 'ok' } },
});

type TestHook = (result: { target: string; success: boolean }, c: Context) => Response | undefined;

function app(hook?: TestHook) {
  const a = new GatewayApp();
  a.openapi(route, (c) => c.json({ params: c.req.valid('param'), query: c.req.valid('query'), headers: c.req.valid('header'), body: c.req.valid('json') }, 200), hook as never);
  return a;
}

const post = (a: GatewayApp, path: string, init: { headers?: Record<string, string>; body?: string } = {}) =>
  a.request(path, { method: 'POST', headers: { 'x-thing-kind': 'a', 'content-type': 'application/json', ...init.headers }, body: init.body ?? '{"n":1}' });

describe('GatewayApp input checks', () => {
  it('hands the handler every input parsed, headers under the schema’s own spelling', async () => {
    const res = await post(app(), '/things/42?tag=x');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ params: { id: '42' }, query: { tag: 'x' }, headers: expect.objectContaining({ 'X-Thing-Kind': 'a' }), body: { n: 1 } });
  });

  it('answers a failed check with zod’s result as 400 when no hook answers, checking the query before the body', async () => {
    const res = await post(app(), '/things/x', { body: '{"n":"one"}' });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { success: boolean; error: { name: string; message: string } };
    expect(body.success).toBe(false);
    expect(body.error.message).toContain('id');
    expect(body.error.message).not.toContain('"n"');
  });

  it('lets a hook see each result and answer for the request', async () => {
    const seen: string[] = [];
    const a = app((result, c) => {
      seen.push(`${result.target}:${result.success}`);
      if (!result.success) return c.json({ refused: result.target }, 422);
      return undefined;
    });
    const res = await post(a, '/things/7', { body: '{"n":1,"extra":true}' });
    expect(res.status).toBe(422);
    expect(await res.json()).toEqual({ refused: 'json' });
    expect(seen).toEqual(['query:true', 'param:true', 'header:true', 'json:false']);
  });

  it('refuses a body of an undeclared type with 415, and malformed JSON with 400, as the library does', async () => {
    const a = app();
    const wrongType = await post(a, '/things/1', { headers: { 'content-type': 'text/plain' } });
    expect(wrongType.status).toBe(415);
    const untyped = await a.request('/things/1', { method: 'POST', headers: { 'x-thing-kind': 'a' }, body: new TextEncoder().encode('{"n":1}') });
    expect(untyped.status).toBe(415);
    const malformed = await post(a, '/things/1', { body: '{' });
    expect(malformed.status).toBe(400);
    expect(await malformed.text()).toBe('Malformed JSON in request body');
  });

  it('takes an optional body as {} when none is sent, and checks one that is', async () => {
    const a = new GatewayApp();
    a.openapi(
      createRoute({ method: 'post', path: '/opt', request: { body: { required: false, content: { 'application/json': { schema: z.object({ n: z.number().optional() }).strict() } } } }, responses: { 200: { description: 'ok' } } }),
      (c) => c.json(c.req.valid('json'), 200),
    );
    const none = await a.request('/opt', { method: 'POST' });
    expect(none.status).toBe(200);
    expect(await none.json()).toEqual({});
    const bad = await a.request('/opt', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"n":"x"}' });
    expect(bad.status).toBe(400);
  });

  it('describes the route in the OpenAPI document as the library does', () => {
    const doc = app().getOpenAPIDocument({ openapi: '3.0.0', info: { title: 't', version: '1' } });
    const op = doc.paths['/things/{id}']?.post;
    expect(op?.parameters?.map((p) => ('name' in p ? p.name : ''))).toEqual(expect.arrayContaining(['id', 'tag', 'X-Thing-Kind']));
    expect(op?.requestBody).toBeDefined();
  });

  it('refuses, when mounted, a route whose input it would not check', () => {
    const a = new GatewayApp();
    const withCookies = createRoute({ method: 'get', path: '/c', request: { cookies: z.object({ s: z.string() }) }, responses: { 200: { description: 'ok' } } });
    expect(() => a.openapi(withCookies, (c) => c.text('x'))).toThrow(/cookie schemas are not supported/);
  });
});
