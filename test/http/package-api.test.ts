/**
 * The package API over HTTP (app.request, the server's own fetch handler), on the shipped policies:
 * PublishPackageVersion, ListPackageVersions, DescribePackageVersion, ListPackageVersionAssets,
 * GetPackageVersionAsset and DeletePackageVersions, with CodeArtifact's answers and error envelopes,
 * and the audit record each decision leaves.
 */
import { createHash } from 'node:crypto';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import type { AuditRecord } from '../../src/audit/audit-record.ts';
import { keySourceFor } from '../../src/auth/key-source.ts';
import { createTokenVerifier } from '../../src/auth/verify-token.ts';
import { systemClock } from '../../src/clock.ts';
import { DEV_AUDIENCE, DEV_ISSUER } from '../../src/config.ts';
import { WriteOutcomeUnknownError } from '../../src/errors.ts';
import { silentLogger } from '../../src/log.ts';
import { PolicyEngine } from '../../src/policy/engine.ts';
import { loadPolicyDir } from '../../src/policy/load-policies.ts';
import type { PackageKey, Store, VersionCommit } from '../../src/store/store.ts';
import { createSyncWorker } from '../../src/sync/sync-worker.ts';
import { CHALK, testGateway, type TestGateway } from '../helpers/gateway.ts';

const OWNER = 'domain=my_domain&domain-owner=111122223333';
const TOOL = `${OWNER}&repository=my_repo&format=generic&namespace=acme&package=tool`;
const TOOL_KEY: PackageKey = { domainOwner: '111122223333', domain: 'my_domain', repository: 'my_repo', format: 'generic', namespace: 'acme', name: 'tool' };
const TOOL_ARN = 'arn:aws:codeartifact:us-east-1:111122223333:package/my_domain/my_repo/generic/acme/tool';
const PUBLISH = '/v1/package/version/publish';
const LIST = '/v1/package/versions';
const DESCRIBE = '/v1/package/version';
const ASSETS = '/v1/package/version/assets';
const ASSET = '/v1/package/version/asset';
const DELETE = '/v1/package/versions/delete';
const UPDATE = '/v1/package/versions/update_status';
const DISPOSE = '/v1/package/versions/dispose';

const sha256 = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

describe('the package API over HTTP', () => {
  let gw: TestGateway;
  /** publishers, developers, release managers and security: everything the shipped policies allow in my_repo. */
  let all: string;
  let reader: string;

  const publishTo = (app: TestGateway['app'], token: string | undefined, query: string, body: string | ReadableStream<Uint8Array>, sha: string, headers: Record<string, string> = {}) =>
    app.request(`${PUBLISH}?${query}`, {
      method: 'POST',
      body,
      headers: { 'x-amz-content-sha256': sha, 'content-type': 'application/octet-stream', ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
      ...(body instanceof ReadableStream ? { duplex: 'half' } : {}),
    } as RequestInit);
  const publish = (version: string, asset: string, bytes: string, opts: { unfinished?: boolean; token?: string; query?: string } = {}) =>
    publishTo(gw.app, opts.token ?? all, `${opts.query ?? TOOL}&version=${version}&asset=${encodeURIComponent(asset)}${opts.unfinished ? '&unfinished=true' : ''}`, bytes, sha256(bytes));
  const call = (method: 'GET' | 'POST', path: string, token: string | undefined = all) =>
    gw.app.request(path, { method, headers: token ? { authorization: `Bearer ${token}` } : {} });
  const newest = async (n = 1): Promise<AuditRecord[]> => (await gw.store.listAudit({ limit: n })).reverse();
  const auditCount = async () => (await gw.store.auditHead())?.seq ?? 0;
  const blobFiles = () => readdirSync(join(gw.dataDir, 'data', 'blobs'), { recursive: true }).filter((f) => /[0-9a-f]{32}/.test(String(f)));
  const setStatus = (versions: string[], targetStatus: string) => gw.post(`${UPDATE}?${TOOL}`, { versions, targetStatus }, all);

  beforeEach(async () => {
    gw = await testGateway();
    all = await gw.token('pat', ['publishers', 'developers', 'release-managers', 'security']);
    reader = await gw.token('dev', ['developers']);
  });
  afterEach(() => gw.close());

  describe('PublishPackageVersion', () => {
    it('creates the package and a Published version, stores the bytes, and records the change', async () => {
      const res = await publish('1.0.0', 'tool.tar.gz', 'the bytes');
      expect(res.status).toBe(200);
      const body = await res.json();
      expect(body).toEqual({
        format: 'generic',
        namespace: 'acme',
        package: 'tool',
        version: '1.0.0',
        versionRevision: expect.stringMatching(/^[A-Za-z0-9+/]{43}=$/),
        status: 'Published',
        asset: {
          name: 'tool.tar.gz',
          size: 9,
          hashes: {
            MD5: createHash('md5').update('the bytes').digest('hex'),
            'SHA-1': createHash('sha1').update('the bytes').digest('hex'),
            'SHA-256': sha256('the bytes'),
            'SHA-512': createHash('sha512').update('the bytes').digest('hex'),
          },
        },
      });
      const [record] = await newest();
      expect(record).toMatchObject({
        action: 'PublishPackageVersion',
        resource: TOOL_ARN,
        decision: 'allow',
        determiningPolicies: ['publishers-publish-to-my-domain'],
        outcome: 'applied',
        httpStatus: 200,
        request: { versions: ['1.0.0'], assetName: 'tool.tar.gz', assetSHA256: sha256('the bytes'), unfinished: false, assetSize: 9 },
        changes: [{ version: '1.0.0', before: { status: 'Deleted', revision: '' }, after: { status: 'Published', revision: body.versionRevision } }],
      });
      expect(await gw.store.pendingBlobDeletions()).toEqual([]);
    });

    it('keeps a version Unfinished until the call that omits unfinished, each asset a new revision', async () => {
      const a = await (await publish('2.0.0', 'a.bin', 'A', { unfinished: true })).json();
      expect(a.status).toBe('Unfinished');
      const b = await (await publish('2.0.0', 'b.bin', 'B', { unfinished: true })).json();
      expect(b.status).toBe('Unfinished');
      expect(b.versionRevision).not.toBe(a.versionRevision);
      const c = await (await publish('2.0.0', 'c.bin', 'C')).json();
      expect(c.status).toBe('Published');
      const assets = await (await call('POST', `${ASSETS}?${TOOL}&version=2.0.0`)).json();
      expect(assets.assets.map((x: { name: string }) => x.name)).toEqual(['a.bin', 'b.bin', 'c.bin']);
      expect(assets.versionRevision).toBe(c.versionRevision);
    });

    it('the same asset again is a harmless retry; other bytes or more assets are 409 ConflictException', async () => {
      const first = await (await publish('1.0.0', 'a.bin', 'A')).json();
      const before = await auditCount();
      const retry = await publish('1.0.0', 'a.bin', 'A');
      expect(retry.status).toBe(200);
      expect((await retry.json()).versionRevision).toBe(first.versionRevision);
      expect((await newest())[0]).toMatchObject({ outcome: 'applied', changes: [] });

      const other = await publish('1.0.0', 'a.bin', 'not A');
      expect(other.status).toBe(409);
      expect(other.headers.get('x-amzn-errortype')).toBe('ConflictException');
      expect(await other.json()).toMatchObject({ resourceType: 'asset', resourceId: 'a.bin', message: expect.stringContaining('different content') });
      const more = await publish('1.0.0', 'b.bin', 'B');
      expect(more.status).toBe(409);
      expect(await more.json()).toMatchObject({ resourceType: 'package-version', message: 'version 1.0.0 is Published: assets can be added only while a version is Unfinished; delete the version to publish it again' });
      const back = await publish('1.0.0', 'a.bin', 'A', { unfinished: true });
      expect((await back.json()).message).toContain('cannot become Unfinished');
      // One record per decision; refused uploads leave no bytes.
      expect((await newest(3)).map((r) => [r.outcome, r.httpStatus])).toEqual([['rejected', 409], ['rejected', 409], ['rejected', 409]]);
      expect(await auditCount()).toBe(before + 4);
      expect(blobFiles()).toHaveLength(1 + 6); // the seed's six assets and ours
    });

    it('checks x-amz-content-sha256 against the bytes: a mismatch is 400 and keeps nothing', async () => {
      const res = await publishTo(gw.app, all, `${TOOL}&version=1.0.0&asset=a.bin`, 'these bytes', sha256('other bytes'));
      expect(res.status).toBe(400);
      expect(res.headers.get('x-amzn-errortype')).toBe('ValidationException');
      expect((await res.json()).message).toBe(`x-amz-content-sha256 does not match the asset: its SHA-256 is ${sha256('these bytes')}, the request declared ${sha256('other bytes')}`);
      expect((await newest())[0]).toMatchObject({ action: 'PublishPackageVersion', decision: 'allow', outcome: 'rejected', httpStatus: 400 });
      expect((await gw.store.readVersion({ domainOwner: '111122223333', domain: 'my_domain', repository: 'my_repo', format: 'generic', namespace: 'acme', name: 'tool' }, '1.0.0')).packageId).toBeNull();
      expect(blobFiles()).toHaveLength(6);
      expect(await gw.store.pendingBlobDeletions()).toEqual([]);
    });

    it('takes an asset name with single spaces inside it, as CodeArtifact does, and gives it back on download', async () => {
      expect((await publish('1.0.0', 'my tool 1.0.bin', 'spaced')).status).toBe(200);
      await gw.sync();
      const res = await call('GET', `${ASSET}?${TOOL}&version=1.0.0&asset=${encodeURIComponent('my tool 1.0.bin')}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('x-assetname')).toBe('my tool 1.0.bin');
      expect(await res.text()).toBe('spaced');
    });

    it('refuses bad requests before the token is even read (400, not audited)', async () => {
      const before = await auditCount();
      const cases: Array<[string, string, string]> = [
        [`${TOOL}&version=1.0.0&asset=a.bin`, 'not-a-sha', 'x-amz-content-sha256 must be'],
        [`${TOOL}&version=1.0.0&asset=a%2Fb`, sha256('x'), 'asset must be'],
        [`${TOOL}&version=1.0.0&asset=..`, sha256('x'), 'only dots'],
        [`${TOOL}&version=1.0.0&asset=%20lead.bin`, sha256('x'), 'single spaces between them'],
        [`${TOOL}&version=1.0.0&asset=trail.bin%20`, sha256('x'), 'single spaces between them'],
        [`${TOOL}&version=1.0.0&asset=two%20%20spaces.bin`, sha256('x'), 'single spaces between them'],
        [`${OWNER}&repository=my_repo&format=npm&package=chalk&version=9.0.0&asset=a.tgz`, sha256('x'), 'only generic packages'],
        [`${TOOL}&version=1.0.0&asset=a.bin&unfinished=yes`, sha256('x'), 'unfinished'],
        [`${TOOL}&asset=a.bin`, sha256('x'), 'version'],
      ];
      for (const [query, sha, message] of cases) {
        const res = await publishTo(gw.app, undefined, query, 'x', sha);
        expect(res.status, query).toBe(400);
        expect((await res.json()).message).toContain(message);
      }
      const noHeader = await gw.app.request(`${PUBLISH}?${TOOL}&version=1.0.0&asset=a.bin`, { method: 'POST', body: 'x' });
      expect(noHeader.status).toBe(400);
      expect(await auditCount()).toBe(before);
    });

    it('a denied publish is answered before the body is read', async () => {
      let pulled = 0;
      const endless = new ReadableStream<Uint8Array>({
        pull(c) {
          pulled++;
          c.enqueue(new Uint8Array(64 * 1024));
        },
      });
      const res = await publishTo(gw.app, reader, `${TOOL}&version=1.0.0&asset=a.bin`, endless, sha256('x'));
      expect(res.status).toBe(403);
      expect((await res.json()).message).toBe(`User: dev is not authorized to perform: codeartifact:PublishPackageVersion on resource: ${TOOL_ARN}`);
      expect(pulled).toBeLessThanOrEqual(2); // at most what the stream buffers on its own
      expect((await newest())[0]).toMatchObject({ action: 'PublishPackageVersion', decision: 'deny', outcome: 'denied', reason: 'no_permit' });
    });

    it('a version that cannot take the asset is refused before the body is read', async () => {
      await publish('1.0.0', 'a.bin', 'A');
      let pulled = 0;
      const endless = new ReadableStream<Uint8Array>({
        pull(c) {
          pulled++;
          c.enqueue(new Uint8Array(64 * 1024));
        },
      });
      const res = await publishTo(gw.app, all, `${TOOL}&version=1.0.0&asset=b.bin`, endless, sha256('x'));
      expect(res.status).toBe(409);
      expect(pulled).toBeLessThanOrEqual(2);
    });

    it('404 for a domain or repository that does not exist (after the allow); a new package is created', async () => {
      const res = await publish('1.0.0', 'a.bin', 'A', { query: `${OWNER}&repository=nope&format=generic&namespace=acme&package=tool` });
      // The publishers' permit covers every repository of my_domain, so this is allowed, then not found.
      expect(res.status).toBe(404);
      expect(await res.json()).toMatchObject({ resourceType: 'repository', resourceId: 'nope' });
      expect((await newest())[0]).toMatchObject({ outcome: 'not_found', httpStatus: 404 });
    });

    /** The app on the test gateway's store and blobs, with a store of the test's choosing and a bound. */
    const appWith = (options: { store?: Store; maxAssetBytes?: number }) => {
      const verifier = createTokenVerifier({
        keySource: keySourceFor({ mode: 'dev', issuer: DEV_ISSUER, audience: DEV_AUDIENCE }, gw.devKey),
        issuer: DEV_ISSUER,
        audience: DEV_AUDIENCE,
        groupsClaim: 'groups',
        clock: systemClock,
        clockToleranceSeconds: 0,
      });
      const engine = new PolicyEngine(loadPolicyDir(gw.policyDir));
      return createApp({ store: options.store ?? gw.store, blobs: gw.blobs, authorizer: () => engine, clock: systemClock, region: 'us-east-1', logger: silentLogger, verifier, maxAssetBytes: options.maxAssetBytes });
    };
    /** The store, with commitVersionChanges replaced for the test. */
    const storeWith = (commit: (real: Store['commitVersionChanges'], c: VersionCommit) => ReturnType<Store['commitVersionChanges']>): Store =>
      new Proxy(gw.store, {
        get: (target, property, receiver) =>
          property === 'commitVersionChanges' ? (c: VersionCommit) => commit((x) => target.commitVersionChanges(x), c) : Reflect.get(target, property, receiver),
      });

    it('a version changed by another publish during the upload is decided again on its new state', async () => {
      await publish('1.0.0', 'a.bin', 'A', { unfinished: true });
      let raced = false;
      const app = appWith({
        store: storeWith(async (real, c) => {
          if (!raced) {
            raced = true;
            // Another publish lands between this request's read and its commit.
            expect((await publish('1.0.0', 'b.bin', 'B', { unfinished: true })).status).toBe(200);
          }
          return real(c);
        }),
      });
      const res = await publishTo(app, all, `${TOOL}&version=1.0.0&asset=c.bin`, 'C', sha256('C'));
      expect(res.status).toBe(200);
      expect((await res.json()).status).toBe('Published');
      // The racing publish's record, then this one's, whose change starts from the racer's revision.
      const [racer, mine] = await newest(2);
      expect(mine!.changes[0]!.before.revision).toBe(racer!.changes[0]!.after.revision);
      const assets = await (await call('POST', `${ASSETS}?${TOOL}&version=1.0.0`)).json();
      expect(assets.assets.map((a: { name: string }) => a.name)).toEqual(['a.bin', 'b.bin', 'c.bin']);
    });

    it('an upload whose reservation was reclaimed before its commit is a 503 to retry, and publishes nothing', async () => {
      const app = appWith({
        store: storeWith(async (real, c) => {
          // What a sweep does to a reservation it takes for an orphan's: the queued removal is done and forgotten.
          await gw.blobs.remove(c.publish!.asset!.blobKey);
          await gw.store.forgetBlobDeletions([c.publish!.asset!.blobKey]);
          return real(c);
        }),
      });
      const res = await publishTo(app, all, `${TOOL}&version=1.0.0&asset=a.bin`, 'A', sha256('A'));
      expect(res.status).toBe(503);
      expect(res.headers.get('x-amzn-errortype')).toBe('ServiceUnavailableException');
      expect(res.headers.get('retry-after')).toBe('5');
      expect((await res.json()).message).toMatch(/reclaimed before it committed.*Nothing was published; upload the asset again/);
      expect((await newest())[0]).toMatchObject({ action: 'PublishPackageVersion', decision: 'allow', outcome: 'rejected', httpStatus: 503 });
      expect((await call('POST', `${DESCRIBE}?${TOOL}&version=1.0.0`)).status).toBe(404);
      // The same upload again succeeds.
      expect((await publish('1.0.0', 'a.bin', 'A')).status).toBe(200);
    });

    it('a commit whose outcome is unknown (its connection broke as it committed) is a 503, and no failure is recorded beside what may have committed', async () => {
      const app = appWith({
        store: storeWith(async (real, c) => {
          // It did commit; its answer was lost, and the database could not be asked.
          await real(c);
          throw new WriteOutcomeUnknownError('The connection to the database failed (Connection terminated unexpectedly) as the write committed, and whether it was made could not be checked: read it before trying again.');
        }),
      });
      const res = await publishTo(app, all, `${TOOL}&version=1.0.0&asset=a.bin`, 'A', sha256('A'));
      expect(res.status).toBe(503);
      expect((await res.json()).message).toMatch(/read it before trying again/);
      expect((await newest())[0]).toMatchObject({ action: 'PublishPackageVersion', decision: 'allow', outcome: 'applied' });
      expect((await newest(5)).filter((r) => r.outcome === 'rejected')).toEqual([]);
    });

    it('a commit that fails is a 500 that keeps nothing, and its decision is still recorded', async () => {
      const app = appWith({ store: storeWith(async () => Promise.reject(new Error('disk on fire'))) });
      const res = await publishTo(app, all, `${TOOL}&version=1.0.0&asset=a.bin`, 'A', sha256('A'));
      expect(res.status).toBe(500);
      expect(res.headers.get('x-amzn-errortype')).toBe('InternalServerException');
      expect((await res.json()).message).not.toContain('disk on fire');
      expect((await newest())[0]).toMatchObject({ action: 'PublishPackageVersion', decision: 'allow', outcome: 'rejected', httpStatus: 500 });
      expect(blobFiles()).toHaveLength(6);
      expect(await gw.store.pendingBlobDeletions()).toEqual([]);
    });

    describe('with a small VERSIONGATE_MAX_ASSET_SIZE', () => {
      const smallApp = async () => appWith({ maxAssetBytes: 1000 });

      it('a declared Content-Length over the bound is 413 before anything else', async () => {
        const app = await smallApp();
        const before = await auditCount();
        const res = await publishTo(app, all, `${TOOL}&version=1.0.0&asset=a.bin`, 'x'.repeat(1001), sha256('x'.repeat(1001)), { 'content-length': '1001' });
        expect(res.status).toBe(413);
        expect(res.headers.get('x-amzn-errortype')).toBe('ValidationException');
        expect(await auditCount()).toBe(before);
      });

      it('a chunked body is cut off as soon as it crosses the bound (413), and nothing is kept', async () => {
        const app = await smallApp();
        let pulled = 0;
        const endless = new ReadableStream<Uint8Array>({
          pull(c) {
            pulled++;
            c.enqueue(new Uint8Array(300));
          },
        });
        const res = await publishTo(app, all, `${TOOL}&version=1.0.0&asset=a.bin`, endless, sha256('x'));
        expect(res.status).toBe(413);
        expect((await res.json()).message).toContain('larger than 1000 bytes');
        expect(pulled).toBeLessThan(8);
        expect((await newest())[0]).toMatchObject({ outcome: 'rejected', httpStatus: 413 });
        expect(blobFiles()).toHaveLength(6);
        expect(await gw.store.pendingBlobDeletions()).toEqual([]);
      });

      it('JSON bodies keep their own 1 MiB bound', async () => {
        const app = await smallApp();
        const res = await app.request(`${DELETE}?${TOOL}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${all}` }, body: JSON.stringify({ versions: ['1.0.0'], pad: 'x'.repeat(2_000_000) }) });
        expect(res.status).toBe(413);
      });
    });
  });

  describe('ListPackageVersions', () => {
    beforeEach(async () => {
      for (const v of ['1.0.0', '1.1.0', '1.2.0', '2.0.0', '2.1.0']) await publish(v, 'a.bin', v);
      await publish('3.0.0-rc', 'a.bin', 'rc', { unfinished: true });
      await setStatus(['1.1.0'], 'Unlisted');
      await setStatus(['1.2.0'], 'Archived');
    });
    const versions = async (query: string, token = all) => {
      const res = await call('POST', `${LIST}?${TOOL}${query}`, token);
      expect(res.status).toBe(200);
      return res.json();
    };

    it('lists every version but Unlisted ones by default, with its revision, status and origin', async () => {
      const body = await versions('');
      expect(body).toMatchObject({ defaultDisplayVersion: '2.1.0', format: 'generic', namespace: 'acme', package: 'tool' });
      expect(body.versions.map((v: { version: string; status: string }) => [v.version, v.status])).toEqual([
        ['1.0.0', 'Published'],
        ['1.2.0', 'Archived'],
        ['2.0.0', 'Published'],
        ['2.1.0', 'Published'],
        ['3.0.0-rc', 'Unfinished'],
      ]);
      expect(body.versions[0]).toEqual({ version: '1.0.0', identifier: expect.stringMatching(/^[0-9A-Za-z]{12}$/), revision: expect.stringMatching(/=$/), status: 'Published', origin: { domainEntryPoint: { repositoryName: 'my_repo' }, originType: 'INTERNAL' } });
      expect(body.nextToken).toBeUndefined();
    });

    it('shows Unlisted versions when asked for by status, and exactly the status asked for', async () => {
      expect((await versions('&status=Unlisted')).versions.map((v: { version: string }) => v.version)).toEqual(['1.1.0']);
      expect((await versions('&status=Archived')).versions.map((v: { version: string }) => v.version)).toEqual(['1.2.0']);
      expect((await versions('&status=Deleted')).versions).toEqual([]);
      expect((await versions('&originType=EXTERNAL')).versions).toEqual([]);
      expect((await versions('&originType=INTERNAL')).versions).toHaveLength(5);
    });

    it('pages with max-results and next-token, by version or newest first', async () => {
      const walk = async (query: string) => {
        const pages: string[][] = [];
        let token: string | undefined;
        do {
          const body = await versions(`${query}&max-results=2${token ? `&next-token=${encodeURIComponent(token)}` : ''}`);
          pages.push(body.versions.map((v: { version: string }) => v.version));
          token = body.nextToken;
        } while (token);
        return pages;
      };
      expect(await walk('')).toEqual([['1.0.0', '1.2.0'], ['2.0.0', '2.1.0'], ['3.0.0-rc']]);
      expect(await walk('&sortBy=PUBLISHED_TIME')).toEqual([['3.0.0-rc', '2.1.0'], ['2.0.0', '1.2.0'], ['1.0.0']]);
    });

    it('refuses a token edited, or issued for another package or other filters (400)', async () => {
      const { nextToken } = await versions('&max-results=1');
      const chalk = await call('POST', `${LIST}?${CHALK}&max-results=1&next-token=${encodeURIComponent(nextToken)}`);
      expect(chalk.status).toBe(400);
      expect((await chalk.json()).message).toContain('next-token is not a token this listing issued');
      expect((await newest())[0]).toMatchObject({ action: 'ListPackageVersions', decision: 'allow', outcome: 'rejected', httpStatus: 400 });
      for (const query of [`&status=Published&next-token=${encodeURIComponent(nextToken)}`, `&sortBy=PUBLISHED_TIME&next-token=${encodeURIComponent(nextToken)}`, `&next-token=${encodeURIComponent(`${nextToken.slice(0, -2)}AA`)}`]) {
        expect((await call('POST', `${LIST}?${TOOL}${query}`)).status, query).toBe(400);
      }
    });

    it('validates max-results and the enums before the token (400, not audited)', async () => {
      const before = await auditCount();
      for (const query of ['&max-results=0', '&max-results=1001', '&max-results=x', '&status=Gone', '&sortBy=NAME', '&originType=OTHER']) {
        expect((await call('POST', `${LIST}?${TOOL}${query}`, undefined)).status, query).toBe(400);
      }
      expect(await auditCount()).toBe(before);
    });

    it('records one read per listing; a principal with no permit gets 403, and 404 comes only after an allow', async () => {
      const before = await auditCount();
      await versions('');
      expect(await auditCount()).toBe(before + 1);
      expect((await newest())[0]).toMatchObject({ action: 'ListPackageVersions', outcome: 'read', httpStatus: 200, determiningPolicies: ['teams-read-my-domain'] });

      const nobody = await gw.token('eve', []);
      const denied = await call('POST', `${LIST}?${TOOL}`, nobody);
      expect(denied.status).toBe(403);
      const hidden = await call('POST', `${LIST}?${OWNER}&repository=my_repo&format=generic&namespace=acme&package=nothing`, nobody);
      expect(hidden.status).toBe(403);
      const missing = await call('POST', `${LIST}?${OWNER}&repository=my_repo&format=generic&namespace=acme&package=nothing`, reader);
      expect(missing.status).toBe(404);
      expect(await missing.json()).toMatchObject({ resourceType: 'package', resourceId: 'nothing' });
      // Without domain-owner, nothing is looked up before Cedar either: a domain that does not exist
      // is a 403 to a principal with no permit, not a 404 telling it which names exist.
      const noOwner = await call('POST', `${LIST}?domain=no_such_domain&repository=my_repo&format=generic&namespace=acme&package=tool`, nobody);
      expect(noOwner.status).toBe(403);
      expect((await noOwner.json()).message).toBe('User: eve is not authorized to perform: codeartifact:ListPackageVersions on resource: arn:aws:codeartifact:us-east-1:111122223333:package/no_such_domain/my_repo/generic/acme/tool');
    });
  });

  describe('DescribePackageVersion and ListPackageVersionAssets', () => {
    it('describes a version as CodeArtifact does', async () => {
      const published = await (await publish('1.0.0', 'a.bin', 'A')).json();
      const res = await call('GET', `${DESCRIBE}?${TOOL}&version=1.0.0`, reader);
      expect(res.status).toBe(200);
      const { packageVersion } = await res.json();
      expect(packageVersion).toEqual({
        format: 'generic',
        namespace: 'acme',
        packageName: 'tool',
        displayName: 'acme/tool',
        version: '1.0.0',
        identifier: expect.stringMatching(/^[0-9A-Za-z]{12}$/),
        publishedTime: expect.any(Number),
        revision: published.versionRevision,
        status: 'Published',
        origin: { domainEntryPoint: { repositoryName: 'my_repo' }, originType: 'INTERNAL' },
      });
      expect(Math.abs(packageVersion.publishedTime * 1000 - Date.now())).toBeLessThan(60_000);
      const npm = await (await call('GET', `${DESCRIBE}?${OWNER}&repository=my_repo&format=npm&namespace=nestjs&package=core&version=8.0.0`, reader)).json();
      expect(npm.packageVersion).toMatchObject({ format: 'npm', namespace: 'nestjs', packageName: 'core', displayName: '@nestjs/core' });
    });

    it('404 for a version that does not exist or was deleted', async () => {
      await publish('1.0.0', 'a.bin', 'A');
      await gw.post(`${DELETE}?${TOOL}`, { versions: ['1.0.0'] }, all);
      for (const v of ['1.0.0', '9.9.9']) {
        const res = await call('GET', `${DESCRIBE}?${TOOL}&version=${v}`, reader);
        expect(res.status).toBe(404);
        expect(await res.json()).toMatchObject({ resourceType: 'package-version', resourceId: v });
        expect((await call('POST', `${ASSETS}?${TOOL}&version=${v}`, reader)).status).toBe(404);
      }
      expect((await newest())[0]).toMatchObject({ action: 'ListPackageVersionAssets', outcome: 'not_found', httpStatus: 404 });
    });

    it('pages assets; a disposed version has none left', async () => {
      for (const name of ['b', 'a', 'c']) await publish('1.0.0', `${name}.bin`, name, { unfinished: name !== 'c' });
      const first = await (await call('POST', `${ASSETS}?${TOOL}&version=1.0.0&max-results=2`, reader)).json();
      expect(first.assets.map((a: { name: string }) => a.name)).toEqual(['a.bin', 'b.bin']);
      expect(first.assets[0].hashes['SHA-256']).toBe(sha256('a'));
      const second = await (await call('POST', `${ASSETS}?${TOOL}&version=1.0.0&max-results=2&next-token=${encodeURIComponent(first.nextToken)}`, reader)).json();
      expect(second.assets.map((a: { name: string }) => a.name)).toEqual(['c.bin']);
      expect(second.nextToken).toBeUndefined();
      // A token for this version's assets is not one for another version's.
      await publish('2.0.0', 'a.bin', 'a');
      expect((await call('POST', `${ASSETS}?${TOOL}&version=2.0.0&next-token=${encodeURIComponent(first.nextToken)}`, reader)).status).toBe(400);

      await gw.post(`${DISPOSE}?${TOOL}`, { versions: ['1.0.0'] }, all);
      const disposed = await (await call('POST', `${ASSETS}?${TOOL}&version=1.0.0`, reader)).json();
      expect(disposed.assets).toEqual([]);
    });
  });

  describe('GetPackageVersionAsset', () => {
    it('streams the bytes with CodeArtifact headers', async () => {
      const published = await (await publish('1.0.0', 'tool.tar.gz', 'tarball bytes')).json();
      await gw.sync();
      // The completed sync set a new revision: the download names that one.
      const revision = (await (await call('GET', `${DESCRIBE}?${TOOL}&version=1.0.0`, reader)).json()).packageVersion.revision;
      expect(revision).not.toBe(published.versionRevision);
      const res = await call('GET', `${ASSET}?${TOOL}&version=1.0.0&asset=tool.tar.gz&revision=${encodeURIComponent(revision)}`, reader);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/octet-stream');
      expect(res.headers.get('content-length')).toBe('13');
      expect(res.headers.get('x-assetname')).toBe('tool.tar.gz');
      expect(res.headers.get('x-packageversion')).toBe('1.0.0');
      expect(res.headers.get('x-packageversionrevision')).toBe(revision);
      expect(await res.text()).toBe('tarball bytes');
      expect((await newest())[0]).toMatchObject({ action: 'GetPackageVersionAsset', outcome: 'read', request: { versions: ['1.0.0'], asset: 'tool.tar.gz', revision } });
    });

    it('downloads Unlisted versions; refuses Unfinished, Archived and Disposed ones with 409 and no bytes', async () => {
      await publish('1.0.0', 'a.bin', 'A');
      await publish('2.0.0', 'a.bin', 'A', { unfinished: true });
      await gw.sync();
      await setStatus(['1.0.0'], 'Unlisted');
      expect((await call('GET', `${ASSET}?${TOOL}&version=1.0.0&asset=a.bin`, reader)).status).toBe(200);

      const refused = async (version: string, status: string) => {
        const res = await call('GET', `${ASSET}?${TOOL}&version=${version}&asset=a.bin`, reader);
        expect(res.status).toBe(409);
        expect(res.headers.get('x-amzn-errortype')).toBe('ConflictException');
        expect(res.headers.get('content-type')).toBe('application/json');
        const body = await res.json();
        expect(body).toMatchObject({ resourceType: 'package-version', resourceId: version });
        expect(body.message).toContain(`cannot be downloaded: it is ${status}`);
        expect((await newest())[0]).toMatchObject({ outcome: 'rejected', httpStatus: 409 });
      };
      await refused('2.0.0', 'Unfinished');
      await setStatus(['1.0.0'], 'Archived');
      await refused('1.0.0', 'Archived');
      await gw.post(`${DISPOSE}?${TOOL}`, { versions: ['1.0.0'] }, all);
      await refused('1.0.0', 'Disposed');
    });

    it('refuses a revision that is not the current one, and names a missing asset', async () => {
      await publish('1.0.0', 'a.bin', 'A');
      await gw.sync();
      const stale = await call('GET', `${ASSET}?${TOOL}&version=1.0.0&asset=a.bin&revision=old`, reader);
      expect(stale.status).toBe(409);
      expect((await stale.json()).message).toContain('requested revision: old');
      const missing = await call('GET', `${ASSET}?${TOOL}&version=1.0.0&asset=b.bin`, reader);
      expect(missing.status).toBe(404);
      expect(await missing.json()).toMatchObject({ resourceType: 'asset', resourceId: 'b.bin' });
    });

    it('a principal with no permit gets 403 and no bytes', async () => {
      await publish('1.0.0', 'a.bin', 'A');
      const res = await call('GET', `${ASSET}?${TOOL}&version=1.0.0&asset=a.bin`, await gw.token('eve', []));
      expect(res.status).toBe(403);
      expect((await res.json()).message).toContain('codeartifact:GetPackageVersionAsset');
    });
  });

  describe('synchronisation of what is published', () => {
    const download = (asset = 'a.bin') => call('GET', `${ASSET}?${TOOL}&version=1.0.0&asset=${asset}`, reader);
    const describeTool = async () => (await (await call('GET', `${DESCRIBE}?${TOOL}&version=1.0.0`, reader)).json()).packageVersion;
    const syncStatus = async () => (await call('GET', `/v1/packages/my_domain/my_repo/${(await describeTool()).identifier}/status/`, reader)).json();
    const refusedYet = async (why: RegExp) => {
      const res = await download();
      expect(res.status).toBe(409);
      expect(res.headers.get('x-amzn-errortype')).toBe('ConflictException');
      expect((await res.json()).message).toMatch(why);
      expect((await newest())[0]).toMatchObject({ action: 'GetPackageVersionAsset', decision: 'allow', outcome: 'rejected', httpStatus: 409 });
    };

    it('a published version is downloadable only once its sync completes, which sets a new revision', async () => {
      const published = await (await publish('1.0.0', 'a.bin', 'A')).json();
      expect(await syncStatus()).toMatchObject({ status_str: 'Awaiting Synchronisation', is_sync_awaiting: true, is_resyncable: false });
      await refusedYet(/^version 1\.0\.0 of package acme\/tool cannot be downloaded yet: it is awaiting synchronisation/);
      expect(await gw.sync()).toBe(1);
      expect(await syncStatus()).toMatchObject({ status_str: 'Completed', is_sync_completed: true, sync_progress: 100 });
      const res = await download();
      expect(res.status).toBe(200);
      expect(await res.text()).toBe('A');
      expect(res.headers.get('x-packageversionrevision')).not.toBe(published.versionRevision);
      expect(res.headers.get('x-packageversionrevision')).toBe((await describeTool()).revision);
    });

    it("an Unfinished version's sync waits for its last asset, then checks every asset once", async () => {
      await publish('1.0.0', 'a.bin', 'A', { unfinished: true });
      const unfinished = (await describeTool()).revision;
      expect(await syncStatus()).toMatchObject({ is_sync_awaiting: true });
      // Nothing runs between uploads: no sync to be superseded, no revision changing under the next upload.
      // It is not counted as queued either: an abandoned upload must not look like a stuck queue.
      expect(await gw.store.countSyncJobs()).toMatchObject({ awaiting: 0, waiting_for_assets: 1 });
      expect(await gw.sync()).toBe(0);
      expect((await describeTool()).revision).toBe(unfinished);
      expect((await publish('1.0.0', 'b.bin', 'B')).status).toBe(200);
      const job = (await gw.store.claimSyncJob())!;
      expect(job.assets.map((a) => a.name)).toEqual(['a.bin', 'b.bin']);
      await gw.store.failSyncAttempt(job, 'put back for the test', new Date(0).toISOString());
      expect(await gw.sync()).toBe(1);
      expect((await download('a.bin')).status).toBe(200);
      expect((await download('b.bin')).status).toBe(200);
    });

    it('a publish while a sync runs supersedes it: that sync changes nothing, the next one checks the new asset', async () => {
      await publish('1.0.0', 'a.bin', 'A');
      const running = (await gw.store.claimSyncJob())!;
      expect(running.assets.map((a) => a.name)).toEqual(['a.bin']);
      // Deleted and published again while that sync still runs.
      expect((await gw.post(`${DELETE}?${TOOL}`, { versions: ['1.0.0'] }, all)).status).toBe(200);
      await publish('1.0.0', 'b.bin', 'B');
      const revision = (await describeTool()).revision;
      const noMetadata = { summary: null, homePage: null, sourceCodeRepository: null, licenses: null };
      expect(await gw.store.completeSync(running, noMetadata, 'from-the-old-sync', (await newest())[0]!)).toBe('superseded');
      expect((await describeTool()).revision).toBe(revision);
      expect(await syncStatus()).toMatchObject({ is_sync_awaiting: true });
      const next = (await gw.store.claimSyncJob())!;
      expect(next.assets.map((a) => a.name)).toEqual(['b.bin']);
      await gw.store.failSyncAttempt(next, 'put back for the test', new Date(0).toISOString());
      expect(await gw.sync()).toBe(1);
      expect(await (await download('b.bin')).text()).toBe('B');
    });

    it('a failed sync keeps the version unavailable and says why; a resync after repair makes it available', async () => {
      await publish('1.0.0', 'a.bin', 'original');
      const path = gw.blobs.pathOf((await gw.store.readVersion(TOOL_KEY, '1.0.0', 'a.bin')).asset!.blobKey);
      writeFileSync(path, 'tampered');
      const once = createSyncWorker({ store: gw.store, blobs: gw.blobs, clock: systemClock, log: silentLogger, settings: { concurrency: 1, maxAttempts: 1, retryBaseMs: 0, pollMs: 10 } });
      expect(await once.runOnce()).toBe(true);
      expect(await syncStatus()).toMatchObject({ status_str: 'Sync Failure', is_sync_failed: true, is_resyncable: true, status_reason: expect.stringMatching(/^Asset a\.bin no longer matches its record/) });
      await refusedYet(/cannot be downloaded yet: its synchronisation failed \(Asset a\.bin no longer matches its record: .*\); repair the cause and resync it$/);
      writeFileSync(path, 'original');
      const { identifier } = await describeTool();
      expect((await gw.post(`/v1/packages/my_domain/my_repo/${identifier}/resync/`, {}, all)).status).toBe(200);
      await refusedYet(/it is awaiting synchronisation/);
      expect(await gw.sync()).toBe(1);
      expect(await (await download()).text()).toBe('original');
    });
  });

  describe('DeletePackageVersions', () => {
    it('deletes any status, removes the bytes after the commit, and the version can be published again', async () => {
      await publish('1.0.0', 'a.bin', 'A');
      await publish('2.0.0', 'a.bin', 'B', { unfinished: true });
      await setStatus(['1.0.0'], 'Archived');
      const files = blobFiles().length;
      const res = await gw.post(`${DELETE}?${TOOL}`, { versions: ['1.0.0', '2.0.0'] }, all);
      expect(res.status).toBe(200);
      const body = await res.json();
      expect(body.failedVersions).toEqual({});
      expect(body.successfulVersions).toEqual({ '1.0.0': { revision: expect.any(String), status: 'Deleted' }, '2.0.0': { revision: expect.any(String), status: 'Deleted' } });
      expect(blobFiles()).toHaveLength(files - 2);
      expect(await gw.store.pendingBlobDeletions()).toEqual([]);
      expect((await newest())[0]).toMatchObject({
        action: 'DeletePackageVersions',
        outcome: 'applied',
        changes: [
          { version: '1.0.0', before: { status: 'Archived' }, after: { status: 'Deleted' } },
          { version: '2.0.0', before: { status: 'Unfinished' }, after: { status: 'Deleted' } },
        ],
      });

      const oldIdentifier = (await gw.store.readVersion(TOOL_KEY, '1.0.0')).version!.identifier;
      const again = await publish('1.0.0', 'other.bin', 'new life');
      expect(again.status).toBe(200);
      const republished = await again.json();
      expect(republished.status).toBe('Published');
      expect((await newest())[0]!.changes[0]!.before).toEqual({ status: 'Deleted', revision: body.successfulVersions['1.0.0'].revision });
      const assets = await (await call('POST', `${ASSETS}?${TOOL}&version=1.0.0`)).json();
      expect(assets.assets.map((a: { name: string }) => a.name)).toEqual(['other.bin']);
      // Published again, it is a new version: a new identifier, and the old one names nothing now.
      const { identifier } = (await (await call('GET', `${DESCRIBE}?${TOOL}&version=1.0.0`)).json()).packageVersion;
      expect(identifier).not.toBe(oldIdentifier);
      expect((await call('GET', `/v1/packages/my_domain/my_repo/${oldIdentifier}/status/`)).status).toBe(404);
      expect((await call('GET', `/v1/packages/my_domain/my_repo/${identifier}/status/`)).status).toBe(200);
    });

    it('is all or nothing: a failing version skips the others; deleting twice is NOT_FOUND', async () => {
      await publish('1.0.0', 'a.bin', 'A');
      await publish('2.0.0', 'a.bin', 'B');
      const mismatch = await (await gw.post(`${DELETE}?${TOOL}`, { versions: ['1.0.0', '2.0.0'], expectedStatus: 'Archived' }, all)).json();
      expect(mismatch).toEqual({
        successfulVersions: {},
        failedVersions: {
          '1.0.0': { errorCode: 'MISMATCHED_STATUS', errorMessage: 'current status: Published, expected status: Archived' },
          '2.0.0': { errorCode: 'MISMATCHED_STATUS', errorMessage: 'current status: Published, expected status: Archived' },
        },
      });
      await gw.post(`${DELETE}?${TOOL}`, { versions: ['1.0.0'] }, all);
      const twice = await (await gw.post(`${DELETE}?${TOOL}`, { versions: ['1.0.0', '2.0.0'] }, all)).json();
      expect(twice.failedVersions).toEqual({
        '1.0.0': { errorCode: 'NOT_FOUND', errorMessage: 'version 1.0.0 does not exist' },
        '2.0.0': { errorCode: 'SKIPPED', errorMessage: 'version 2.0.0 is skipped' },
      });
      expect((await call('GET', `${DESCRIBE}?${TOOL}&version=2.0.0`)).status).toBe(200);
    });

    it('takes versionRevisions, which CodeArtifact does not (a versiongate extension): a revision since replaced refuses the delete', async () => {
      await publish('1.0.0', 'a.bin', 'A');
      const res = await gw.post(`${DELETE}?${TOOL}`, { versions: ['1.0.0'], versionRevisions: { '1.0.0': 'r' } }, all);
      expect(res.status).toBe(200);
      expect((await res.json()).failedVersions['1.0.0'].errorCode).toBe('MISMATCHED_REVISION');
      expect((await call('GET', `${DESCRIBE}?${TOOL}&version=1.0.0`)).status).toBe(200);
    });

    it('a deleted version no longer counts for status changes', async () => {
      await publish('1.0.0', 'a.bin', 'A');
      await gw.post(`${DELETE}?${TOOL}`, { versions: ['1.0.0'] }, all);
      const res = await (await setStatus(['1.0.0'], 'Published')).json();
      expect(res.failedVersions['1.0.0'].errorCode).toBe('NOT_FOUND');
    });
  });
});
