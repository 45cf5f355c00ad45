/**
 * What one view of the versions page writes to the audit log: each of its API calls is audited, so
 * the page asks only what it shows or needs. Its versions, with each one's published time and sync
 * state, are one listing and one record (ListPackageVersions with include), not one read per version;
 * its questions about the viewer's own access are one request and one record (POST
 * /v1/authorize/batch), not one per version and action.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { VERSIONS_PER_PAGE } from '../../src/console/pages/versions.tsx';
import { testGateway, type TestGateway } from '../helpers/gateway.ts';
import { signedIn } from './console-session.ts';

let gw: TestGateway;
afterEach(async () => {
  await gw?.close();
});

/** The records one request of the page wrote (by action), and the page. */
async function recordsOfOneView(cookie: string, path: string) {
  const before = (await gw.store.auditHead())?.seq ?? 0;
  const res = await gw.app.request(path, { headers: { cookie } });
  expect(res.status).toBe(200);
  const html = await res.text();
  const written = await gw.store.readAuditRange(before, 10_000);
  const byAction: Record<string, number> = {};
  for (const r of written) byAction[r.action] = (byAction[r.action] ?? 0) + 1;
  return { count: written.length, byAction, written, html };
}

/** Each row's version and its Published and Sync cells' text, as the page shows them. */
function cellsOf(html: string): Array<{ version: string; published: string; sync: string }> {
  return [...html.matchAll(/<tr data-version="([^"]+)">.*?<\/tr>/gs)].map((m) => ({
    version: m[1]!,
    published: /<td data-testid="published">([^<]*)<\/td>/.exec(m[0])?.[1] ?? '(no cell)',
    sync: /<td><span>(.*?)<\/span><\/td>/s.exec(m[0])?.[1]?.replace(/<!-- -->/g, '') ?? '(no cell)',
  }));
}

const CHALK_PAGE = '/console/versions?domain=my_domain&domain-owner=111122223333&repository=my_repo&pkg=npm%2F%2Fchalk';
const CHALK_KEY = { domainOwner: '111122223333', domain: 'my_domain', repository: 'my_repo', format: 'npm' as const, namespace: '', name: 'chalk' };

describe('one view of the versions page, in the audit log', () => {
  it('the demo package: one listing with the published times and sync states, and one record for all its own-access questions', async () => {
    gw = await testGateway();
    const { cookie, token } = await signedIn(gw, 'sam', ['security', 'release-managers']);
    const view = await recordsOfOneView(cookie, CHALK_PAGE);
    // The repositories, the packages, the versions with what the list shows of each, and one batch of questions.
    expect(view.byAction).toEqual({ ListRepositoriesInDomain: 1, ListPackages: 1, ListPackageVersions: 1, SimulateAuthorization: 1 });
    expect(view.written.find((r) => r.action === 'ListPackageVersions')!.request).toMatchObject({ include: ['publishedTime', 'sync'] });
    // Each Published cell as the version's own page shows it.
    const cells = cellsOf(view.html);
    expect(cells.map((c) => c.version)).toEqual(['4.1.1', '4.1.0', '4.0.0']);
    for (const c of cells) {
      const detail = await (await gw.app.request(`/console/versions/detail?domain=my_domain&domain-owner=111122223333&repository=my_repo&pkg=npm%2F%2Fchalk&version=${c.version}`, { headers: { cookie } })).text();
      expect(c.published, c.version).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$/);
      expect(detail).toContain(`<th scope="row">Published</th><td>${c.published}</td>`);
      expect(c.sync, c.version).toBe('✔ Completed');
    }
    // A sync under way shows in its row, from the same listing.
    const id = (await gw.store.readVersion(CHALK_KEY, '4.1.0')).version!.identifier;
    expect((await gw.post(`/v1/packages/my_domain/my_repo/${id}/resync/`, {}, token)).status).toBe(200);
    const again = cellsOf((await recordsOfOneView(cookie, CHALK_PAGE)).html);
    expect(again.find((c) => c.version === '4.1.0')!.sync).toBe('… Awaiting Synchronisation (0%)');
  });

  it(`${VERSIONS_PER_PAGE} versions: four records, as for three`, async () => {
    gw = await testGateway();
    const key = { domainOwner: '111122223333', domain: 'my_domain', repository: 'my_repo', format: 'generic' as const, namespace: 'acme', name: 'many' };
    for (let i = 0; i < VERSIONS_PER_PAGE; i++) await gw.store.addVersion({ key, version: `1.0.${i}`, status: 'Published', revision: `r${i}`, assets: [] });
    const { cookie } = await signedIn(gw, 'sam', ['security', 'release-managers']);
    const view = await recordsOfOneView(cookie, '/console/versions?domain=my_domain&domain-owner=111122223333&repository=my_repo&pkg=generic%2Facme%2Fmany');
    expect(view.count).toBe(4);
    expect(view.byAction).toEqual({ ListRepositoriesInDomain: 1, ListPackages: 1, ListPackageVersions: 1, SimulateAuthorization: 1 });
    const cells = cellsOf(view.html);
    expect(cells).toHaveLength(VERSIONS_PER_PAGE);
    expect(cells.filter((c) => c.published === '—' || c.sync === 'unknown')).toEqual([]);
  });

  it('a policy that refuses the include in listings: the page still lists the versions, without those columns, and says why', async () => {
    gw = await testGateway({
      policies: {
        'no-include.cedar': `@id("no-extras-in-listings")
forbid (principal, action == Action::"ListPackageVersions", resource) when { context has include };
`,
      },
    });
    const { cookie } = await signedIn(gw, 'sam', ['security', 'release-managers']);
    const view = await recordsOfOneView(cookie, CHALK_PAGE);
    // The refused listing and the plain one.
    expect(view.byAction).toEqual({ ListRepositoriesInDomain: 1, ListPackages: 1, ListPackageVersions: 2, SimulateAuthorization: 1 });
    expect(view.written.filter((r) => r.action === 'ListPackageVersions').map((r) => r.decision)).toEqual(['deny', 'allow']);
    expect(cellsOf(view.html)).toEqual(['4.1.1', '4.1.0', '4.0.0'].map((version) => ({ version, published: '—', sync: 'unknown' })));
    expect(view.html).toContain('Published times and sync states are not shown: the policies refuse them to you in a listing');
  });
});
