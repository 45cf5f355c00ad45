/**
 * `npm run bench:load`: versiongate against a bare node:http server under the same load, on real
 * sockets, each in a process of its own, driven by autocannon from a third (see bench/load/).
 *
 * For each scenario the bare server is measured, then versiongate, back to back, so both see the
 * same machine at nearly the same moment:
 *   1. a durable UpdatePackageVersionsStatus, with the shipped policies, + 1,000 and + 10,000
 *      generated ones (versiongate restarted on a fresh data directory for each size);
 *   2. an audited read (ListPackageVersions), shipped policies;
 *   3. a 401 flood (a garbage bearer token), shipped policies;
 * (with `-- --postgres`, only scenario 1 on SQLite, then scenarios 1 and 2 on PostgreSQL with one replica, and 1 with two; see load/postgres-runs.ts)
 * then a longer run of scenario 1 while the server's resident memory is sampled each second, and
 * scenario 1 again on a server whose writes run on the event loop (`--commit-thread off`) and on one
 * that gives each request a transaction (and fsync) of its own (`--commit-batch 1`): what the writer
 * thread and group commit buy, side by side.
 *
 * It prints numbers and asserts nothing: the exit status is 1 only when something could not start
 * or run. A share of expected statuses under 100% is printed as a WARNING with the statuses seen.
 */
import { rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { startBare, type BareServer } from './load/bare-process.ts';
import { postgresRuns } from './load/postgres-runs.ts';
import { cleanUp, cleanUpOnExit, makeTempDir, wasInterrupted } from './load/cleanup.ts';
import type { DriveResult } from './load/drive-spec.ts';
import { combineRounds, expectedShare, rate, statusBreakdown } from './load/outcome.ts';
import { groupCommitGain, header, memory, policiesLabel, table, type Comparison, type MemoryReport } from './load/report.ts';
import { sampleRss, type RssSampler } from './load/rss-sampler.ts';
import { runDriver } from './load/run-driver.ts';
import { auditedRead, durableUpdate, unauthorizedFlood, type Expected, type Scenario } from './load/scenarios.ts';
import { describeCounters } from './load/server-counters.ts';
import { describeCpu, describeDatabaseCpu, processTreeCpu, threadCpu, type DatabaseProcess, type ThreadCpu } from './load/thread-cpu.ts';
import { loadSettings, ROOT, type LoadSettings } from './load/settings.ts';
import { SERVER_NODE_ARGS, startVersiongate, type Versiongate } from './load/versiongate-process.ts';

/** Groups with the rights each scenario needs (policies/release-managers.cedar, package-readers.cedar). */
const CURATOR = { sub: 'bench-release-manager', groups: ['release-managers'] };
const READER = { sub: 'bench-developer', groups: ['developers'] };

/** Version blocks: 0 the measured updates, 1 the memory run, 2 the warm-up. */
const WARMUP_BLOCK = 2;
const progress = (line: string) => process.stderr.write(`bench:load: ${line}\n`);
// What has been measured so far: printed at the end, and also when a later step fails.
const rows: Comparison[] = [];
const warnings: string[] = [];
const counters: string[] = [];
let memoryReport: MemoryReport | undefined;

function checkShare(who: string, what: string, result: DriveResult, expected: Expected): void {
  const share = expectedShare(result, expected);
  if (share === 1) return;
  const line = `WARNING: ${who}, ${what}: only ${(share * 100).toFixed(2)}% of requests got the expected ${expected === 401 ? '401' : '2xx'}; statuses seen: ${statusBreakdown(result)}`;
  warnings.push(line);
  progress(line);
}

/**
 * One row of the table: `rounds` turns of `seconds` each for the bare server and for versiongate,
 * alternating which goes first (so neither always runs in the other's wake). The server's counters
 * and CPU cover its own turns only.
 */
function comparer(rounds: number) {
  return async function compare(bare: BareServer, vg: Versiongate, scenario: Scenario, policies: string, seconds: number, database?: DatabaseProcess): Promise<Comparison> {
    const what = `scenario ${scenario.number} (${scenario.name}), ${policies} policies`;
    const bareRuns: DriveResult[] = [];
    const vgRuns: DriveResult[] = [];
    const cpu: ThreadCpu = { main: 0, others: 0 };
    let cpuKnown = true;
    // The database server's CPU in versiongate's turns (PostgreSQL's, in the --postgres rows).
    let databaseCpu: number | undefined = database ? 0 : undefined;
    const databaseNow = () => {
      const pid = database?.pid();
      return pid === undefined ? undefined : processTreeCpu(pid);
    };
    const before = await vg.scrape();
    for (let round = 0; round < rounds; round++) {
      const label = rounds === 1 ? '' : `, round ${round + 1} of ${rounds}`;
      const turns = round % 2 === 0 ? (['bare', 'versiongate'] as const) : (['versiongate', 'bare'] as const);
      for (const turn of turns) {
        progress(`${what}: ${turn === 'bare' ? 'bare server' : 'versiongate'}, ${seconds} s${label}`);
        if (turn === 'bare') {
          bareRuns.push(await runDriver({ ...scenario.spec, url: bare.url, seconds }));
          continue;
        }
        let cpuBefore: ThreadCpu | undefined;
        let databaseBefore: number | undefined;
        vgRuns.push(
          await runDriver({ ...scenario.spec, url: vg.url, seconds }, () => {
            cpuBefore = threadCpu(vg.pid);
            databaseBefore = databaseNow();
          }),
        );
        const cpuAfter = threadCpu(vg.pid);
        if (cpuBefore && cpuAfter) {
          cpu.main += cpuAfter.main - cpuBefore.main;
          cpu.others += cpuAfter.others - cpuBefore.others;
        } else cpuKnown = false;
        const databaseAfter = databaseNow();
        if (databaseCpu !== undefined) databaseCpu = databaseBefore !== undefined && databaseAfter !== undefined ? databaseCpu + databaseAfter - databaseBefore : undefined;
      }
    }
    const after = await vg.scrape();
    const bareResult = combineRounds(bareRuns);
    const vgResult = combineRounds(vgRuns);
    // The bare server checks nothing, so it answers 2xx even to the 401 flood.
    checkShare('bare server', what, bareResult, '2xx');
    checkShare('versiongate', what, vgResult, scenario.expected);
    // The CPU of versiongate's turns, added up, as one before/after pair.
    const cpuLine = describeCpu(cpuKnown ? { main: 0, others: 0 } : undefined, cpuKnown ? cpu : undefined, vgResult.requests.total);
    const databaseLine = database ? [describeDatabaseCpu(database.name, databaseCpu, vgResult.requests.total)] : [];
    counters.push(`${what}:`, ...[cpuLine, ...databaseLine, ...describeCounters(before, after, vgResult.duration, vgResult.requests.total)].map((l) => `  ${l}`));
    const roundRates = bareRuns.map((b, i) => ({ bare: rate(b), versiongate: rate(vgRuns[i]!) }));
    return { scenario, policies, bare: bareResult, versiongate: vgResult, rounds: roundRates };
  };
}

/**
 * Unmeasured load before a server's first measurement (see LoadSettings.warmupSeconds): durable
 * updates on versions of their own (block 2), so the measured runs still find theirs as seeded.
 */
async function warmUp(who: string, url: string, token: string, settings: LoadSettings): Promise<void> {
  if (settings.warmupSeconds === 0) return;
  progress(`${who}: warming up, ${settings.warmupSeconds} s`);
  const result = await runDriver({ ...durableUpdate(token, settings.connections, WARMUP_BLOCK).spec, url, seconds: settings.warmupSeconds });
  if (result.requests.total === 0) progress(`${who}: no request was answered while warming up (a very busy machine?)`);
}

async function memoryRun(vg: Versiongate, token: string, settings: LoadSettings): Promise<MemoryReport> {
  // Block 1: versions the scenario 1 run on this server did not touch, so each request is a change.
  const scenario = durableUpdate(token, settings.connections, 1);
  progress(`memory: scenario 1, shipped policies, versiongate, ${settings.memorySeconds} s, RSS sampled each second`);
  const before = await vg.scrape();
  // Sampling starts with the load itself, so "the 10th second" is the 10th second of load.
  let sampler: RssSampler | undefined;
  const result = await runDriver({ ...scenario.spec, url: vg.url, seconds: settings.memorySeconds }, () => (sampler = sampleRss(vg.pid)));
  const samples = sampler?.stop() ?? [];
  const after = await vg.scrape();
  checkShare('versiongate', 'memory run (scenario 1, shipped policies)', result, scenario.expected);
  counters.push('memory run (scenario 1, shipped policies):', ...describeCounters(before, after, result.duration, result.requests.total).map((l) => `  ${l}`));
  return { seconds: settings.memorySeconds, samples, result };
}

function commandLine(): string {
  const seconds = process.env.BENCH_SECONDS ? `BENCH_SECONDS=${process.env.BENCH_SECONDS} ` : '';
  const script = relative(ROOT, process.argv[1] ?? 'bench/load.ts');
  const node = ['node', ...process.execArgv, script].join(' ');
  return process.env.npm_lifecycle_event === 'bench:load' ? `${seconds}npm run bench:load (${node})` : `${seconds}${node}`;
}

async function main(): Promise<void> {
  const settings = loadSettings(process.env);
  const compare = comparer(settings.rounds);
  console.log(header(commandLine(), settings));
  const root = makeTempDir('versiongate-load-');
  const bare = await startBare();
  console.log(`bare:     node --import tsx bench/load/bare-server.ts (${bare.url})`);
  await warmUp('the bare server', bare.url, 'unused', settings);
  // `npm run bench:load -- --postgres`: scenario 1 on SQLite, then on PostgreSQL with one replica (and the audited read) and with two.
  if (process.argv.includes('--postgres')) {
    rows.push(...(await postgresRuns(root, bare, settings, { progress, compare, warmUp })));
    await bare.stop();
    return;
  }

  for (const generated of settings.policySizes) {
    const policies = policiesLabel(generated);
    const dir = join(root, `versiongate-${generated}`);
    progress(`starting versiongate with ${policies} policies (loading, validating and testing them; seeding ${dir})`);
    const started = performance.now();
    const vg = await startVersiongate(dir, generated);
    progress(`versiongate ready at ${vg.url} after ${((performance.now() - started) / 1000).toFixed(1)} s`);
    if (generated === 0) console.log(`server:   node ${[...SERVER_NODE_ARGS, ...vg.args].join(' ').replaceAll(root, '$TMP')}`);
    const curator = await vg.token(CURATOR.sub, CURATOR.groups);
    await warmUp(`versiongate, ${policies} policies`, vg.url, curator, settings);
    rows.push(await compare(bare, vg, durableUpdate(curator, settings.connections, 0), policies, settings.seconds));
    if (generated === 0) {
      rows.push(await compare(bare, vg, auditedRead(await vg.token(READER.sub, READER.groups), settings.connections), policies, settings.seconds));
      rows.push(await compare(bare, vg, unauthorizedFlood(settings.connections), policies, settings.seconds));
      memoryReport = await memoryRun(vg, curator, settings);
    }
    await vg.stop();
    rmSync(dir, { recursive: true, force: true });
  }

  // The same durable updates with the writes on the event loop, then with one transaction (and so
  // one fsync) per request: what the writer thread and group commit each buy, side by side.
  for (const flags of [['--commit-thread', 'off'], ['--commit-batch', '1']]) {
    const label = flags.join(' ');
    const dir = join(root, `versiongate${flags.join('-')}`);
    progress(`starting versiongate with ${label}`);
    const variant = await startVersiongate(dir, 0, flags);
    const curator = await variant.token(CURATOR.sub, CURATOR.groups);
    await warmUp(`versiongate, ${label}`, variant.url, curator, settings);
    rows.push(await compare(bare, variant, durableUpdate(curator, settings.connections, 0), `shipped, ${label}`, settings.seconds));
    await variant.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  await bare.stop();
}

function printReport(): void {
  // Scenario order, then policy-set size (the runs themselves went server by server).
  const sorted = [...rows].sort((a, b) => a.scenario.number - b.scenario.number);
  console.log('');
  console.log(table(sorted));
  console.log('');
  const gain = groupCommitGain(sorted);
  if (gain) console.log(`${gain}\n`);
  for (const w of warnings) console.log(w);
  if (warnings.length > 0) console.log('');
  console.log('versiongate counters (from GET /metrics, before and after each run):');
  for (const line of counters) console.log(`  ${line}`);
  console.log('');
  if (memoryReport) console.log(memory(memoryReport));
}

cleanUpOnExit();
try {
  await main();
  printReport();
} catch (err) {
  // After Ctrl-C the children die with it; the signal handler reports and exits.
  if (wasInterrupted()) await new Promise(() => {});
  if (rows.length > 0) {
    console.log('\nPARTIAL RESULTS (the run stopped early, see the error below):');
    printReport();
  }
  process.stderr.write(`bench:load: ERROR: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
} finally {
  await cleanUp();
}
