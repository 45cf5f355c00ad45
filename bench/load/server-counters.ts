/**
 * The server's own account of a run, from its /metrics before and after: what it audited, decided,
 * refused and committed. The group-commit metrics (versiongate_store_commits_total and the
 * versiongate_store_commit_batch_size histogram) are reported when the running server has them,
 * and "n/a" when it does not, so this works before and after that change lands.
 */
import { growth, growthBy, type Sample } from './prometheus.ts';

const count = (n: number) => Math.round(n).toLocaleString('en-US');
const perSecond = (n: number, seconds: number) => `${count(n / seconds)}/s`;

export function describeCounters(before: readonly Sample[], after: readonly Sample[], seconds: number, requests: number): string[] {
  const lines: string[] = [];

  // Pauses of the event loop for garbage collection (prom-client's default metrics), per request.
  const gc = growthBy(before, after, 'versiongate_nodejs_gc_duration_seconds_sum', ['kind']);
  if (gc.length > 0 && requests > 0) lines.push(`GC pauses on the event loop per request: ${gc.map((d) => `${d.key.replace('kind=', '')} ${Math.round((d.value * 1e6) / requests)} µs`).join(', ')}`);

  const commits = growth(before, after, 'versiongate_store_commits_total');
  const batchSum = growth(before, after, 'versiongate_store_commit_batch_size_sum');
  const batchCount = growth(before, after, 'versiongate_store_commit_batch_size_count');
  const meanBatch = batchSum !== undefined && batchCount !== undefined && batchCount > 0 ? (batchSum / batchCount).toFixed(2) : 'n/a';
  lines.push(`store commits/s ${commits === undefined ? 'n/a' : perSecond(commits, seconds)}, mean commit batch size ${meanBatch}`);

  const audit = growth(before, after, 'versiongate_audit_records_total');
  lines.push(`audit records written ${audit === undefined ? 'n/a' : `${count(audit)} (${perSecond(audit, seconds)})`}`);

  const decisions = growthBy(before, after, 'versiongate_authorization_decisions_total', ['action', 'decision']);
  if (decisions.length > 0) lines.push(`Cedar decisions: ${decisions.map((d) => `${d.key} × ${count(d.value)}`).join('; ')}`);

  const tokens = growthBy(before, after, 'versiongate_token_verification_failures_total', ['reason']);
  if (tokens.length > 0) lines.push(`token failures: ${tokens.map((d) => `${d.key} × ${count(d.value)}`).join('; ')}`);

  // The API's answers only: the bench's own /metrics and /readyz calls are left out.
  const http = growthBy(before, after, 'versiongate_http_requests_total', ['route', 'status']).filter((d) => !/route=\/(metrics|readyz|healthz) /.test(d.key));
  if (http.length > 0) lines.push(`HTTP answers: ${http.map((d) => `${d.key} × ${count(d.value)}`).join('; ')}`);

  // Where the store's time goes: calls per operation and their mean duration.
  const calls = growthBy(before, after, 'versiongate_store_transaction_duration_seconds_count', ['operation', 'result']);
  const time = new Map(growthBy(before, after, 'versiongate_store_transaction_duration_seconds_sum', ['operation', 'result']).map((d) => [d.key, d.value]));
  if (calls.length > 0) lines.push(`store calls: ${calls.map((d) => `${d.key} × ${count(d.value)}, mean ${(((time.get(d.key) ?? 0) / d.value) * 1000).toFixed(2)} ms`).join('; ')}`);

  return lines;
}
