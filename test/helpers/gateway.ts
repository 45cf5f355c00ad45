/**
 * Builds the real app (createApp) on a temporary data directory: a real SQLite file (or, asked for,
 * a database of its own on the run's PostgreSQL), real Cedar policies (./policies unless a test gives
 * its own), a real ES256 development key. Requests go through app.request(), the same fetch handler
 * the server uses.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync, mkdirSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createApp } from '../../src/app.ts';
import { DEFAULT_REJECTION_WINDOW_MS, RejectionLog } from '../../src/audit/rejection-log.ts';
import { loadOrCreateDevKey, mintDevToken, type DevKey } from '../../src/auth/dev-key.ts';
import { keySourceFor } from '../../src/auth/key-source.ts';
import { createTokenVerifier } from '../../src/auth/verify-token.ts';
import { systemClock, type Clock } from '../../src/clock.ts';
import { DEV_AUDIENCE, DEV_ISSUER } from '../../src/config.ts';
import { silentLogger } from '../../src/log.ts';
import { PolicyEngine } from '../../src/policy/engine.ts';
import { loadPolicyDir, type CompiledPolicySet } from '../../src/policy/load-policies.ts';
import { openBlobStore, type BlobStore } from '../../src/store/blob-store.ts';
import { openPostgresBlobStore } from '../../src/store/postgres/pg-blob-store.ts';
import { openPostgresStore } from '../../src/store/postgres/postgres-store.ts';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import type { Store } from '../../src/store/store.ts';
import { seedDemo } from '../../src/cli/seed-demo.ts';
import { createSyncWorker, DEFAULT_SYNC_SETTINGS } from '../../src/sync/sync-worker.ts';
import { createTestDatabase } from './postgres.ts';

export const REPO_POLICIES = resolve(import.meta.dirname, '../../policies');
export const CHALK = 'domain=my_domain&domain-owner=111122223333&repository=my_repo&format=npm&package=chalk';
export const PROD_CHALK = 'domain=my_domain&domain-owner=111122223333&repository=prod&format=npm&package=chalk';
export const UPDATE = '/v1/package/versions/update_status';
export const DISPOSE = '/v1/package/versions/dispose';

export interface TestGateway {
  app: ReturnType<typeof createApp>;
  store: Store;
  blobs: BlobStore;
  dataDir: string;
  policyDir: string;
  devKey: DevKey;
  /** The PostgreSQL database it runs on (engine 'postgres'), which another replica may join. */
  databaseUrl?: string | undefined;
  /** A token signed by the development key, valid for an hour unless overridden. */
  token(sub: string, groups?: string[], ttlSeconds?: number): Promise<string>;
  /** POST a JSON body with an optional bearer token. */
  post(path: string, body: unknown, token?: string, headers?: Record<string, string>): Promise<Response>;
  get(path: string, token?: string): Promise<Response>;
  /**
   * Runs every sync job due now to its end, as the server's worker pool would (the app alone runs
   * none): a published version is downloadable only after this. Returns how many jobs ran.
   */
  sync(): Promise<number>;
  /** How refused tokens are audited (rejection-log.ts): flush() writes the open window's counts. */
  rejections: RejectionLog;
  close(): Promise<void>;
}

export interface TestGatewayOptions {
  /** Extra or replacement .cedar files (name → text) on top of a copy of ./policies. */
  policies?: Record<string, string>;
  /** Replace the whole policy folder's .cedar files with these (the schema is kept). */
  onlyPolicies?: Record<string, string>;
  clock?: Clock;
  seed?: boolean;
  /** The window refused tokens are counted over (the server's default unless given; 0: each recorded). */
  rejectionWindowMs?: number;
  /** The store: SQLite (the default), or PostgreSQL with its blob store, seeded the same way. */
  engine?: 'sqlite' | 'postgres';
  /**
   * Another replica of a PostgreSQL gateway: a store and an app of its own on that gateway's database
   * (already seeded, left in place on close), trusting the same development key.
   */
  replicaOf?: TestGateway;
  /** What the app is given in place of the store (a test that interleaves another request with a store call). */
  wrapStore?: (store: Store) => Store;
  /** The gateway's account (VERSIONGATE_ACCOUNT_ID); the seeded domains' owner by default. */
  accountId?: string;
}

export async function testGateway(options: TestGatewayOptions = {}): Promise<TestGateway> {
  const clock = options.clock ?? systemClock;
  const dataDir = mkdtempSync(join(tmpdir(), 'versiongate-test-'));
  const policyDir = join(dataDir, 'policies');
  mkdirSync(policyDir);
  if (options.onlyPolicies) {
    cpSync(join(REPO_POLICIES, 'schema.cedarschema'), join(policyDir, 'schema.cedarschema'));
    for (const [name, text] of Object.entries(options.onlyPolicies)) writeFileSync(join(policyDir, name), text);
  } else {
    cpSync(REPO_POLICIES, policyDir, { recursive: true });
    for (const [name, text] of Object.entries(options.policies ?? {})) writeFileSync(join(policyDir, name), text);
  }
  const engine = new PolicyEngine(compiledOnce(policyDir, options));
  // A seeded database on the system clock is a copy of this worker's template (seeded and synced once);
  // a test with its own clock seeds its own, so every time in it comes from that clock.
  const replicaOf = options.replicaOf;
  if (replicaOf && !replicaOf.databaseUrl) throw new Error('testGateway: replicaOf must be a gateway on PostgreSQL');
  const postgres = options.engine === 'postgres' || replicaOf !== undefined;
  const fromTemplate = !postgres && options.seed !== false && options.clock === undefined;
  if (fromTemplate) cpSync(await seededTemplate(), join(dataDir, 'data'), { recursive: true });
  const devKey = replicaOf ? replicaOf.devKey : await loadOrCreateDevKey(join(dataDir, 'data'));
  const auth = { mode: 'dev' as const, issuer: DEV_ISSUER, audience: DEV_AUDIENCE };
  const verifier = createTokenVerifier({ keySource: keySourceFor(auth, devKey), issuer: DEV_ISSUER, audience: DEV_AUDIENCE, groupsClaim: 'groups', clock, clockToleranceSeconds: 0 });
  const database = postgres && !replicaOf ? await createTestDatabase('gateway') : undefined;
  const databaseUrl = replicaOf?.databaseUrl ?? database?.url;
  const pgStore = databaseUrl ? await openPostgresStore({ url: databaseUrl, clock, poolSize: 8 }) : undefined;
  const store: Store = pgStore ?? openSqliteStore({ file: join(dataDir, 'data', 'versiongate.db'), clock });
  const blobs = pgStore ? openPostgresBlobStore(pgStore.pool) : openBlobStore(join(dataDir, 'data', 'blobs'));
  const worker = createSyncWorker({ store, blobs, clock, log: silentLogger, settings: DEFAULT_SYNC_SETTINGS });
  const sync = async () => {
    let ran = 0;
    while (await worker.runOnce()) ran++;
    return ran;
  };
  // The demo versions are synchronised, as a server started on a seeded database would have them.
  if (options.seed !== false && !fromTemplate && !replicaOf) await seedAndSync(store, blobs, sync, clock);
  const rejections = new RejectionLog({ append: (r) => store.appendAudit(r), windowMs: options.rejectionWindowMs ?? DEFAULT_REJECTION_WINDOW_MS });
  const app = createApp({ store: options.wrapStore?.(store) ?? store, blobs, authorizer: () => engine, clock, region: 'us-east-1', logger: silentLogger, verifier, rejections, accountId: options.accountId });

  const withAuth = (token?: string, headers: Record<string, string> = {}) => ({ ...headers, ...(token ? { authorization: `Bearer ${token}` } : {}) });
  return {
    app,
    store,
    blobs,
    dataDir,
    policyDir,
    devKey,
    databaseUrl,
    token: (sub, groups = [], ttlSeconds = 3600) =>
      mintDevToken({ key: devKey, issuer: DEV_ISSUER, audience: DEV_AUDIENCE, subject: sub, groups, groupsClaim: 'groups', ttlSeconds, clock }),
    post: async (path, body, token, headers) =>
      app.request(path, {
        method: 'POST',
        headers: withAuth(token, { 'content-type': 'application/json', ...headers }),
        body: typeof body === 'string' ? body : JSON.stringify(body),
      }),
    get: async (path, token) => app.request(path, { headers: withAuth(token) }),
    sync,
    rejections,
    close: async () => {
      await rejections.close();
      await store.close();
      await database?.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function seedAndSync(store: Store, blobs: BlobStore, sync: () => Promise<number>, clock: Clock = systemClock): Promise<void> {
  // The seed's records carry the gateway's clock, as its rows and syncs do.
  await seedDemo(store, blobs, { clock });
  await sync();
}

/**
 * The policy set compiled once per worker for each distinct folder a test asks for (Cedar validation
 * and the tests' parse are most of a gateway's build); each gateway still gets an engine, and so a
 * decision cache, of its own. The key is what the test put in the folder on top of ./policies.
 */
const compiledSets = new Map<string, CompiledPolicySet>();
export function compiledOnce(policyDir: string, options: Pick<TestGatewayOptions, 'policies' | 'onlyPolicies'> = {}): CompiledPolicySet {
  const key = JSON.stringify({ policies: options.policies ?? null, onlyPolicies: options.onlyPolicies ?? null });
  let set = compiledSets.get(key);
  if (!set) {
    set = loadPolicyDir(policyDir);
    compiledSets.set(key, set);
  }
  return set;
}

/**
 * The demo registry seeded and synchronised once per worker, into a data directory (database and
 * blobs) that each seeded gateway copies: the same rows, bytes, identifiers and audit records as
 * seeding again, without ~200 ms of seeding and syncing per test. Removed when the worker exits.
 */
let template: Promise<string> | undefined;
export function seededTemplate(): Promise<string> {
  template ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), 'versiongate-template-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    const store = openSqliteStore({ file: join(dir, 'versiongate.db'), clock: systemClock });
    const blobs = openBlobStore(join(dir, 'blobs'));
    const worker = createSyncWorker({ store, blobs, clock: systemClock, log: silentLogger, settings: DEFAULT_SYNC_SETTINGS });
    await seedAndSync(store, blobs, async () => {
      let ran = 0;
      while (await worker.runOnce()) ran++;
      return ran;
    });
    await store.close();
    // Closing the last connection checkpoints the WAL into the file: the copy is one file and blobs/.
    if (existsSync(join(dir, 'versiongate.db-wal'))) throw new Error(`the template database ${dir} kept its WAL after close`);
    return dir;
  })();
  return template;
}
