/**
 * The console over app.request(): the session cookie, the CSRF token, the Content-Security-Policy,
 * and that its data comes through the gateway's own authorization and audit. (The browser tests in
 * test/browser drive the same pages in Chromium.)
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CONTENT_SECURITY_POLICY } from '../../src/console/console-app.tsx';
import { VERSIONS_PER_PAGE } from '../../src/console/pages/versions.tsx';
import { SESSION_COOKIE, SESSION_COOKIE_GRACE_SECONDS } from '../../src/console/session.ts';
import { fixedClock } from '../../src/clock.ts';
import { mintDevToken } from '../../src/auth/dev-key.ts';
import { DEV_AUDIENCE, DEV_ISSUER } from '../../src/config.ts';
import { auditInput } from '../helpers/audit-input.ts';
import { csrfOf, signedIn as signInAs } from './console-session.ts';
import { testGateway, type TestGateway } from '../helpers/gateway.ts';

let gw: TestGateway;
afterEach(async () => {
  await gw?.close();
});

/** A gateway whose store calls `beforePage` before each page of the audit log it reads (which may throw). */
function gatewayWatchingAuditPages(beforePage: () => void): Promise<TestGateway> {
  return testGateway({
    wrapStore: (store) =>
      new Proxy(store, {
        get: (target, key, receiver) => {
          if (key !== 'listAudit') return Reflect.get(target, key, receiver);
          return async (...args: Parameters<typeof store.listAudit>) => {
            beforePage();
            return target.listAudit(...args);
          };
        },
      }),
  });
}

const form = (fields: Record<string, string>) => ({ 'content-type': 'application/x-www-form-urlencoded', body: new URLSearchParams(fields).toString() });

const signedIn = (sub: string, groups: string[]) => signInAs(gw, sub, groups);

describe('the console', () => {
  it('sets an HttpOnly, SameSite=Strict session cookie that outlives the token by an hour (so its expiry is explained), and a strict CSP', async () => {
    gw = await testGateway();
    const { setCookie, cookie } = await signedIn('alice', ['release-managers']);
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Strict/);
    expect(setCookie).toMatch(/Path=\/console/);
    const maxAge = Number(/Max-Age=(\d+)/.exec(setCookie)![1]);
    expect(maxAge).toBeGreaterThan(3500 + SESSION_COOKIE_GRACE_SECONDS);
    expect(maxAge).toBeLessThanOrEqual(3600 + SESSION_COOKIE_GRACE_SECONDS);
    // Not on loopback: Secure.
    const res = await gw.app.request('http://console.example.com/console/sign-in');
    expect(res.headers.get('set-cookie')).toMatch(/Secure/);
    const page = await gw.app.request('/console/overview', { headers: { cookie } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
    expect(CONTENT_SECURITY_POLICY).toContain("script-src 'self'");
    expect(CONTENT_SECURITY_POLICY).not.toContain('unsafe');
    const html = await page.text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/\son[a-z]+=/);
  });

  it('refuses a sign-in form without its CSRF nonce', async () => {
    gw = await testGateway();
    const res = await gw.app.request('/console/sign-in', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token: await gw.token('alice') }).toString() });
    expect(res.status).toBe(403);
    expect(res.headers.get('set-cookie')).toBeNull();
  });

  it('answers a form it cannot read (a malformed multipart body) 400, signed in or not, never a failed page', async () => {
    gw = await testGateway();
    const garbage = { method: 'POST', body: 'not a multipart body' };
    const signIn = await gw.app.request('/console/sign-in', { ...garbage, headers: { 'content-type': 'multipart/form-data; boundary=zzz' } });
    expect(signIn.status).toBe(400);
    expect(await signIn.text()).toContain('The form could not be read');
    // No session was started: the page sets only its own sign-in nonce.
    expect(signIn.headers.get('set-cookie') ?? '').not.toMatch(new RegExp(`\\b${SESSION_COOKIE}=`));
    expect(signIn.headers.get('set-cookie') ?? '').toMatch(/vg_console_login=/);

    const { cookie } = await signedIn('alice', ['release-managers']);
    const apply = await gw.app.request('/console/versions/apply', { ...garbage, headers: { cookie, 'content-type': 'multipart/form-data; boundary=zzz' } });
    expect(apply.status).toBe(400);
    expect(await apply.text()).toContain('The form could not be read');
    expect(await gw.store.listAudit({ filter: { action: 'UpdatePackageVersionsStatus' }, limit: 10 })).toEqual([]);
  });

  it("answers a package name it cannot decode (a stray '%') 400 on every page that takes one, never a failed page", async () => {
    gw = await testGateway();
    const { cookie } = await signedIn('alice', ['release-managers']);
    const where = { domain: 'my_domain', 'domain-owner': '111122223333', repository: 'my_repo' };
    const confirm = await gw.app.request(`/console/versions/confirm?${new URLSearchParams({ ...where, pkg: 'npm//%', action: 'Archive', versions: '4.1.0' })}`, { headers: { cookie } });
    expect(confirm.status).toBe(400);
    expect(await confirm.text()).toContain('Pick a package and an action first.');
    const sync = await gw.app.request(`/console/versions/sync?${new URLSearchParams({ ...where, pkg: 'npm/%E0/chalk', id: 'x' })}`, { headers: { cookie } });
    expect(sync.status).toBe(400);
    // The versions page shows its pickers, to pick a package again.
    const versions = await gw.app.request(`/console/versions?${new URLSearchParams({ ...where, pkg: 'npm/%E0/chalk' })}`, { headers: { cookie } });
    expect(versions.status).toBe(200);
    expect(await versions.text()).toContain('<legend>Package</legend>');
    const good = await gw.app.request(`/console/versions/confirm?${new URLSearchParams({ ...where, pkg: 'npm//chalk', action: 'Archive', versions: '4.1.0' })}`, { headers: { cookie } });
    const csrf = csrfOf(await good.text())!;
    const apply = await gw.app.request('/console/versions/apply', { method: 'POST', headers: { cookie, ...form({}) }, body: new URLSearchParams({ ...where, pkg: 'npm//%zz', action: 'Archive', versions: '4.1.0', csrf }).toString() });
    expect(apply.status).toBe(400);
    expect(await apply.text()).toContain('The form is incomplete.');
    expect(await gw.store.listAudit({ filter: { action: 'UpdatePackageVersionsStatus' }, limit: 10 })).toEqual([]);
  });

  it('exports every page of a filter; a filter the API refuses is an error page, not a download', async () => {
    // 501 records of one action: two pages of the export's 500.
    let listings = 0;
    gw = await gatewayWatchingAuditPages(() => listings++);
    await gw.store.appendAuditBatch(Array.from({ length: 501 }, () => auditInput({ action: 'ReadAuditLog', resource: 'AuditLog::"versiongate"' })));
    const { cookie } = await signedIn('ada', ['auditors']);

    const empty = await gw.app.request('/console/audit/export.ndjson?action=DescribePackageVersion&principal=s', { headers: { cookie } });
    expect(empty.status).toBe(200);
    expect(await empty.text()).toBe('');
    listings = 0;
    const all = await gw.app.request('/console/audit/export.ndjson?principal=s', { headers: { cookie } });
    expect(all.status).toBe(200);
    expect(all.headers.get('content-disposition')).toBe('attachment; filename="audit.ndjson"');
    const lines = (await all.text()).trim().split('\n').map((l) => JSON.parse(l) as { seq: number; principal: { subject: string } });
    expect(lines).toHaveLength(501);
    expect(new Set(lines.map((l) => l.seq)).size).toBe(501);
    expect(lines.every((l) => l.principal.subject === 's')).toBe(true);
    expect(listings).toBe(2);

    const mistyped = await gw.app.request('/console/audit/export.ndjson?since=yesterday', { headers: { cookie } });
    expect(mistyped.status).toBe(400);
    expect(mistyped.headers.get('content-disposition')).toBeNull();
    expect(await mistyped.text()).toContain('The export was refused: 1 validation error(s) detected: since: must be an ISO 8601 time');
  });

  it('breaks an export off when a page after the first fails: the download fails, it does not end as if whole', async () => {
    let listings = 0;
    gw = await gatewayWatchingAuditPages(() => {
      if (++listings === 2) throw new Error('the database went away');
    });
    await gw.store.appendAuditBatch(Array.from({ length: 501 }, () => auditInput({ action: 'ReadAuditLog', resource: 'AuditLog::"versiongate"' })));
    const { cookie } = await signedIn('ada', ['auditors']);
    const res = await gw.app.request('/console/audit/export.ndjson?principal=s', { headers: { cookie } });
    expect(res.status).toBe(200);
    await expect(res.text()).rejects.toThrow();
  });

  it(`pages a package's versions ${VERSIONS_PER_PAGE} at a time, and resyncs a version of a later page by its own identifier`, async () => {
    gw = await testGateway();
    const key = { domainOwner: '111122223333', domain: 'my_domain', repository: 'my_repo', format: 'generic' as const, namespace: 'acme', name: 'many' };
    const count = VERSIONS_PER_PAGE + 5;
    for (let i = 0; i < count; i++) await gw.store.addVersion({ key, version: `1.0.${i}`, status: 'Published', revision: `r${i}`, assets: [] });
    // Their first syncs run to the end: a version whose sync is under way is offered no resync.
    await gw.sync();
    const { cookie } = await signedIn('sam', ['security', 'release-managers']);
    const base = '/console/versions?domain=my_domain&domain-owner=111122223333&repository=my_repo&pkg=generic%2Facme%2Fmany';
    const rowsOf = (html: string) => [...html.matchAll(/<tr data-version="([^"]+)"/g)].map((m) => m[1]!);

    const first = await (await gw.app.request(base, { headers: { cookie } })).text();
    expect(rowsOf(first)).toHaveLength(VERSIONS_PER_PAGE);
    expect(first).toContain(`${VERSIONS_PER_PAGE} version(s) on this page`);
    const next = /<a href="([^"]+)" rel="next">Next 100 versions<\/a>/.exec(first)?.[1];
    expect(next).toBeDefined();
    const second = await (await gw.app.request(next!.replaceAll('&amp;', '&'), { headers: { cookie } })).text();
    const later = rowsOf(second);
    expect(later).toHaveLength(5);
    // Every version once, across the two pages.
    expect(new Set([...rowsOf(first), ...later]).size).toBe(count);
    expect(second).toContain('First page');
    expect(second).not.toContain('rel="next"');

    const version = later[0]!;
    const described = await (await gw.app.request(`/v1/package/version?domain=my_domain&domain-owner=111122223333&repository=my_repo&format=generic&namespace=acme&package=many&version=${version}`, { headers: { authorization: `Bearer ${await gw.token('sam', ['security'])}` } })).json();
    const identifier = (described as { packageVersion: { identifier: string } }).packageVersion.identifier;
    const confirm = await (await gw.app.request(`/console/versions/confirm?domain=my_domain&domain-owner=111122223333&repository=my_repo&pkg=generic%2Facme%2Fmany&action=Resync&versions=${version}`, { headers: { cookie } })).text();
    expect(/<textarea id="identifiers"[^>]*>([^<]*)<\/textarea>/.exec(confirm)?.[1]?.trim()).toBe(identifier);
  });

  it('lists the first 1,000 packages of a repository, says when there are more, and narrows them by a name prefix', async () => {
    gw = await testGateway();
    const key = (name: string) => ({ domainOwner: '111122223333', domain: 'my_domain', repository: 'staging', format: 'generic' as const, namespace: 'acme', name });
    const names = [...Array.from({ length: 1000 }, (_, i) => `tool-${String(i).padStart(4, '0')}`), 'zeta-a', 'zeta-b'];
    for (let i = 0; i < names.length; i += 100) await Promise.all(names.slice(i, i + 100).map((n) => gw.store.addVersion({ key: key(n), version: '1.0.0', status: 'Published', revision: 'r0', assets: [] })));
    const { cookie } = await signedIn('sam', ['security', 'release-managers']);
    const optionsOf = (html: string) => [...html.matchAll(/<option value="generic\/acme\/([^"]+)"/g)].map((m) => m[1]!);

    const all = await (await gw.app.request('/console/versions?domain=my_domain&domain-owner=111122223333&repository=staging', { headers: { cookie } })).text();
    expect(optionsOf(all)).toHaveLength(1000);
    expect(all).toContain('More than 1000 packages: the first 1000 are listed. Narrow them with &quot;Package name starts with&quot;.');
    const narrowed = await (await gw.app.request('/console/versions?domain=my_domain&domain-owner=111122223333&repository=staging&package-prefix=zeta', { headers: { cookie } })).text();
    expect(optionsOf(narrowed)).toEqual(['zeta-a', 'zeta-b']);
    expect(narrowed).not.toContain('More than 1000 packages');
  });

  it("offers every repository of a domain past ListRepositoriesInDomain's default page, and takes a typed one past 1,000", async () => {
    gw = await testGateway();
    await gw.store.createDomain('big_domain', '111122223333');
    const names = Array.from({ length: 1001 }, (_, i) => `repo-${String(i).padStart(4, '0')}`);
    for (let i = 0; i < names.length; i += 100) await Promise.all(names.slice(i, i + 100).map((n) => gw.store.createRepository('111122223333', 'big_domain', n)));
    const { cookie } = await signedIn('sam', ['security', 'release-managers', 'registry-admins']);
    const page = await (await gw.app.request('/console/versions?domain=big_domain&domain-owner=111122223333', { headers: { cookie } })).text();
    // The first 1,000 suggested (not the API's default 50), and the one past them can be typed.
    const suggested = [...page.matchAll(/<option value="(repo-\d+)"/g)].map((m) => m[1]!);
    expect(suggested).toHaveLength(1000);
    expect(page).toContain('More than 1000 repositories: the first 1000 are suggested; type the name of another.');
    expect(page).toMatch(/<input id="repository" name="repository"[^>]*list="repository-names"/);
    const typed = await gw.app.request('/console/versions?domain=big_domain&domain-owner=111122223333&repository=repo-1000', { headers: { cookie } });
    expect(typed.status).toBe(200);
    // The typed repository is the one the page asks about (its packages, here, are the policies' to show or not).
    expect(await typed.text()).toMatch(/<input id="repository" name="repository" value="repo-1000"/);
  });

  it('refuses a changing POST without the session CSRF token, and changes nothing', async () => {
    gw = await testGateway();
    const { cookie } = await signedIn('alice', ['release-managers']);
    const fields = { domain: 'my_domain', 'domain-owner': '111122223333', repository: 'my_repo', pkg: 'npm//chalk', action: 'Archive', versions: '4.1.0' };
    const refused = await gw.app.request('/console/versions/apply', { method: 'POST', headers: { cookie, ...form(fields) }, body: form(fields).body });
    expect(refused.status).toBe(403);
    const before = await gw.store.listAudit({ filter: { action: 'UpdatePackageVersionsStatus' }, limit: 10 });
    expect(before).toEqual([]);
    // With the token from the confirmation page, the same form archives, through the audited API.
    const confirm = await gw.app.request(`/console/versions/confirm?${new URLSearchParams({ ...fields, action: 'Archive' })}`, { headers: { cookie } });
    const csrf = csrfOf(await confirm.text())!;
    const applied = await gw.app.request('/console/versions/apply', { method: 'POST', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ ...fields, csrf }).toString() });
    expect(applied.status).toBe(303);
    expect(await (await gw.app.request(applied.headers.get('location')!, { headers: { cookie } })).text()).toContain('1 version(s) now Archived');
    const records = await gw.store.listAudit({ filter: { action: 'UpdatePackageVersionsStatus' }, limit: 10 });
    expect(records).toHaveLength(1);
    expect(records[0]!.principal?.subject).toBe('alice');
    expect(records[0]!.outcome).toBe('applied');
  });

  it('ends the session when the gateway refuses its token, and says why', async () => {
    gw = await testGateway();
    const expired = await mintDevToken({ key: gw.devKey, issuer: DEV_ISSUER, audience: DEV_AUDIENCE, subject: 'alice', groups: [], groupsClaim: 'groups', ttlSeconds: 60, clock: fixedClock(new Date(Date.now() - 3600_000)) });
    const res = await gw.app.request('/console/versions', { headers: { cookie: `vg_console=${expired}` } });
    expect(res.status).toBe(303);
    // A code in the link, and the sign-in page's own words for it.
    expect(res.headers.get('location')).toBe('/console/sign-in?error=expired');
    expect(res.headers.get('set-cookie')).toMatch(/vg_console=;.*Max-Age=0/);
    expect(await (await gw.app.request(res.headers.get('location')!)).text()).toContain("The gateway refused your session&#39;s token: it has expired.");
    await gw.rejections.flush();
    const refused = await gw.store.listAudit({ filter: { decision: 'unauthenticated' }, limit: 10 });
    expect(refused.length).toBeGreaterThan(0);
  });

  it('shows only what Cedar allows: the playground refuses a release manager, with the API denial audited', async () => {
    gw = await testGateway();
    const { cookie } = await signedIn('alice', ['release-managers']);
    const res = await gw.app.request('/console/playground', { headers: { cookie } });
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('not authorized to perform: ReadPolicies');
    const denied = await gw.store.listAudit({ filter: { action: 'ReadPolicies', decision: 'deny' }, limit: 10 });
    // GET /v1/policies and GET /v1/policies/source, each asked and refused on its own.
    expect(denied).toHaveLength(2);
    for (const d of denied) expect(d.principal?.subject).toBe('alice');
  });
});

describe('the playground and audit endpoints', () => {
  it('POST /v1/policies/check reports Cedar diagnostics at file:line:column and runs tests against the candidate', async () => {
    gw = await testGateway();
    const sam = await gw.token('sam', ['security']);
    const source = (await (await gw.get('/v1/policies/source', sam)).json()) as { schema: string; files: Array<{ file: string; text: string }> };
    // testGateway serves no policy folder: a clear 400, not a 500.
    expect((source as unknown as { message: string }).message).toContain('without a policy folder');
    const schema = (await import('node:fs')).readFileSync(`${gw.policyDir}/schema.cedarschema`, 'utf8');
    const bad = await gw.post('/v1/policies/check', { schema, files: [{ file: 'x.cedar', text: 'permit (principal, action, resource' }] }, sam);
    const badBody = (await bad.json()) as { valid: boolean; diagnostics: Array<{ file: string; line: number; column: number; severity: string }> };
    expect(bad.status).toBe(200);
    expect(badBody.valid).toBe(false);
    expect(badBody.diagnostics[0]).toMatchObject({ file: 'x.cedar', line: 1, severity: 'error' });
    const tests = JSON.stringify([{ name: 'anyone reads audit', claims: { sub: 'x', groups: [] }, action: 'ReadAuditLog', resource: 'AuditLog::"versiongate"', decision: 'allow' }]);
    const good = await gw.post('/v1/policies/check', { schema, files: [{ file: 'x.cedar', text: 'permit (principal, action, resource);' }], tests: [{ file: 'tests/t.json', text: tests }] }, sam);
    expect(await good.json()).toMatchObject({ valid: true, tests: { passed: 1, failed: 0 } });
    const alice = await gw.token('alice', ['release-managers']);
    expect((await gw.post('/v1/policies/check', { schema, files: [] }, alice)).status).toBe(403);
  });

  it('POST /v1/audit/verify walks the chain for those who may read it all', async () => {
    gw = await testGateway();
    const ada = await gw.token('ada', ['auditors']);
    const res = await gw.post('/v1/audit/verify', {}, ada);
    const body = (await res.json()) as { ok: boolean; records: number; head: string };
    expect(res.status).toBe(200);
    expect(body.ok).toBe(true);
    expect(body.head).toMatch(/^\d+:[0-9a-f]{64}$/);
    const wrongHead = await gw.post('/v1/audit/verify', { head: `1:${'0'.repeat(64)}` }, ada);
    expect(await wrongHead.json()).toMatchObject({ ok: false });
    expect((await gw.post('/v1/audit/verify', {}, await gw.token('alice', ['release-managers']))).status).toBe(403);
  });
});
