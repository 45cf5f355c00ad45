/**
 * Lanes of package life cycles for the suites that break the server under load (kill-under-load,
 * database-outage): each lane walks its own package's versions through publish (bytes to the blob
 * store), unlist, publish again, dispose (its bytes go) and delete, one request at a time, over and
 * over. What a lane knows is what its client was told: the last step acknowledged, and whether a
 * request after it may have committed without the client knowing. Afterwards the database, read
 * directly, must show each version where the acknowledged steps left it, or one step further.
 */
import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { REPO_POLICIES } from '../helpers/gateway.ts';
import { LIMIT_MS } from './spawned-server.ts';

export const STEPS = ['publish', 'unlist', 'republish', 'dispose', 'delete'] as const;
export type Step = (typeof STEPS)[number];

export interface Lane {
  name: string;
  /** The version being walked through the steps, and the index of the last acknowledged step (-1: none). */
  n: number;
  acked: number;
  /** Request ids of every acknowledged change. */
  requestIds: string[];
  /** Versions whose delete was acknowledged. */
  done: string[];
  /** A request since the last acknowledged step may have committed without its client being told. */
  uncertain: boolean;
  /** Requests the server answered. */
  answered: number;
}

export function lanes(count: number): Lane[] {
  return Array.from({ length: count }, (_, i) => ({ name: `lane-${i}`, n: 0, acked: -1, requestIds: [], done: [], uncertain: false, answered: 0 }));
}

const query = (lane: Lane) => `domain=my_domain&domain-owner=111122223333&repository=my_repo&format=generic&namespace=kill&package=${lane.name}`;
export const versionOf = (lane: Lane) => `1.0.${lane.n}`;
/** The step a lane takes next. */
export const nextStep = (lane: Lane): Step => STEPS[lane.acked + 1]!;

export async function step(url: string, token: string, lane: Lane, s: Step): Promise<Response> {
  const common = { authorization: `Bearer ${token}` };
  const signal = AbortSignal.timeout(LIMIT_MS);
  const v = versionOf(lane);
  if (s === 'publish') {
    const bytes = randomBytes(64 + lane.n);
    return fetch(`${url}/v1/package/version/publish?${query(lane)}&version=${v}&asset=a.bin`, {
      method: 'POST',
      body: bytes,
      headers: { ...common, 'content-type': 'application/octet-stream', 'x-amz-content-sha256': createHash('sha256').update(bytes).digest('hex') },
      signal,
    });
  }
  const path = { unlist: 'update_status', republish: 'update_status', dispose: 'dispose', delete: 'delete' }[s];
  const body = { versions: [v], ...(s === 'unlist' ? { targetStatus: 'Unlisted' } : s === 'republish' ? { targetStatus: 'Published' } : {}) };
  return fetch(`${url}/v1/package/versions/${path}?${query(lane)}`, { method: 'POST', body: JSON.stringify(body), headers: { ...common, 'content-type': 'application/json' }, signal });
}

/**
 * Takes the server's answer to step `s`: a 200 that changed the version is acknowledged. After an
 * uncertain request, a retry that finds the step already done (the version already deleted, or
 * already published) is the earlier request's change, recorded under its id. Anything else throws.
 */
export function acknowledge(lane: Lane, s: Step, res: Response, text: string): void {
  lane.answered++;
  const body = (res.status === 200 ? JSON.parse(text) : {}) as { failedVersions?: Record<string, { errorCode: string }> };
  const failed = Object.values(body.failedVersions ?? {});
  const alreadyDone = lane.uncertain && ((s === 'delete' && failed[0]?.errorCode === 'NOT_FOUND') || (s === 'publish' && res.status === 409));
  lane.uncertain = false;
  if (!alreadyDone) {
    if (res.status !== 200) throw new Error(`${s} of ${lane.name} ${versionOf(lane)}: ${res.status} ${text}`);
    if (failed.length > 0) throw new Error(`${s} of ${lane.name} ${versionOf(lane)} failed: ${text}`);
    lane.requestIds.push(res.headers.get('x-amzn-requestid')!);
  }
  lane.acked++;
  if (lane.acked === STEPS.length - 1) {
    lane.done.push(versionOf(lane));
    lane.n++;
    lane.acked = -1;
  }
}

/** The database, read directly: SQL written with `?`, numbered for PostgreSQL. */
export interface Rows {
  all<T>(sql: string, ...params: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

export function sqliteRows(file: string): Rows {
  const db = new Database(file, { readonly: true });
  return { all: async <T>(sql: string, ...params: unknown[]) => db.prepare(sql).all(...params) as T[], close: async () => void db.close() };
}

export async function postgresRows(url: string): Promise<Rows> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return {
    all: async <T>(sql: string, ...params: unknown[]) => {
      let n = 0;
      return (await client.query(sql.replace(/\?/g, () => `$${++n}`), params)).rows as T[];
    },
    close: () => client.end(),
  };
}

/** Where a version stands in the steps, from the database: -1 absent (never published, or deleted). */
export async function standing(db: Rows, lane: Lane, version: string): Promise<{ status: string | null; assets: number }> {
  const [row] = await db.all<{ status: string; assets: number | string }>(
    `SELECT v.status AS status, (SELECT count(*) FROM assets a WHERE a.version_id = v.id) AS assets
     FROM package_versions v JOIN packages p ON p.id = v.package_id
     WHERE p.namespace = 'kill' AND p.name = ? AND v.version = ?`,
    lane.name,
    version,
  );
  // A deleted version may stay as a row marked Deleted: either way it does not exist. (PostgreSQL's count is a bigint, read as text.)
  return row && row.status !== 'Deleted' ? { status: row.status, assets: Number(row.assets) } : { status: null, assets: 0 };
}

/** The blob keys whose bytes the blob store holds: files in the data directory, or rows in PostgreSQL (complete ones, and chunks of any). */
export async function heldBlobKeys(engine: 'sqlite' | 'postgres', db: Rows, dataDir: string): Promise<Set<string>> {
  if (engine === 'postgres') {
    const rows = await db.all<{ k: string }>('SELECT blob_key AS k FROM blobs UNION SELECT blob_key AS k FROM blob_chunks');
    return new Set(rows.map((r) => r.k));
  }
  const onDisk = new Set<string>();
  for (const sub of readdirSync(join(dataDir, 'blobs'), { withFileTypes: true })) {
    if (!sub.isDirectory()) continue;
    for (const f of readdirSync(join(dataDir, 'blobs', sub.name))) if (/^[0-9a-f]{32}$/.test(f)) onDisk.add(f);
  }
  return onDisk;
}

/** What the database may show after step `i` was acknowledged (i+1: the next one committed, its answer lost). */
export const STATE_AFTER: Record<number, string | null> = { [-1]: null, 0: 'Published', 1: 'Unlisted', 2: 'Published', 3: 'Disposed', 4: null };

/**
 * Each lane's versions: every acknowledged change recorded (`applied`: the request ids of the applied
 * records), every version it deleted gone, and the current one where the acknowledged steps left it or
 * one step further, with its asset while it is not disposed. Returns the problems found.
 */
export async function lanesWhereTheyShouldBe(db: Rows, all: Lane[], applied: Set<string>): Promise<string[]> {
  const problems: string[] = [];
  for (const lane of all) {
    const missing = lane.requestIds.filter((id) => !applied.has(id));
    if (missing.length > 0) problems.push(`${lane.name}: acknowledged changes without their record: ${missing.join(', ')}`);
    for (const v of lane.done) if ((await standing(db, lane, v)).status !== null) problems.push(`${lane.name} ${v} was deleted, and is there`);
    const now = await standing(db, lane, versionOf(lane));
    const allowed = [STATE_AFTER[lane.acked], STATE_AFTER[lane.acked + 1]];
    if (!allowed.includes(now.status)) problems.push(`${lane.name} ${versionOf(lane)} after step ${lane.acked}: ${now.status}, not one of ${allowed.join(', ')}`);
    // A published version has its asset; a disposed one has none.
    if (now.status !== null && now.assets !== (now.status === 'Disposed' ? 0 : 1)) problems.push(`${lane.name} ${versionOf(lane)} (${now.status}) has ${now.assets} assets`);
  }
  return problems;
}

/** The loader may do exactly the steps' four actions in my_domain; nothing else is allowed. */
const LOADER_POLICY = `@id("kill-loader")
permit (
  principal in Group::"kill-loaders",
  action in [Action::"PublishPackageVersion", Action::"UpdatePackageVersionsStatus", Action::"DisposePackageVersions", Action::"DeletePackageVersions"],
  resource in Domain::"arn:aws:codeartifact:us-east-1:111122223333:domain/my_domain"
);
`;

/** A policy folder of the shipped schema and the loader's one permit (no policy tests: a fast start). */
export function loaderPolicyDir(dir: string): string {
  const policyDir = join(dir, 'policies');
  mkdirSync(policyDir);
  copyFileSync(join(REPO_POLICIES, 'schema.cedarschema'), join(policyDir, 'schema.cedarschema'));
  writeFileSync(join(policyDir, 'kill-loader.cedar'), LOADER_POLICY);
  return policyDir;
}
