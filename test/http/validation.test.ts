/**
 * Bad input over HTTP: every malformed request is answered in CodeArtifact's ValidationException
 * envelope (never a 500), before authentication, and changes nothing and audits nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_JSON_BODY_BYTES } from '../../src/app.ts';
import { CHALK, DISPOSE, testGateway, UPDATE, type TestGateway } from '../helpers/gateway.ts';

const BASE = 'domain=my_domain&domain-owner=111122223333&repository=my_repo&format=npm';
const CHALK_KEY = { domainOwner: '111122223333', domain: 'my_domain', repository: 'my_repo', format: 'npm' as const, namespace: '', name: 'chalk' };
const ARCHIVE = { versions: ['4.1.0'], targetStatus: 'Archived' };

interface Envelope {
  message: string;
  reason?: string;
  [k: string]: unknown;
}

/** Asserts CodeArtifact's error envelope and returns its body. */
async function expectError(res: Response, status: number, type: string, messagePart: string | RegExp, reason?: string): Promise<Envelope> {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  expect(res.headers.get('x-amzn-errortype')).toBe(type);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  expect(res.headers.get('x-amzn-requestid')).toMatch(/.+/);
  const body = JSON.parse(text) as Envelope;
  expect(typeof body.message).toBe('string');
  if (typeof messagePart === 'string') expect(body.message).toContain(messagePart);
  else expect(body.message).toMatch(messagePart);
  if (reason !== undefined) expect(body.reason).toBe(reason);
  return body;
}

const expect400 = (res: Response, messagePart: string | RegExp, reason = 'FIELD_VALIDATION_FAILED') => expectError(res, 400, 'ValidationException', messagePart, reason);

describe('validation over HTTP (fresh gateway: nothing below may change or audit anything)', () => {
  let gw: TestGateway;
  let token: string;
  /** The log as the gateway starts: the seeded versions' sync records only. */
  let seededHead: Awaited<ReturnType<TestGateway['store']['auditHead']>>;
  beforeAll(async () => {
    gw = await testGateway();
    token = await gw.token('alice', ['release-managers']);
    seededHead = await gw.store.auditHead();
  });
  afterAll(() => gw.close());

  describe('unsafe package names in the query', () => {
    it.each([
      ['*', 'ch%2Aalk', "package contains a character that is not allowed: '*'"],
      ['/', 'a%2Fb', "package contains a character that is not allowed: '/'"],
      ['#', 'ch%23alk', "package contains a character that is not allowed: '#'"],
      ['space', 'ch%20alk', 'package contains a character that is not allowed: U+0020'],
      ['+ as space', 'ch+alk', 'package contains a character that is not allowed: U+0020'],
      ['..', 'a..b', "package must not contain '..'"],
      ['non-ASCII å', 'ch%C3%A5lk', 'package contains a character that is not allowed: U+00E5'],
      ['Cyrillic homoglyph', 'ch%D0%B0lk', 'package contains a character that is not allowed: U+0430'],
      ['backslash', 'ch%5Calk', "package contains a character that is not allowed: '\\'"],
      ['?', 'ch%3Falk', "package contains a character that is not allowed: '?'"],
      ['%', 'ch%25alk', "package contains a character that is not allowed: '%'"],
    ])('package containing %s → 400', async (_label, encoded, message) => {
      await expect400(await gw.post(`${UPDATE}?${BASE}&package=${encoded}`, ARCHIVE, token), message);
      await expect400(await gw.post(`${DISPOSE}?${BASE}&package=${encoded}`, { versions: ['4.1.0'] }, token), message);
    });

    it('a scope with a wildcard → 400', async () => {
      await expect400(await gw.post(`${UPDATE}?${BASE}&namespace=nest%2A&package=core`, ARCHIVE, token), "namespace contains a character that is not allowed: '*'");
    });

    it('an uppercase npm name → 400', async () => {
      await expect400(await gw.post(`${UPDATE}?${BASE}&package=Chalk`, ARCHIVE, token), "package 'Chalk' is not a valid npm package name");
    });

    // CodeArtifact's PackageNamespace is 1 to 255 characters: `namespace=` is refused, not read as no namespace.
    it('an empty namespace → 400', async () => {
      await expect400(await gw.post(`${UPDATE}?${BASE}&namespace=&package=chalk`, ARCHIVE, token), 'namespace');
      await expect400(await gw.get(`/v1/package/version?${BASE}&namespace=&package=chalk&version=4.1.0`, token), 'namespace');
    });

    // CodeArtifact's model: x-amz-content-sha256 is [0-9a-f]{64}, lowercase hex only.
    it('an uppercase x-amz-content-sha256 → 400', async () => {
      const res = await gw.app.request(`/v1/package/version/publish?domain=my_domain&repository=my_repo&format=generic&namespace=acme&package=tool&version=1.0.0&asset=tool.tgz`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream', 'x-amz-content-sha256': 'A'.repeat(64) },
        body: 'bytes',
      });
      await expect400(res, 'x-amz-content-sha256 must be the SHA-256 of the asset in lowercase hex');
    });
  });

  describe('query parameters', () => {
    it('missing repository → 400 naming it', async () => {
      await expect400(await gw.post(`${UPDATE}?domain=my_domain&domain-owner=111122223333&format=npm&package=chalk`, ARCHIVE, token), 'repository');
    });

    it('a parameter given twice → 400 saying so, not a type error', async () => {
      const audit = await expect400(await gw.get('/v1/audit?limit=1&limit=2', token), 'query parameter limit is given more than once');
      expect(audit.message).not.toContain('NaN');
      await expect400(await gw.post(`${UPDATE}?${CHALK}&repository=prod`, ARCHIVE, token), 'query parameter repository is given more than once');
    });

    it('missing package → 400 naming it', async () => {
      await expect400(await gw.post(`${UPDATE}?${BASE}`, ARCHIVE, token), 'package');
    });

    it("format 'rpm' → 400", async () => {
      await expect400(
        await gw.post(`${UPDATE}?domain=my_domain&domain-owner=111122223333&repository=my_repo&format=rpm&package=chalk`, ARCHIVE, token),
        "format must be one of npm, pypi, maven, nuget, generic, ruby, swift, cargo; got 'rpm'",
      );
    });

    it("domain-owner 'abc' → 400", async () => {
      await expect400(await gw.post(`${UPDATE}?domain=my_domain&domain-owner=abc&repository=my_repo&format=npm&package=chalk`, ARCHIVE, token), 'domain-owner must be a 12-digit account id');
    });

    it('a query parameter given twice → 400 naming it', async () => {
      await expect400(await gw.post(`${UPDATE}?${CHALK}&format=pypi`, ARCHIVE, token), 'format');
    });

    it('an unsafe repository → 400', async () => {
      await expect400(await gw.post(`${UPDATE}?domain=my_domain&domain-owner=111122223333&repository=my%2Arepo&format=npm&package=chalk`, ARCHIVE, token), "repository contains a character that is not allowed: '*'");
    });

    it('a namespace for pypi → 400', async () => {
      await expect400(await gw.post(`${UPDATE}?domain=my_domain&domain-owner=111122223333&repository=my_repo&format=pypi&namespace=x&package=pigeon`, ARCHIVE, token), 'pypi packages have no namespace');
    });
  });

  describe('the body', () => {
    it("malformed JSON '{' → 400 CANNOT_PARSE", async () => {
      await expect400(await gw.post(`${UPDATE}?${CHALK}`, '{', token), 'not valid JSON', 'CANNOT_PARSE');
    });

    it.each([
      ['a key at the top', '{"versions":["4.1.0"],"targetStatus":"Archived","targetStatus":"Published"}', 'targetStatus'],
      ['a key spelled with an escape', '{"versions":["4.1.0"],"targetStatus":"Archived","target\\u0053tatus":"Published"}', 'targetStatus'],
      ['a version in versionRevisions', '{"versions":["4.1.0"],"versionRevisions":{"4.1.0":"a","4.1.0":"b"},"targetStatus":"Archived"}', '4.1.0'],
    ])('a body that gives %s twice → 400 CANNOT_PARSE, not one of its readings', async (_, body, key) => {
      await expect400(await gw.post(`${UPDATE}?${CHALK}`, body, token), `it gives the key "${key}" twice in one object`, 'CANNOT_PARSE');
    });

    it('versions [] → 400', async () => {
      await expect400(await gw.post(`${UPDATE}?${CHALK}`, { versions: [], targetStatus: 'Archived' }, token), 'versions');
    });

    it('101 versions → 400', async () => {
      const versions = Array.from({ length: 101 }, (_, i) => `1.0.${i}`);
      await expect400(await gw.post(`${UPDATE}?${CHALK}`, { versions, targetStatus: 'Archived' }, token), 'versions');
    });

    it('100 distinct versions are not a validation error', async () => {
      // Control for the 101 case. A bad domain-owner keeps the request from reaching authentication
      // (which would audit it); the body passes, so the only error reported is the query's.
      const versions = Array.from({ length: 100 }, (_, i) => `1.0.${i}`);
      const res = await gw.post(`${UPDATE}?domain=my_domain&domain-owner=abc&repository=my_repo&format=npm&package=chalk`, { versions, targetStatus: 'Archived' }, token);
      await expect400(res, 'domain-owner must be a 12-digit account id');
    });

    it('the same version twice → 400', async () => {
      await expect400(await gw.post(`${UPDATE}?${CHALK}`, { versions: ['4.1.0', '4.1.0'], targetStatus: 'Archived' }, token), 'version 4.1.0 is listed more than once');
    });

    it('versionRevisions naming a version not in versions → 400', async () => {
      await expect400(
        await gw.post(`${UPDATE}?${CHALK}`, { versions: ['4.1.0'], versionRevisions: { '4.0.0': 'abc' }, targetStatus: 'Archived' }, token),
        'versionRevisions names version 4.0.0, which is not in versions',
      );
    });

    it("targetStatus 'Unfinished' → 400", async () => {
      await expect400(await gw.post(`${UPDATE}?${CHALK}`, { versions: ['4.1.0'], targetStatus: 'Unfinished' }, token), 'targetStatus');
    });

    it("targetStatus 'Disposed' → 400", async () => {
      await expect400(await gw.post(`${UPDATE}?${CHALK}`, { versions: ['4.1.0'], targetStatus: 'Disposed' }, token), 'targetStatus');
    });

    it('missing targetStatus → 400', async () => {
      await expect400(await gw.post(`${UPDATE}?${CHALK}`, { versions: ['4.1.0'] }, token), 'targetStatus');
    });

    it('an unknown body field → 400 naming it', async () => {
      await expect400(await gw.post(`${UPDATE}?${CHALK}`, { versions: ['4.1.0'], targetStatus: 'Archived', extra: 1 }, token), 'unknown field(s) in the body: extra');
    });

    it('targetStatus on dispose is an unknown field → 400', async () => {
      await expect400(await gw.post(`${DISPOSE}?${CHALK}`, { versions: ['4.1.0'], targetStatus: 'Archived' }, token), 'unknown field(s) in the body: targetStatus');
    });

    it('versions not an array → 400', async () => {
      await expect400(await gw.post(`${UPDATE}?${CHALK}`, { versions: '4.1.0', targetStatus: 'Archived' }, token), 'versions');
    });

    it("expectedStatus 'Bogus' → 400", async () => {
      await expect400(await gw.post(`${UPDATE}?${CHALK}`, { versions: ['4.1.0'], expectedStatus: 'Bogus', targetStatus: 'Archived' }, token), 'expectedStatus');
    });

    it('a JSON body that is not an object → 400', async () => {
      await expect400(await gw.post(`${UPDATE}?${CHALK}`, '["4.1.0"]', token), /body|expected object/);
    });

    it('an unsafe version → 400', async () => {
      await expect400(await gw.post(`${UPDATE}?${CHALK}`, { versions: ['4.1.0/../x'], targetStatus: 'Archived' }, token), "version contains a character that is not allowed: '/'");
    });

    it('a revision with a space → 400', async () => {
      await expect400(
        await gw.post(`${UPDATE}?${CHALK}`, { versions: ['4.1.0'], versionRevisions: { '4.1.0': 'a b' }, targetStatus: 'Archived' }, token),
        'a version revision is 1 to 50 printable ASCII characters without spaces',
      );
    });

    it('a body larger than 1 MiB → 413 in the same envelope', async () => {
      const filler = 'x'.repeat(MAX_JSON_BODY_BYTES + 10);
      const res = await gw.post(`${UPDATE}?${CHALK}`, JSON.stringify({ versions: ['4.1.0'], targetStatus: 'Archived', filler }), token);
      await expectError(res, 413, 'ValidationException', `the request body is larger than ${MAX_JSON_BODY_BYTES} bytes`, 'OTHER');
    });

    it('a body larger than 1 MiB with a Content-Length header → 413 in the same envelope', async () => {
      const body = JSON.stringify({ versions: ['4.1.0'], targetStatus: 'Archived', filler: 'x'.repeat(MAX_JSON_BODY_BYTES + 10) });
      const res = await gw.post(`${UPDATE}?${CHALK}`, body, token, { 'content-length': String(Buffer.byteLength(body)) });
      await expectError(res, 413, 'ValidationException', `the request body is larger than ${MAX_JSON_BODY_BYTES} bytes`, 'OTHER');
    });

    it('Content-Type text/plain → 415 in the envelope', async () => {
      const res = await gw.post(`${UPDATE}?${CHALK}`, JSON.stringify(ARCHIVE), token, { 'content-type': 'text/plain' });
      await expectError(res, 415, 'ValidationException', 'the request body must be JSON (Content-Type: application/json)', 'CANNOT_PARSE');
    });
  });

  describe('validation comes before authentication', () => {
    it('a bad package with no token → 400, not 401', async () => {
      await expect400(await gw.post(`${UPDATE}?${BASE}&package=ch%2Aalk`, ARCHIVE), "package contains a character that is not allowed: '*'");
    });

    it('a bad body with no token → 400, not 401', async () => {
      await expect400(await gw.post(`${UPDATE}?${CHALK}`, { versions: [], targetStatus: 'Archived' }), 'versions');
      await expect400(await gw.post(`${UPDATE}?${CHALK}`, { versions: ['4.1.0', '4.1.0'], targetStatus: 'Archived' }), 'version 4.1.0 is listed more than once');
    });

    it('a bad request with an invalid token → 400, not 401', async () => {
      await expect400(
        await gw.post(`${UPDATE}?domain=my_domain&domain-owner=111122223333&repository=my_repo&format=rpm&package=chalk`, ARCHIVE, 'not-a-jwt'),
        "got 'rpm'",
      );
    });
  });

  describe('unknown operations', () => {
    it('an unknown path → 404 UnknownOperationException', async () => {
      // AssociateExternalConnection is a CodeArtifact operation versiongate does not serve.
      const path = '/v1/repository/external-connection?domain=my_domain&repository=my_repo&external-connection=public:npmjs';
      const body = await expectError(await gw.post(path, {}, token), 404, 'UnknownOperationException', 'no operation at POST /v1/repository/external-connection');
      expect(body.reason).toBe('UNKNOWN_OPERATION');
      await expectError(await gw.get('/nope', token), 404, 'UnknownOperationException', 'no operation at GET /nope', 'UNKNOWN_OPERATION');
    });

    it('the wrong method on a known path → 404 UnknownOperationException', async () => {
      await expectError(await gw.get(`${UPDATE}?${CHALK}`, token), 404, 'UnknownOperationException', `no operation at GET ${UPDATE}`, 'UNKNOWN_OPERATION');
    });
  });

  it('after all of the above, chalk is unchanged and nothing was audited', async () => {
    const snapshot = await gw.store.readPackage(CHALK_KEY, ['4.0.0', '4.1.0', '4.1.1']);
    expect(snapshot.packageId).not.toBeNull();
    expect([...snapshot.versions.keys()].sort()).toEqual(['4.0.0', '4.1.0', '4.1.1']);
    for (const v of ['4.0.0', '4.1.0', '4.1.1']) expect(snapshot.versions.get(v)?.status, v).toBe('Published');
    // Nothing past the seed and its syncs: the head is the one the gateway started with.
    expect(seededHead?.seq).toBeGreaterThan(0);
    expect(await gw.store.readAuditRange(seededHead!.seq, 100)).toEqual([]);
    expect(await gw.store.auditHead()).toEqual(seededHead);
    expect(new Set((await gw.store.listAudit({ limit: 100 })).map((r) => r.action))).toEqual(new Set(['SeedDemo', 'SyncPackageVersion']));
  });
});

describe('normalised names pass validation', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await testGateway();
  });
  afterAll(() => gw.close());

  it("PyPI 'Pigeon_CLI' reaches authorization and is not found (404 package), not 400", async () => {
    const token = await gw.token('alice', ['release-managers']);
    const seeded = (await gw.store.auditHead())?.seq ?? 0;
    const res = await gw.post(`${UPDATE}?domain=my_domain&domain-owner=111122223333&repository=my_repo&format=pypi&package=Pigeon_CLI`, ARCHIVE, token);
    const body = await expectError(res, 404, 'ResourceNotFoundException', 'pigeon-cli');
    expect(body.resourceType).toBe('package');
    expect(body.resourceId).toBe('pigeon-cli');
    // It was decided on the normalised ARN and audited as not found.
    const audit = await gw.store.readAuditRange(seeded, 100);
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ action: 'UpdatePackageVersionsStatus', outcome: 'not_found' });
    expect(audit[0]!.resource).toBe('arn:aws:codeartifact:us-east-1:111122223333:package/my_domain/my_repo/pypi//pigeon-cli');
  });

  it('npm scope given as @nestjs reaches the seeded package', async () => {
    const token = await gw.token('alice', ['release-managers']);
    const res = await gw.post(`${UPDATE}?domain=my_domain&domain-owner=111122223333&repository=my_repo&format=npm&namespace=%40nestjs&package=core`, { versions: ['8.0.0'], targetStatus: 'Unlisted' }, token);
    expect(res.status, await res.clone().text()).toBe(200);
    const body = (await res.json()) as { successfulVersions: Record<string, { status: string }> };
    expect(body.successfulVersions['8.0.0']!.status).toBe('Unlisted');
  });
});
