/**
 * What one view of the versions page writes to the audit log: each of its API calls is audited, so
 * the page asks only what it shows or needs, and its questions about the viewer's own access are one
 * request and one record (POST /v1/authorize/batch), not one per version and action.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { VERSIONS_PER_PAGE } from '../../src/console/pages/versions.tsx';
import { testGateway, type TestGateway } from '../helpers/gateway.ts';
import { signedIn } from './console-session.ts';

let gw: TestGateway;
afterEach(async () => {
  await gw?.close();
});

/** The records one request of the page wrote: by action, and their size as the API returns them. */
async function recordsOfOneView(cookie: string, path: string) {
  const before = (await gw.store.auditHead())?.seq ?? 0;
  const res = await gw.app.request(path, { headers: { cookie } });
  expect(res.status).toBe(200);
  await res.text();
  const written = await gw.store.readAuditRange(before, 10_000);
  const byAction: Record<string, number> = {};
  for (const r of written) byAction[r.action] = (byAction[r.action] ?? 0) + 1;
  return { count: written.length, bytes: written.reduce((n, r) => n + JSON.stringify(r).length, 0), byAction };
}

describe('one view of the versions page, in the audit log', () => {
  it('the demo package: one record per read the page shows, and one for all its own-access questions', async () => {
    gw = await testGateway();
    const { cookie } = await signedIn(gw, 'sam', ['security', 'release-managers']);
    const view = await recordsOfOneView(cookie, '/console/versions?domain=my_domain&domain-owner=111122223333&repository=my_repo&pkg=npm%2F%2Fchalk');
    // The repositories, the packages, the versions, each version's sync state, and one batch of questions.
    expect(view.byAction).toEqual({ ListRepositoriesInDomain: 1, ListPackages: 1, ListPackageVersions: 1, DescribePackageVersion: 3, SimulateAuthorization: 1 });
  });

  it(`${VERSIONS_PER_PAGE} versions: about a hundred records, not eight hundred`, async () => {
    gw = await testGateway();
    const key = { domainOwner: '111122223333', domain: 'my_domain', repository: 'my_repo', format: 'generic' as const, namespace: 'acme', name: 'many' };
    for (let i = 0; i < VERSIONS_PER_PAGE; i++) await gw.store.addVersion({ key, version: `1.0.${i}`, status: 'Published', revision: `r${i}`, assets: [] });
    const { cookie } = await signedIn(gw, 'sam', ['security', 'release-managers']);
    const view = await recordsOfOneView(cookie, '/console/versions?domain=my_domain&domain-owner=111122223333&repository=my_repo&pkg=generic%2Facme%2Fmany');
    expect(view.byAction).toEqual({ ListRepositoriesInDomain: 1, ListPackages: 1, ListPackageVersions: 1, DescribePackageVersion: VERSIONS_PER_PAGE, SimulateAuthorization: 1 });
  });
});
