/**
 * `npm run bench:profile -- [--scenario 1|2|3] [--policies N] [--seconds N] [--top N] [-- FLAGS]`:
 * where one of bench:load's loads spends the server's CPU, thread by thread. It starts versiongate
 * as bench:load does (seeded, real sockets; FLAGS are settings for it, e.g. `--commit-thread off`)
 * under V8's sampling profiler (`node --cpu-prof`, which the SQLite writer thread inherits), warms it
 * up, drives the scenario for BENCH-like `--seconds` (10 by default) with 32 connections, then stops
 * it and reads the profiles it wrote.
 *
 * It prints the server's CPU per request (from /proc, as bench:load does), and for the event loop
 * and the writer thread the functions that hold most of their time, by their own time (JavaScript,
 * or the native code it called: a better-sqlite3 statement's SQLite work is its caller's) and with
 * their callees, each as a share of the thread's samples under load and as microseconds per request.
 * V8 samples a thread by the clock, not by its CPU: a thread blocked in a system call (the writer's
 * COMMIT waiting for fsync) or waiting for a CPU is sampled where it waits, so a thread's sampled
 * time per request is more than its CPU. A profile is a sample (about one every millisecond), so a
 * row under a few per cent is noise. It prints numbers and asserts nothing; the .cpuprofile files
 * are kept (the path is printed) for Chrome's DevTools or speedscope.
 */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { cleanUp, cleanUpOnExit, makeTempDir } from './load/cleanup.ts';
import { summarise, type CpuProfile } from './load/profile-summary.ts';
import { runDriver } from './load/run-driver.ts';
import { auditedRead, durableUpdate, unauthorizedFlood } from './load/scenarios.ts';
import { threadCpu } from './load/thread-cpu.ts';
import { startVersiongate } from './load/versiongate-process.ts';

const WARMUP_SECONDS = 3;
const CONNECTIONS = 32;

function table(title: string, rows: Map<string, number>, busy: number, requests: number, top: number): string {
  const lines = [...rows]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, us]) => `  ${((100 * us) / busy).toFixed(1).padStart(5)}%  ${(us / requests).toFixed(1).padStart(6)} µs  ${name}`);
  return [`  ${title}:`, ...lines].join('\n');
}

/** Which thread wrote a profile: the event loop (thread 0 in its name), the SQLite writer, or another worker. */
function threadOf(file: string, profile: CpuProfile): 'event loop' | 'writer thread' | 'other worker' {
  if (/\.0\.\d+\.cpuprofile$/.test(file)) return 'event loop';
  return profile.nodes.some((n) => n.callFrame.url.includes('writer-thread')) ? 'writer thread' : 'other worker';
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    options: {
      scenario: { type: 'string', default: '1' },
      policies: { type: 'string', default: '0' },
      seconds: { type: 'string', default: '10' },
      top: { type: 'string', default: '15' },
    },
    allowPositionals: true,
  });
  const scenario = Number(values.scenario);
  const policies = Number(values.policies);
  const seconds = Number(values.seconds);
  const top = Number(values.top);
  if (![1, 2, 3].includes(scenario)) throw new Error(`--scenario must be 1, 2 or 3, got ${values.scenario}`);
  if (!Number.isInteger(policies) || policies < 0) throw new Error(`--policies must be a whole number, got ${values.policies}`);
  if (!(seconds > 0) || !Number.isInteger(top) || top < 1) throw new Error('--seconds must be positive and --top a positive whole number');

  cleanUpOnExit();
  // The profiles stay for a closer look (not a temporary folder of the run's, which goes at the end).
  const profiles = mkdtempSync(join(tmpdir(), 'versiongate-profile-'));
  const server = await startVersiongate(makeTempDir('versiongate-profile-server-'), policies, positionals, { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profiles}`] });
  const curator = await server.token('bench-release-manager', ['release-managers']);
  const reader = await server.token('bench-developer', ['developers']);
  const load = scenario === 1 ? durableUpdate(curator, CONNECTIONS, 0) : scenario === 2 ? auditedRead(reader, CONNECTIONS) : unauthorizedFlood(CONNECTIONS);
  await runDriver({ ...(scenario === 1 ? durableUpdate(curator, CONNECTIONS, 1) : load).spec, url: server.url, seconds: WARMUP_SECONDS });

  let before: ReturnType<typeof threadCpu>;
  let fromUs = 0;
  const result = await runDriver({ ...load.spec, url: server.url, seconds }, () => {
    before = threadCpu(server.pid);
    fromUs = Number(process.hrtime.bigint() / 1000n);
  });
  const toUs = Number(process.hrtime.bigint() / 1000n);
  const after = threadCpu(server.pid);
  await server.stop();

  const requests = Math.max(1, result.requests.total);
  console.log(`bench:profile: scenario ${scenario} (${load.name}), ${policies > 0 ? `shipped + ${policies.toLocaleString('en-US')}` : 'shipped'} policies${positionals.length > 0 ? `, ${positionals.join(' ')}` : ''}, ${seconds} s, ${Math.round(requests / seconds).toLocaleString('en-US')} req/s, ${new Date().toISOString()}`);
  if (before! && after) {
    const us = (seconds: number) => ((seconds * 1e6) / requests).toFixed(0);
    console.log(`server CPU per request (/proc): event loop ${us(after.main - before.main)} µs, other threads ${us(after.others - before.others)} µs`);
  }
  for (const file of readdirSync(profiles).filter((f) => f.endsWith('.cpuprofile')).sort()) {
    const profile = JSON.parse(readFileSync(join(profiles, file), 'utf8')) as CpuProfile;
    const thread = threadOf(file, profile);
    const summary = summarise(profile, fromUs, toUs);
    // A thread that hardly ran under this load (the writer under the 401 flood) has nothing to show.
    if (summary.busy < 0.01 * (toUs - fromUs)) continue;
    console.log(`\n${thread} (${file}): ${(summary.busy / 1000).toFixed(0)} ms sampled under load, ${(summary.busy / requests).toFixed(0)} µs per request`);
    console.log(table('own time', summary.self, summary.busy, requests, top));
    console.log(table('with callees', summary.total, summary.busy, requests, top));
  }
  console.log(`\nprofiles: ${profiles}`);
}

main()
  .catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  })
  .finally(() => cleanUp());
