/**
 * What the security suites share: a seeded data directory for a spawned server, the demo's chalk
 * package as the target of writes, and a look at the store afterwards (versions, audit records,
 * the chain) once the server has stopped.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verifyChain } from '../../src/audit/verify-chain.ts';
import { seedDemo } from '../../src/cli/seed-demo.ts';
import { systemClock } from '../../src/clock.ts';
import { openBlobStore } from '../../src/store/blob-store.ts';
import { openPostgresBlobStore } from '../../src/store/postgres/pg-blob-store.ts';
import { openPostgresStore } from '../../src/store/postgres/postgres-store.ts';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import type { AuditRecord } from '../../src/audit/audit-record.ts';
import type { PackageKey, Store } from '../../src/store/store.ts';

export const CHALK_QUERY = 'domain=my_domain&domain-owner=111122223333&repository=my_repo&format=npm&package=chalk';
export const CHALK_KEY: PackageKey = { domainOwner: '111122223333', domain: 'my_domain', repository: 'my_repo', format: 'npm', namespace: '', name: 'chalk' };
export const CHALK_VERSIONS = ['4.0.0', '4.1.0', '4.1.1'];
export const UPDATE_CHALK = `/v1/package/versions/update_status?${CHALK_QUERY}`;

export interface DataDir {
  dir: string;
  dataDir: string;
  remove(): void;
}

/** A data directory holding the demo seed (domains, repositories, chalk and friends). */
export async function seededDataDir(prefix: string): Promise<DataDir> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const dataDir = join(dir, 'data');
  const store = openSqliteStore({ file: join(dataDir, 'versiongate.db'), clock: systemClock });
  await seedDemo(store, openBlobStore(join(dataDir, 'blobs')));
  await store.close();
  return { dir, dataDir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface StoreLook {
  /** version → "status/revision" of every chalk version. */
  chalk: Record<string, string>;
  records: AuditRecord[];
  chainOk: boolean;
  chainReport: string;
}

/** Seeds the demo into a PostgreSQL database (its blobs in the database), as `seed demo --database-url` does. */
export async function seedPostgres(url: string): Promise<void> {
  const store = await openPostgresStore({ url, clock: systemClock, poolSize: 2 });
  try {
    await seedDemo(store, openPostgresBlobStore(store.pool));
  } finally {
    await store.close();
  }
}

/** Reads the store of a stopped server: its data directory's SQLite file, or the PostgreSQL database at `databaseUrl`. */
export async function lookAtStore(dataDir: string, databaseUrl?: string): Promise<StoreLook> {
  const store: Store = databaseUrl ? await openPostgresStore({ url: databaseUrl, clock: systemClock, poolSize: 2 }) : openSqliteStore({ file: join(dataDir, 'versiongate.db'), clock: systemClock });
  try {
    const snapshot = await store.readPackage(CHALK_KEY, CHALK_VERSIONS);
    const chalk: Record<string, string> = {};
    for (const v of CHALK_VERSIONS) {
      const row = snapshot.versions.get(v);
      chalk[v] = row ? `${row.status}/${row.revision}` : 'absent';
    }
    const records = await store.listAudit({ limit: 1_000_000 });
    const verified = await verifyChain(store);
    return { chalk, records, chainOk: verified.ok, chainReport: JSON.stringify(verified) };
  } finally {
    await store.close();
  }
}

/** A local HTTP server whose handler the test sets, counting the requests it gets. */
export interface TestHttpServer {
  url: string;
  hits: number;
  handle: (req: IncomingMessage, res: ServerResponse) => void;
  close(): Promise<void>;
}

export async function testHttpServer(handle: (req: IncomingMessage, res: ServerResponse) => void): Promise<TestHttpServer> {
  const state: TestHttpServer = {
    url: '',
    hits: 0,
    handle,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server: Server = createServer((req, res) => {
    state.hits++;
    state.handle(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return state;
}
