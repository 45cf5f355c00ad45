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
