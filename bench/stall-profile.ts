/**
 * What ran during each stall that bench/reload.ts recorded: the samples of a V8 CPU profile (node
 * --cpu-prof) that fall inside it, grouped by stack. Diagnosis, not a benchmark:
 *
 *   BENCH_STALLS_FILE=/tmp/stalls.json node --cpu-prof --cpu-prof-dir=/tmp/prof … bench/reload.ts
 *   node --import tsx bench/stall-profile.ts /tmp/stalls.json /tmp/prof/<file>.cpuprofile [min on-CPU ms]
 */
import { readFileSync } from 'node:fs';
import type { Stall } from './stalls.ts';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

const [stallsFile, profileFile, minRun] = process.argv.slice(2);
if (!stallsFile || !profileFile) throw new Error('usage: stall-profile.ts <stalls.json> <profile.cpuprofile> [min on-CPU ms]');
const stalls = (JSON.parse(readFileSync(stallsFile, 'utf8')) as Stall[]).filter((s) => s.runMs >= Number(minRun ?? 10)).sort((a, b) => b.runMs - a.runMs);
const profile = JSON.parse(readFileSync(profileFile, 'utf8')) as Profile;

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const frame = (n: ProfileNode) => `${n.callFrame.functionName || '(anonymous)'}${n.callFrame.url ? ` ${n.callFrame.url.split('/').slice(-2).join('/')}:${n.callFrame.lineNumber + 1}` : ''}`;
const stackOf = (id: number): string[] => {
  const out: string[] = [];
  for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) out.push(frame(byId.get(at)!));
  return out.filter((f) => f !== '(root)');
};

const times: number[] = [];
let t = profile.startTime;
for (const d of profile.timeDeltas) times.push((t += d));

for (const s of stalls.slice(0, 20)) {
  const from = s.endMicros - s.ms * 1000;
  const counts = new Map<string, number>();
  let n = 0;
  for (let i = 0; i < times.length; i++) {
    if (times[i]! < from || times[i]! > s.endMicros) continue;
    const stack = stackOf(profile.samples[i]!);
    if (stack[0] === '(idle)' || stack[0] === '(program)') continue;
    n++;
    const key = stack.slice(0, 6).join(' < ');
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  console.log(`${s.ms.toFixed(1)} ms (on a CPU ${s.runMs.toFixed(1)}, waiting ${s.waitMs.toFixed(1)}, gc ${s.gcMs.toFixed(1)}) [${s.phase}]: ${n} samples`);
  for (const [k, c] of [...counts].sort((a, b) => b[1] - a[1]).slice(0, 4)) console.log(`    ${c}× ${k}`);
}
