/**
 * `npm run bench:reload`: what reloading a large policy set costs the requests being answered meanwhile.
 *
 * The live set is the shipped policies plus 10,000 generated static ones (BENCH_RELOAD_POLICIES
 * changes the count). While a stream of authorizations keeps the event loop busy, as requests under
 * load would, the folder is changed and reloaded BENCH_RELOADS times (default 50), through the same
 * PolicyManager the server uses (validation, compilation and the set's tests in a worker thread, the
 * new engine built and swapped here). For each reload it records the longest event-loop delay seen
 * during it (perf_hooks.monitorEventLoopDelay, 1 ms resolution) and, after it, the resident memory.
 *
 * It prints numbers and asserts nothing. Run with --expose-gc (the npm script does) so the RSS after
 * each reload is read after a collection: growth then means memory that is still held.
 *
 * On a shared machine most long delays are the kernel not running the event-loop thread at all. So
 * each gap between two turns of the load longer than BENCH_STALL_MS (20) is also split (stalls.ts)
 * into time on a CPU, time waiting for one, and time asleep (waiting for GC helper threads), with
 * the GC pauses inside it; the gaps longest on a CPU are the ones this code can shorten. With
 * BENCH_STALLS_FILE and node --cpu-prof, bench/stall-profile.ts says what ran in each of them.
 */
import { appendFileSync, cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import v8 from 'node:v8';
import { systemClock } from '../src/clock.ts';
import { DEV_ISSUER } from '../src/config.ts';
import { silentLogger } from '../src/log.ts';
import { PolicyManager } from '../src/policy/policy-manager.ts';
import { packageResource } from '../src/policy/entities.ts';
import { writeGeneratedPolicies } from './load/generated-policies.ts';
import { describeStalls, StallRecorder } from './stalls.ts';

const POLICIES = Number(process.env['BENCH_RELOAD_POLICIES'] ?? 10_000);
const RELOADS = Number(process.env['BENCH_RELOADS'] ?? 50);
const mib = (bytes: number) => Math.round(bytes / 2 ** 20);
const gc = (globalThis as { gc?: () => void }).gc;

// An experiment, not a setting of the server: V8 flags this process applies to itself before loading
// (BENCH_V8_FLAGS=--no-parallel-scavenge: scavenges on the event-loop thread alone, which then never
// waits for GC helper threads that a busy machine has not scheduled).
const v8Flags = process.env['BENCH_V8_FLAGS'];
if (v8Flags) v8.setFlagsFromString(v8Flags);

const dir = mkdtempSync(join(tmpdir(), 'vg-bench-reload-'));
try {
  const policyDir = join(dir, 'policies');
  cpSync(resolve(import.meta.dirname, '../policies'), policyDir, { recursive: true });
  const files = writeGeneratedPolicies(policyDir, POLICIES);
  let t = performance.now();
  const manager = PolicyManager.start({ dir: policyDir, clock: systemClock, logger: silentLogger });
  console.log(`${Object.keys(manager.live.policySet.policies).length} policies in the live set; first load ${Math.round(performance.now() - t)} ms (at start, before serving)`);

  // The load: authorizations back to back, a macrotask each (as requests arrive), over 100 principals
  // and repositories, half of them uncached. A reload that held the loop would delay all of them.
  const context = { versions: ['1.0.0'], currentStatuses: ['Published'], targetStatus: 'Archived' };
  let decisions = 0;
  let running = true;
  const recorder = new StallRecorder(Number(process.env['BENCH_STALL_MS'] ?? 20));
  recorder.phase = 'warm-up';
  function decide(): void {
    if (!running) return;
    recorder.turnStart();
    const i = decisions++;
    const n = i % 2 === 0 ? i % 100 : 100 + (i % 5_000);
    manager.authorizer().authorize({
      principal: { issuer: DEV_ISSUER, subject: `user${n}`, groups: ['maintainers'] },
      action: 'UpdatePackageVersionsStatus',
      resource: packageResource({ region: 'us-east-1', domain: `dom${n}`, domainOwner: '111122223333', repository: `repo${n}`, format: 'npm', namespace: '', name: 'pkg' }),
      context,
    });
    recorder.turnEnd();
    setImmediate(decide);
  }
  setImmediate(decide);

  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  // The same load with no reload, as long as a reload takes: the delays the load itself causes
  // (garbage collection, slices preparsed on first use), for comparison.
  const t0 = performance.now();
  await manager.reload('api'); // unchanged folder: the worker's check alone, no new engine
  const checkMs = performance.now() - t0;
  delay.reset();
  recorder.phase = 'no reload';
  await new Promise((r) => setTimeout(r, checkMs));
  const baseline = delay.max / 1e6;
  const worst: number[] = [];
  const reloadMs: number[] = [];
  const rss: number[] = [];
  for (let r = 1; r <= RELOADS; r++) {
    // A different set each time: one more policy, in one of the generated files.
    appendFileSync(join(policyDir, files[r % files.length]!), `@id("reload-${r}")\npermit(principal == User::"reload${r}", action == Action::"ReadPackageVersions", resource);\n`);
    delay.reset();
    recorder.phase = `reload ${r}`;
    t = performance.now();
    const outcome = await manager.reload('api');
    reloadMs.push(performance.now() - t);
    worst.push(delay.max / 1e6);
    if (outcome.outcome !== 'loaded') throw new Error(`reload ${r}: ${outcome.outcome} ${outcome.errors.join('\n')}`);
    recorder.phase = `after reload ${r} (explicit gc)`;
    gc?.();
    rss.push(process.memoryUsage.rss());
  }
  running = false;
  delay.disable();
  const stalls = recorder.finish().filter((s) => !s.phase.includes('explicit gc') && !s.phase.includes('warm-up'));
  // With --cpu-prof, bench/stall-profile.ts reads this to say what ran during each stall.
  if (process.env['BENCH_STALLS_FILE']) writeFileSync(process.env['BENCH_STALLS_FILE'], JSON.stringify(stalls));

  const sorted = [...worst].sort((a, b) => a - b);
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(`${RELOADS} reloads under a stream of ${decisions.toLocaleString('en')} authorizations (node ${process.version}${v8Flags ? `, V8 flags ${v8Flags}` : ''}${gc ? '' : ', no --expose-gc: RSS read without a collection'}):`);
  console.log(`  reload (worker check + engine + swap): median ${Math.round(median(reloadMs))} ms, longest ${Math.round(Math.max(...reloadMs))} ms`);
  console.log(`  longest event-loop delay with no reload, over ${Math.round(checkMs)} ms of the same load: ${baseline.toFixed(1)} ms`);
  console.log(`  longest event-loop delay during a reload: median ${median(worst).toFixed(1)} ms, worst ${sorted.at(-1)!.toFixed(1)} ms`);
  console.log(`  turns of the load that waited more than ${recorder.thresholdMs} ms: ${stalls.length}; the longest:`);
  for (const line of describeStalls(stalls, 10)) console.log(line);
  console.log(`  the longest on a CPU (the part a busy machine does not add):`);
  for (const line of describeStalls(stalls, 10, 'runMs')) console.log(line);
  console.log(`  RSS after reload 1: ${mib(rss[0]!)} MiB, 10: ${mib(rss[Math.min(9, rss.length - 1)]!)} MiB, ${RELOADS}: ${mib(rss.at(-1)!)} MiB`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
