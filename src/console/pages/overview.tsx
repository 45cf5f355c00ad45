/**
 * Overview: health, readiness, the live policy set (hash, last reload), the sync queue, and request
 * and decision rates, from the gateway's own endpoints: /healthz, /readyz, GET /v1/policies (Cedar
 * decides whether this principal may see it) and /metrics. Rates are the change between two
 * consecutive views (the metrics part refreshes itself every 5 seconds).
 */
import type { Context, Hono } from 'hono';
import type { ApiClient } from '../api-client.ts';
import type { ConsoleContext, ConsoleEnv } from '../console-env.ts';
import { Layout, Notice } from '../layout.tsx';

interface Sample {
  at: number;
  requests: number;
  decisions: Record<string, number>;
}

/** Sums a counter's series by one label (all series when label is undefined). */
export function sumMetric(text: string, name: string, label?: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?\s+([^\s]+)/.exec(line);
    if (!m || m[1] !== name) continue;
    let key = '';
    if (label) {
      const lm = new RegExp(`${label}="([^"]*)"`).exec(m[3] ?? '');
      key = lm ? lm[1]! : '';
    }
    out[key] = (out[key] ?? 0) + Number(m[4]);
  }
  return out;
}

export function overviewPage(app: Hono<ConsoleEnv>, ctx: ConsoleContext): void {
  let previous: Sample | undefined;

  const metricsPart = async (api: ApiClient) => {
    const res = await api.raw('GET', '/metrics');
    if (!res.ok) return <Notice kind="info">The metrics are not served on this listener (VERSIONGATE_METRICS is off or a listener of its own).</Notice>;
    const text = await res.text();
    const now = ctx.now();
    const sample: Sample = { at: now, requests: sumMetric(text, 'versiongate_http_requests_total')[''] ?? 0, decisions: sumMetric(text, 'versiongate_authorization_decisions_total', 'decision') };
    const queue = sumMetric(text, 'versiongate_sync_queue_depth')[''];
    const jobs = sumMetric(text, 'versiongate_sync_jobs', 'state');
    const prev = previous;
    previous = sample;
    const seconds = prev ? (now - prev.at) / 1000 : 0;
    const rate = (a: number, b: number | undefined) => (prev && seconds > 0 ? `${((a - (b ?? 0)) / seconds).toFixed(2)}/s` : 'measured from the next refresh');
    return (
      <div id="metrics" hx-get="/console/overview/metrics" hx-trigger="every 5s" hx-swap="outerHTML">
        <h2>Traffic and sync</h2>
        <table>
          <caption>From this process's /metrics{prev ? `, over the last ${seconds.toFixed(1)} s` : ''}</caption>
          <thead>
            <tr>
              <th scope="col">Measure</th>
              <th scope="col">Total</th>
              <th scope="col">Rate</th>
            </tr>
          </thead>
          <tbody>
            <tr>
              <th scope="row">HTTP requests</th>
              <td>{sample.requests}</td>
              <td>{rate(sample.requests, prev?.requests)}</td>
            </tr>
            {Object.entries(sample.decisions).map(([d, n]) => (
              <tr>
                <th scope="row">Cedar decisions: {d}</th>
                <td>{n}</td>
                <td>{rate(n, prev?.decisions[d])}</td>
              </tr>
            ))}
            <tr>
              <th scope="row">Sync queue depth</th>
              <td data-testid="queue-depth">{queue ?? 'not reported'}</td>
              <td>{Object.entries(jobs).map(([s, n]) => `${s}: ${n}`).join(', ')}</td>
            </tr>
          </tbody>
        </table>
      </div>
    );
  };

  app.get('/overview/metrics', async (c) => c.html(await metricsPart(c.var.api)));

  app.get('/overview', async (c: Context<ConsoleEnv>) => {
    const api = c.var.api;
    const [health, ready, policies] = await Promise.all([api.get('/healthz'), api.get<{ status: string; checks: Record<string, string> }>('/readyz'), api.get<PolicyStatusBody>('/v1/policies')]);
    return c.html(
      <Layout title="Overview" session={c.var.session} current="/console/overview">
        <h2>Health</h2>
        <dl>
          <dt>Liveness (/healthz)</dt>
          <dd data-testid="health">{health.ok ? '✔ up' : `✘ HTTP ${health.status}`}</dd>
          <dt>Readiness (/readyz)</dt>
          <dd data-testid="readiness">
            {ready.body.status === 'ready' ? '✔ ready' : '✘ not ready'} ({Object.entries(ready.body.checks ?? {}).map(([k, v]) => `${k}: ${v}`).join(', ')})
          </dd>
        </dl>
        <h2>Live policy set</h2>
        {policies.ok ? (
          <dl>
            <dt>Hash</dt>
            <dd>
              <code data-testid="policy-hash">{policies.body.hash}</code>
            </dd>
            <dt>Loaded</dt>
            <dd>{policies.body.loadedAt ?? 'unknown'}</dd>
            <dt>Last reload</dt>
            <dd>{policies.body.lastReload ? `${policies.body.lastReload.at}: ${policies.body.lastReload.outcome} (${policies.body.lastReload.trigger})${policies.body.lastReload.errors.length ? ` — ${policies.body.lastReload.errors.join('; ')}` : ''}` : 'none since start'}</dd>
            <dt>Policies</dt>
            <dd>
              {policies.body.counts.policies} policies, {policies.body.counts.templates} templates, {policies.body.counts.links} links
            </dd>
          </dl>
        ) : (
          <Notice kind="info">Not shown: {policies.error} (GET /v1/policies needs ReadPolicies).</Notice>
        )}
        {await metricsPart(api)}
      </Layout>,
    );
  });
}

export interface PolicyStatusBody {
  hash: string;
  loadedAt?: string;
  files: string[];
  policies: Array<{ id: string; kind: string; file: string; line: number } | string>;
  counts: { policies: number; templates: number; links: number };
  lastReload: { at: string; trigger: string; outcome: string; errors: string[] } | null;
  candidate?: { hash: string; loadedAt: string; files: string[] } | { error: string } | null;
}
