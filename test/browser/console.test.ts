/**
 * The web console in a real browser against a real gateway: sign in, archive a version and find it
 * in the table and the audit explorer; a denied action's disabled button and Cedar's reason; a bulk
 * resync with one failing identifier; a candidate policy's diagnostic, its fix, and the decision it
 * changes; a POST without the CSRF token refused; a cookie holding an expired token refused.
 * Screenshots of each page go to docs/console/.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mintDevToken } from '../../src/auth/dev-key.ts';
import { fixedClock } from '../../src/clock.ts';
import { realServer, type RealServer } from '../ops/real-server.ts';
import { openBrowser, screenshot, signIn, type Browser } from './browser.ts';

const OWNER = '111122223333';
const versionsUrl = (base: string, repository: string, pkg = 'npm//chalk') => `${base}/console/versions?domain=my_domain&domain-owner=${OWNER}&repository=${repository}&pkg=${encodeURIComponent(pkg)}`;

let server: RealServer;
let base: string;
let browser: Browser;

beforeAll(async () => {
  server = await realServer();
  base = server.gateway.url;
});
afterAll(async () => {
  await server?.cleanup();
});
afterEach(async () => {
  const problems = browser ? [...browser.problems] : [];
  await browser?.close();
  expect(problems).toEqual([]);
});

describe('the console in Chromium', () => {
  it('signs in with a token, archives a version, and shows it in the table and in the audit explorer', async () => {
    browser = await openBrowser();
    const { page } = browser;
    await page.goto(`${base}/console/`);
    await page.waitForURL(`${base}/console/sign-in`);
    await expect(page.getByText('npx versiongate token --sub alice --group release-managers')).toBeDefined();
    expect(await page.locator('code', { hasText: 'npx versiongate token' }).count()).toBe(1);
    await screenshot(page, 'sign-in');

    await signIn(page, base, await server.token('alice', ['release-managers']));
    expect(await page.getByTestId('subject').textContent()).toBe('alice');
    expect(await page.getByTestId('health').textContent()).toContain('up');
    await screenshot(page, 'overview');

    await page.goto(versionsUrl(base, 'my_repo'));
    const row = page.locator('tr[data-version="4.1.0"]');
    expect(await row.getByTestId('status').textContent()).toBe('Published');
    await screenshot(page, 'versions');
    await row.getByRole('button', { name: 'Archive 4.1.0' }).click();
    expect(await page.locator('main').textContent()).toContain('sets their status to Archived');
    await screenshot(page, 'versions-confirm');
    await page.getByRole('button', { name: 'Yes, archive 4.1.0' }).click();
    expect(await page.locator('.notice').first().textContent()).toContain('1 version(s) now Archived');

    await page.getByRole('link', { name: 'Back to the versions' }).click();
    expect(await page.locator('tr[data-version="4.1.0"]').getByTestId('status').textContent()).toBe('Archived');

    await page.goto(`${base}/console/audit`);
    await page.getByLabel('Action').fill('UpdatePackageVersionsStatus');
    await page.getByLabel('Version', { exact: true }).fill('4.1.0');
    await page.getByRole('button', { name: 'Search' }).click();
    const record = page.locator('table.audit tbody tr').first();
    expect(await record.textContent()).toContain('alice');
    expect(await record.textContent()).toContain('applied (200)');
    await record.getByText(/^Record \d+$/).click();
    expect(await record.locator('details').textContent()).toContain('"targetStatus": "Archived"');
    expect(await record.locator('details').textContent()).toContain('release-managers-curate-my-repo');
  });

  it('shows an action Cedar denies as a disabled button with its reason', async () => {
    browser = await openBrowser();
    const { page } = browser;
    await signIn(page, base, await server.token('sam', ['security']));
    await page.goto(versionsUrl(base, 'prod'));
    const dispose = page.getByRole('button', { name: 'Dispose 4.1.1' });
    expect(await dispose.isDisabled()).toBe(true);
    const reasonId = await dispose.getAttribute('aria-describedby');
    expect(await page.locator(`[id="${reasonId}"]`).textContent()).toContain('forbidden by never-dispose-in-prod');
    // Security may resync nothing (only maintainers and publishers): no permit, said in words.
    const resync = page.getByRole('button', { name: 'Resync 4.1.1' });
    expect(await resync.isDisabled()).toBe(true);
    expect(await page.locator(`[id="${await resync.getAttribute('aria-describedby')}"]`).textContent()).toContain('no policy permits it');
    await screenshot(page, 'versions-denied');
  });

  it('resyncs in bulk, one request, and lists the identifier that failed', async () => {
    browser = await openBrowser();
    const { page } = browser;
    await signIn(page, base, await server.token('mia', ['maintainers']));
    await page.goto(versionsUrl(base, 'my_repo'));
    await page.getByLabel('Select 4.0.0').check();
    await page.getByLabel('Select 4.1.1').check();
    await page.getByRole('button', { name: 'Resync selected' }).click();
    const ids = page.getByLabel('Identifiers, one per line');
    const listed = (await ids.inputValue()).split('\n').filter(Boolean);
    expect(listed).toHaveLength(2);
    await ids.fill([...listed, 'AAAAAAAAAAAA'].join('\n'));
    // As Cloudsmith's: "Click Resync again to confirm".
    await page.getByRole('button', { name: 'Resync', exact: true }).click();
    expect(await page.locator('.notice').first().textContent()).toContain('2 versions have been scheduled for resynchronization. 1 could not be');
    const failed = page.locator('tr.failed');
    expect(await failed.count()).toBe(1);
    expect(await failed.textContent()).toContain('AAAAAAAAAAAA');
    expect(await failed.textContent()).toContain('Not found.');
    // The progress refreshes itself until both syncs have ended.
    await page.getByRole('heading', { name: 'Sync progress: finished' }).waitFor({ timeout: 60_000 });
    const states = await page.getByTestId('sync-state').allTextContents();
    expect(states).toHaveLength(2);
    for (const s of states) expect(s).toContain('Completed');
    await screenshot(page, 'versions-resync');
  });

  it('bulk operation mode: ticking a box turns every row\'s own buttons off, shows the selection\'s buttons at the top with the count, and Enter asks for an action', async () => {
    browser = await openBrowser();
    const { page } = browser;
    await signIn(page, base, await server.token('alice', ['release-managers']));
    await page.goto(versionsUrl(base, 'my_repo'));
    const rowButtons = page.locator('table.versions button[name=row]');
    const enabledAtFirst = await rowButtons.evaluateAll((bs) => bs.filter((b) => !(b as unknown as { disabled: boolean }).disabled).length);
    expect(enabledAtFirst).toBeGreaterThan(0);
    // Nothing ticked: the selection's buttons are not offered.
    expect(await page.getByRole('button', { name: 'Delete selected' }).count()).toBe(0);
    await page.getByLabel('Select 4.0.0').check();
    expect(await rowButtons.evaluateAll((bs) => bs.filter((b) => !(b as unknown as { disabled: boolean }).disabled).length)).toBe(0);
    expect(await page.locator('#selection-count').textContent()).toContain('1 selected');
    expect(await page.locator('#selection-count').getAttribute('aria-live')).toBe('polite');
    const toolbar = page.getByRole('button', { name: 'Delete selected' });
    expect(await toolbar.isVisible()).toBe(true);
    // At the top of the list: above the table.
    expect((await toolbar.boundingBox())!.y).toBeLessThan((await page.locator('table.versions').boundingBox())!.y);
    // A button for the selection is off when no selected version can take it: release managers do
    // not dispose, delete only unfinished uploads, and 4.0.0 is Published already.
    for (const off of ['Dispose selected', 'Delete selected', 'Publish selected']) expect(await page.getByRole('button', { name: off }).isDisabled()).toBe(true);
    expect(await page.getByRole('button', { name: 'Unlist selected' }).isEnabled()).toBe(true);
    expect(await page.locator('#bulk-none-can').isVisible()).toBe(true);
    const publish = page.getByRole('button', { name: 'Publish 4.1.1' });
    expect(await page.locator(`[id="${(await publish.getAttribute('aria-describedby'))!.split(' ').at(-1)}"]`).textContent()).toContain('bulk operation mode');
    await screenshot(page, 'versions-bulk-mode');
    // Unticked: the buttons Cedar allows are back; the denied ones stay off.
    await page.getByLabel('Select 4.0.0').uncheck();
    expect(await rowButtons.evaluateAll((bs) => bs.filter((b) => !(b as unknown as { disabled: boolean }).disabled).length)).toBe(enabledAtFirst);
    // (Release managers delete only unfinished uploads.)
    expect(await page.getByRole('button', { name: 'Delete 4.1.1' }).isDisabled()).toBe(true);
    // Enter in a checkbox sends the selection with no action: the console asks which.
    await page.getByLabel('Select 4.0.0').check();
    await page.getByLabel('Select 4.0.0').press('Enter');
    await page.waitForURL(/\/console\/versions\/confirm/);
    expect(await page.locator('main').textContent()).toContain('1 version(s) of chalk selected: 4.0.0. What should be done with them?');
    expect(await page.locator('main').textContent()).not.toContain('4.1.1');
  });

  it('acts once: a double click sends one request, and reloading or going back and forth to the result sends nothing again', async () => {
    browser = await openBrowser();
    const { page } = browser;
    await signIn(page, base, await server.token('alice', ['release-managers']));
    const audited = async () => {
      const res = await fetch(`${base}/v1/audit?action=UpdatePackageVersionsStatus&version=4.0.0&limit=100`, { headers: { authorization: `Bearer ${await server.token('ada', ['auditors'])}` } });
      return ((await res.json()) as { records: Array<{ outcome: string }> }).records.filter((r) => r.outcome === 'applied').length;
    };
    const before = await audited();
    await page.goto(versionsUrl(base, 'my_repo'));
    await page.getByRole('button', { name: 'Unlist 4.0.0' }).click();
    expect(await page.getByTestId('current-status').first().textContent()).toBe('Published');
    await page.getByRole('button', { name: 'Yes, unlist 4.0.0' }).dblclick();
    await page.waitForURL(/\/console\/versions\/result\?/);
    expect(await page.locator('.notice').first().textContent()).toContain('1 version(s) now Unlisted');
    await page.reload();
    expect(await page.locator('.notice').first().textContent()).toContain('1 version(s) now Unlisted');
    await page.goBack();
    await page.goForward();
    expect(await page.locator('.notice').first().textContent()).toContain('1 version(s) now Unlisted');
    expect(await audited()).toBe(before + 1);
    // Put it back for the other tests.
    await page.getByRole('link', { name: 'Back to the versions' }).click();
    await page.goto(versionsUrl(base, 'my_repo') + '&status=Unlisted');
    await page.getByRole('button', { name: 'Publish 4.0.0' }).click();
    await page.getByRole('button', { name: 'Yes, publish 4.0.0' }).click();
    expect(await page.locator('.notice').first().textContent()).toContain('1 version(s) now Published');
  });

  it("resyncs one version from its own page: its status, sync state, assets and a Resync button, and the contract's message", async () => {
    browser = await openBrowser();
    const { page } = browser;
    await signIn(page, base, await server.token('mia', ['maintainers']));
    await page.goto(versionsUrl(base, 'my_repo'));
    await page.getByRole('link', { name: '4.1.1', exact: true }).click();
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('chalk 4.1.1');
    expect(await page.getByTestId('status').textContent()).toBe('Published');
    expect(await page.getByTestId('sync-state').textContent()).toContain('Completed');
    expect(await page.locator('main').textContent()).toContain('chalk-4.1.1.tgz');
    await screenshot(page, 'version-detail');
    await page.getByRole('button', { name: 'Resync 4.1.1' }).click();
    await page.getByRole('button', { name: 'Resync', exact: true }).click();
    expect(await page.locator('.notice').first().textContent()).toContain('Version 4.1.1 has been scheduled for resynchronization.');
    await page.getByRole('heading', { name: 'Sync progress: finished' }).waitFor({ timeout: 60_000 });
  });

  it('says so when the gateway cannot be reached while a page polls, and sends an ended session to the sign-in page with the reason', async () => {
    browser = await openBrowser();
    const { page, context } = browser;
    await signIn(page, base, await server.token('alice', ['release-managers']));
    // The overview refreshes its numbers every 5 s; from now on the gateway is unreachable for them.
    await page.route('**/console/overview/metrics', (route) => route.abort('connectionrefused'));
    await page.goto(`${base}/console/overview`);
    const warning = page.locator('.gateway-unreachable');
    await warning.waitFor({ timeout: 30_000 });
    expect(await warning.textContent()).toMatch(/the gateway could not be reached at \d\d:\d\d:\d\d; retrying/);
    expect(await warning.getAttribute('role')).toBe('status');
    await screenshot(page, 'overview-unreachable');
    // Reachable again: the next refresh replaces the numbers and the warning with them.
    await page.unroute('**/console/overview/metrics');
    await warning.waitFor({ state: 'detached', timeout: 30_000 });

    // The session ends while the overview polls: the whole page goes to the sign-in page, with why.
    await context.clearCookies();
    await page.waitForURL(/\/console\/sign-in\?error=ended/, { timeout: 30_000 });
    expect(await page.getByRole('alert').textContent()).toContain('Your session has ended');
    expect(await page.locator('header nav').count()).toBe(0);
  });

  it('validates a candidate policy, shows its diagnostic, and the decision it changes beside the live one', async () => {
    browser = await openBrowser();
    const { page } = browser;
    await signIn(page, base, await server.token('sam', ['security']));
    await page.goto(`${base}/console/playground`);
    expect(await page.getByTestId('validation').textContent()).toContain('the same as the live set');
    const editor = page.getByLabel('Candidate playground.cedar');
    await editor.fill('permit (principal in Group::"release-managers", action == Action::"DisposePackageVersions", resource)');
    await page.getByTestId('diagnostics').waitFor();
    expect(await page.getByTestId('diagnostics').textContent()).toMatch(/playground\.cedar:1:\d+: error/);
    await screenshot(page, 'playground-diagnostic');

    await editor.fill('permit (principal in Group::"release-managers", action == Action::"DisposePackageVersions", resource);');
    await page.getByText(/the candidate is valid/).waitFor();
    await page.getByRole('button', { name: 'Decide (live and candidate)' }).click();
    await page.getByTestId('decision-change').waitFor();
    expect(await page.getByTestId('live-decision').textContent()).toContain('deny');
    expect(await page.getByTestId('candidate-decision').textContent()).toContain('allow');
    expect(await page.getByTestId('decision-change').textContent()).toContain('deny → allow');
    expect(await page.getByTestId('candidate').textContent()).toContain('playground.cedar');

    await page.getByRole('button', { name: 'Run the policy tests against the candidate' }).click();
    await page.getByTestId('tests').waitFor();
    expect(await page.getByTestId('tests').textContent()).toMatch(/\d+ passed, [1-9]\d* failed/);
    await screenshot(page, 'playground');

    // The live set is unchanged: the gateway still denies it.
    const alice = await server.token('alice', ['release-managers']);
    const res = await fetch(`${base}/v1/package/versions/dispose?domain=my_domain&domain-owner=${OWNER}&repository=my_repo&format=npm&package=chalk`, {
      method: 'POST',
      headers: { authorization: `Bearer ${alice}`, 'content-type': 'application/json' },
      body: JSON.stringify({ versions: ['4.0.0'] }),
    });
    expect(res.status).toBe(403);
  });

  it('refuses a POST without the CSRF token, and changes nothing', async () => {
    browser = await openBrowser();
    const { page, context } = browser;
    await signIn(page, base, await server.token('alice', ['release-managers']));
    const form = { domain: 'my_domain', 'domain-owner': OWNER, repository: 'my_repo', pkg: 'npm//chalk', action: 'Unlist', versions: '4.0.0' };
    const res = await context.request.post(`${base}/console/versions/apply`, { form });
    expect(res.status()).toBe(403);
    expect(await res.text()).toContain('no valid CSRF token');
    const wrong = await context.request.post(`${base}/console/versions/apply`, { form: { ...form, csrf: 'x'.repeat(43) } });
    expect(wrong.status()).toBe(403);
    await page.goto(versionsUrl(base, 'my_repo'));
    expect(await page.locator('tr[data-version="4.0.0"]').getByTestId('status').textContent()).toBe('Published');
  });

  it('refuses a session cookie holding an expired token and says why', async () => {
    browser = await openBrowser();
    const { page, context } = browser;
    const hourAgo = fixedClock(new Date(Date.now() - 3600_000));
    const expired = await mintDevToken({ key: server.gateway.devKey!, issuer: server.config.auth.issuer, audience: server.config.auth.audience, subject: 'alice', groups: ['release-managers'], groupsClaim: 'groups', ttlSeconds: 600, clock: hourAgo });
    // As the console sets it (path /console), so its sign-out replaces this very cookie.
    await context.addCookies([{ name: 'vg_console', value: expired, domain: new URL(base).hostname, path: '/console', httpOnly: true, sameSite: 'Strict' }]);
    await page.goto(`${base}/console/versions`);
    await page.waitForURL(/\/console\/sign-in/);
    expect(await page.getByRole('alert').textContent()).toMatch(/refused your session's token: .*expired/i);
    expect((await context.cookies(`${base}/console/`)).filter((c) => c.name === 'vg_console')).toEqual([]);
    // Pasting it is refused too, before any cookie is set.
    await page.getByLabel('Bearer token (JWT)').fill(expired);
    await page.getByRole('button', { name: 'Sign in' }).click();
    expect(await page.getByRole('alert').textContent()).toContain('the token has expired');
  });

  it('explores the audit log: the chain head, a verify, and an NDJSON export of the filter', async () => {
    browser = await openBrowser();
    const { page, context } = browser;
    await signIn(page, base, await server.token('ada', ['auditors']));
    await page.goto(`${base}/console/audit`);
    expect(await page.getByTestId('chain-head').textContent()).toMatch(/^\d+:[0-9a-f]{64}$/);
    await page.getByRole('button', { name: 'Verify the chain' }).click();
    await page.getByTestId('verify-result').waitFor();
    expect(await page.getByTestId('verify-result').textContent()).toContain('the chain is intact');
    await screenshot(page, 'audit');
    const res = await context.request.get(`${base}/console/audit/export.ndjson?action=ReadAuditLog`);
    expect(res.status()).toBe(200);
    const lines = (await res.text()).trim().split('\n').map((l) => JSON.parse(l) as { action: string });
    expect(lines.length).toBeGreaterThan(0);
    for (const l of lines) expect(l.action).toBe('ReadAuditLog');
  });
});
