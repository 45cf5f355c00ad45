/**
 * GET /openapi.json: the OpenAPI 3.1 document generated from the same zod schemas that validate the
 * requests, and GET /docs: a small self-contained page that renders it. No CDN and no framework:
 * the page is one HTML file with an inline script and style, pinned by hash in its
 * Content-Security-Policy, and it writes everything through textContent (nothing from the document
 * is ever parsed as HTML).
 */
import { createHash } from 'node:crypto';
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { packageVersion } from '../package-root.ts';
import type { AppEnv } from './app-env.ts';

const VERSION = packageVersion();

const documentRoute = createRoute({
  method: 'get',
  path: '/openapi.json',
  operationId: 'OpenApiDocument',
  summary: 'This OpenAPI 3.1 document.',
  tags: ['operations'],
  security: [],
  responses: { 200: { description: 'The document', content: { 'application/json': { schema: z.record(z.string(), z.unknown()) } } } },
});

const docsRoute = createRoute({
  method: 'get',
  path: '/docs',
  operationId: 'ApiDocs',
  summary: 'A page that renders /openapi.json.',
  tags: ['operations'],
  security: [],
  responses: { 200: { description: 'HTML', content: { 'text/html': { schema: z.string() } } } },
});

/**
 * Registers /openapi.json and /docs. Call it after every other route is mounted: the document
 * describes the routes mounted before it. It is generated on its first request and kept: generating
 * it walks every route's zod schemas, which took a third of the server's start when done here
 * (test/ops/openapi.test.ts generates it, so a schema that cannot be described fails the tests).
 */
export function docsApi(app: OpenAPIHono<AppEnv>): void {
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: 'A JWT from the identity provider (or `versiongate token` in development mode).',
  });
  let document: ReturnType<typeof generate> | undefined;
  app.openapi(documentRoute, (c) => c.json((document ??= generate()), 200));
  app.openapi(docsRoute, (c) => {
    c.header('content-security-policy', DOCS_CSP);
    c.header('x-content-type-options', 'nosniff');
    c.header('referrer-policy', 'no-referrer');
    return c.html(DOCS_HTML, 200);
  });
  const generate = () =>
    app.getOpenAPI31Document({
      openapi: '3.1.0',
      info: {
        title: 'versiongate',
        version: VERSION,
        description:
          "A policy-and-authorization gateway in front of a package registry's version-lifecycle API. The version operations speak CodeArtifact's REST-JSON protocol; errors use its envelope (x-amzn-ErrorType header, JSON body with message).",
      },
      // Every operation needs a bearer token unless it says otherwise (the operations endpoints do).
      security: [{ bearerAuth: [] }],
      tags: [
        { name: 'versions', description: 'CodeArtifact version-status operations' },
        { name: 'audit', description: 'The audit log' },
        { name: 'operations', description: 'Health, readiness, metrics and these docs (no token)' },
      ],
    });
}

const DOCS_SCRIPT = `
(async function () {
  'use strict';
  var root = document.getElementById('operations');
  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  var doc;
  try {
    var res = await fetch('openapi.json', { headers: { accept: 'application/json' } });
    if (!res.ok) throw new Error('HTTP ' + res.status);
    doc = await res.json();
  } catch (err) {
    root.append(el('p', 'Could not load openapi.json: ' + err.message, 'error'));
    return;
  }
  document.getElementById('title').textContent = doc.info.title + ' ' + doc.info.version + ' (OpenAPI ' + doc.openapi + ')';
  document.getElementById('description').textContent = doc.info.description || '';
  var schemas = (doc.components && doc.components.schemas) || {};
  function expand(schema, depth, seen) {
    if (!schema || typeof schema !== 'object') return schema;
    if (typeof schema.$ref === 'string') {
      var name = schema.$ref.replace('#/components/schemas/', '');
      if (seen.indexOf(name) >= 0 || depth > 8) return { $ref: schema.$ref };
      return expand(schemas[name], depth + 1, seen.concat([name]));
    }
    if (Array.isArray(schema)) return schema.map(function (s) { return expand(s, depth + 1, seen); });
    var out = {};
    Object.keys(schema).forEach(function (k) { out[k] = expand(schema[k], depth + 1, seen); });
    return out;
  }
  function typeOf(schema) {
    var s = expand(schema, 0, []) || {};
    if (s.enum) return s.enum.join(' | ');
    if (s.type === 'array' && s.items) return typeOf(s.items) + '[]';
    return Array.isArray(s.type) ? s.type.join(' | ') : s.type || 'any';
  }
  function contentBlock(content) {
    var frag = document.createDocumentFragment();
    Object.keys(content || {}).forEach(function (type) {
      frag.append(el('div', type, 'media'));
      frag.append(el('pre', JSON.stringify(expand(content[type].schema, 0, []), null, 2)));
    });
    return frag;
  }
  var toc = document.getElementById('toc');
  var methods = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];
  Object.keys(doc.paths || {}).sort().forEach(function (path) {
    methods.forEach(function (method) {
      var op = doc.paths[path][method];
      if (!op) return;
      var id = op.operationId || method + path;
      var link = el('a', method.toUpperCase() + ' ' + path);
      link.href = '#' + encodeURIComponent(id);
      var li = el('li');
      li.append(link);
      toc.append(li);

      var section = el('section', null, 'operation');
      section.id = encodeURIComponent(id);
      var h = el('h2');
      h.append(el('span', method.toUpperCase(), 'method ' + method), el('code', path));
      section.append(h, el('p', (op.summary || '') + (op.operationId ? ' (' + op.operationId + ')' : '')));
      var security = op.security || doc.security || [];
      section.append(el('p', security.length ? 'Needs a bearer token.' : 'No token needed.', 'auth'));

      if (op.parameters && op.parameters.length) {
        section.append(el('h3', 'Parameters'));
        var table = el('table');
        var head = el('tr');
        ['name', 'in', 'required', 'type', 'description'].forEach(function (t) { head.append(el('th', t)); });
        table.append(head);
        op.parameters.forEach(function (p) {
          var row = el('tr');
          row.append(el('td', p.name), el('td', p.in), el('td', p.required ? 'yes' : 'no'), el('td', typeOf(p.schema)), el('td', p.description || (p.schema && p.schema.description) || ''));
          table.append(row);
        });
        section.append(table);
      }
      if (op.requestBody) {
        section.append(el('h3', 'Request body' + (op.requestBody.required ? ' (required)' : '')));
        section.append(contentBlock(op.requestBody.content));
      }
      section.append(el('h3', 'Responses'));
      Object.keys(op.responses || {}).forEach(function (status) {
        var r = op.responses[status];
        section.append(el('h4', status + ' ' + (r.description || '')));
        section.append(contentBlock(r.content));
      });
      root.append(section);
    });
  });
})();
`;

const DOCS_STYLE = `
body { font: 15px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 60rem; padding: 1rem 1.5rem; color: #1b1f24; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.15rem; margin: 0 0 .3rem; } h3 { font-size: 1rem; margin: .8rem 0 .3rem; } h4 { font-size: .9rem; margin: .5rem 0 .2rem; }
.operation { border: 1px solid #d0d7de; border-radius: 6px; padding: .8rem 1rem; margin: 1rem 0; }
.method { display: inline-block; min-width: 4rem; font-weight: 700; margin-right: .5rem; text-transform: uppercase; }
.get { color: #0969da; } .post { color: #1a7f37; } .delete { color: #cf222e; } .put, .patch { color: #9a6700; }
table { border-collapse: collapse; width: 100%; } th, td { border: 1px solid #d0d7de; padding: .2rem .4rem; text-align: left; vertical-align: top; }
pre { background: #f6f8fa; padding: .5rem; overflow-x: auto; font-size: .8rem; } .media { font-family: monospace; color: #57606a; }
.auth { color: #57606a; font-size: .85rem; } .error { color: #cf222e; }
`;

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

const DOCS_CSP = [
  "default-src 'none'",
  `script-src ${sha256(DOCS_SCRIPT)}`,
  `style-src ${sha256(DOCS_STYLE)}`,
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const DOCS_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>versiongate API</title>
<style>${DOCS_STYLE}</style>
</head>
<body>
<h1 id="title">versiongate API</h1>
<p id="description"></p>
<p>The machine-readable document is <a href="openapi.json">openapi.json</a>.</p>
<ul id="toc"></ul>
<main id="operations"></main>
<script>${DOCS_SCRIPT}</script>
</body>
</html>
`;
