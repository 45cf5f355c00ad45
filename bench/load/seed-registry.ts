/**
 * The registry a versiongate under load starts with: the demo registry (my_domain, my_repo, prod,
 * chalk …, as `versiongate seed demo` makes it) plus VERSION_SLOTS versions of one generic package
 * in my_repo, bench/load 1.0.0 … 1.0.63, each Published with a small asset.
 *
 * Written straight into the data directory's database before the server starts (the server is the
 * only writer while it runs). Every load connection updates a version of its own: concurrent
 * requests then never race for one version's revision, so none is retried or refused (409).
 */
import pg from 'pg';
import { systemClock } from '../../src/clock.ts';
import { DEFAULT_DATABASE_TIMEOUT_SECONDS } from '../../src/config.ts';
import { DEMO_DOMAIN, DEMO_OWNER, seedDemo } from '../../src/cli/seed-demo.ts';
import { newRevision } from '../../src/registry/revision.ts';
import { openStores } from '../../src/store/open-store.ts';
import type { PackageKey } from '../../src/store/store.ts';

export const REPOSITORY = 'my_repo';
export const BENCH_PACKAGE: PackageKey = { domainOwner: DEMO_OWNER, domain: DEMO_DOMAIN, repository: REPOSITORY, format: 'generic', namespace: 'bench', name: 'load' };
/** Two blocks of 32: one for the scenario 1 run, one for the memory run on the same server. */
export const VERSION_SLOTS = 96;

export function benchVersion(slot: number): string {
  return `1.0.${slot}`;
}

/** The query string naming a package, as the version API takes it. */
export function packageQuery(key: Pick<PackageKey, 'format' | 'namespace' | 'name'>): string {
  const q = new URLSearchParams({ domain: DEMO_DOMAIN, 'domain-owner': DEMO_OWNER, repository: REPOSITORY, format: key.format });
  if (key.namespace) q.set('namespace', key.namespace);
  q.set('package', key.name);
  return q.toString();
}

/** `databaseUrl`: seed that PostgreSQL (asset bytes in it) instead of the data directory's SQLite file. */
export async function seedRegistry(dataDir: string, databaseUrl?: string): Promise<void> {
  const { store, blobs } = await openStores({ database: databaseUrl ? { kind: 'postgres', url: databaseUrl, poolSize: 2, timeoutMs: DEFAULT_DATABASE_TIMEOUT_SECONDS * 1000 } : { kind: 'sqlite' }, dataDir, clock: systemClock });
  try {
    await seedDemo(store, blobs);
    for (let slot = 0; slot < VERSION_SLOTS; slot++) {
      const version = benchVersion(slot);
      const asset = await blobs.put(`load-${version}.txt`, Buffer.from(`bench/load ${version}\n`));
      await store.addVersion({ key: BENCH_PACKAGE, version, status: 'Published', revision: newRevision(), assets: [asset] });
    }
  } finally {
    await store.close();
  }
  if (databaseUrl) await analyze(databaseUrl);
}

/**
 * The load starts seconds after the seeding, before autovacuum's first ANALYZE (it looks once a
 * minute): without statistics PostgreSQL's planner found the (package_id, published_at) index as cheap
 * as the unique (package_id, version) one, and each update scanned all 96 versions of the package
 * (42 buffers instead of 4). A gateway's database that has run for a minute has its statistics.
 *
 * Only the tables the seeding filled: autovacuum never analyzes a table nothing was written to, and an
 * ANALYZE of the still empty audit_log told the planner it was truly empty (a table never analyzed is
 * assumed to be at least 10 pages). Then each writer connection planned the foreign-key check of
 * audit_versions (one per version a record names) once, during the warm-up, while the log held a few
 * dozen records: a sequential scan, cheaper at that size, kept as the connection's cached plan while
 * the log grew to thousands of records. In about half the runs (depending on the log's size at that
 * moment) each check then read the whole log: 4,000–9,000 buffers per batch instead of ~400,
 * PostgreSQL's CPU per update doubled, and its commits took 20–28 ms instead of 6–12.
 */
async function analyze(databaseUrl: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ name: string }>("SELECT format('%I.%I', schemaname, relname) AS name FROM pg_stat_user_tables");
    for (const { name } of rows) {
      const { rows: filled } = await client.query(`SELECT 1 FROM ${name} LIMIT 1`);
      if (filled.length > 0) await client.query(`ANALYZE ${name}`);
    }
  } finally {
    await client.end();
  }
}
