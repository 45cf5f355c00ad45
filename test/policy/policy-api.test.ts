/** POST /v1/authorize (the test bench) and GET /v1/policies, over real HTTP. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_SIMULATED_CONTEXT_CHARS } from '../../src/http/policy-api.ts';
import { REPO_POLICIES } from '../helpers/gateway.ts';
import { liveServer, type LiveServer } from './live-server.ts';

const CHALK = { domain: 'my_domain', domainOwner: '111122223333', repository: 'my_repo', format: 'npm', package: 'chalk' };
const PROD_CHALK = { ...CHALK, repository: 'prod' };

describe('the policy test bench', () => {
  let s: LiveServer;
  let security: string;
  beforeAll(async () => {
    s = await liveServer();
    security = await s.token('sam', ['security']);
  });
  afterAll(() => s.close());

  const simulate = (body: unknown, token = security) => s.post('/v1/authorize', body, token);

  it('dry-runs a request for a principal given as claims, against the live set, and explains it', async () => {
    const res = await simulate({
      principal: { claims: { sub: 'rita', groups: ['release-managers'] } },
      action: 'UpdatePackageVersionsStatus',
      package: CHALK,
      context: { versions: ['4.1.0'], currentStatuses: ['Published'], targetStatus: 'Archived' },
    });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({ decision: 'allow', because: 'permit', errors: [], evaluatedAgainst: 'live' });
    expect(body.determiningPolicies).toEqual([{ id: 'release-managers-curate-my-repo', file: 'release-managers.cedar', line: expect.any(Number) }]);
  });

  it('tells a forbid from no permit', async () => {
    const forbid = await (await simulate({ principal: { claims: { sub: 'sam', groups: ['security'] } }, action: 'DisposePackageVersions', package: PROD_CHALK, context: { versions: ['4.1.1'], currentStatuses: ['Published'] } })).json();
    expect(forbid).toMatchObject({ decision: 'deny', because: 'forbid', determiningPolicies: [{ id: 'never-dispose-in-prod' }] });
    const none = await (await simulate({ principal: { claims: { sub: 'x', groups: [] } }, action: 'DisposePackageVersions', package: CHALK, context: { versions: ['4.0.0'], currentStatuses: ['Published'] } })).json();
    expect(none).toMatchObject({ decision: 'deny', because: 'no_permit', determiningPolicies: [] });
  });

  it('accepts the simulated principal as a token', async () => {
    const rita = await s.token('rita', ['release-managers']);
    const body = await (await simulate({ principal: { token: rita }, action: 'UpdatePackageVersionsStatus', package: CHALK, context: { versions: ['4.1.0'], currentStatuses: ['Published'], targetStatus: 'Unlisted' } })).json();
    expect(body.decision).toBe('allow');
    const bad = await simulate({ principal: { token: 'not.a.token' }, action: 'UpdatePackageVersionsStatus', package: CHALK, context: {} });
    expect(bad.status).toBe(400);
  });

  it('evaluates a supplied policy set instead of the live one, and reports its errors', async () => {
    const files = { 'try.cedar': 'permit (principal in Group::"web", action == Action::"DisposePackageVersions", resource);' };
    const body = await (await simulate({ principal: { claims: { sub: 'w', groups: ['web'] } }, action: 'DisposePackageVersions', package: CHALK, context: { versions: ['4.0.0'], currentStatuses: ['Published'] }, policies: { files } })).json();
    expect(body).toMatchObject({ decision: 'allow', evaluatedAgainst: 'supplied', determiningPolicies: [{ id: 'try.cedar#0', file: 'try.cedar' }] });
    const invalid = await simulate({ principal: { claims: { sub: 'w' } }, action: 'DisposePackageVersions', package: CHALK, context: {}, policies: { files: { 'bad.cedar': 'permit (principal, action, resource) when { resource.nope };' } } });
    expect(invalid.status).toBe(400);
    expect(invalid.headers.get('x-amzn-errortype')).toBe('ValidationException');
    expect((await invalid.json()).message).toContain('bad.cedar:1:');
  });

  it('a request Cedar cannot read, against a supplied set, is denied with the reason, never a 500', async () => {
    const files = { 'try.cedar': 'permit (principal in Group::"web", action == Action::"DisposePackageVersions", resource);' };
    let deep: unknown = '4.0.0';
    // As deep as a context may be (deeper is refused before Cedar: 400), and not in the schema.
    for (let i = 0; i < 31; i++) deep = { a: deep };
    for (const [context, error] of [
      [{ versions: ['4.0.0\ud800'], currentStatuses: ['Published'] }, 'the request holds a lone UTF-16 surrogate, which Cedar cannot read'],
      [{ versions: ['4.0.0'], currentStatuses: ['Published'], x: deep }, 'while parsing context, record attribute `x` should not exist according to the schema'],
    ] as const) {
      const res = await simulate({ principal: { claims: { sub: 'w', groups: ['web'] } }, action: 'DisposePackageVersions', package: CHALK, context, policies: { files } });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ decision: 'deny', because: 'error', errors: [error], evaluatedAgainst: 'supplied' });
    }
  });

  it('is itself authorized by the live set and audited; it changes nothing', async () => {
    const rita = await s.token('rita', ['release-managers']);
    const denied = await simulate({ principal: { claims: { sub: 'rita', groups: ['release-managers'] } }, action: 'UpdatePackageVersionsStatus', package: CHALK, context: {} }, rita);
    expect(denied.status).toBe(403);
    // A supplied set cannot authorize its own use: the caller is judged by the live set.
    const sneaky = await simulate(
      { principal: { claims: { sub: 'rita' } }, action: 'SimulateAuthorization', resource: 'PolicySet::"live"', policies: { files: { 'p.cedar': 'permit (principal, action, resource);' } } },
      rita,
    );
    expect(sneaky.status).toBe(403);
    const [record] = await s.gateway.store.listAudit({ limit: 1, filter: { action: 'SimulateAuthorization' } });
    expect(record).toMatchObject({ decision: 'deny', principal: { subject: 'rita' }, resource: 'PolicySet::"live"' });
    const snap = await s.gateway.store.readPackage({ domainOwner: '111122223333', domain: 'my_domain', repository: 'my_repo', format: 'npm', namespace: '', name: 'chalk' }, ['4.1.0']);
    expect(snap.versions.get('4.1.0')!.status).toBe('Published');
  });

  it('lets anyone ask the live set about their own access, and nobody else\'s', async () => {
    const rita = await s.token('rita', ['release-managers']);
    const ask = (principal: unknown, extra: object = {}) =>
      simulate({ principal, action: 'DisposePackageVersions', package: CHALK, context: { versions: ['4.0.0'], currentStatuses: ['Published'] }, ...extra }, rita);
    // Her own token: allowed by anyone-may-check-their-own-access, and the answer is about her.
    const own = await ask({ token: rita });
    expect(own.status).toBe(200);
    expect(await own.json()).toMatchObject({ decision: 'deny', because: 'no_permit', evaluatedAgainst: 'live' });
    const [record] = await s.gateway.store.listAudit({ limit: 1, filter: { action: 'SimulateAuthorization' } });
    expect(record).toMatchObject({ decision: 'allow', principal: { subject: 'rita' }, determiningPolicies: ['anyone-may-check-their-own-access'] });
    // Someone else's token, the same name with other groups, or her own against a supplied set: the test bench's, not hers.
    expect((await ask({ token: security })).status).toBe(403);
    expect((await ask({ token: await s.token('rita', ['release-managers', 'security']) })).status).toBe(403);
    expect((await ask({ token: rita }, { policies: { files: { 'p.cedar': 'permit (principal, action, resource);' } } })).status).toBe(403);
  });

  it('a lone UTF-16 surrogate in what anyone may ask about their own access is denied, and the live set goes on deciding', async () => {
    // Cedar's JSON reader throws on one; a throw would have marked the live engine broken and denied
    // every later request of every client.
    const rita = await s.token('rita', ['release-managers']);
    const res = await simulate({ principal: { token: rita }, action: 'UpdatePackageVersionsStatus', package: CHALK, context: { versions: ['4.1.0\ud800'], currentStatuses: ['Published'], targetStatus: 'Archived' } }, rita);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ decision: 'deny', because: 'error', errors: ['the request holds a lone UTF-16 surrogate, which Cedar cannot read'] });
    const after = await simulate({ principal: { token: rita }, action: 'UpdatePackageVersionsStatus', package: CHALK, context: { versions: ['4.1.0'], currentStatuses: ['Published'], targetStatus: 'Archived' } }, rita);
    expect(await after.json()).toMatchObject({ decision: 'allow', because: 'permit' });
  });

  it('a self-check nested deeper than any context needs is refused (400) before Cedar, however deep, and the live set goes on deciding', async () => {
    const rita = await s.token('rita', ['release-managers']);
    for (const depth of [33, 2_000, 20_000]) {
      // As text: JSON.stringify of the test's own object would overflow this stack at the deepest.
      const nested = `${'['.repeat(depth)}1${']'.repeat(depth)}`;
      const body = `{"principal":{"token":"${rita}"},"action":"UpdatePackageVersionsStatus","package":${JSON.stringify(CHALK)},"context":{"versions":["4.1.0"],"currentStatuses":["Published"],"targetStatus":"Archived","x":${nested}}}`;
      const res = await fetch(`${s.gateway.url}/v1/authorize`, { method: 'POST', headers: { authorization: `Bearer ${rita}`, 'content-type': 'application/json' }, body });
      const text = await res.text();
      expect(res.status, `${depth}: ${text.slice(0, 200)}`).toBe(400);
      expect(JSON.parse(text).message).toContain('must nest at most 32 levels of records and sets');
    }
    const after = await simulate({ principal: { token: rita }, action: 'UpdatePackageVersionsStatus', package: CHALK, context: { versions: ['4.1.0'], currentStatuses: ['Published'], targetStatus: 'Archived' } }, rita);
    expect(after.status).toBe(200);
    expect(await after.json()).toMatchObject({ decision: 'allow', because: 'permit' });
  });

  it("holds a simulated principal to a token's rules, and a simulated context to a bound, before Cedar sees either", async () => {
    const ask = (principal: unknown, context: unknown = { versions: ['4.1.0'], currentStatuses: ['Published'], targetStatus: 'Archived' }) =>
      simulate({ principal, action: 'UpdatePackageVersionsStatus', package: CHALK, context });
    const expect400 = async (res: Response, message: string) => {
      const text = await res.text();
      expect(res.status, text).toBe(400);
      expect(JSON.parse(text).message).toContain(message);
    };
    const groups = Array.from({ length: 257 }, (_, i) => `team-${i}`);
    await expect400(await ask({ claims: { sub: 'rita', groups } }), `the simulated principal's "groups" claim must be an array of at most 256 group names`);
    await expect400(await ask({ claims: { sub: 'ri\u0000ta' } }), `the simulated principal's "sub" claim holds a control character`);
    await expect400(await ask({ claims: { sub: 'x'.repeat(257) } }), `the simulated principal's "sub" claim must be a string of 1 to 256 characters`);
    // 100 versions of 255 characters: the largest a real request's versions can be, within the bound.
    const longest = Array.from({ length: 100 }, (_, i) => `${i}`.padEnd(255, 'x'));
    expect((await ask({ claims: { sub: 'rita', groups: ['release-managers'] } }, { versions: longest, currentStatuses: ['Published'], targetStatus: 'Archived' })).status).toBe(200);
    const huge = Array.from({ length: 5000 }, (_, i) => `1.0.${i}`);
    await expect400(await ask({ claims: { sub: 'rita' } }, { versions: huge }), `context: must be at most ${MAX_SIMULATED_CONTEXT_CHARS} characters as JSON`);
  });

  describe('a supplied set of thousands of policies', () => {
    /** 3,000 static policies, ~600 KB: seconds of Cedar's work to compile. */
    const bigSet = () => {
      let text = '';
      for (let i = 0; i < 3000; i++) {
        text += `@id("p${i}")\npermit (principal == User::"user${i}", action == Action::"UpdatePackageVersionsStatus", resource in Repository::"arn:aws:codeartifact:us-east-1:111122223333:repository/dom${i % 50}/repo${i % 70}");\n`;
      }
      return text;
    };
    const schema = readFileSync(join(REPO_POLICIES, 'schema.cedarschema'), 'utf8');

    it('is checked, and decided by, off the event loop: the gateway answers other requests meanwhile', async () => {
      let checked = false;
      const check = s.post('/v1/policies/check', { schema, files: [{ file: 'big.cedar', text: bigSet() }] }, security).then((r) => {
        checked = true;
        return r;
      });
      // One after another, each a whole round trip through the event loop. Before, the set was
      // compiled on the event loop: nothing was answered until the check was, which came first.
      for (let i = 0; i < 20; i++) expect((await s.get('/healthz')).status).toBe(200);
      expect(checked).toBe(false);
      const res = await check;
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ valid: true, hash: expect.stringMatching(/^[0-9a-f]{64}$/), diagnostics: [] });

      let decided = false;
      const decision = simulate({
        principal: { claims: { sub: 'user7', groups: [] } },
        action: 'UpdatePackageVersionsStatus',
        package: { domain: 'dom7', domainOwner: '111122223333', repository: 'repo7', format: 'npm', package: 'chalk' },
        context: { versions: ['1.0.0'], currentStatuses: ['Published'], targetStatus: 'Archived' },
        policies: { files: { 'big.cedar': bigSet() } },
      }).then((r) => {
        decided = true;
        return r;
      });
      for (let i = 0; i < 20; i++) expect((await s.get('/healthz')).status).toBe(200);
      expect(decided).toBe(false);
      const body = await (await decision).json();
      expect(body).toMatchObject({ decision: 'allow', because: 'permit', determiningPolicies: [{ id: 'p7', file: 'big.cedar', line: 15 }], evaluatedAgainst: 'supplied' });
    });
  });

  it('simulates a domain, and Registry::"versiongate", as a test case may name them', async () => {
    const admin = { claims: { sub: 'reggie', groups: ['registry-admins'] } };
    const listDomains = await simulate({ principal: admin, action: 'ListDomains', resource: 'Registry::"versiongate"' });
    expect(listDomains.status, await listDomains.clone().text()).toBe(200);
    expect(await listDomains.json()).toMatchObject({ decision: 'allow', because: 'permit' });
    const describeDomain = await simulate({ principal: admin, action: 'DescribeDomain', domain: { domain: 'my_domain', domainOwner: '111122223333' } });
    expect(describeDomain.status, await describeDomain.clone().text()).toBe(200);
    expect(await describeDomain.json()).toMatchObject({ decision: 'allow', because: 'permit' });
    const nobody = await simulate({ principal: { claims: { sub: 'x' } }, action: 'DeleteDomain', domain: { domain: 'my_domain', domainOwner: '111122223333' } });
    expect(await nobody.json()).toMatchObject({ decision: 'deny', because: 'no_permit' });
  });

  it("tells a caller who may not use the bench nothing about a token they send as the simulated principal, and audits the refusal", async () => {
    const rita = await s.token('rita', ['release-managers']);
    const ask = (token: string, caller: string) => simulate({ principal: { token }, action: 'DisposePackageVersions', package: CHALK, context: { versions: ['4.0.0'], currentStatuses: ['Published'] } }, caller);
    // Not her own token, valid or not: the same 403, recorded as a denial.
    expect((await ask('not.a.token', rita)).status).toBe(403);
    expect((await ask(security, rita)).status).toBe(403);
    const [denied] = await s.gateway.store.listAudit({ limit: 1, filter: { action: 'SimulateAuthorization' } });
    expect(denied).toMatchObject({ decision: 'deny', outcome: 'denied', principal: { subject: 'rita' } });
    // The security team may ask about anyone, so it hears why; the refusal is audited too.
    const bad = await ask('not.a.token', security);
    expect(bad.status).toBe(400);
    expect((await bad.json()).message).toContain("the simulated principal's token is not valid");
    const [rejected] = await s.gateway.store.listAudit({ limit: 1, filter: { action: 'SimulateAuthorization' } });
    expect(rejected).toMatchObject({ decision: 'allow', outcome: 'rejected', httpStatus: 400, principal: { subject: 'sam' } });
  });

  it("answers a question about one's own access with the deciding policies' ids, but not their file, line or the set's hash", async () => {
    const rita = await s.token('rita', ['release-managers']);
    const own = await simulate({ principal: { token: rita }, action: 'UpdatePackageVersionsStatus', package: CHALK, context: { versions: ['4.1.0'], currentStatuses: ['Published'], targetStatus: 'Archived' } }, rita);
    expect(own.status).toBe(200);
    expect(await own.json()).toEqual({ decision: 'allow', because: 'permit', determiningPolicies: [{ id: 'release-managers-curate-my-repo' }], errors: [], evaluatedAgainst: 'live' });
  });

  describe('POST /v1/policies/check refuses what a reload refuses', () => {
    const schema = readFileSync(join(REPO_POLICIES, 'schema.cedarschema'), 'utf8');
    const permit = { file: 'x.cedar', text: 'permit (principal, action == Action::"ReadAuditLog", resource);' };
    const readsAudit = (extra: object = {}) => JSON.stringify([{ name: 'anyone reads audit', claims: { sub: 'x', groups: [] }, action: 'ReadAuditLog', resource: 'AuditLog::"versiongate"', decision: 'allow', ...extra }]);
    const check = async (body: object) => {
      const res = await s.post('/v1/policies/check', { schema, ...body }, security);
      expect(res.status).toBe(200);
      return res.json();
    };

    it('a test case whose "reason" is not an array is a diagnostic naming file, case and field, never a 503', async () => {
      const body = await check({ files: [permit], tests: [{ file: 'tests/t.json', text: readsAudit({ reason: 'nope' }) }] });
      expect(body.valid).toBe(false);
      expect(body.diagnostics).toEqual([expect.objectContaining({ file: 'tests/t.json', severity: 'error', message: 'tests/t.json case 1 (anyone reads audit): "reason" must be an array of policy ids, got "nope"' })]);
    });

    it('an empty .cedar file, and a file name given twice, make the set invalid', async () => {
      const empty = await check({ files: [permit, { file: 'empty.cedar', text: '// nothing yet\n' }] });
      expect(empty.valid).toBe(false);
      expect(empty.diagnostics).toEqual([expect.objectContaining({ file: 'empty.cedar', message: expect.stringContaining('holds no policy') })]);
      const twice = await check({ files: [permit], tests: [{ file: 'tests/t.json', text: readsAudit() }, { file: 'tests/t.json', text: readsAudit() }] });
      expect(twice.valid).toBe(false);
      expect(twice.diagnostics).toEqual([expect.objectContaining({ file: 'tests/t.json', message: expect.stringContaining('is given twice') })]);
    });

    it('a failing test makes the set invalid, with the diagnostic a reload would refuse it with', async () => {
      const body = await check({ files: [permit], tests: [{ file: 'tests/t.json', text: readsAudit({ decision: 'deny' }) }] });
      expect(body).toMatchObject({ valid: false, hash: expect.stringMatching(/^[0-9a-f]{64}$/), tests: { passed: 0, failed: 1 } });
      expect(body.diagnostics).toEqual([expect.objectContaining({ file: 'tests/t.json', severity: 'error', message: expect.stringMatching(/^FAIL tests\/t.json › anyone reads audit \| expected deny, got allow/) })]);
    });
  });

  it('GET /v1/policies lists the live set for the security team only', async () => {
    const res = await s.get('/v1/policies', security);
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(body.files).toContain('prod-guard.cedar');
    expect(body.counts).toMatchObject({ templates: 2, links: 2 });
    expect(body.policies).toEqual(expect.arrayContaining([{ id: 'never-dispose-in-prod', kind: 'static', file: 'prod-guard.cedar', line: expect.any(Number) }, expect.objectContaining({ id: 'web-team-curates-my-repo', kind: 'link' })]));
    expect(body.lastReload).toBeNull();
    expect((await s.get('/v1/policies', await s.token('ada', ['auditors']))).status).toBe(403);
  });
});
