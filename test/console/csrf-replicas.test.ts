/**
 * The console's CSRF tokens behind a load balancer: two gateways on one store (as two replicas on one
 * database, or one gateway before and after a restart) must each accept the forms the other rendered,
 * since nothing routes a browser back to the replica that rendered its page.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import { keySourceFor } from '../../src/auth/key-source.ts';
import { createTokenVerifier } from '../../src/auth/verify-token.ts';
import { systemClock } from '../../src/clock.ts';
import { DEV_AUDIENCE, DEV_ISSUER } from '../../src/config.ts';
import { silentLogger } from '../../src/log.ts';
import { PolicyEngine } from '../../src/policy/engine.ts';
import { compiledOnce, testGateway, type TestGateway } from '../helpers/gateway.ts';

let gw: TestGateway;
afterEach(async () => {
  await gw?.close();
});

/** A second gateway on the first one's store and blobs, trusting the same development key: another replica. */
function replicaOn(first: TestGateway): ReturnType<typeof createApp> {
  const verifier = createTokenVerifier({
    keySource: keySourceFor({ mode: 'dev', issuer: DEV_ISSUER, audience: DEV_AUDIENCE }, first.devKey),
    issuer: DEV_ISSUER,
    audience: DEV_AUDIENCE,
    groupsClaim: 'groups',
    clock: systemClock,
    clockToleranceSeconds: 0,
  });
  const engine = new PolicyEngine(compiledOnce(first.policyDir));
  return createApp({ store: first.store, blobs: first.blobs, authorizer: () => engine, clock: systemClock, region: 'us-east-1', logger: silentLogger, verifier });
}

const csrfOf = (html: string) => /name="csrf" value="([^"]+)"/.exec(html)?.[1];
const formPost = (cookie: string, fields: Record<string, string>) => ({
  method: 'POST',
  headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams(fields).toString(),
});

describe('console forms across replicas', () => {
  it('a form rendered by one replica is accepted by another; a forged token is refused by both', async () => {
    gw = await testGateway();
    const a = gw.app;
    const b = replicaOn(gw);

    // Signed in on replica A: its sign-in form and nonce cookie, its session cookie.
    const signIn = await a.request('/console/sign-in');
    const nonce = csrfOf(await signIn.text())!;
    const loginCookie = signIn.headers.get('set-cookie')!.split(';')[0]!;
    const token = await gw.token('alice', ['release-managers']);
    // The sign-in form itself is posted to replica B.
    const started = await b.request('/console/sign-in', formPost(loginCookie, { csrf: nonce, token }));
    expect(started.status).toBe(303);
    const cookie = started.headers.getSetCookie().find((c) => c.startsWith('vg_console='))!.split(';')[0]!;

    // Replica A renders the confirmation; replica B gets the form, and archives through the shared store.
    const fields = { domain: 'my_domain', 'domain-owner': '111122223333', repository: 'my_repo', pkg: 'npm//chalk', action: 'Archive', versions: '4.1.0' };
    const confirm = await a.request(`/console/versions/confirm?${new URLSearchParams(fields)}`, { headers: { cookie } });
    const csrf = csrfOf(await confirm.text())!;
    expect(csrf).toBeDefined();

    const forged = [csrf.slice(0, -2) + (csrf.endsWith('AA') ? 'BB' : 'AA'), 'x'.repeat(csrf.length), ''];
    for (const app of [a, b]) {
      for (const bad of forged) {
        const refused = await app.request('/console/versions/apply', formPost(cookie, { ...fields, csrf: bad }));
        expect(refused.status).toBe(403);
        expect(await refused.text()).toContain('no valid CSRF token');
      }
    }
    expect(await gw.store.listAudit({ filter: { action: 'UpdatePackageVersionsStatus' }, limit: 10 })).toEqual([]);

    const applied = await b.request('/console/versions/apply', formPost(cookie, { ...fields, csrf }));
    expect(applied.status).toBe(303);
    // The result link replica B made shows the answer on replica A (sealed with the session, not kept
    // by B), and on B; showing it sends nothing again.
    const result = applied.headers.get('location')!;
    for (const app of [a, b]) {
      const shown = await app.request(result, { headers: { cookie } });
      expect(shown.status).toBe(200);
      expect(await shown.text()).toContain('1 version(s) now Archived');
    }
    const records = await gw.store.listAudit({ filter: { action: 'UpdatePackageVersionsStatus' }, limit: 10 });
    expect(records.map((r) => [r.principal?.subject, r.outcome])).toEqual([['alice', 'applied']]);

    // And the other way round: B's page, A's sign-out.
    const page = await b.request('/console/overview', { headers: { cookie } });
    const signOut = await a.request('/console/sign-out', formPost(cookie, { csrf: csrfOf(await page.text())! }));
    expect(signOut.status).toBe(303);
    expect(signOut.headers.get('set-cookie')).toMatch(/vg_console=;.*Max-Age=0/);
  });
});
