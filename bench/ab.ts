/**
 * `node --import tsx bench/ab.ts [--scenario 1|2|3] [--rounds N] NAME=CHECKOUT NAME=CHECKOUT … [--args NAME "FLAGS"]`:
 * checkouts of versiongate side by side on their embedded SQLite store, to tell what a change did.
 * `--args NAME "FLAGS"` starts that side's server with these flags too, so one checkout can be set
 * against itself (`thread=. inline=. --args inline "--commit-thread off"`).
 * Each checkout's server is started once, by that checkout's own bench/load/versiongate-process.ts
 * (so each runs its own code: give this one as `new=.`, the code before a change as, say,
 * `base=../vg-base`, a `git worktree` with node_modules linked and dist/ built), seeded and warmed up,
 * then all are driven with the same load (bench:load's scenario 1, 2 or 3, 32 connections) in turns,
 * round after round (6 by default), the order reversed every other round. BENCH_SECONDS per turn
 * (default 5).
 *
 * Each turn prints its rate, p50/p99 and the CPU per request of the server's event loop and of its
 * other threads (from /proc); then each checkout's medians. On a shared machine the rates move with
 * whatever else runs; turns interleaved in one session see the same machine, and the CPU a request
 * costs moves much less. It prints numbers and asserts nothing.
 */
import { resolve } from 'node:path';
import { cleanUp, cleanUpOnExit, makeTempDir } from './load/cleanup.ts';
import { median, rate } from './load/outcome.ts';
import { runDriver } from './load/run-driver.ts';
import { auditedRead, durableUpdate, unauthorizedFlood, type Scenario } from './load/scenarios.ts';
import { loadSettings } from './load/settings.ts';
import { threadCpu } from './load/thread-cpu.ts';

/** Groups with the rights each scenario needs, as in bench/load.ts. */
const CURATOR = { sub: 'bench-release-manager', groups: ['release-managers'] };
const READER = { sub: 'bench-developer', groups: ['developers'] };
/** Version blocks: the turns alternate 0 and 1 (each turn's update is a change), 2 warms up. */
const WARMUP_BLOCK = 2;

interface Server {
  url: string;
  pid: number;
  token(sub: string, groups: string[]): Promise<string>;
  stop(): Promise<void>;
}

interface Side {
  name: string;
  checkout: string;
  server: Server;
  scenario: (block: number) => Scenario;
  turns: Array<{ rate: number; p50: number; p99: number; main: number; others: number }>;
}

interface Checkout {
  name: string;
  checkout: string;
  /** Flags for this side's server, after the harness's own. */
  flags: string[];
}

function parseArgs(argv: string[]): { scenario: number; rounds: number; checkouts: Checkout[] } {
  let scenario = 1;
  let rounds = 6;
  const checkouts: Checkout[] = [];
  const flags = new Map<string, string[]>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--args') {
      const name = argv[++i];
      const text = argv[++i];
      if (name === undefined || text === undefined) throw new Error('--args takes a NAME and its server flags in one argument, as in --args inline "--commit-thread off"');
      flags.set(name, text.split(/\s+/).filter(Boolean));
      continue;
    }
    if (arg === '--scenario' || arg === '--rounds') {
      const value = Number(argv[++i]);
      if (!Number.isInteger(value) || value < 1 || (arg === '--scenario' && value > 3) || value > 100) throw new Error(`${arg} takes ${arg === '--scenario' ? '1, 2 or 3' : 'a whole number from 1 to 100'}, got '${argv[i]}'`);
      if (arg === '--scenario') scenario = value;
      else rounds = value;
      continue;
    }
    const eq = arg.indexOf('=');
    if (eq <= 0) throw new Error(`expected NAME=CHECKOUT, --scenario or --rounds, got '${arg}'`);
    const name = arg.slice(0, eq);
    if (checkouts.some((c) => c.name === name)) throw new Error(`two sides are named '${name}'`);
    checkouts.push({ name, checkout: resolve(arg.slice(eq + 1)), flags: [] });
  }
  if (checkouts.length < 2) throw new Error('give at least two checkouts: NAME=CHECKOUT NAME=CHECKOUT');
  for (const [name, given] of flags) {
    const side = checkouts.find((c) => c.name === name);
    if (!side) throw new Error(`--args names '${name}', which is not one of the sides (${checkouts.map((c) => c.name).join(', ')})`);
    side.flags = given;
  }
  return { scenario, rounds, checkouts };
}

async function start({ name, checkout, flags }: Checkout, dir: string, scenarioNumber: number): Promise<Side> {
  // The checkout's own harness, so that its own server code (and its own seeding) runs.
  const harness = (await import(resolve(checkout, 'bench/load/versiongate-process.ts'))) as {
    startVersiongate(dataDir: string, generated: number, extraArgs?: string[]): Promise<Server>;
  };
  process.stderr.write(`bench:ab: starting ${name} (${checkout}${flags.length > 0 ? ` ${flags.join(' ')}` : ''})\n`);
  const server = await harness.startVersiongate(resolve(dir, name), 0, flags);
  const curator = await server.token(CURATOR.sub, CURATOR.groups);
  const reader = await server.token(READER.sub, READER.groups);
  const scenario = (block: number) => (scenarioNumber === 1 ? durableUpdate(curator, 32, block) : scenarioNumber === 2 ? auditedRead(reader, 32) : unauthorizedFlood(32));
  return { name, checkout, server, scenario, turns: [] };
}

async function main(): Promise<void> {
  const { scenario, rounds, checkouts } = parseArgs(process.argv.slice(2));
  const { seconds, warmupSeconds } = loadSettings({ BENCH_SECONDS: process.env.BENCH_SECONDS ?? '5', BENCH_WARMUP: process.env.BENCH_WARMUP });
  const dir = makeTempDir('versiongate-ab-');
  const sides: Side[] = [];
  try {
    for (const checkout of checkouts) sides.push(await start(checkout, dir, scenario));
    for (const side of sides) {
      if (warmupSeconds > 0) await runDriver({ ...durableUpdate(await side.server.token(CURATOR.sub, CURATOR.groups), 32, WARMUP_BLOCK).spec, url: side.server.url, seconds: warmupSeconds });
    }
    const width = Math.max(...sides.map((s) => s.name.length));
    console.log(`scenario ${scenario} (${sides[0]!.scenario(0).name}), ${rounds} rounds of ${seconds} s per checkout, ${new Date().toISOString()}`);
    for (let round = 0; round < rounds; round++) {
      for (const side of round % 2 === 0 ? sides : [...sides].reverse()) {
        const before = threadCpu(side.server.pid);
        const result = await runDriver({ ...side.scenario(round % 2).spec, url: side.server.url, seconds });
        const after = threadCpu(side.server.pid);
        const n = Math.max(1, result.requests.total);
        const turn = {
          rate: rate(result),
          p50: result.latency.p50,
          p99: result.latency.p99,
          main: before && after ? ((after.main - before.main) * 1e6) / n : Number.NaN,
          others: before && after ? ((after.others - before.others) * 1e6) / n : Number.NaN,
        };
        side.turns.push(turn);
        console.log(`${side.name.padEnd(width)}  round ${round + 1}: ${turn.rate.toFixed(0)} req/s, p50 ${turn.p50} / p99 ${turn.p99} ms, CPU per request ${(turn.main + turn.others).toFixed(0)} µs (event loop ${turn.main.toFixed(0)} µs)`);
      }
    }
    console.log('');
    for (const side of sides) {
      const m = (pick: (t: Side['turns'][number]) => number) => median(side.turns.map(pick));
      console.log(`${side.name.padEnd(width)}  median ${m((t) => t.rate).toFixed(0)} req/s, p99 ${m((t) => t.p99)} ms, CPU per request ${m((t) => t.main + t.others).toFixed(0)} µs (event loop ${m((t) => t.main).toFixed(0)} µs)  ${side.checkout}`);
    }
  } finally {
    for (const side of sides) await side.server.stop();
  }
}

cleanUpOnExit();
try {
  await main();
} catch (err) {
  process.stderr.write(`bench:ab: ERROR: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
} finally {
  await cleanUp();
}
