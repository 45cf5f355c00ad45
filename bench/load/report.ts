/** The printed report: the run's circumstances, the comparison table, warnings, memory. */
import { execFileSync } from 'node:child_process';
import { availableParallelism, cpus } from 'node:os';
import type { DriveResult } from './drive-spec.ts';
import { expectedShare, median, rate } from './outcome.ts';
import type { Scenario } from './scenarios.ts';
import type { LoadSettings } from './settings.ts';

export interface Comparison {
  scenario: Scenario;
  /** "shipped", "shipped + 1,000" … */
  policies: string;
  /** Every round of each server, combined (combineRounds). */
  bare: DriveResult;
  versiongate: DriveResult;
  /** Each round's rates, the two servers' turns side by side. */
  rounds: ReadonlyArray<{ bare: number; versiongate: number }>;
}

/** Each round's ratio, versiongate over bare: the two turns of a round ran under nearly the same load. */
export function roundRatios(c: Comparison): number[] {
  return c.rounds.filter((r) => r.bare > 0).map((r) => r.versiongate / r.bare);
}

export function policiesLabel(generated: number): string {
  return generated === 0 ? 'shipped' : `shipped + ${generated.toLocaleString('en-US')}`;
}

function nproc(): string {
  try {
    return execFileSync('nproc', { encoding: 'utf8', timeout: 5_000 }).trim();
  } catch {
    return `${availableParallelism()} (nproc not available)`;
  }
}

export function header(command: string, { seconds, rounds, memorySeconds, connections, warmupSeconds }: LoadSettings): string {
  return [
    `versiongate load benchmark`,
    `date:     ${new Date().toISOString()}`,
    `node:     ${process.version}`,
    `nproc:    ${nproc()} (${cpus()[0]?.model ?? 'unknown CPU'})`,
    `command:  ${command}`,
    `load:     autocannon in its own process, ${connections} keep-alive connections; each measurement ${rounds} round${rounds === 1 ? '' : 's'} (BENCH_ROUNDS) of ${seconds} s (BENCH_SECONDS) for each server, the two taking turns; memory run ${memorySeconds} s; each server warmed up first with ${warmupSeconds} s of unmeasured updates (BENCH_WARMUP)`,
  ].join('\n');
}

const fixed = (n: number, digits: number) => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
/** Two decimals, or two significant digits for a ratio far below 1 (0.0052 rather than 0.01). */
const ratio = (r: number) => (r >= 0.1 ? r.toFixed(2) : r.toPrecision(2));
const percent = (share: number) => `${(share * 100).toFixed(share === 1 ? 0 : 2)}%`;

export function table(rows: readonly Comparison[]): string {
  const head = ['scenario', 'policies', 'bare req/s', 'versiongate req/s', 'ratio', 'versiongate p50 / p99', 'expected-status share'];
  const body = rows.map((r) => {
    // The rates are the rounds' medians, and the ratio the median of the rounds' ratios, with their
    // range when there was more than one round.
    const ratios = roundRatios(r);
    const range = ratios.length > 1 ? ` (${ratio(Math.min(...ratios))}–${ratio(Math.max(...ratios))})` : '';
    return [
      `${r.scenario.number}. ${r.scenario.name}`,
      r.policies,
      fixed(median(r.rounds.map((x) => x.bare)), 0),
      fixed(median(r.rounds.map((x) => x.versiongate)), 0),
      ratios.length > 0 ? `${ratio(median(ratios))}${range}` : 'n/a',
      `${fixed(r.versiongate.latency.p50, 1)} / ${fixed(r.versiongate.latency.p99, 1)} ms`,
      `${percent(expectedShare(r.versiongate, r.scenario.expected))} ${r.scenario.expected === 401 ? '401' : '2xx'}`,
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (i >= 2 && i <= 4 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(' | ')} |`;
  return [line(head), `|${widths.map((w, i) => (i >= 2 && i <= 4 ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`, ...body.map(line)].join('\n');
}

/**
 * What group commit buys, from the table's own rows: scenario 1's durable changes per second (one a
 * request) against the row that gives each request a transaction and an fsync of its own
 * (`--commit-batch 1`), both the rounds' medians. Undefined when the run has no such pair.
 */
export function groupCommitGain(rows: readonly Comparison[]): string | undefined {
  const updates = rows.filter((r) => r.scenario.number === 1);
  const oneByOne = updates.find((r) => r.policies.endsWith('--commit-batch 1'));
  const perSecond = (r: Comparison) => median(r.rounds.map((x) => x.versiongate));
  if (!oneByOne || !(perSecond(oneByOne) > 0)) return undefined;
  const grouped = updates.filter((r) => r !== oneByOne);
  if (grouped.length === 0) return undefined;
  const base = perSecond(oneByOne);
  const each = grouped.map((r) => `${r.policies} ${fixed(perSecond(r), 0)}/s (${(perSecond(r) / base).toFixed(1)}×)`);
  return `group commit: durable changes per second (one per request, medians of the rounds) ${each.join(', ')}, against ${fixed(base, 0)}/s with a transaction and an fsync per change (--commit-batch 1)`;
}

export interface MemoryReport {
  seconds: number;
  /** KiB, one a second. */
  samples: number[];
  result: DriveResult;
}

export function memory(m: MemoryReport): string {
  const mib = (kib: number) => `${(kib / 1024).toFixed(1)} MiB`;
  const at10 = m.samples[9];
  const end = m.samples[m.samples.length - 1];
  if (at10 === undefined || end === undefined) return `memory: only ${m.samples.length} RSS samples were taken; no comparison`;
  const change = (end - at10) / at10;
  const verdict = Math.abs(change) <= 0.1 ? 'within the ±10% target' : 'OUTSIDE the ±10% target';
  return [
    `memory (scenario 1, shipped policies, ${m.seconds} s, ${fixed(rate(m.result), 0)} req/s): versiongate RSS at the 10th second ${mib(at10)}, at the end ${mib(end)}: ${change >= 0 ? '+' : ''}${(change * 100).toFixed(1)}% (${verdict})`,
    `  RSS each second (MiB): ${m.samples.map((k) => (k / 1024).toFixed(0)).join(' ')}`,
  ].join('\n');
}
