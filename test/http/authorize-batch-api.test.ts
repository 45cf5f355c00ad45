/**
 * POST /v1/authorize/batch: many questions about the caller's own access, one request and one audit
 * record; each answered exactly as POST /v1/authorize answers the same question about oneself.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_OWN_ACCESS_CONTEXT_CHARS, MAX_OWN_ACCESS_QUESTIONS } from '../../src/http/authorize-batch-api.ts';
import { REPO_POLICIES, testGateway, type TestGateway } from '../helpers/gateway.ts';

const CHALK = { domain: 'my_domain', domainOwner: '111122223333', repository: 'my_repo', format: 'npm', package: 'chalk' };
const PROD_CHALK = { ...CHALK, repository: 'prod' };
const BATCH = '/v1/authorize/batch';

let gw: TestGateway;
afterEach(async () => {
  await gw?.close();
});

const seq = async () => (await gw.store.auditHead())?.seq ?? 0;
const writtenSince = (after: number) => gw.store.readAuditRange(after, 1000);

describe('POST /v1/authorize/batch', () => {
  it('answers each question as the single form answers it about oneself, in order, with one audit record saying which were allowed and denied', async () => {
    gw = await testGateway();
    const sam = await gw.token('sam', ['security', 'release-managers']);
    const questions = [
      { action: 'UpdatePackageVersionsStatus', package: CHALK, context: { versions: ['4.1.0'], currentStatuses: ['Published'], targetStatus: 'Archived' } },
      { action: 'DisposePackageVersions', package: PROD_CHALK, context: { versions: ['4.1.1'], currentStatuses: ['Published'] } },
      { action: 'UpdatePackageVersionsStatus', package: PROD_CHALK, context: { versions: ['4.1.1'], currentStatuses: ['Published'], targetStatus: 'Unlisted' } },
      { action: 'DeletePackageVersions', package: CHALK, context: { versions: ['4.0.0'], currentStatuses: ['Published'] } },
      { action: 'ReadAuditLog', resource: 'AuditLog::"versiongate"' },
    ];
    const before = await seq();
    const res = await gw.post(BATCH, { questions }, sam);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { answers: Array<{ decision: string; because: string; determiningPolicies: Array<{ id: string }> }>; evaluatedAgainst: string };
    expect(body.evaluatedAgainst).toBe('live');
    expect(body.answers.map((a) => a.decision)).toEqual(['allow', 'deny', 'deny', 'allow', 'allow']);
    expect(body.answers[1]).toEqual({ decision: 'deny', because: 'forbid', determiningPolicies: [{ id: 'never-dispose-in-prod' }], errors: [] });

    const written = await writtenSince(before);
    expect(written).toHaveLength(1);
    expect(written[0]).toMatchObject({
      action: 'SimulateAuthorization',
      resource: 'PolicySet::"live"',
      decision: 'allow',
      determiningPolicies: expect.arrayContaining(['anyone-may-check-their-own-access']),
      outcome: 'read',
      principal: { subject: 'sam' },
      request: {
        simulation: {
          principal: 'sam',
          policySet: 'live',
          questions: 5,
          allowed: 3,
          denied: 2,
          errors: 0,
          answeredBy: expect.stringMatching(/^[0-9a-f]{64}$/),
          answers: expect.arrayContaining([
            { action: 'DisposePackageVersions', resource: 'arn:aws:codeartifact:us-east-1:111122223333:package/my_domain/prod/npm//chalk', because: 'forbid', questions: 1, versions: ['4.1.1'] },
            { action: 'UpdatePackageVersionsStatus', resource: 'arn:aws:codeartifact:us-east-1:111122223333:package/my_domain/my_repo/npm//chalk', targetStatus: 'Archived', because: 'permit', questions: 1, versions: ['4.1.0'] },
          ]),
        },
      },
    });

    // The same questions one at a time, about oneself: the same answers.
    for (const [i, q] of questions.entries()) {
      const single = await (await gw.post('/v1/authorize', { principal: { token: sam }, ...q }, sam)).json();
      expect({ ...single, evaluatedAgainst: undefined }).toEqual({ ...body.answers[i], evaluatedAgainst: undefined });
    }
  });

  it('a question Cedar cannot read is denied with the error, and the others are still decided', async () => {
    gw = await testGateway();
    const rita = await gw.token('rita', ['release-managers']);
    const ok = { action: 'UpdatePackageVersionsStatus', package: CHALK, context: { versions: ['4.1.0'], currentStatuses: ['Published'], targetStatus: 'Archived' } };
    const res = await gw.post(BATCH, { questions: [{ ...ok, context: { ...ok.context, versions: ['4.1.0\ud800'] } }, ok] }, rita);
    const { answers } = await res.json();
    expect(answers[0]).toMatchObject({ decision: 'deny', because: 'error', errors: ['the request holds a lone UTF-16 surrogate, which Cedar cannot read'] });
    expect(answers[1]).toMatchObject({ decision: 'allow', because: 'permit' });
  });

  it(`refuses more than ${MAX_OWN_ACCESS_QUESTIONS} questions, or contexts larger than ${MAX_OWN_ACCESS_CONTEXT_CHARS} characters together, with a 400 ValidationException`, async () => {
    gw = await testGateway();
    const rita = await gw.token('rita', ['release-managers']);
    const q = { action: 'DeletePackageVersions', package: CHALK, context: { versions: ['4.0.0'], currentStatuses: ['Published'] } };
    const before = await seq();
    const tooMany = await gw.post(BATCH, { questions: Array.from({ length: MAX_OWN_ACCESS_QUESTIONS + 1 }, () => q) }, rita);
    expect(tooMany.status).toBe(400);
    expect(tooMany.headers.get('x-amzn-errortype')).toBe('ValidationException');
    expect((await tooMany.json()).message).toContain(`at most ${MAX_OWN_ACCESS_QUESTIONS} questions`);
    const big = { ...q, context: { ...q.context, pad: 'x'.repeat(30_000) } };
    const tooLarge = await gw.post(BATCH, { questions: Array.from({ length: Math.ceil(MAX_OWN_ACCESS_CONTEXT_CHARS / 30_000) + 1 }, () => big) }, rita);
    expect(tooLarge.status).toBe(400);
    expect((await tooLarge.json()).message).toContain(`at most ${MAX_OWN_ACCESS_CONTEXT_CHARS} characters as JSON together`);
    const none = await gw.post(BATCH, { questions: [] }, rita);
    expect(none.status).toBe(400);
    const badResource = await gw.post(BATCH, { questions: [q, { action: 'DeletePackageVersions', context: {} }] }, rita);
    expect(badResource.status).toBe(400);
    expect((await badResource.json()).message).toContain('questions[1]: give exactly one of');
    // The maximum itself is answered.
    const most = await gw.post(BATCH, { questions: Array.from({ length: MAX_OWN_ACCESS_QUESTIONS }, () => q) }, rita);
    expect(most.status).toBe(200);
    expect((await most.json()).answers).toHaveLength(MAX_OWN_ACCESS_QUESTIONS);
    // Nothing was decided for the refused ones: the one record is the one answered.
    expect((await writtenSince(before)).filter((r) => r.action === 'SimulateAuthorization').map((r) => r.outcome)).toEqual(['read']);
  });

  it('a context nested deeper than any context needs is a 400, however deep (it was a 500, before the token was even checked)', async () => {
    gw = await testGateway();
    const rita = await gw.token('rita', ['release-managers']);
    for (const token of [rita, undefined]) {
      // As text: 20,000 levels within the 1 MiB body; JSON.stringify of it overflowed the gateway's stack.
      const body = `{"questions":[{"action":"ReadAuditLog","resource":"AuditLog::\\"versiongate\\"","context":{"deep":${'['.repeat(20_000)}"x"${']'.repeat(20_000)}}}]}`;
      const res = await gw.app.request(BATCH, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body });
      const text = await res.text();
      expect(res.status, text.slice(0, 200)).toBe(400);
      expect(JSON.parse(text).message).toBe('questions[0]: context must nest at most 32 levels of records and sets');
    }
  });

  it('its one audit record stays small whatever is asked: at most 50 groups of answers, the rest counted', async () => {
    gw = await testGateway();
    const rita = await gw.token('rita', ['release-managers']);
    const before = await seq();
    // 1,000 questions about 1,000 packages with long names: one group each, were they all listed.
    const questions = Array.from({ length: MAX_OWN_ACCESS_QUESTIONS }, (_, i) => ({ action: 'ListPackageVersions', package: { ...CHALK, package: `p${i}-${'x'.repeat(150)}` } }));
    const res = await gw.post(BATCH, { questions }, rita);
    expect(res.status).toBe(200);
    const [record] = (await writtenSince(before)).filter((r) => r.action === 'SimulateAuthorization');
    const simulation = (record!.request as { simulation: { answers: unknown[]; questionsOmitted: number; questions: number } }).simulation;
    expect(simulation.questions).toBe(MAX_OWN_ACCESS_QUESTIONS);
    expect(simulation.answers).toHaveLength(50);
    expect(simulation.questionsOmitted).toBe(MAX_OWN_ACCESS_QUESTIONS - 50);
    expect(JSON.stringify(record!.request).length).toBeLessThan(20_000);
  });

  it('takes no principal: it is only ever about the caller (a principal field is refused, where it is)', async () => {
    gw = await testGateway();
    const rita = await gw.token('rita', ['release-managers']);
    const res = await gw.post(BATCH, { principal: { claims: { sub: 'sam', groups: ['security'] } }, questions: [{ action: 'DeletePackageVersions', package: CHALK }] }, rita);
    expect(res.status).toBe(400);
    expect((await res.json()).message).toContain('unknown field(s) in the body: principal');
    const inQuestion = await gw.post(BATCH, { questions: [{ action: 'DeletePackageVersions', package: CHALK }, { action: 'DeletePackageVersions', package: CHALK, principal: { token: rita } }] }, rita);
    expect(inQuestion.status).toBe(400);
    expect((await inQuestion.json()).message).toContain('unknown field(s) in questions.1: principal');
  });

  it('where the policies allow nobody to ask about their own access: 403, one denied record', async () => {
    const only = Object.fromEntries(['release-managers.cedar'].map((f) => [f, readFileSync(join(REPO_POLICIES, f), 'utf8')]));
    gw = await testGateway({ onlyPolicies: only });
    const rita = await gw.token('rita', ['release-managers']);
    const before = await seq();
    const res = await gw.post(BATCH, { questions: [{ action: 'DeletePackageVersions', package: CHALK }, { action: 'DisposePackageVersions', package: CHALK }] }, rita);
    expect(res.status).toBe(403);
    expect(res.headers.get('x-amzn-errortype')).toBe('AccessDeniedException');
    const written = await writtenSince(before);
    expect(written).toHaveLength(1);
    expect(written[0]).toMatchObject({ action: 'SimulateAuthorization', decision: 'deny', outcome: 'denied', request: { simulation: { questions: 2 } } });
  });
});
