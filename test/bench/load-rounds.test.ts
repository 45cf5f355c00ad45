/**
 * bench:load's rounds: what one row of its table says when the bare server and versiongate took
 * several turns. The figures a README quotes come from here, so they must not flatter: the ratio is
 * the median of the rounds' own ratios, and the tail latency the worst round's.
 */
import { describe, expect, it } from 'vitest';
import type { DriveResult } from '../../bench/load/drive-spec.ts';
import { combineRounds, median, rate } from '../../bench/load/outcome.ts';
import { groupCommitGain, roundRatios, table, type Comparison } from '../../bench/load/report.ts';
import { loadSettings } from '../../bench/load/settings.ts';
import { durableUpdate, unauthorizedFlood } from '../../bench/load/scenarios.ts';

function run(total: number, seconds: number, p50: number, p99: number, statuses: Record<string, number> = { 200: total }): DriveResult {
  return {
    duration: seconds,
    errors: 0,
    timeouts: 0,
    non2xx: Object.entries(statuses).reduce((n, [s, c]) => n + (Number(s) >= 300 ? c : 0), 0),
    statusCodeStats: Object.fromEntries(Object.entries(statuses).map(([s, count]) => [s, { count }])),
    latency: { p50, p99, average: p50, max: p99 * 2 },
    requests: { average: total / seconds, total, sent: total },
  };
}

describe('bench:load rounds', () => {
  it('combines rounds: every response counted, the median round\'s p50, the worst round\'s p99', () => {
    const combined = combineRounds([run(10_000, 5, 7, 18), run(5_000, 5, 15, 40, { 200: 4_990, 503: 10 }), run(11_000, 5, 6, 17)]);
    expect(combined.requests.total).toBe(26_000);
    expect(combined.duration).toBe(15);
    expect(rate(combined)).toBeCloseTo(26_000 / 15);
    expect(combined.statusCodeStats).toEqual({ 200: { count: 25_990 }, 503: { count: 10 } });
    expect(combined.non2xx).toBe(10);
    expect(combined.latency.p50).toBe(7);
    expect(combined.latency.p99).toBe(40);
    expect(combined.latency.max).toBe(80);
  });

  it('gives the median of the rounds\' own ratios, so one server\'s unlucky round does not move the row', () => {
    const row: Comparison = {
      scenario: unauthorizedFlood(32),
      policies: 'shipped',
      bare: combineRounds([run(100_000, 5, 1, 3), run(175_000, 5, 1, 3), run(180_000, 5, 1, 3)]),
      versiongate: combineRounds([run(5_000, 5, 4, 12), run(9_000, 5, 4, 12), run(9_500, 5, 4, 12)]),
      // The first round's bare turn ran while the machine was busy: 20,000 against 35,000 and 36,000.
      rounds: [
        { bare: 20_000, versiongate: 1_000 },
        { bare: 35_000, versiongate: 1_800 },
        { bare: 36_000, versiongate: 1_900 },
      ],
    };
    expect(roundRatios(row)).toEqual([0.05, 1_800 / 35_000, 1_900 / 36_000]);
    const printed = table([row]);
    const cells = printed.split('\n')[2]!.split('|').map((c) => c.trim());
    expect(cells.slice(3, 6)).toEqual(['35,000', '1,800', '0.051 (0.050–0.053)']);
  });

  it('says what group commit buys: each update row\'s changes per second against --commit-batch 1\'s, from the rounds\' medians', () => {
    const updates = (policies: string, rates: number[]): Comparison => ({
      scenario: durableUpdate('token', 32, 0),
      policies,
      bare: combineRounds(rates.map(() => run(150_000, 5, 1, 3))),
      versiongate: combineRounds(rates.map((r) => run(r * 5, 5, 7, 20))),
      rounds: rates.map((r) => ({ bare: 30_000, versiongate: r })),
    });
    const rows = [updates('shipped', [3_000, 4_000, 4_100]), updates('shipped + 1,000', [3_500, 3_600, 3_700]), updates('shipped, --commit-batch 1', [2_000, 1_000, 2_100])];
    expect(groupCommitGain(rows)).toBe(
      'group commit: durable changes per second (one per request, medians of the rounds) shipped 4,000/s (2.0×), shipped + 1,000 3,600/s (1.8×), against 2,000/s with a transaction and an fsync per change (--commit-batch 1)',
    );
    // No --commit-batch 1 row (a --postgres run): nothing to compare with.
    expect(groupCommitGain(rows.slice(0, 2))).toBeUndefined();
  });

  it('takes the median of an even count as the mean of the middle two', () => {
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([7])).toBe(7);
    expect(median([])).toBeNaN();
  });

  it('reads BENCH_ROUNDS, three by default, and refuses what is not a whole number from 1 to 100', () => {
    expect(loadSettings({}).rounds).toBe(3);
    expect(loadSettings({ BENCH_ROUNDS: '1' }).rounds).toBe(1);
    for (const bad of ['0', '2.5', 'two', '101']) expect(() => loadSettings({ BENCH_ROUNDS: bad })).toThrow(/BENCH_ROUNDS must be a whole number from 1 to 100/);
  });
});
