/**
 * bench:profile's reading of a V8 CPU profile, on a real one: a child node process under
 * `--cpu-prof` spends its time in one function called by another, and the summary must put that
 * time on the one function (its own) and on both (with callees), only within the window asked for.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { summarise, type CpuProfile } from '../../bench/load/profile-summary.ts';

const dir = mkdtempSync(join(tmpdir(), 'vg-profile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SCRIPT = `
function spin(until) {
  let x = 0;
  // The clock read once per million steps: the time is spin's own, not the clock's.
  do for (let i = 0; i < 1e6; i++) x += Math.sqrt(i); while (Date.now() < until);
  return x;
}
function caller() { return spin(Date.now() + 400); }
caller();
`;

function profiled(): { profile: CpuProfile; fromUs: number; toUs: number } {
  writeFileSync(join(dir, 'busy.js'), SCRIPT);
  const fromUs = Number(process.hrtime.bigint() / 1000n);
  const run = spawnSync(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${join(dir, 'out')}`, join(dir, 'busy.js')], { encoding: 'utf8' });
  const toUs = Number(process.hrtime.bigint() / 1000n);
  expect(run.status, run.stderr).toBe(0);
  const [file] = readdirSync(join(dir, 'out'));
  return { profile: JSON.parse(readFileSync(join(dir, 'out', file!), 'utf8')) as CpuProfile, fromUs, toUs };
}

describe('bench:profile summary', () => {
  const { profile, fromUs, toUs } = profiled();
  const named = (m: Map<string, number>, fn: string) => [...m].find(([name]) => name.startsWith(`${fn} `))?.[1] ?? 0;

  it("puts a function's time on it, and on its caller with callees, within the load's window", () => {
    const s = summarise(profile, fromUs, toUs);
    // 400 ms of spinning, sampled about every millisecond: most of what ran.
    expect(named(s.self, 'spin')).toBeGreaterThan(0.5 * s.busy);
    expect(named(s.self, 'spin')).toBeGreaterThan(200_000);
    expect(named(s.self, 'caller')).toBeLessThan(0.1 * s.busy);
    expect(named(s.total, 'caller')).toBeGreaterThanOrEqual(named(s.self, 'spin'));
    expect(named(s.total, 'spin')).toBe(named(s.self, 'spin'));
    expect(s.busy).toBeLessThanOrEqual(toUs - fromUs);
  });

  it('counts nothing outside the window', () => {
    const before = summarise(profile, fromUs - 10_000_000, fromUs - 1);
    expect(before.busy).toBe(0);
    expect(before.self.size).toBe(0);
  });
});
