/**
 * `node --import tsx bench/ab.ts [--scenario 1|2|3] [--rounds N] [--postgres [--sqlite NAME]]
 * NAME=CHECKOUT NAME=CHECKOUT … [--args NAME "FLAGS"]`: checkouts of versiongate side by side, to
 * tell what a change did, on their embedded SQLite store or, with `--postgres`, each on a database of
 * its own in one embedded PostgreSQL that the bench starts (`--sqlite NAME` leaves that side on
 * SQLite, as a comparison). `--args NAME "FLAGS"` starts that side's server with these flags too, so
 * one checkout can be set against itself (`thread=. inline=. --args inline "--commit-thread off"`).
 * Each checkout's server is started once, by that checkout's own bench/load/versiongate-process.ts
 * (so each runs its own code: give this one as `new=.`, the code before a change as, say,
 * `base=../vg-base`, a `git worktree` with node_modules linked and dist/ built), seeded and warmed up,
 * then all are driven with the same load (bench:load's scenario 1, 2 or 3, 32 connections) in turns,
 * round after round (6 by default), the order reversed every other round. BENCH_SECONDS per turn
 * (default 5).
 *
 * Each turn prints its rate, p50/p99 and the CPU per request of the server's event loop and of its
 * other threads (from /proc), and on PostgreSQL that of PostgreSQL's processes; then each side's
 * medians. On a shared machine the rates move with
 * whatever else runs; turns interleaved in one session see the same machine, and the CPU a request
 * costs moves much less. It prints numbers and asserts nothing.
 */
import { resolve } from 'node:path';
import { startEmbeddedPostgres, type RunningPostgres } from '../test/helpers/embedded-postgres.ts';
import { cleanUp, cleanUpOnExit, makeTempDir } from './load/cleanup.ts';
import { median, rate } from './load/outcome.ts';
import { createDatabase } from './load/postgres-runs.ts';
import { runDriver } from './load/run-driver.ts';
import { auditedRead, durableUpdate, unauthorizedFlood, type Scenario } from './load/scenarios.ts';
import { loadSettings } from './load/settings.ts';
import { processTreeCpu, threadCpu } from './load/thread-cpu.ts';

/** Groups with the rights each scenario needs, as in bench/load.ts. */
const CURATOR = { sub: 'bench-release-manager', groups: ['release-managers'] };
const READER = { sub: 'bench-developer', groups: ['developers'] };
/** Version blocks: the turns alternate 0 and 1 (each turn's update is a change), 2 warms up. */
const WARMUP_BLOCK = 2;

interface Server {
  url: string;
  pid: number;
  /** The flags it was started with (a harness too old to say is taken at its word: none). */
  args?: string[];
  token(sub: string, groups: string[]): Promise<string>;
  stop(): Promise<void>;
}

interface Side {
  name: string;
  checkout: string;
  server: Server;
  scenario: (block: number) => Scenario;
  /** On PostgreSQL: the database's CPU per request is measured for this side. */
  postgres: boolean;
  turns: Array<{ rate: number; p50: number; p99: number; main: number; others: number; database: number }>;
}

interface Checkout {
  name: string;
  checkout: string;
  /** Flags for this side's server, after the harness's own. */
  flags: string[];
}

interface Options {
  scenario: number;
  rounds: number;
  checkouts: Checkout[];
  postgres: boolean;
  /** With --postgres, the sides left on SQLite. */
  onSqlite: Set<string>;
}

function parseArgs(argv: string[]): Options {
  let scenario = 1;
  let rounds = 6;
  let postgres = false;
  const onSqlite = new Set<string>();
  const checkouts: Checkout[] = [];
  const flags = new Map<string, string[]>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--postgres') {
      postgres = true;
      continue;
    }
    if (arg === '--sqlite') {
      const name = argv[++i];
      if (name === undefined) throw new Error('--sqlite takes the NAME of a side to leave on SQLite');
      onSqlite.add(name);
      continue;
    }
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
    if (eq <= 0) throw new Error(`expected NAME=CHECKOUT, --scenario, --rounds, --postgres, --sqlite or --args, got '${arg}'`);
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
  for (const name of onSqlite) {
    if (!postgres) throw new Error('--sqlite NAME is for a side left on SQLite in a --postgres run');
    if (!checkouts.some((c) => c.name === name)) throw new Error(`--sqlite names '${name}', which is not one of the sides (${checkouts.map((c) => c.name).join(', ')})`);
  }
  return { scenario, rounds, checkouts, postgres, onSqlite };
}

async function start({ name, checkout, flags }: Checkout, dir: string, scenarioNumber: number, postgres: RunningPostgres | undefined): Promise<Side> {
  // The checkout's own harness, so that its own server code (and its own seeding) runs.
  const harness = (await import(resolve(checkout, 'bench/load/versiongate-process.ts'))) as {
    startVersiongate(dataDir: string, generated: number, extraArgs?: string[], options?: { databaseUrl?: string }): Promise<Server>;
  };
  const databaseUrl = postgres ? await createDatabase(postgres.adminUrl, `ab_${name.toLowerCase().replace(/[^a-z0-9_]/g, '_')}`) : undefined;
  process.stderr.write(`bench:ab: starting ${name} (${checkout}${flags.length > 0 ? ` ${flags.join(' ')}` : ''}${databaseUrl ? ', PostgreSQL' : ''})\n`);
  const server = await harness.startVersiongate(resolve(dir, name), 0, flags, databaseUrl ? { databaseUrl } : {});
  // A harness from before PostgreSQL runs would start on SQLite without a word: that side would
  // measure the wrong store.
  if (databaseUrl && !server.args?.includes('--database-url')) {
    await server.stop();
    throw new Error(`${name}: ${checkout}'s bench harness does not start versiongate on PostgreSQL (bench/load/versiongate-process.ts has no databaseUrl option there)`);
  }
  const curator = await server.token(CURATOR.sub, CURATOR.groups);
  const reader = await server.token(READER.sub, READER.groups);
  const scenario = (block: number) => (scenarioNumber === 1 ? durableUpdate(curator, 32, block) : scenarioNumber === 2 ? auditedRead(reader, 32) : unauthorizedFlood(32));
  return { name, checkout, server, scenario, postgres: databaseUrl !== undefined, turns: [] };
}

async function main(): Promise<void> {
  const { scenario, rounds, checkouts, postgres: onPostgres, onSqlite } = parseArgs(process.argv.slice(2));
  const { seconds, warmupSeconds } = loadSettings({ BENCH_SECONDS: process.env.BENCH_SECONDS ?? '5', BENCH_WARMUP: process.env.BENCH_WARMUP });
  const dir = makeTempDir('versiongate-ab-');
  const sides: Side[] = [];
  let postgres: RunningPostgres | undefined;
  try {
    if (onPostgres) {
      process.stderr.write('bench:ab: starting PostgreSQL (embedded-postgres)\n');
      postgres = await startEmbeddedPostgres();
    }
    for (const checkout of checkouts) sides.push(await start(checkout, dir, scenario, onSqlite.has(checkout.name) ? undefined : postgres));
    for (const side of sides) {
      if (warmupSeconds > 0) await runDriver({ ...durableUpdate(await side.server.token(CURATOR.sub, CURATOR.groups), 32, WARMUP_BLOCK).spec, url: side.server.url, seconds: warmupSeconds });
    }
    const width = Math.max(...sides.map((s) => s.name.length));
    console.log(`scenario ${scenario} (${sides[0]!.scenario(0).name}), ${rounds} rounds of ${seconds} s per checkout, ${new Date().toISOString()}`);
    for (let round = 0; round < rounds; round++) {
      for (const side of round % 2 === 0 ? sides : [...sides].reverse()) {
        let before: ReturnType<typeof threadCpu>;
        let databaseBefore: number | undefined;
        const databasePid = side.postgres ? postgres?.pid() : undefined;
        // Read once the load is running: the CPU of the turn's own requests.
        const result = await runDriver({ ...side.scenario(round % 2).spec, url: side.server.url, seconds }, () => {
          before = threadCpu(side.server.pid);
          databaseBefore = databasePid === undefined ? undefined : processTreeCpu(databasePid);
        });
        const after = threadCpu(side.server.pid);
        const databaseAfter = databasePid === undefined ? undefined : processTreeCpu(databasePid);
        const n = Math.max(1, result.requests.total);
        const turn = {
          rate: rate(result),
          p50: result.latency.p50,
          p99: result.latency.p99,
          main: before && after ? ((after.main - before.main) * 1e6) / n : Number.NaN,
          others: before && after ? ((after.others - before.others) * 1e6) / n : Number.NaN,
          database: databaseBefore !== undefined && databaseAfter !== undefined ? ((databaseAfter - databaseBefore) * 1e6) / n : Number.NaN,
        };
        side.turns.push(turn);
        const database = side.postgres ? `, PostgreSQL ${turn.database.toFixed(0)} µs` : '';
        console.log(`${side.name.padEnd(width)}  round ${round + 1}: ${turn.rate.toFixed(0)} req/s, p50 ${turn.p50} / p99 ${turn.p99} ms, CPU per request ${(turn.main + turn.others).toFixed(0)} µs (event loop ${turn.main.toFixed(0)} µs)${database}`);
      }
    }
    console.log('');
    for (const side of sides) {
      const m = (pick: (t: Side['turns'][number]) => number) => median(side.turns.map(pick));
      const database = side.postgres ? `, PostgreSQL ${m((t) => t.database).toFixed(0)} µs` : '';
      console.log(`${side.name.padEnd(width)}  median ${m((t) => t.rate).toFixed(0)} req/s, p99 ${m((t) => t.p99)} ms, CPU per request ${m((t) => t.main + t.others).toFixed(0)} µs (event loop ${m((t) => t.main).toFixed(0)} µs)${database}  ${side.checkout}${side.postgres ? ' on PostgreSQL' : ''}`);
    }
  } finally {
    for (const side of sides) await side.server.stop();
    await postgres?.stop();
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
