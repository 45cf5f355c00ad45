/**
 * GET /metrics: Prometheus text from a registry per app, counters that move with requests, labels
 * from closed sets only (route patterns, never raw paths).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { loadPolicyDir } from '../../src/policy/load-policies.ts';
import { CHALK, REPO_POLICIES } from '../helpers/gateway.ts';
import { opsApp, post, sample, type OpsApp } from './ops-app.ts';

const UPDATE_ROUTE = '/v1/package/versions/update_status';
const UPDATE = `${UPDATE_ROUTE}?${CHALK}`;

/** Every metric the README lists. */
const METRIC_NAMES = [
  'versiongate_http_requests_total',
  'versiongate_http_request_duration_seconds',
  'versiongate_http_rejected_requests_total',
  'versiongate_authorization_decisions_total',
  'versiongate_token_verification_failures_total',
  'versiongate_policy_loads_total',
  'versiongate_policy_set_policies',
  'versiongate_policy_set_info',
  'versiongate_audit_records_total',
  'versiongate_store_transaction_duration_seconds',
  'versiongate_sync_jobs',
  'versiongate_sync_queue_depth',
];

async function scrape(gw: OpsApp): Promise<string> {
  const res = await gw.request('/metrics');
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
  return res.text();
}

describe('GET /metrics', () => {
  let gw: OpsApp;
  afterEach(() => gw.close());

  it('exposes every metric with HELP and TYPE, without a token', async () => {
    gw = await opsApp();
    const text = await scrape(gw);
    for (const name of METRIC_NAMES) {
      expect(text).toMatch(new RegExp(`^# HELP ${name} `, 'm'));
      expect(text).toMatch(new RegExp(`^# TYPE ${name} (counter|gauge|histogram)$`, 'm'));
    }
    // The six seeded versions await their sync (this app runs no worker pool): the jobs gauge has a
    // series for every state, and the queue depth counts the awaiting ones.
    expect(sample(text, 'versiongate_sync_queue_depth')).toBe(6);
    expect(sample(text, 'versiongate_sync_jobs', { state: 'awaiting' })).toBe(6);
    for (const state of ['in_progress', 'completed', 'failed', 'waiting_for_assets']) expect(sample(text, 'versiongate_sync_jobs', { state })).toBe(0);
    // The live policy set: as many policies as the shipped folder holds, and its hash.
    expect(sample(text, 'versiongate_policy_set_policies')).toBe(Object.keys(loadPolicyDir(REPO_POLICIES).policies).length);
    expect(text).toMatch(/^versiongate_policy_set_info\{policy_set_hash="[0-9a-f]{16,}"\} 1$/m);
  });

  it('counts requests by route pattern and status, with a latency histogram', async () => {
    gw = await opsApp();
    const token = await gw.token('alice', ['release-managers']);
    expect((await gw.request(UPDATE, post({ versions: ['4.1.0'], targetStatus: 'Archived' }, token))).status).toBe(200);
    expect((await gw.request(UPDATE, post({ versions: ['4.1.1'], targetStatus: 'Archived' }, token))).status).toBe(200);
    expect((await gw.request(UPDATE, post({ versions: [], targetStatus: 'Archived' }, token))).status).toBe(400);
    expect((await gw.request('/no/such/path/abc123')).status).toBe(404);

    const text = await scrape(gw);
    const labels = { method: 'POST', route: UPDATE_ROUTE, status: '200' };
    expect(sample(text, 'versiongate_http_requests_total', labels)).toBe(2);
    expect(sample(text, 'versiongate_http_requests_total', { ...labels, status: '400' })).toBe(1);
    expect(sample(text, 'versiongate_http_request_duration_seconds_count', labels)).toBe(2);
    expect(sample(text, 'versiongate_http_request_duration_seconds_bucket', { ...labels, le: '+Inf' })).toBe(2);
    expect(sample(text, 'versiongate_http_requests_total', { method: 'GET', route: 'unmatched', status: '404' })).toBe(1);
    // A raw path never becomes a label value.
    expect(text).not.toContain('abc123');
    expect(text).not.toContain('chalk');
  });

  it('counts decisions, audit records and store transactions', async () => {
    gw = await opsApp();
    const rm = await gw.token('alice', ['release-managers']);
    const maintainer = await gw.token('mo', ['maintainers']);
    await gw.request(UPDATE, post({ versions: ['4.1.0'], targetStatus: 'Archived' }, rm));
    await gw.request(UPDATE, post({ versions: ['4.1.0'], targetStatus: 'Published' }, maintainer)); // forbid: restore needs a release manager
    const before = await scrape(gw);
    expect(sample(before, 'versiongate_authorization_decisions_total', { action: 'UpdatePackageVersionsStatus', decision: 'allow' })).toBe(1);
    expect(sample(before, 'versiongate_authorization_decisions_total', { action: 'UpdatePackageVersionsStatus', decision: 'deny' })).toBe(1);
    expect(sample(before, 'versiongate_audit_records_total')).toBe(2);
    expect(sample(before, 'versiongate_store_transaction_duration_seconds_count', { operation: 'commitVersionChanges', result: 'ok' })).toBe(1);
    expect(sample(before, 'versiongate_store_transaction_duration_seconds_count', { operation: 'readPackage', result: 'ok' })).toBe(2);

    await gw.request('/v1/audit', { headers: { authorization: `Bearer ${await gw.token('ada', ['auditors'])}` } });
    const after = await scrape(gw);
    expect(sample(after, 'versiongate_authorization_decisions_total', { action: 'ReadAuditLog', decision: 'allow' })).toBe(1);
    expect(sample(after, 'versiongate_audit_records_total')).toBe(3);
  });

  it("counts a simulated decision on an action the gateway does not know as action \"other\": a client cannot grow /metrics a series per made-up name", async () => {
    gw = await opsApp();
    const nobody = await gw.token('nobody', []);
    const pkg = { domain: 'my_domain', domainOwner: '111122223333', repository: 'my_repo', format: 'npm', package: 'chalk' };
    for (let i = 0; i < 20; i++) {
      const res = await gw.request('/v1/authorize', post({ principal: { token: nobody }, action: `MadeUp${String.fromCharCode(65 + i)}`, package: pkg }, nobody));
      expect(res.status).toBe(200);
    }
    const text = await scrape(gw);
    expect(text).not.toMatch(/action="MadeUp/);
    expect(sample(text, 'versiongate_authorization_decisions_total', { action: 'other', decision: 'deny' })).toBe(20);
  });

  it('counts token verification failures by their stable reason code', async () => {
    gw = await opsApp();
    const expired = await gw.token('alice', ['release-managers'], -120);
    await gw.request(UPDATE, post({ versions: ['4.1.0'], targetStatus: 'Archived' }, expired));
    await gw.request(UPDATE, post({ versions: ['4.1.0'], targetStatus: 'Archived' }, expired));
    await gw.request(UPDATE, post({ versions: ['4.1.0'], targetStatus: 'Archived' }, 'x.y.z'));
    const text = await scrape(gw);
    expect(sample(text, 'versiongate_token_verification_failures_total', { reason: 'ERR_JWT_EXPIRED' })).toBe(2);
    expect(sample(text, 'versiongate_token_verification_failures_total', { reason: 'ERR_JWS_INVALID' })).toBe(1);
    expect(sample(text, 'versiongate_http_requests_total', { method: 'POST', route: UPDATE_ROUTE, status: '401' })).toBe(3);
    // Refusals are audited per kind (rejection-log.ts): the first of each at once, the second expired
    // token counted into the window's record, written when the window closes.
    expect(sample(text, 'versiongate_audit_records_total')).toBe(2);
  });

  it('keeps a registry per app: two apps in one process count separately', async () => {
    gw = await opsApp();
    const other = await opsApp();
    try {
      await gw.request('/healthz');
      await gw.request('/healthz');
      await other.request('/healthz');
      const healthz = { method: 'GET', route: '/healthz', status: '200' };
      expect(sample(await scrape(gw), 'versiongate_http_requests_total', healthz)).toBe(2);
      expect(sample(await scrape(other), 'versiongate_http_requests_total', healthz)).toBe(1);
    } finally {
      await other.close();
    }
  });

  it('is not served when turned off (VERSIONGATE_METRICS=off or a listener of its own)', async () => {
    gw = await opsApp({ serveMetrics: false });
    const res = await gw.request('/metrics');
    expect(res.status).toBe(404);
    expect(res.headers.get('x-amzn-errortype')).toBe('UnknownOperationException');
  });
});
