/**
 * ListPackageVersions' `include` (versiongate's extension): each version's publishedTime and sync
 * state in the listing's one Cedar decision and one audit record, only when asked; on SQLite and on
 * PostgreSQL, whose stores read the sync jobs each in their own way.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../src/audit/audit-record.ts';
import { CHALK, testGateway, type TestGateway } from '../helpers/gateway.ts';

const LIST = '/v1/package/versions';
const CHALK_KEY = { domainOwner: '111122223333', domain: 'my_domain', repository: 'my_repo', format: 'npm' as const, namespace: '', name: 'chalk' };
const NO_SYNC_LISTING = `@id("no-sync-in-listings")
forbid (principal, action == Action::"ListPackageVersions", resource)
when { context has include && context.include.contains("sync") };
`;

interface Summary {
  version: string;
  identifier: string;
  publishedTime?: number;
  sync?: Record<string, unknown>;
}

describe.each(['sqlite', 'postgres'] as const)('ListPackageVersions with include (%s)', (engine) => {
  let gw: TestGateway;
  afterEach(async () => gw?.close());

  const list = (query: string, token: string) => gw.app.request(`${LIST}?${CHALK}${query}`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
  const listed = async (query: string, token: string): Promise<{ versions: Summary[]; nextToken?: string }> => {
    const res = await list(query, token);
    expect(res.status, await res.clone().text()).toBe(200);
    return res.json();
  };
  const auditCount = async () => (await gw.store.auditHead())?.seq ?? 0;
  const newest = async (): Promise<AuditRecord> => (await gw.store.listAudit({ limit: 1 }))[0]!;

  it('adds publishedTime and sync only when asked, each exactly as DescribePackageVersion and the status path answer them', async () => {
    gw = await testGateway({ engine });
    const sam = await gw.token('sam', ['security', 'release-managers']);
    // One version's sync awaiting, the others completed: the sync objects differ from version to version.
    const id410 = (await gw.store.readVersion(CHALK_KEY, '4.1.0')).version!.identifier;
    expect((await gw.post(`/v1/packages/my_domain/my_repo/${id410}/resync/`, {}, sam)).status).toBe(200);

    const plain = await listed('', sam);
    expect(plain.versions.map((v) => Object.keys(v).sort())).toEqual(Array(3).fill(['identifier', 'origin', 'revision', 'status', 'version']));
    const onlyTime = await listed('&include=publishedTime', sam);
    expect(onlyTime.versions.map((v) => 'sync' in v)).toEqual([false, false, false]);
    const onlySync = await listed('&include=sync', sam);
    expect(onlySync.versions.map((v) => 'publishedTime' in v)).toEqual([false, false, false]);
    // Duplicates and either order are one and the same include.
    const both = await listed('&include=sync,publishedTime,sync', sam);
    expect(both.versions.map((v) => v.version)).toEqual(['4.0.0', '4.1.0', '4.1.1']);

    for (const v of both.versions) {
      const { packageVersion } = await (await gw.get(`/v1/package/version?${CHALK}&version=${v.version}`, sam)).json();
      const status = await (await gw.get(`/v1/packages/my_domain/my_repo/${v.identifier}/status/`, sam)).json();
      expect(v.publishedTime, v.version).toBe(packageVersion.publishedTime);
      expect(v.sync, v.version).toEqual(status);
      // Without the other word, the same values.
      expect(onlyTime.versions.find((o) => o.version === v.version)!.publishedTime).toBe(v.publishedTime);
      expect(onlySync.versions.find((o) => o.version === v.version)!.sync).toEqual(v.sync);
      // Everything else as the plain listing has it.
      const { publishedTime: _t, sync: _s, ...rest } = v;
      expect(rest).toEqual(plain.versions.find((o) => o.version === v.version));
    }
    expect(both.versions.find((v) => v.version === '4.1.0')!.sync).toMatchObject({ is_sync_awaiting: true, status_str: 'Awaiting Synchronisation' });
    expect(both.versions.find((v) => v.version === '4.1.1')!.sync).toMatchObject({ is_sync_completed: true, status_str: 'Completed' });
  });

  it('refuses an unknown include word with a 400 ValidationException naming it, before anything is authorized or recorded', async () => {
    gw = await testGateway({ engine });
    const sam = await gw.token('sam', ['security']);
    const before = await auditCount();
    const res = await list('&include=publishedTime,assets,Sync', sam);
    expect(res.status).toBe(400);
    expect(res.headers.get('x-amzn-errortype')).toBe('ValidationException');
    const body = await res.json();
    expect(body.reason).toBe('FIELD_VALIDATION_FAILED');
    expect(body.message).toBe('1 validation error(s) detected: include: unknown word(s) "assets", "Sync": include takes publishedTime and sync, separated by commas');
    for (const bad of ['', ',', 'sync,', ' sync']) {
      const r = await list(`&include=${encodeURIComponent(bad)}`, sam);
      expect(r.status, JSON.stringify(bad)).toBe(400);
      expect(r.headers.get('x-amzn-errortype')).toBe('ValidationException');
    }
    expect(await auditCount()).toBe(before);
  });

  it('is one Cedar decision and one audit record, whose request names the include', async () => {
    gw = await testGateway({ engine });
    const sam = await gw.token('sam', ['security']);
    const before = await auditCount();
    await listed('&include=sync,publishedTime', sam);
    expect(await auditCount()).toBe(before + 1);
    expect(await newest()).toMatchObject({
      action: 'ListPackageVersions',
      decision: 'allow',
      outcome: 'read',
      httpStatus: 200,
      determiningPolicies: ['teams-read-my-domain'],
      request: { include: ['publishedTime', 'sync'], maxResults: 50 },
    });
    await listed('', sam);
    expect((await newest()).request).not.toHaveProperty('include');
  });

  it('lets a policy forbid the sync include (403) and leave the plain listing and publishedTime alone', async () => {
    gw = await testGateway({ engine, policies: { 'no-sync-listing.cedar': NO_SYNC_LISTING } });
    const sam = await gw.token('sam', ['security']);
    const denied = await list('&include=publishedTime,sync', sam);
    expect(denied.status).toBe(403);
    expect(denied.headers.get('x-amzn-errortype')).toBe('AccessDeniedException');
    expect((await denied.json()).message).toBe('User: sam is not authorized to perform: codeartifact:ListPackageVersions on resource: arn:aws:codeartifact:us-east-1:111122223333:package/my_domain/my_repo/npm//chalk');
    expect(await newest()).toMatchObject({ action: 'ListPackageVersions', decision: 'deny', httpStatus: 403, determiningPolicies: ['no-sync-in-listings'], request: { include: ['publishedTime', 'sync'] } });

    expect((await listed('', sam)).versions).toHaveLength(3);
    expect((await listed('&include=publishedTime', sam)).versions.every((v) => typeof v.publishedTime === 'number')).toBe(true);
  });

  it('keeps the include on every page: a next-token continues the listing with it (and one issued without it)', async () => {
    gw = await testGateway({ engine });
    const sam = await gw.token('sam', ['security']);
    const pages: Summary[][] = [];
    let token: string | undefined;
    do {
      const page = await listed(`&include=publishedTime,sync&sortBy=PUBLISHED_TIME&max-results=2${token ? `&next-token=${encodeURIComponent(token)}` : ''}`, sam);
      pages.push(page.versions);
      token = page.nextToken;
    } while (token);
    expect(pages.map((p) => p.length)).toEqual([2, 1]);
    for (const v of pages.flat()) {
      expect(typeof v.publishedTime, v.version).toBe('number');
      expect(v.sync, v.version).toMatchObject({ identifier: v.identifier, version: v.version, is_sync_completed: true });
    }
    // The token is the listing's cursor, not its include: a page asked for without it goes on with it.
    const { nextToken } = await listed('&max-results=1', sam);
    const second = await listed(`&max-results=1&include=sync&next-token=${encodeURIComponent(nextToken!)}`, sam);
    expect(second.versions).toHaveLength(1);
    expect(second.versions[0]!.sync).toMatchObject({ version: second.versions[0]!.version });
  });
});
