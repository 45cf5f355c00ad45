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
    await page.getByRole('button', { name: /^Yes, resync/ }).click();
    expect(await page.locator('.notice').first().textContent()).toContain('2 resync(s) scheduled, 1 not');
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
