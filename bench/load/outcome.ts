/** What one measurement's statuses say: the share that was expected, and a breakdown of the rest. */
import type { DriveResult } from './drive-spec.ts';
import type { Expected } from './scenarios.ts';

const isExpected = (status: number, expected: Expected) => (expected === '2xx' ? status >= 200 && status < 300 : status === expected);

/** Expected responses over every attempt (responses, connection errors and timeouts); 0 when there were none. */
export function expectedShare(result: DriveResult, expected: Expected): number {
  let hits = 0;
  let all = result.errors;
  for (const [status, { count }] of Object.entries(result.statusCodeStats)) {
    all += count;
    if (isExpected(Number(status), expected)) hits += count;
  }
  return all === 0 ? 0 : hits / all;
}

/** Such as "200 × 41,230, 409 × 3, connection errors × 1 (of which timeouts × 1)". */
export function statusBreakdown(result: DriveResult): string {
  const parts = Object.entries(result.statusCodeStats).map(([status, { count }]) => `${status} × ${count.toLocaleString('en-US')}`);
  if (result.errors > 0) parts.push(`connection errors × ${result.errors.toLocaleString('en-US')} (of which timeouts × ${result.timeouts.toLocaleString('en-US')})`);
  return parts.length > 0 ? parts.join(', ') : 'no responses at all';
}

/** Responses per second over the whole run: every response counted, not only the sampled seconds. */
export function rate(result: DriveResult): number {
  return result.duration > 0 ? result.requests.total / result.duration : 0;
}

/** The middle value (the mean of the two middle ones for an even count); NaN for none. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * The rounds of one server's measurement as one result: every response and error counted, the rate
 * over the rounds' whole time. autocannon reports percentiles, not its histogram, so the rounds'
 * latencies cannot be merged exactly: p50 is the median round's, and p99 the worst round's, so the
 * tail is never reported better than some round saw it.
 */
export function combineRounds(rounds: readonly DriveResult[]): DriveResult {
  if (rounds.length === 0) throw new Error('combineRounds: no rounds');
  if (rounds.length === 1) return rounds[0]!;
  const sum = (pick: (r: DriveResult) => number) => rounds.reduce((total, r) => total + pick(r), 0);
  const statusCodeStats: Record<string, { count: number }> = {};
  for (const r of rounds) {
    for (const [status, { count }] of Object.entries(r.statusCodeStats)) statusCodeStats[status] = { count: (statusCodeStats[status]?.count ?? 0) + count };
  }
  const duration = sum((r) => r.duration);
  const total = sum((r) => r.requests.total);
  return {
    duration,
    errors: sum((r) => r.errors),
    timeouts: sum((r) => r.timeouts),
    non2xx: sum((r) => r.non2xx),
    statusCodeStats,
    latency: {
      p50: median(rounds.map((r) => r.latency.p50)),
      p99: Math.max(...rounds.map((r) => r.latency.p99)),
      average: total > 0 ? sum((r) => r.latency.average * r.requests.total) / total : 0,
      max: Math.max(...rounds.map((r) => r.latency.max)),
    },
    requests: { average: duration > 0 ? total / duration : 0, total, sent: sum((r) => r.requests.sent) },
  };
}
