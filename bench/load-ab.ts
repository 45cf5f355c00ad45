/**
 * `node --import tsx bench/load-ab.ts [--rounds N] [--sqlite] NAME=CHECKOUT …`: scenario 1 (durable
 * updates, shipped policies, 32 connections) on PostgreSQL with one replica, for each checkout of
 * versiongate given (this one as `new=.`, the code before a change as, say, `base=../vg-base`, a
 * `git worktree` with node_modules linked and dist/ built), run after run, round after round, the
 * order reversed every other round, all on one embedded PostgreSQL (a fresh database per run); with
 * `--sqlite`, this checkout on SQLite in each round too. BENCH_SECONDS per run (default 5), each
 * server warmed up first (BENCH_WARMUP, default 3).
 *
 * Each run prints its rate, p50/p99 and the CPU per request of the server's event loop, of its other
 * threads and of PostgreSQL's processes (read from /proc): on a shared machine the rates move with
 * everything else that runs, the CPU a request costs much less, and runs interleaved in one session
 * see the same machine.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startEmbeddedPostgres } from '../test/helpers/embedded-postgres.ts';
import { cleanUp, cleanUpOnExit, makeTempDir } from './load/cleanup.ts';
import { createDatabase } from './load/postgres-runs.ts';
import { runDriver } from './load/run-driver.ts';
import { durableUpdate } from './load/scenarios.ts';
import { loadSettings, ROOT } from './load/settings.ts';
import { threadCpu } from './load/thread-cpu.ts';
import { startVersiongate } from './load/versiongate-process.ts';

const CURATOR = { sub: 'bench-release-manager', groups: ['release-managers'] };
const WARMUP_BLOCK = 2;

/** CPU seconds of the PostgreSQL listening on `port`: its postmaster and every process it started. */
function postgresCpu(port: string): number {
  const pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  const read = (pid: string, file: string) => {
    try {
      return readFileSync(`/proc/${pid}/${file}`, 'utf8');
    } catch {
      return undefined; // ended meanwhile
    }
  };
  const postmaster = pids.find((pid) => {
    const argv = read(pid, 'cmdline')?.split('\0') ?? [];
    return argv[0]?.endsWith('postgres') === true && argv.includes(port);
  });
  let seconds = 0;
  for (const pid of pids) {
    const stat = read(pid, 'stat');
    if (!stat) continue;
    // Fields after the command name: ppid is the 2nd, utime and stime the 12th and 13th (clock ticks).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (pid === postmaster || fields[1] === postmaster) seconds += (Number(fields[11]) + Number(fields[12])) / 100;
  }
  return seconds;
}

function parseArgs(argv: string[]) {
  const roundsAt = argv.indexOf('--rounds');
  const rounds = roundsAt >= 0 ? Number(argv[roundsAt + 1]) : 3;
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error('--rounds takes a positive whole number');
  const checkouts = argv
    .filter((a, i) => a.includes('=') && argv[i - 1] !== '--rounds')
    .map((a) => {
      const [name, dir] = a.split('=') as [string, string];
      return { name, dir: resolve(dir) };
    });
  if (checkouts.length === 0) throw new Error('usage: node --import tsx bench/load-ab.ts [--rounds N] [--sqlite] NAME=CHECKOUT …');
  return { rounds, checkouts, sqlite: argv.includes('--sqlite') };
}

async function main(): Promise<void> {
  const { rounds, checkouts, sqlite } = parseArgs(process.argv.slice(2));
  const settings = loadSettings(process.env);
  const root = makeTempDir('versiongate-load-ab-');
  const server = await startEmbeddedPostgres();
  const port = new URL(server.adminUrl).port;
  console.log(`load-ab: ${rounds} rounds, ${settings.seconds} s per run after ${settings.warmupSeconds} s of warm-up; ${checkouts.map((c) => `${c.name}=${c.dir}`).join(', ')}`);
  try {
    let n = 0;
    for (let round = 0; round < rounds; round++) {
      const runs = [...checkouts.map((c) => ({ ...c, postgres: true })), ...(sqlite ? [{ name: 'sqlite', dir: ROOT, postgres: false }] : [])];
      if (round % 2 === 1) runs.reverse();
      for (const run of runs) {
        n++;
        const databaseUrl = run.postgres ? await createDatabase(server.adminUrl, `ab_${n}`) : undefined;
        const vg = await startVersiongate(join(root, `${run.name}-${n}`), 0, [], { databaseUrl, checkout: run.dir });
        try {
          const token = await vg.token(CURATOR.sub, CURATOR.groups);
          if (settings.warmupSeconds > 0) await runDriver({ ...durableUpdate(token, settings.connections, WARMUP_BLOCK).spec, url: vg.url, seconds: settings.warmupSeconds });
          let before: ReturnType<typeof threadCpu>;
          let postgresBefore = 0;
          const result = await runDriver({ ...durableUpdate(token, settings.connections, 0).spec, url: vg.url, seconds: settings.seconds }, () => {
            before = threadCpu(vg.pid);
            postgresBefore = postgresCpu(port);
          });
          const after = threadCpu(vg.pid);
          const total = result.requests.total;
          const us = (seconds: number) => `${Math.round((seconds * 1e6) / Math.max(1, total))} µs`;
          const cpu = before && after ? `event loop ${us(after.main - before.main)}, other threads ${us(after.others - before.others)}` : 'n/a';
          const postgres = run.postgres ? `, PostgreSQL ${us(postgresCpu(port) - postgresBefore)}` : '';
          const ok = result.statusCodeStats['200']?.count ?? 0;
          console.log(
            `${new Date().toISOString()} round ${round + 1} ${run.name}${run.postgres ? '' : ' (SQLite)'}: ${Math.round(result.requests.average)} req/s, p50 ${result.latency.p50} / p99 ${result.latency.p99} ms; CPU per request: ${cpu}${postgres}; ${ok}/${total} answered 200`,
          );
        } finally {
          await vg.stop();
        }
      }
    }
  } finally {
    await server.stop();
  }
}

cleanUpOnExit();
try {
  await main();
} finally {
  await cleanUp();
}
