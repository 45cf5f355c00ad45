/**
 * `BENCH_SECONDS=5 node --import tsx bench/postgres-stats.ts [--runs N] [--fresh-server] [--sqlite-first]
 * [--statements] [-c name=value …]`: where a PostgreSQL run's time goes. The one-replica run of
 * `bench:load -- --postgres` (seeded and warmed up alike, the bare server's run in between), repeated,
 * with PostgreSQL's own statistics read before and after each measured window: WAL records, full-page
 * images and bytes per commit (pg_stat_wal), checkpoints (pg_stat_checkpointer), WAL writes and
 * fsyncs with their time (pg_stat_io, track_wal_io_timing on), each table's scans, buffers and
 * (auto)vacuum/analyze counts, the CPU of each PostgreSQL process (/proc), the disk's flushes
 * (/proc/diskstats) and, sampled every 20 ms during the window, the backends' wait events and the
 * oldest snapshot held. `--fresh-server`: a new PostgreSQL per run, as bench:load starts one;
 * `--sqlite-first`: the SQLite run before each, as in bench:load; `--statements`: pg_stat_statements
 * per statement (it costs some CPU itself); `-c`: a PostgreSQL setting for the server (diagnosis only).
 * It prints numbers and asserts nothing.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres, type RunningPostgres } from '../test/helpers/embedded-postgres.ts';
import { startBare } from './load/bare-process.ts';
import { cleanUp, cleanUpOnExit, makeTempDir } from './load/cleanup.ts';
import { createDatabase } from './load/postgres-runs.ts';
import { runDriver } from './load/run-driver.ts';
import { durableUpdate } from './load/scenarios.ts';
import { describeCounters } from './load/server-counters.ts';
import { loadSettings } from './load/settings.ts';
import { threadCpu } from './load/thread-cpu.ts';
import { startVersiongate } from './load/versiongate-process.ts';

const CURATOR = { sub: 'bench-release-manager', groups: ['release-managers'] };

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** CPU seconds per PostgreSQL process title (postmaster's children and itself). */
function postgresCpuByTitle(port: string): Map<string, number> {
  const pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  const postmaster = pids.find((pid) => {
    const argv = read(`/proc/${pid}/cmdline`)?.split('\0') ?? [];
    return argv[0]?.endsWith('postgres') === true && argv.includes(port);
  });
  const out = new Map<string, number>();
  for (const pid of pids) {
    const stat = read(`/proc/${pid}/stat`);
    if (!stat) continue;
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (pid !== postmaster && fields[1] !== postmaster) continue;
    let title = (read(`/proc/${pid}/cmdline`) ?? '').replace(/\0/g, ' ').trim();
    if (pid === postmaster) title = 'postmaster';
    title = title.replace(/^postgres: /, '').replace(/ \d+\.\d+\.\d+\.\d+\(\d+\).*$/, ' (client)').replace(/versiongate \S+/, 'versiongate');
    out.set(title, (out.get(title) ?? 0) + (Number(fields[11]) + Number(fields[12])) / 100);
  }
  return out;
}

function machineCpu(): number[] {
  return (read('/proc/stat') ?? '').split('\n')[0]!.split(/\s+/).slice(1).map(Number);
}

/** /proc/diskstats' counters (from "reads completed" on), summed over the whole disks (vdX, sdX, nvmeXnY). */
function disk(): number[] {
  const sum: number[] = [];
  for (const line of (read('/proc/diskstats') ?? '').split('\n')) {
    const f = line.trim().split(/\s+/);
    if (!/^(vd[a-z]+|sd[a-z]+|nvme\d+n\d+)$/.test(f[2] ?? '')) continue;
    f.slice(3).forEach((v, i) => (sum[i] = (sum[i] ?? 0) + Number(v)));
  }
  return sum;
}

async function snapshot(client: pg.Client, statements: boolean) {
  const q = async (sql: string) => (await client.query(sql)).rows;
  return {
    wal: (await q('SELECT wal_records::bigint, wal_fpi::bigint, wal_bytes::bigint, wal_buffers_full::bigint FROM pg_stat_wal'))[0],
    ckpt: (await q('SELECT num_timed, num_requested, num_done, write_time, sync_time, buffers_written FROM pg_stat_checkpointer'))[0],
    bgw: (await q('SELECT buffers_clean FROM pg_stat_bgwriter'))[0],
    io: await q(
      "SELECT backend_type, object, context, coalesce(writes,0) writes, coalesce(write_time,0) write_time, coalesce(fsyncs,0) fsyncs, coalesce(fsync_time,0) fsync_time, coalesce(write_bytes,0) write_bytes FROM pg_stat_io WHERE (writes > 0 OR fsyncs > 0)",
    ),
    tables: await q(
      'SELECT t.relname, n_tup_ins, n_tup_upd, n_tup_hot_upd, n_dead_tup, autovacuum_count, autoanalyze_count, vacuum_count, analyze_count, coalesce(seq_scan,0) seq_scan, coalesce(seq_tup_read,0) seq_tup_read, coalesce(idx_scan,0) idx_scan, coalesce(idx_tup_fetch,0) idx_tup_fetch, coalesce(heap_blks_hit,0) heap_blks_hit, coalesce(idx_blks_hit,0) idx_blks_hit FROM pg_stat_user_tables t JOIN pg_statio_user_tables s USING (relid)',
    ),
    statements: statements ? await q("SELECT queryid::text id, left(regexp_replace(query, '\\s+', ' ', 'g'), 60) query, calls, shared_blks_hit, total_exec_time, total_plan_time, wal_records, wal_fpi FROM pg_stat_statements") : [],
    db: (await q('SELECT xact_commit, blks_read, blks_hit FROM pg_stat_database WHERE datname = current_database()'))[0],
  };
}

type Snap = Awaited<ReturnType<typeof snapshot>>;

function diff(a: Snap, b: Snap, commits: number): string[] {
  const lines: string[] = [];
  const n = (x: unknown) => Number(x);
  const w = (k: string) => n((b.wal as Record<string, unknown>)[k]) - n((a.wal as Record<string, unknown>)[k]);
  lines.push(`wal: records ${w('wal_records')}, fpi ${w('wal_fpi')}, bytes ${w('wal_bytes')} (${(w('wal_bytes') / Math.max(1, commits)).toFixed(0)} per commit, fpi ${(w('wal_fpi') / Math.max(1, commits)).toFixed(2)} per commit), buffers_full ${w('wal_buffers_full')}`);
  const c = (k: string) => n((b.ckpt as Record<string, unknown>)[k]) - n((a.ckpt as Record<string, unknown>)[k]);
  lines.push(`checkpointer: timed ${c('num_timed')}, requested ${c('num_requested')}, done ${c('num_done')}, buffers ${c('buffers_written')}, write ${c('write_time')} ms, sync ${c('sync_time')} ms; bgwriter clean ${n(b.bgw.buffers_clean) - n(a.bgw.buffers_clean)}`);
  const key = (r: Record<string, unknown>) => `${r.backend_type}/${r.object}/${r.context}`;
  const before = new Map(a.io.map((r) => [key(r), r]));
  for (const r of b.io) {
    const p = before.get(key(r)) ?? {};
    const d = (k: string) => n(r[k]) - n((p as Record<string, unknown>)[k] ?? 0);
    if (d('writes') === 0 && d('fsyncs') === 0) continue;
    lines.push(`io ${key(r)}: writes ${d('writes')} (${(d('write_bytes') / 1024).toFixed(0)} KiB, ${d('write_time').toFixed(1)} ms), fsyncs ${d('fsyncs')} (${d('fsync_time').toFixed(1)} ms, ${(d('fsync_time') / Math.max(1, d('fsyncs'))).toFixed(2)} ms each)`);
  }
  const tb = new Map(a.tables.map((r) => [r.relname, r]));
  const moved: string[] = [];
  for (const r of b.tables) {
    const p = tb.get(r.relname);
    if (!p) continue;
    const av = n(r.autovacuum_count) - n(p.autovacuum_count);
    const aa = n(r.autoanalyze_count) - n(p.autoanalyze_count);
    if (av || aa) moved.push(`${r.relname} autovacuum +${av} autoanalyze +${aa}`);
    const d = (k: string) => n(r[k]) - n(p[k]);
    if (d('heap_blks_hit') + d('idx_blks_hit') > 1000)
      lines.push(`table ${r.relname}: heap hit ${d('heap_blks_hit')}, idx hit ${d('idx_blks_hit')}, seq_scan ${d('seq_scan')} (${d('seq_tup_read')} tuples), idx_scan ${d('idx_scan')} (fetch ${d('idx_tup_fetch')}), upd ${d('n_tup_upd')} (hot ${d('n_tup_hot_upd')}), dead now ${r.n_dead_tup}`);
  }
  const sb = new Map(a.statements.map((r) => [r.id, r]));
  const st = b.statements
    .map((r) => {
      const p = sb.get(r.id) ?? { calls: 0, shared_blks_hit: 0, total_exec_time: 0, total_plan_time: 0 };
      return { q: r.query, calls: n(r.calls) - n(p.calls), hit: n(r.shared_blks_hit) - n(p.shared_blks_hit), ms: n(r.total_exec_time) - n(p.total_exec_time), plan: n(r.total_plan_time) - n(p.total_plan_time) };
    })
    .filter((x) => x.calls > 0)
    .sort((x, y) => y.ms - x.ms)
    .slice(0, 8);
  for (const x of st) lines.push(`stmt ${x.calls} calls, ${(x.hit / x.calls).toFixed(1)} hits/call, ${((x.ms * 1000) / x.calls).toFixed(0)} µs exec/call, plan ${((x.plan * 1000) / x.calls).toFixed(0)} µs: ${x.q}`);
  lines.push(`autovacuum during window: ${moved.join('; ') || 'none'}`);
  lines.push(`db: commits ${n(b.db.xact_commit) - n(a.db.xact_commit)}, blks_read ${n(b.db.blks_read) - n(a.db.blks_read)}, blks_hit ${n(b.db.blks_hit) - n(a.db.blks_hit)}`);
  return lines;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const runsAt = argv.indexOf('--runs');
  const runs = runsAt >= 0 ? Number(argv[runsAt + 1]) : 4;
  const flags: string[] = [];
  argv.forEach((a, i) => {
    if (a === '-c') flags.push('-c', argv[i + 1]!);
  });
  const fresh = argv.includes('--fresh-server');
  const statements = argv.includes('--statements');
  if (statements) flags.push('-c', 'shared_preload_libraries=pg_stat_statements', '-c', 'pg_stat_statements.track_planning=on');
  const sqliteFirst = argv.includes('--sqlite-first');
  const settings = loadSettings(process.env);
  const root = makeTempDir('versiongate-pg-diag-');
  const bare = await startBare();
  const observe = ['-c', 'track_wal_io_timing=on', '-c', 'track_io_timing=on', '-c', 'log_checkpoints=on', '-c', 'log_autovacuum_min_duration=0'];
  let server: RunningPostgres | undefined;
  try {
    for (let i = 0; i < runs; i++) {
      if (sqliteFirst) {
        const s = await startVersiongate(join(root, `sqlite-${i}`), 0);
        const t = await s.token(CURATOR.sub, CURATOR.groups);
        await runDriver({ ...durableUpdate(t, 32, 2).spec, url: s.url, seconds: settings.warmupSeconds });
        const r = await runDriver({ ...durableUpdate(t, 32, 0).spec, url: s.url, seconds: settings.seconds });
        console.log(`${new Date().toISOString()} run ${i + 1} SQLite ${Math.round(r.requests.average)} req/s p99 ${r.latency.p99}`);
        await s.stop();
      }
      if (!server || fresh) {
        await server?.stop();
        server = await startEmbeddedPostgres([...observe, ...flags]);
      }
      const port = new URL(server.adminUrl).port;
      const url = await createDatabase(server.adminUrl, `diag_${i}`);
      const vg = await startVersiongate(join(root, `pg-${i}`), 0, [], { databaseUrl: url });
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      if (statements) await client.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
      try {
        const token = await vg.token(CURATOR.sub, CURATOR.groups);
        await runDriver({ ...durableUpdate(token, 32, 2).spec, url: vg.url, seconds: settings.warmupSeconds });
        // As bench:load does: the bare server's run between warm-up and measurement.
        await runDriver({ ...durableUpdate(token, 32, 0).spec, url: bare.url, seconds: settings.seconds });
        const counters0 = await vg.scrape();
        const snap0 = await snapshot(client, statements);
        const al = (await client.query("SELECT relname, autoanalyze_count, autovacuum_count, analyze_count, last_autoanalyze, n_live_tup, now() AS now FROM pg_stat_user_tables WHERE relname IN ('audit_log','audit_versions')")).rows;
        console.log(`  before window: ${al.map((r) => `${r.relname} autoanalyze ${r.autoanalyze_count} (last ${r.last_autoanalyze ? ((Date.parse(r.now) - Date.parse(r.last_autoanalyze)) / 1000).toFixed(1) + ' s ago' : 'never'}), analyze ${r.analyze_count}, live ${r.n_live_tup}`).join('; ')}`);
        let cpu0: ReturnType<typeof threadCpu>;
        let pcpu0 = new Map<string, number>();
        let m0: number[] = [];
        let d0: number[] = [];
        const waits = new Map<string, number>();
        let samples = 0;
        let oldest = 0;
        let oldestWho = '';
        let sampling = false;
        let stop = false;
        const sampler = (async () => {
          while (!stop) {
            if (sampling) {
              const xmins = (await client.query("SELECT backend_type, state, age(backend_xmin) a, left(query,40) q FROM pg_stat_activity WHERE backend_xmin IS NOT NULL AND pid <> pg_backend_pid() ORDER BY age(backend_xmin) DESC LIMIT 1")).rows[0];
              if (xmins) oldest = Math.max(oldest, Number(xmins.a)), oldestWho = Number(xmins.a) >= oldest ? `${xmins.backend_type} ${xmins.state} ${xmins.q}` : oldestWho;
              const rows = (
                await client.query(
                  "SELECT backend_type, state, coalesce(wait_event_type,'CPU') wt, coalesce(wait_event,'-') we, left(query, 30) q FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND (backend_type <> 'client backend' OR datname = current_database())",
                )
              ).rows;
              samples++;
              for (const r of rows) {
                if (r.backend_type === 'client backend' && r.state === 'idle') continue;
                const k = `${r.backend_type} ${r.wt}/${r.we}${r.backend_type === 'client backend' ? ` [${String(r.q).split(/\s/)[0]}]` : ''}`;
                waits.set(k, (waits.get(k) ?? 0) + 1);
              }
            }
            await new Promise((r) => setTimeout(r, 20));
          }
        })();
        const result = await runDriver({ ...durableUpdate(token, 32, 0).spec, url: vg.url, seconds: settings.seconds }, () => {
          cpu0 = threadCpu(vg.pid);
          pcpu0 = postgresCpuByTitle(port);
          m0 = machineCpu();
          d0 = disk();
          sampling = true;
        });
        sampling = false;
        const cpu1 = threadCpu(vg.pid);
        const pcpu1 = postgresCpuByTitle(port);
        const m1 = machineCpu();
        const d1 = disk();
        stop = true;
        await sampler;
        const snap1 = await snapshot(client, statements);
        const counters1 = await vg.scrape();
        const total = result.requests.total;
        const us = (s: number) => `${Math.round((s * 1e6) / Math.max(1, total))}`;
        const load = read('/proc/loadavg')?.split(' ').slice(0, 3).join(' ');
        console.log(`\n${new Date().toISOString()} run ${i + 1}: ${Math.round(result.requests.average)} req/s, p50 ${result.latency.p50} / p99 ${result.latency.p99} ms, load ${load}`);
        console.log(`  vg CPU/update µs: event loop ${cpu1 && cpu0! ? us(cpu1.main - cpu0.main) : '?'}, other ${cpu1 && cpu0! ? us(cpu1.others - cpu0.others) : '?'}`);
        const pg = [...pcpu1].map(([k, v]) => [k, v - (pcpu0.get(k) ?? 0)] as const).filter(([, v]) => v > 0);
        console.log(`  PostgreSQL CPU/update µs: ${pg.map(([k, v]) => `${k} ${us(v)}`).join(', ')}`);
        const dm = m1.map((v, j) => v - (m0[j] ?? 0));
        const sum = dm.reduce((s, v) => s + v, 0);
        console.log(`  machine: user ${((dm[0]! + dm[1]!) / sum * 200).toFixed(0)}% sys ${((dm[2]! + dm[5]! + dm[6]!) / sum * 200).toFixed(0)}% idle ${(dm[3]! / sum * 200).toFixed(0)}% iowait ${(dm[4]! / sum * 200).toFixed(0)}% steal ${(dm[7]! / sum * 200).toFixed(0)}% (of 200%)`);
        const dd = d1.map((v, j) => v - (d0[j] ?? 0));
        console.log(`  disks: writes ${dd[4]} (${dd[7]} ms), flushes ${dd[15]} (${dd[16]} ms, ${((dd[16] ?? 0) / Math.max(1, dd[15] ?? 0)).toFixed(2)} ms each), discards ${dd[11]}, in-flight now ${d1[8]}`);
        const commits = (counters1.find((s) => s.name === 'versiongate_store_commits_total')?.value ?? 0) - (counters0.find((s) => s.name === 'versiongate_store_commits_total')?.value ?? 0);
        for (const l of describeCounters(counters0, counters1, result.duration, total)) if (/commit|store calls/.test(l)) console.log(`  ${l}`);
        for (const l of diff(snap0, snap1, commits)) console.log(`  ${l}`);
        const top = [...waits].sort((x, y) => y[1] - x[1]).slice(0, 14);
        console.log(`  oldest backend_xmin age seen ${oldest} (${oldestWho})`);
        console.log(`  waits (${samples} samples, mean per sample): ${top.map(([k, v]) => `${k} ${(v / samples).toFixed(2)}`).join('; ')}`);
      } finally {
        await client.end();
        await vg.stop();
      }
    }
  } finally {
    await server?.stop();
    await bare.stop();
  }
}

cleanUpOnExit();
try {
  await main();
} finally {
  await cleanUp();
}
