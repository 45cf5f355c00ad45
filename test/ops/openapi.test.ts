/**
 * GET /openapi.json: a valid OpenAPI 3.1 document, generated from the schemas that validate the
 * requests, covering every route the app serves; GET /docs: a self-contained page that renders it.
 */
import { createHash } from 'node:crypto';
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterEach, describe, expect, it } from 'vitest';
import { opsApp, type OpsApp } from './ops-app.ts';

const EVERY_OPERATION = [
  'post /v1/package/versions/update_status',
  'post /v1/package/versions/dispose',
  'get /v1/audit',
  'get /healthz',
  'get /readyz',
  'get /metrics',
  'get /openapi.json',
  'get /docs',
];

describe('GET /openapi.json', () => {
  let gw: OpsApp;
  afterEach(() => gw.close());

  it('is a valid OpenAPI 3.1 document', async () => {
    gw = await opsApp();
    const res = await gw.request('/openapi.json');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const doc = await res.json();
    expect(doc.openapi).toBe('3.1.0');
    const result = await new Validator().validate(doc);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it('covers every route the app serves, the operations endpoints included', async () => {
    gw = await opsApp();
    const doc = await (await gw.request('/openapi.json')).json();
    const documented = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path}`));
    expect(documented).toEqual(expect.arrayContaining(EVERY_OPERATION));
    // Exactly the routes hono mounted (middleware is registered for ALL methods): a route added
    // without createRoute would be served undocumented, and this fails.
    // The console's pages (/console/…) are HTML for browsers, not API operations.
    const served = gw.app.routes.filter((r) => r.method !== 'ALL' && !r.path.startsWith('/console')).map((r) => `${r.method.toLowerCase()} ${r.path.replace(/:([^/]+)/g, '{$1}')}`);
    expect([...new Set(served)].sort()).toEqual(documented.sort());
  });

  it('describes requests with the same schemas that validate them', async () => {
    gw = await opsApp();
    const doc = await (await gw.request('/openapi.json')).json();
    const update = doc.paths['/v1/package/versions/update_status'].post;
    expect(update.operationId).toBe('UpdatePackageVersionsStatus');
    expect(update.parameters.map((p: { name: string; in: string; required?: boolean }) => `${p.in}:${p.name}:${p.required === true}`).sort()).toEqual(
      ['query:domain:true', 'query:domain-owner:false', 'query:format:true', 'query:namespace:false', 'query:package:true', 'query:repository:true'].sort(),
    );
    const body = doc.components.schemas.UpdatePackageVersionsStatusRequest;
    expect(body.additionalProperties).toBe(false);
    expect(body.required.sort()).toEqual(['targetStatus', 'versions']);
    expect(body.properties.targetStatus.enum).toEqual(['Published', 'Unlisted', 'Archived']);
    expect(body.properties.versions).toMatchObject({ type: 'array', minItems: 1, maxItems: 100 });
    // The audit page size bounds are the validator's.
    const limit = doc.paths['/v1/audit'].get.parameters.find((p: { name: string }) => p.name === 'limit');
    expect(limit.schema).toMatchObject({ minimum: 1, maximum: 500, default: 50 });
  });

  it('marks the operations endpoints as needing no token and everything else as bearer', async () => {
    gw = await opsApp();
    const doc = await (await gw.request('/openapi.json')).json();
    expect(doc.security).toEqual([{ bearerAuth: [] }]);
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
    for (const path of ['/healthz', '/readyz', '/metrics', '/openapi.json', '/docs']) expect(doc.paths[path].get.security).toEqual([]);
    expect(doc.paths['/v1/package/versions/dispose'].post.security).toBeUndefined();
  });
});

describe('GET /docs', () => {
  let gw: OpsApp;
  afterEach(() => gw.close());

  it('serves a self-contained HTML page that loads /openapi.json, with a strict CSP', async () => {
    gw = await opsApp();
    const res = await gw.request('/docs');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain("fetch('openapi.json'");
    // Nothing from elsewhere: no external script, style, font or image.
    expect(html).not.toMatch(/<script[^>]+src=|<link|https?:\/\//);
    expect(html).not.toContain('innerHTML');

    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("connect-src 'self'");
    const script = /<script>([\s\S]*)<\/script>/.exec(html)![1]!;
    const style = /<style>([\s\S]*)<\/style>/.exec(html)![1]!;
    const hash = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;
    expect(csp).toContain(`script-src ${hash(script)}`);
    expect(csp).toContain(`style-src ${hash(style)}`);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('renders every operation, its parameters, body and responses (in a minimal DOM, no browser here)', async () => {
    gw = await opsApp();
    const html = await (await gw.request('/docs')).text();
    const script = /<script>([\s\S]*)<\/script>/.exec(html)![1]!;
    const doc = await (await gw.request('/openapi.json')).json();

    /** Just enough of the DOM for the page: elements with text, class, id, href and children. */
    interface Node { tag: string; textContent: string; className: string; id: string; href: string; children: Node[]; append(...n: Node[]): void }
    const element = (tag: string): Node => {
      const node: Node = { tag, textContent: '', className: '', id: '', href: '', children: [], append: (...n) => node.children.push(...n) };
      return node;
    };
    const byId = new Map(['title', 'description', 'toc', 'operations'].map((id) => [id, element('div')]));
    const fakeDocument = { getElementById: (id: string) => byId.get(id), createElement: element, createDocumentFragment: () => element('#fragment') };
    const fakeFetch = async (url: string) => {
      expect(url).toBe('openapi.json');
      return { ok: true, status: 200, json: async () => doc };
    };
    // The page's script is one async IIFE; run it with the fakes in place of the globals it uses.
    const run = new Function('document', 'fetch', `return ${script.trim().replace(/;$/, '')};`) as (d: unknown, f: unknown) => Promise<void>;
    await run(fakeDocument, fakeFetch);

    const text = (n: Node): string => n.textContent + n.children.map(text).join(' ');
    expect(byId.get('title')!.textContent).toMatch(/^versiongate \S+ \(OpenAPI 3\.1\.0\)$/);
    const sections = byId.get('operations')!.children;
    expect(byId.get('toc')!.children).toHaveLength(sections.length);
    expect(sections.length).toBeGreaterThanOrEqual(EVERY_OPERATION.length);
    const update = sections.find((n) => text(n).includes('/v1/package/versions/update_status'))!;
    expect(text(update)).toContain('UpdatePackageVersionsStatus');
    expect(text(update)).toContain('Needs a bearer token.');
    expect(text(update)).toContain('domain-owner');
    expect(text(update)).toContain('"targetStatus"'); // the body schema, $refs expanded
    expect(text(update)).toContain('409 ConflictException');
    const ready = sections.find((n) => text(n).includes('/readyz'))!;
    expect(text(ready)).toContain('No token needed.');
  });
});
