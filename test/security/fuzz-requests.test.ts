/**
 * Fuzzed requests: fast-check drives the real app (in-process, createApp on a real SQLite file and
 * again on a real PostgreSQL database, real Cedar, real ES256 tokens) with generated requests across every route: methods, paths (real routes
 * and near misses), query strings (repeated, missing, overlong, percent-encoded, unicode), headers,
 * content types and bodies (the real shapes with wrong types, deep nesting, huge numbers, __proto__
 * and constructor keys), with valid, expired, forged and no tokens.
 *
 * Bodies also carry what only JSON can: lone UTF-16 surrogates, and self-checks at POST /v1/authorize
 * (the one JSON endpoint any authenticated client may call about itself) with hostile contexts.
 *
 * Invariants, checked on every request: never a 5xx; an error always in an envelope (CodeArtifact's
 * x-amzn-ErrorType + JSON message, or Cloudsmith's JSON detail for the resync routes); and the
 * gateway still decides: a genuine request the live set allows is allowed right after it (one input
 * that made Cedar throw once marked the engine broken and denied every later request). Afterwards:
 * every revision in the database that the seed did not hold was written by a change that has its
 * audit record, every seeded revision gone is accounted for by one, the chain verifies, and the heap
 * did not grow without bound.
 *
 * `npm test` runs FUZZ_RUNS_TEST requests; `npm run test:deep` (VERSIONGATE_DEEP=1) runs 10,000.
 * A failure prints fast-check's seed and shrunk request; replay with VERSIONGATE_FUZZ_SEED=<seed>.
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import fc from 'fast-check';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyChain } from '../../src/audit/verify-chain.ts';
import { mintDevToken } from '../../src/auth/dev-key.ts';
import { DEV_AUDIENCE, DEV_ISSUER } from '../../src/config.ts';
import { testGateway, type TestGateway } from '../helpers/gateway.ts';

const DEEP = process.env.VERSIONGATE_DEEP === '1';
const FUZZ_RUNS_TEST = 1_000;
const RUNS = DEEP ? 10_000 : FUZZ_RUNS_TEST;
const SEED = process.env.VERSIONGATE_FUZZ_SEED ? Number(process.env.VERSIONGATE_FUZZ_SEED) : undefined;

const ROUTES = [
  '/v1/audit', '/v1/audit/head', '/v1/authorize', '/v1/authorize/batch', '/v1/bulk-action/my_domain/', '/v1/domain', '/v1/domain/repositories', '/v1/domains',
  '/v1/package', '/v1/package/version', '/v1/package/version/asset', '/v1/package/version/assets', '/v1/package/version/dependencies',
  '/v1/package/version/publish', '/v1/package/version/readme', '/v1/package/versions', '/v1/package/versions/copy', '/v1/package/versions/delete',
  '/v1/package/versions/dispose', '/v1/package/versions/resync', '/v1/package/versions/update_status', '/v1/packages',
  '/v1/packages/my_domain/my_repo/abc123/resync/', '/v1/packages/my_domain/my_repo/abc123/status/', '/v1/policies', '/v1/repositories', '/v1/repository',
  '/healthz', '/readyz', '/openapi.json', '/docs', '/metrics',
];
const QUERY_KEYS = ['domain', 'domain-owner', 'repository', 'format', 'namespace', 'package', 'version', 'asset', 'max-results', 'next-token', 'status', 'limit', 'action', 'destination-repository', 'source-repository', 'description', 'expectedStatus'];
const GOOD_VALUES: Record<string, string[]> = {
  domain: ['my_domain'], 'domain-owner': ['111122223333'], repository: ['my_repo', 'prod', 'staging'], format: ['npm', 'generic', 'maven', 'pypi'],
  namespace: ['', 'nestjs', 'org.apache.logging.log4j'], package: ['chalk', 'core', 'log4j'], version: ['4.0.0', '4.1.0', '4.1.1', '9.9.9'],
  'max-results': ['1', '50', '1000'], status: ['Published', 'Archived'],
};
const OWN_TOKEN = '$own-token';
const CHALK = { domain: 'my_domain', domainOwner: '111122223333', repository: 'my_repo', format: 'npm', package: 'chalk' };
const STATUSES = ['Published', 'Unlisted', 'Archived', 'Disposed', 'Unfinished', 'Deleted', 'published', ''];

/** Strings an attacker would try in any slot. */
const hostileString = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.constantFrom('', ' ', '%', '%00', '%zz', '..', '../../etc/passwd', "' OR 1=1 --", '\u0000', '\u202e', '😀', 'a'.repeat(5000), '-1', '1e309', 'NaN', 'null', '__proto__', 'constructor'),
);

const queryValue = (key: string) => fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...(GOOD_VALUES[key] ?? ['x'])) }, { weight: 1, arbitrary: hostileString });

const query = fc
  .array(fc.constantFrom(...QUERY_KEYS).chain((k) => fc.tuple(fc.constant(k), queryValue(k), fc.boolean())), { maxLength: 10 })
  .map((pairs) => pairs.map(([k, v, raw]) => `${encodeURIComponent(k)}=${raw ? v.replace(/[&#\s]/g, '') : encodeURIComponent(v)}`).join('&'));

const path = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...ROUTES) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...ROUTES), fc.constantFrom('/', '//', '/..', '%2F', '/%00', '.json', 'x')).map(([r, s]) => r + s) },
  { weight: 1, arbitrary: fc.array(fc.webSegment(), { maxLength: 5 }).map((s) => `/v1/${s.join('/')}`) },
);

const deep = (depth: number): unknown => (depth === 0 ? 'bottom' : { a: [deep(depth - 1)] });
/** Valid JavaScript, valid JSON once stringified, and unreadable by Cedar's (Rust's) JSON reader. */
const LONE_SURROGATES = ['\ud800', 'eve\udfff', '4.1.0\ud800', '\udc00\ud800'];
const weird = fc.oneof(
  fc.constantFrom<unknown>(...LONE_SURROGATES, { [LONE_SURROGATES[0]!]: 1 }, [LONE_SURROGATES[1]]),
  fc.constantFrom<unknown>(1e308, -1e308, 2 ** 53 + 1, -0, 0.1, 1e-320, Number.MAX_SAFE_INTEGER, true, null, [], {}, '', 'x'.repeat(10_000)),
  fc.jsonValue({ maxDepth: 3 }),
  fc.integer({ min: 1, max: 2000 }).map((d) => deep(d)),
  fc.constantFrom<unknown>(JSON.parse('{"__proto__": {"admin": true, "groups": ["registry-admins"]}}'), { constructor: { prototype: { admin: true } } }),
);
const versionsField = fc.oneof(
  fc.array(fc.constantFrom('4.0.0', '4.1.0', '4.1.1', '8.0.0', '2.13.1', '9.9.9'), { maxLength: 4 }),
  weird,
);
/** A question about one's own access, as POST /v1/authorize/batch takes a list of them. */
const question = fc.record(
  {
    action: fc.oneof(fc.constantFrom('UpdatePackageVersionsStatus', 'DisposePackageVersions', 'ReadAuditLog'), weird),
    package: fc.oneof(fc.constant<unknown>(CHALK), weird),
    resource: fc.oneof(fc.constantFrom<unknown>('AuditLog::"versiongate"', 'PolicySet::"live"'), weird),
    context: fc.oneof(fc.record({ versions: versionsField, currentStatuses: fc.oneof(fc.constant(['Published']), weird) }, { requiredKeys: [] }), weird),
    principal: fc.oneof(fc.constant<unknown>({ token: OWN_TOKEN }), weird),
  },
  { requiredKeys: [] },
);
const body = fc.oneof(
  fc.record(
    {
      questions: fc.oneof(fc.array(question, { maxLength: 5 }), weird),
      versions: versionsField,
      targetStatus: fc.oneof(fc.constantFrom(...STATUSES), weird),
      expectedStatus: fc.oneof(fc.constantFrom(...STATUSES), weird),
      versionRevisions: fc.oneof(fc.dictionary(fc.constantFrom('4.0.0', '4.1.0', '__proto__', 'constructor'), fc.oneof(fc.string(), weird)), weird),
      assetName: fc.oneof(fc.string(), weird),
      description: fc.oneof(fc.string(), weird),
      policies: weird,
      // The request's own token, spliced in at send time: a self-check anyone may make.
      principal: fc.oneof(fc.constant<unknown>({ token: OWN_TOKEN }), weird),
      action: fc.oneof(fc.constantFrom('UpdatePackageVersionsStatus', 'DisposePackageVersions', 'ListPackageVersions', 'ReadPolicies'), weird),
      package: fc.oneof(fc.constant<unknown>(CHALK), weird),
      context: fc.oneof(
        fc.record({ versions: versionsField, currentStatuses: fc.oneof(fc.constant(['Published']), weird), targetStatus: fc.oneof(fc.constantFrom(...STATUSES), weird), x: weird }, { requiredKeys: [] }),
        weird,
      ),
      resource: weird,
      __proto__: weird,
    },
    { requiredKeys: [] },
  ).map((o) => JSON.stringify(o)),
  weird.map((w) => JSON.stringify(w) ?? 'undefined'),
  fc.constantFrom('', '{', '{"versions": [', 'not json', '\u0000\u0001', '{"a":1,"a":2}', '[]'.repeat(5000), '{"versions":["4.1.0"],"targetStatus":"Archived"}'),
);

const CONTENT_TYPES = [undefined, 'application/json', 'application/json; charset=utf-8', 'application/x-amz-json-1.1', 'text/plain', 'multipart/form-data; boundary=x', 'application/octet-stream', 'application/json; charset=latin1', ''];

type TokenKind = 'admin' | 'user' | 'security' | 'expired' | 'forged' | 'garbage' | 'none';
/** Every (method, path) the app documents, read from its /openapi.json in beforeAll. */
const operations: Array<[string, string]> = [];
const GOOD_QUERY = 'domain=my_domain&domain-owner=111122223333&repository=my_repo&format=npm&package=chalk';
/** A documented operation with a full, valid query, then a few keys appended (repeats and hostile values). */
const nearValid = fc
  .tuple(fc.integer({ min: 0, max: 10_000 }), fc.constantFrom('', 'version=4.1.0', 'version=4.1.0&version=4.1.1', 'format=generic', 'namespace=%E2%80%AE'), query)
  .map(([i, extra, q]) => {
    const [method, p] = operations[i % operations.length]!;
    return { method, path: p, query: [GOOD_QUERY, extra, q].filter(Boolean).join('&') };
  });
const target = fc.oneof(
  { weight: 1, arbitrary: fc.record({ method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'), path, query }) },
  { weight: 2, arbitrary: nearValid },
);
const anyRequest = fc.record({
  target,
  token: fc.constantFrom<TokenKind>('admin', 'admin', 'user', 'security', 'expired', 'forged', 'garbage', 'none'),
  contentType: fc.constantFrom(...CONTENT_TYPES),
  body: fc.option(body, { nil: undefined }),
  extraHeader: fc.option(fc.tuple(fc.constantFrom('x-request-id', 'x-forwarded-for', 'accept', 'x-amz-target', 'content-encoding', 'expect'), hostileString.filter((v) => /^[\x20-\x7e]*$/.test(v))), { nil: undefined }),
});

/** A self-check (POST /v1/authorize about one's own token), well formed but for a hostile context. */
const selfCheck = fc
  .record({
    token: fc.constantFrom<TokenKind>('admin', 'user', 'security'),
    action: fc.constantFrom('UpdatePackageVersionsStatus', 'DisposePackageVersions', 'ListPackageVersions'),
    context: fc.record({ versions: versionsField, currentStatuses: fc.oneof(fc.constant(['Published']), weird), targetStatus: fc.oneof(fc.constantFrom(...STATUSES), weird), x: weird }, { requiredKeys: [] }),
  })
  .map(({ token, action, context }) => ({
    target: { method: 'POST', path: '/v1/authorize', query: '' },
    token,
    contentType: 'application/json' as string | undefined,
    body: JSON.stringify({ principal: { token: OWN_TOKEN }, action, package: CHALK, context }) as string | undefined,
    extraHeader: undefined as [string, string] | undefined,
  }));
const request = fc.oneof({ weight: 9, arbitrary: anyRequest }, { weight: 1, arbitrary: selfCheck });

describe.each(['sqlite', 'postgres'] as const)('fuzzed requests against the app on %s', (engine) => {
  let gw: TestGateway;
  const statuses = new Map<number, number>();
  let tokens: Record<TokenKind, string | undefined>;
  let seededRevisions: Set<string>;
  /** Every revision the database holds, read past the store (its ports never list them all). */
  const revisionsNow = async (): Promise<Set<string>> => {
    if (engine === 'postgres') {
      const { rows } = await (gw.store as unknown as { pool: pg.Pool }).pool.query<{ revision: string }>('SELECT revision FROM package_versions');
      return new Set(rows.map((r) => r.revision));
    }
    const db = new Database(join(gw.dataDir, 'data', 'versiongate.db'), { readonly: true });
    try {
      return new Set((db.prepare('SELECT revision FROM package_versions').all() as Array<{ revision: string }>).map((r) => r.revision));
    } finally {
      db.close();
    }
  };

  beforeAll(async () => {
    gw = await testGateway({ engine });
    const expiredClock = { now: () => new Date(Date.now() - 7200_000) };
    tokens = {
      admin: await gw.token('fuzz-admin', ['release-managers', 'registry-admins', 'security']),
      user: await gw.token('fuzz-user', ['developers']),
      security: await gw.token('fuzz-sec', ['security']),
      expired: await mintDevToken({ key: gw.devKey, issuer: DEV_ISSUER, audience: DEV_AUDIENCE, subject: 'old', groups: ['release-managers'], groupsClaim: 'groups', ttlSeconds: 60, clock: expiredClock }),
      forged: `${(await gw.token('x', ['release-managers'])).split('.').slice(0, 2).join('.')}.${'A'.repeat(86)}`,
      garbage: 'a.b.c',
      none: undefined,
    };
    seededRevisions = await revisionsNow();
    const doc = (await (await gw.app.request('/openapi.json')).json()) as { paths: Record<string, Record<string, unknown>> };
    for (const [p, methods] of Object.entries(doc.paths)) {
      for (const m of Object.keys(methods)) operations.push([m.toUpperCase(), p.replace(/\{owner\}/g, 'my_domain').replace(/\{repo\}/g, 'my_repo').replace(/\{[^}]+\}/g, 'abc123')]);
    }
    expect(operations.length).toBeGreaterThan(20);
  });
  afterAll(() => gw?.close());

  it(`answers ${RUNS} generated requests without a 5xx, every error in its envelope`, async () => {
    const heapBefore = process.memoryUsage().heapUsed;
    let tried = 0;
    let stoppedDecidingAfter: string | undefined;
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        tried++;
        const headers: Record<string, string> = {};
        const token = tokens[r.token];
        if (token) headers.authorization = `Bearer ${token}`;
        if (r.contentType !== undefined) headers['content-type'] = r.contentType;
        if (r.extraHeader) headers[r.extraHeader[0]] = r.extraHeader[1];
        const { method, path: p, query: q } = r.target;
        const hasBody = r.body !== undefined && !['GET', 'HEAD'].includes(method);
        const sent = hasBody ? r.body!.replaceAll(JSON.stringify(OWN_TOKEN), JSON.stringify(token ?? '')) : undefined;
        const res = await gw.app.request(`${p}${q ? `?${q}` : ''}`, { method, headers, ...(sent !== undefined ? { body: sent } : {}) });
        const text = await res.text();
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        if (res.status >= 500) throw new Error(`${res.status}: ${text.slice(0, 500)}`);
        if (res.status >= 400 && method !== 'HEAD') {
          let parsed: unknown;
          try {
            parsed = JSON.parse(text);
          } catch {
            throw new Error(`a ${res.status} whose body is not JSON: ${text.slice(0, 200)}`);
          }
          const p = parsed as { message?: unknown; detail?: unknown };
          const codeArtifact = res.headers.get('x-amzn-errortype') !== null && typeof p.message === 'string';
          const cloudsmith = typeof p.detail === 'string';
          if (!codeArtifact && !cloudsmith) throw new Error(`a ${res.status} outside the envelope: ${text.slice(0, 200)}`);
        }
        // The gateway still decides: the security team may read the live set, whatever came before.
        const canary = await gw.app.request('/v1/policies', { headers: { authorization: `Bearer ${tokens.security}` } });
        if (canary.status !== 200) {
          // The gateway's state outlives the request, so fast-check shrinks on a broken gateway: the
          // request that broke it is the first one this saw, not the shrunk counterexample.
          stoppedDecidingAfter ??= JSON.stringify(r);
          throw new Error(`an allowed request got ${canary.status} (${(await canary.text()).slice(0, 200)}); the gateway stopped deciding after ${stoppedDecidingAfter}`);
        }
        await canary.arrayBuffer();
      }),
      { numRuns: RUNS, ...(SEED !== undefined ? { seed: SEED } : {}), verbose: 1, endOnFailure: false },
    );
    expect(tried).toBeGreaterThanOrEqual(RUNS);
    console.log(`fuzz: ${tried} requests; statuses ${JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])))}`);
    // Not vacuous: some requests got through to their operation.
    expect([...statuses.keys()].some((s) => s >= 200 && s < 300)).toBe(true);
    // Bounded: tens of MB of churn is normal; a leak per request would be hundreds over 10,000.
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(256 * 1024 * 1024);
  }, DEEP ? 1_800_000 : 300_000);

  it('made no change without its audit record, and the chain verifies', async () => {
    await gw.rejections.flush();
    const records = await gw.store.listAudit({ limit: 10_000_000 });
    const written = new Set<string>();
    const replaced = new Set<string>();
    for (const r of records) {
      if (r.outcome !== 'applied') continue;
      for (const c of r.changes as Array<{ before?: { revision?: string } | null; after?: { revision?: string } | null }>) {
        if (c.after?.revision) written.add(c.after.revision);
        if (c.before?.revision) replaced.add(c.before.revision);
      }
    }
    // Not vacuous: the generated requests did change versions.
    expect(written.size).toBeGreaterThan(0);
    const now = await revisionsNow();
    const unrecorded = [...now].filter((rev) => !seededRevisions.has(rev) && !written.has(rev));
    expect(unrecorded).toEqual([]);
    const vanished = [...seededRevisions].filter((rev) => !now.has(rev) && !replaced.has(rev));
    expect(vanished).toEqual([]);
    const verified = await verifyChain(gw.store);
    expect(verified.ok, JSON.stringify(verified)).toBe(true);
  }, 120_000);
});
