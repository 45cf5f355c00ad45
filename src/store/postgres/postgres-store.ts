/**
 * The shared store: PostgreSQL through node-postgres (`pg`), with drizzle-kit's migrations
 * (drizzle/postgres) applied at start under an advisory lock, so replicas starting together migrate
 * once. Several replicas may use one database at once: writes are grouped per replica
 * (pg-group-commit.ts) and guarded by revisions that every replica's UPDATE re-checks under its row
 * lock; the audit chain is appended under the head row's lock; sync jobs are claimed with
 * FOR UPDATE SKIP LOCKED and a lease; secrets are created once (INSERT … ON CONFLICT DO NOTHING).
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import { packageRoot } from '../../package-root.ts';
import { GENESIS_HASH } from '../../audit/audit-hash.ts';
import type { AuditHead, AuditRecord, AuditRecordInput } from '../../audit/audit-record.ts';
import { encodedFromColumns, recordFromColumns, versionsBySeq, type AuditColumns, type RecordColumns } from '../../audit/chain-link.ts';
import type { Clock } from '../../clock.ts';
import { DEFAULT_DATABASE_TIMEOUT_SECONDS } from '../../config.ts';
import { ConflictError, NotFoundError } from '../../errors.ts';
import { newIdentifier } from '../../registry/identifier.ts';
import type { VersionState } from '../../registry/plan-change.ts';
import type { VersionStatus } from '../../registry/statuses.ts';
import type { PackageFormat } from '../../resource/formats.ts';
import { DEFAULT_GROUP_COMMIT, type GroupCommitOptions } from '../sqlite/group-commit.ts';
import { StaleRead } from '../sqlite/stale-read.ts';
import type {
  AssetInput,
  AuditChainEntry,
  AuditedArns,
  AuditFilter,
  AuditQuery,
  ClaimedSyncJob,
  CopyCommit,
  DomainDetail,
  DomainRecord,
  IdentifiedVersion,
  NewVersion,
  OriginCommit,
  PackageDeleteCommit,
  PackageDeleteResult,
  PackageKey,
  PackageListItem,
  PackageListQuery,
  PackageRecordSnapshot,
  PackageSnapshot,
  PublishWrite,
  RepositoryDetail,
  RepositoryListQuery,
  RepositoryRecord,
  Store,
  StoredAuditRecord,
  SyncClaim,
  SyncJob,
  SyncJobCounts,
  SyncState,
  TenancyChange,
  TenancyRefusal,
  TenancyResult,
  VersionCommit,
  VersionCommitResult,
  VersionListQuery,
  VersionPage,
  VersionMetadata,
  VersionSnapshot,
  StoredVersionState,
  KeptAuditHead,
} from '../store.ts';
import { BLOB_GRACE_MS, reservationGone } from '../store.ts';
import { CoalescedReads } from './pg-coalesced-reads.ts';
import { PgSharedReader, readerConnections } from './pg-shared-reader.ts';
import { answeringUnavailable } from '../answering-unavailable.ts';
import { pgUnavailableAs } from './pg-unavailable.ts';
import { PartialWrite, PgGroupCommitter, type PgSubmitOptions, type PgTx, type PgWork, type PgWriteGuard } from './pg-group-commit.ts';
import { ASSET_COLUMNS, type AssetRow, type IdentifierRow, keyOf, METADATA_COLUMNS, type MetadataRow, toVersionMetadata, originOf, REPOSITORY_COLUMNS, type RepositoryRow, type SyncJobRow, toAsset, toRepository, toSyncJob, toVersionRecord, VERSION_COLUMNS, type VersionRow } from '../sql-rows.ts';

const MIGRATIONS = join(packageRoot(), 'drizzle/postgres');

/** Namespaced advisory lock key for migrations ('vgmigrat' as 64 bits). */
const MIGRATION_LOCK = '8530485367089295732';

export interface PostgresStoreOptions {
  url: string;
  clock: Clock;
  /** Connections this process keeps open at most. */
  poolSize?: number | undefined;
  groupCommit?: GroupCommitOptions | undefined;
  /** How long a claimed sync job is held without progress before another replica may take it over. */
  syncLeaseMs?: number | undefined;
  /** Reservations and queued deletions younger than this are another replica's work in progress. */
  blobGraceMs?: number | undefined;
  /** Told of each pooled connection that failed, idle or in use (for the log). */
  onConnectionLost?: ((err: Error) => void) | undefined;
  /** How long a statement may go unanswered (QUERY_TIMEOUT_MS unless given). */
  queryTimeoutMs?: number | undefined;
}

export const DEFAULT_SYNC_LEASE_MS = 5 * 60_000;

/**
 * How long a statement may go unanswered. A PostgreSQL that hangs (stopped, or behind a network that
 * drops packets without a reset) would otherwise hold every request that reached it until TCP gave
 * up, which for a connection with nothing to retransmit is never. Past this the connection is dropped
 * (node-postgres destroys a pipelined one) and the requests on it are answered 503, what became of a
 * write settled as for any lost connection (pg-group-commit.ts). By default longer than a batch's 15 s
 * wait for another replica's lock (VERSIONGATE_DATABASE_TIMEOUT sets it); migrations, whose lock may
 * be held for minutes, run without it.
 */
export const QUERY_TIMEOUT_MS = DEFAULT_DATABASE_TIMEOUT_SECONDS * 1000;

export interface PoolOptions {
  /** Told of each pooled connection that failed, idle or in use (for the log). */
  onConnectionLost?: ((err: Error) => void) | undefined;
  /** QUERY_TIMEOUT_MS unless given; 0: none. */
  queryTimeoutMs?: number | undefined;
}

/** Opens a pool with int8 read as a number (counts, sizes: all far below 2^53). */
export function openPool(url: string, max: number, { onConnectionLost = () => undefined, queryTimeoutMs = QUERY_TIMEOUT_MS }: PoolOptions = {}): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max,
    ...(queryTimeoutMs > 0 ? { query_timeout: queryTimeoutMs } : {}),
    // A group-commit batch sends the statements of its writes without waiting for each answer
    // (src/store/postgres/pg-group-commit.ts); nothing here reads through a cursor, which this refuses.
    pipeline: true,
    // A database that does not answer fails a request (and /readyz) in seconds, rather than holding it.
    connectionTimeoutMillis: 5000,
    types: { getTypeParser: ((oid: number, format?: 'text' | 'binary') => (oid === 20 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text'))) as typeof pg.types.getTypeParser },
  });
  // An idle connection the server dropped must not take the process down; the next query reconnects.
  // (Its error is told below: the pool passes on what its connection emitted.)
  pool.on('error', () => undefined);
  // Nor one in use: the pool listens for errors only on idle connections, and an 'error' nobody
  // listens for ends the process (PostgreSQL restarting under a batch did). The queries in flight
  // on it fail with the error, and the pool discards a connection that failed when it comes back.
  // A connection can emit more than one as it dies (the socket's, then its end): told once.
  pool.on('connect', (client) => {
    let told = false;
    client.on('error', (err) => {
      if (!told) onConnectionLost(err);
      told = true;
    });
  });
  return pool;
}

export async function migratePostgres(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      await migrate(drizzle(client), { migrationsFolder: MIGRATIONS });
      await client.query(`INSERT INTO audit_head (id, seq, hash, time) VALUES (1, 0, $1, '') ON CONFLICT DO NOTHING`, [GENESIS_HASH]);
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
    }
  } finally {
    client.release();
  }
}

export async function openPostgresStore(o: PostgresStoreOptions): Promise<Store & { readonly pool: pg.Pool }> {
  const pool = openPool(o.url, o.poolSize ?? 10, { onConnectionLost: o.onConnectionLost, queryTimeoutMs: o.queryTimeoutMs });
  // On a connection of its own, without the statements' time limit: another replica may hold the
  // migration lock for as long as its migrations take.
  const migrator = openPool(o.url, 1, { queryTimeoutMs: 0 });
  try {
    await migratePostgres(migrator);
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw new Error(`PostgreSQL at ${redactUrl(o.url)}: ${(err as Error).message}`, { cause: err });
  } finally {
    await migrator.end().catch(() => undefined);
  }
  const reader = new PgSharedReader(pool, readerConnections(o.poolSize ?? 10));
  return answeringUnavailable(new PostgresStore(pool, o.clock, new PgGroupCommitter(pool, o.groupCommit ?? DEFAULT_GROUP_COMMIT), reader, o.syncLeaseMs ?? DEFAULT_SYNC_LEASE_MS, o.blobGraceMs ?? BLOB_GRACE_MS), pgUnavailableAs);
}

/** Query parameters pg reads a secret from (pg-connection-string): masked as the userinfo password is. */
const SECRET_PARAMETERS = ['password', 'sslpassword', 'sslkey'];

/** The URL without its secrets (the password, in the userinfo or as a query parameter), for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    for (const name of [...u.searchParams.keys()]) if (SECRET_PARAMETERS.includes(name.toLowerCase())) u.searchParams.set(name, '***');
    return u.toString();
  } catch {
    return 'the configured database URL';
  }
}

type Queryable = { query<R extends pg.QueryResultRow = Record<string, unknown>>(text: string, params?: unknown[]): Promise<pg.QueryResult<R>> };

const JOB_COLUMNS = 'id, version_id, state, attempts, next_attempt_at, status_reason, progress, created_at, updated_at, started_at, finished_at, generation';
const GONE_STATUSES = ['Deleted', 'Disposed'];

class StalePackage extends Error {}

/**
 * A commit that only sets statuses on versions that exist, each guarded by the revision it changes
 * from: nothing created, no assets removed, no sync started. It can be one statement (applyStatusChanges).
 */
function statusOnly(c: VersionCommit): boolean {
  if (c.packageId === null || c.publish || c.disposeAssets || (c.startSyncs?.length ?? 0) > 0) return false;
  const guarded = new Map(c.guards.map((g) => [g.version, g.revision]));
  if (guarded.size !== c.guards.length || new Set(c.changes.map((x) => x.version)).size !== c.changes.length) return false;
  return c.changes.every((x) => guarded.get(x.version) === x.before.revision);
}
class TenancyRefused extends Error {
  constructor(readonly refusal: TenancyRefusal) {
    super(refusal.reason);
  }
}

/** How often a tenancy change chosen as a deadlock's victim is tried before its error is the answer. */
const TENANCY_ATTEMPTS = 3;

/** PostgreSQL's unique violation, deadlock and serialization failure: another replica got there first. */
function lostRace(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return code === '23505' || code === '40P01' || code === '40001';
}

/** The package's ($1) latest Published version, as a one-column derived table (ListPackageVersions' defaultDisplayVersion). */
const LATEST_PUBLISHED = `SELECT (SELECT version FROM package_versions WHERE package_id = $1 AND status = 'Published' ORDER BY published_at DESC, id DESC LIMIT 1) AS latest_published`;

/**
 * How a write that only queues audit records is submitted. It runs no statement of its own (its
 * records go in with the batch's, after the head's lock) and cannot fail halfway, so it needs no
 * savepoint. As an ordinary write, each audited read, denial or window of refused tokens cost its
 * batch a SAVEPOINT and a RELEASE: two round trips, one write after another.
 */
const RECORD_ONLY: PgSubmitOptions = { single: true };

/** One readPackage call: its package and the versions it asks for. */
interface PackageRead {
  key: PackageKey;
  versions: readonly string[];
}

/** Reads that share one readPackage statement at most (their arrays stay small). */
const MAX_PACKAGE_READS = 64;

class PostgresStore implements Store, KeptAuditHead {
  private readonly packageReads = new CoalescedReads<PackageRead, PackageSnapshot>((reads) => this.readPackages(reads), MAX_PACKAGE_READS);

  constructor(
    readonly pool: pg.Pool,
    private readonly clock: Clock,
    private readonly group: PgGroupCommitter,
    private readonly reader: PgSharedReader,
    private readonly syncLeaseMs: number,
    private readonly blobGraceMs: number,
  ) {}

  private now(): string {
    return this.clock.now().toISOString();
  }

  private async rows<R extends pg.QueryResultRow>(db: Queryable, text: string, params: unknown[] = []): Promise<R[]> {
    return (await db.query<R>(text, params)).rows;
  }

  /**
   * A read on a client's path (a version, its assets, a package, a page of versions) as a named
   * prepared statement: PostgreSQL parses and plans it once per pooled connection, not on every call.
   * Unnamed, parsing and planning them took ~40% of PostgreSQL's CPU per audited ListPackageVersions
   * (README, On PostgreSQL). The names are fixed: one name, one text.
   */
  private async namedRows<R extends pg.QueryResultRow>(name: string, text: string, values: unknown[]): Promise<R[]> {
    return (await this.pool.query<R>({ name, text, values })).rows;
  }

  private async namedOne<R extends pg.QueryResultRow>(name: string, text: string, values: unknown[]): Promise<R | undefined> {
    return (await this.namedRows<R>(name, text, values))[0];
  }

  private async one<R extends pg.QueryResultRow>(db: Queryable, text: string, params: unknown[] = []): Promise<R | undefined> {
    return (await db.query<R>(text, params)).rows[0];
  }

  /** A transaction of its own (not grouped), for the writes that carry no audit record. */
  private async transaction<T>(fn: (tx: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const out = await fn(client);
      await client.query('COMMIT');
      return out;
    } catch (err) {
      await client.query('ROLLBACK').catch((e: Error) => (broken = e));
      throw err;
    } finally {
      client.release(broken);
    }
  }

  /** Joins the group commit; a write that lost a race to another replica reads as stale. */
  private async grouped<T>(work: PgWork<T>, expired: VersionCommit['expired'], instead: (tx: PgTx) => () => T, options?: PgSubmitOptions): Promise<T> {
    const guard: PgWriteGuard<T> | undefined = expired && { cancelled: () => expired.check(), instead: async (tx) => instead(tx) };
    return this.group.submit(work, guard, options);
  }

  // --- Directory ---

  private async domainId(db: Queryable, owner: string, name: string): Promise<number | undefined> {
    return (await this.one<{ id: number }>(db, `SELECT id FROM domains WHERE owner = $1 AND name = $2`, [owner, name]))?.id;
  }

  private async repositoryId(db: Queryable, owner: string, domain: string, name: string): Promise<number | undefined> {
    return (
      await this.one<{ id: number }>(db, `SELECT r.id FROM repositories r JOIN domains d ON d.id = r.domain_id WHERE d.owner = $1 AND d.name = $2 AND r.name = $3`, [owner, domain, name])
    )?.id;
  }

  /**
   * The repository's id, its row held (FOR KEY SHARE) until the transaction ends, for a write that puts
   * rows under it. DeleteRepository locks the row FOR UPDATE before it looks for live versions, so
   * the two take turns: a write that comes second finds no repository; a deletion that comes second
   * sees what the write made. Without it, under READ COMMITTED, a deletion that had counted no live
   * version deleted a version published after its count, or failed on the foreign key (a 500).
   * Shared: writes into one repository do not wait for one another.
   */
  private async lockedRepositoryId(tx: Queryable, owner: string, domain: string, name: string): Promise<number | undefined> {
    return (
      await this.one<{ id: number }>(tx, `SELECT r.id FROM repositories r JOIN domains d ON d.id = r.domain_id WHERE d.owner = $1 AND d.name = $2 AND r.name = $3 FOR KEY SHARE OF r`, [
        owner,
        domain,
        name,
      ])
    )?.id;
  }

  /**
   * For a write into a package read before its transaction: its repository's row, held as
   * lockedRepositoryId holds it. False when the package is gone meanwhile: the write's read is stale.
   * The repository first, then the package (lockPackage), in two statements: DeleteRepository takes
   * the repository before any row under it, so neither waits for the other while holding what the
   * other waits for.
   */
  private async lockRepositoryOf(tx: Queryable, packageId: number): Promise<boolean> {
    return (await this.one(tx, `SELECT r.id FROM packages p JOIN repositories r ON r.id = p.repository_id WHERE p.id = $1 FOR KEY SHARE OF r`, [packageId])) !== undefined;
  }

  /**
   * The package's row, held (FOR SHARE) by a write that adds versions to it, with its origin
   * configuration as of now; undefined when the package is gone. DeletePackage locks the row FOR
   * UPDATE before it reads the versions it deletes (without this, a version published after that read
   * went with the package, named in neither the deletion's record nor the context Cedar decided on),
   * and an origin configuration written meanwhile commits before this read or after the write.
   */
  private async lockPackage(tx: Queryable, packageId: number): Promise<{ originPublish: string } | undefined> {
    return this.one<{ originPublish: string }>(tx, `SELECT origin_publish AS "originPublish" FROM packages WHERE id = $1 FOR SHARE`, [packageId]);
  }

  async createDomain(name: string, owner: string): Promise<DomainRecord> {
    const createdAt = this.now();
    try {
      await this.pool.query(`INSERT INTO domains (owner, name, created_at) VALUES ($1, $2, $3)`, [owner, name, createdAt]);
    } catch (err) {
      if ((err as { code?: string }).code === '23505') throw new ConflictError(`domain ${name} already exists for owner ${owner}`, 'domain', name);
      throw err;
    }
    return { name, owner, createdAt };
  }

  async createRepository(domainOwner: string, domain: string, name: string): Promise<RepositoryRecord> {
    const domainId = await this.domainId(this.pool, domainOwner, domain);
    if (domainId === undefined) throw new NotFoundError(`domain ${domain} (owner ${domainOwner}) does not exist`, 'domain', domain);
    const createdAt = this.now();
    try {
      await this.pool.query(`INSERT INTO repositories (domain_id, name, created_at) VALUES ($1, $2, $3)`, [domainId, name, createdAt]);
    } catch (err) {
      if ((err as { code?: string }).code === '23505') throw new ConflictError(`repository ${name} already exists in domain ${domain}`, 'repository', name);
      throw err;
    }
    return { domain, domainOwner, name, createdAt };
  }

  async listDomains(): Promise<DomainRecord[]> {
    return this.rows<DomainRecord>(this.pool, `SELECT name, owner, created_at AS "createdAt" FROM domains ORDER BY owner, name`);
  }

  async listRepositories(domainOwner: string, domain: string): Promise<RepositoryRecord[]> {
    const rows = await this.rows<{ name: string; createdAt: string }>(
      this.pool,
      `SELECT r.name, r.created_at AS "createdAt" FROM repositories r JOIN domains d ON d.id = r.domain_id WHERE d.owner = $1 AND d.name = $2 ORDER BY r.name`,
      [domainOwner, domain],
    );
    return rows.map((r) => ({ ...r, domain, domainOwner }));
  }

  async domainOwners(domain: string): Promise<string[]> {
    return (await this.rows<{ owner: string }>(this.pool, `SELECT owner FROM domains WHERE name = $1`, [domain])).map((r) => r.owner);
  }

  async listAllRepositories(): Promise<RepositoryRecord[]> {
    return this.rows<RepositoryRecord>(
      this.pool,
      `SELECT r.name, r.created_at AS "createdAt", d.name AS domain, d.owner AS "domainOwner" FROM repositories r JOIN domains d ON d.id = r.domain_id ORDER BY d.owner, d.name, r.name`,
    );
  }

  // --- Versions ---

  /**
   * One round trip: the domain, repository, package and versions in a single statement (a request's
   * read before its write; on a busy machine every round trip waits for the server to be scheduled),
   * shared with the other readPackage calls of the same turn of the event loop (pg-coalesced-reads.ts),
   * on the connections that these reads share (pg-shared-reader.ts).
   */
  async readPackage(key: PackageKey, versions: readonly string[]): Promise<PackageSnapshot> {
    return this.packageReads.read({ key, versions });
  }

  /** The packages' snapshots, one statement for all of them (see readPackage). */
  private async readPackages(reads: readonly PackageRead[]): Promise<PackageSnapshot[]> {
    type Row = { i: number; domain_id: number | null; repository_id: number | null; package_id: number | null; versions: Array<{ version: string; status: string; revision: string }> | null };
    const column = (f: (key: PackageKey) => string) => reads.map((r) => f(r.key));
    // The versions asked for, flattened: read i's versions are those paired with i (1-based, as ORDINALITY counts).
    const versionReads: number[] = [];
    const versionNames: string[] = [];
    reads.forEach((r, i) => {
      for (const v of new Set(r.versions)) (versionReads.push(i + 1), versionNames.push(v));
    });
    const { rows } = await this.reader.query<Row>({
      name: 'vg_read_packages',
      text: `SELECT k.i, d.id AS domain_id, r.id AS repository_id, p.id AS package_id,
         (SELECT json_agg(json_build_object('version', v.version, 'status', v.status, 'revision', v.revision) ORDER BY v.id)
            FROM unnest($7::int[], $8::text[]) AS x(i, version) JOIN package_versions v ON v.package_id = p.id AND v.version = x.version
            WHERE x.i = k.i) AS versions
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) WITH ORDINALITY AS k(owner, domain, repository, format, namespace, name, i)
       LEFT JOIN domains d ON d.owner = k.owner AND d.name = k.domain
       LEFT JOIN repositories r ON r.domain_id = d.id AND r.name = k.repository
       LEFT JOIN packages p ON p.repository_id = r.id AND p.format = k.format AND p.namespace = k.namespace AND p.name = k.name`,
      values: [
        column((k) => k.domainOwner),
        column((k) => k.domain),
        column((k) => k.repository),
        column((k) => k.format),
        column((k) => k.namespace),
        column((k) => k.name),
        versionReads,
        versionNames,
      ],
    });
    const byRead = new Map<number, Row>();
    for (const row of rows) byRead.set(row.i, row);
    return reads.map((_, i) => {
      const row = byRead.get(i + 1);
      if (!row) throw new Error(`readPackage: no row for read ${i + 1} of ${reads.length}`);
      if (row.repository_id == null) return { domainExists: row.domain_id != null, repositoryExists: false, packageId: null, versions: new Map() };
      const found = new Map<string, VersionState>();
      for (const v of row.versions ?? []) found.set(v.version, { version: v.version, status: v.status as VersionStatus, revision: v.revision });
      return { domainExists: true, repositoryExists: true, packageId: row.package_id ?? null, versions: found };
    });
  }

  private async packageIdIn(db: Queryable, repositoryId: number, key: PackageKey): Promise<number | undefined> {
    return (
      await this.one<{ id: number }>(db, `SELECT id FROM packages WHERE repository_id = $1 AND format = $2 AND namespace = $3 AND name = $4`, [
        repositoryId,
        key.format,
        key.namespace,
        key.name,
      ])
    )?.id;
  }

  /** The versions' rows; `lock` takes their row locks (FOR SHARE) so a guard read stays true until commit. */
  private async versionStates(db: Queryable, packageId: number, versions: readonly string[], lock = false): Promise<Array<VersionState & { id: number }>> {
    const rows = await this.rows<{ id: number; version: string; status: string; revision: string }>(
      db,
      `SELECT id, version, status, revision FROM package_versions WHERE package_id = $1 AND version = ANY($2::text[]) ORDER BY id${lock ? ' FOR SHARE' : ''}`,
      [packageId, versions],
    );
    return rows.map((r) => ({ id: r.id, version: r.version, status: r.status as VersionStatus, revision: r.revision }));
  }

  async addVersion(v: NewVersion): Promise<void> {
    await this.transaction(async (tx) => {
      const now = this.now();
      const packageId = await this.ensurePackage(tx, v.key, now);
      const existing = await this.one(tx, `SELECT id FROM package_versions WHERE package_id = $1 AND version = $2`, [packageId, v.version]);
      if (existing) throw new ConflictError(`version ${v.version} already exists`, 'package-version', v.version);
      const versionId = (
        await this.one<{ id: number }>(
          tx,
          `INSERT INTO package_versions (package_id, version, identifier, status, revision, published_at, status_updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id`,
          [packageId, v.version, newIdentifier(), v.status, v.revision, now],
        )
      )!.id;
      for (const a of v.assets) await this.insertAsset(tx, versionId, a);
      await this.awaitSync(tx, versionId, now);
    });
  }

  private async insertAsset(db: Queryable, versionId: number, a: AssetInput): Promise<void> {
    await db.query(`INSERT INTO assets (version_id, name, size, md5, sha1, sha256, sha512, blob_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, [
      versionId,
      a.name,
      a.size,
      a.md5,
      a.sha1,
      a.sha256,
      a.sha512,
      a.blobKey,
    ]);
  }

  /** The version's sync job (created if none) back to awaiting, due now; the generation moves on. */
  private async awaitSync(db: Queryable, versionId: number, now: string): Promise<void> {
    await db.query(
      `INSERT INTO sync_jobs (version_id, state, attempts, next_attempt_at, status_reason, progress, created_at, updated_at, started_at, finished_at, generation)
       VALUES ($1, 'awaiting', 0, $2, NULL, 0, $2, $2, NULL, NULL, 1)
       ON CONFLICT (version_id) DO UPDATE SET state = 'awaiting', attempts = 0, next_attempt_at = excluded.next_attempt_at, status_reason = NULL,
         progress = 0, updated_at = excluded.updated_at, started_at = NULL, finished_at = NULL, generation = sync_jobs.generation + 1, lease_expires_at = NULL`,
      [versionId, now],
    );
  }

  /** The package's id, created in its repository if needed. Two replicas creating it at once: one insert wins, the other reads it. */
  private async ensurePackage(db: Queryable, key: PackageKey, now: string): Promise<number> {
    const repositoryId = await this.lockedRepositoryId(db, key.domainOwner, key.domain, key.repository);
    if (repositoryId === undefined) throw new NotFoundError(`repository ${key.repository} does not exist in domain ${key.domain}`, 'repository', key.repository);
    const inserted = await this.one<{ id: number }>(
      db,
      `INSERT INTO packages (repository_id, format, namespace, name, created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING id`,
      [repositoryId, key.format, key.namespace, key.name, now],
    );
    return inserted?.id ?? (await this.packageIdIn(db, repositoryId, key))!;
  }

  /** Queues removed blob keys that no asset record uses any more; returns those queued. */
  private async releaseBlobs(db: Queryable, blobKeys: readonly string[], now: string): Promise<string[]> {
    const released: string[] = [];
    for (const blobKey of new Set(blobKeys)) {
      if (await this.one(db, `SELECT 1 FROM assets WHERE blob_key = $1 LIMIT 1`, [blobKey])) continue;
      await db.query(`INSERT INTO blob_deletions (blob_key, queued_at) VALUES ($1, $2) ON CONFLICT DO NOTHING`, [blobKey, now]);
      released.push(blobKey);
    }
    return released;
  }

  private async staleAware<T extends { ok: boolean }>(run: () => Promise<T>, stale: (versions: string[]) => T): Promise<T> {
    try {
      return await run();
    } catch (err) {
      if (err instanceof StaleRead) return stale(err.versions);
      if (lostRace(err)) return stale([]);
      throw err;
    }
  }

  async commitVersionChanges(c: VersionCommit): Promise<VersionCommitResult> {
    return this.staleAware(
      () =>
        statusOnly(c)
          ? this.grouped((tx) => this.applyStatusChanges(tx, c), c.expired, (tx) => this.expiredResult(tx, c.expired), { single: true })
          : this.grouped((tx) => this.applyVersionChanges(tx, c), c.expired, (tx) => this.expiredResult(tx, c.expired)),
      (staleVersions) => ({ ok: false, reason: 'stale', staleVersions: staleVersions.length ? staleVersions : c.guards.map((g) => g.version) }),
    );
  }

  private expiredResult(tx: PgTx, expired: VersionCommit['expired']): () => VersionCommitResult {
    const seq = expired?.audit ? tx.audit(expired.audit()) : undefined;
    return () => ({ ok: false, reason: 'expired', ...(seq ? { auditSeq: seq.seq } : {}) });
  }

  /**
   * A change of statuses only (see statusOnly), as one statement: the guarded rows locked, the guards
   * compared, and the updates made only if every guard holds. So it either changes every version or
   * none, and can run without a savepoint beside the batch's other such writes.
   */
  private async applyStatusChanges(tx: PgTx, c: VersionCommit): Promise<() => VersionCommitResult> {
    const only = c.changes.length === 1 && c.guards.length === 1 ? c.changes[0]! : undefined;
    // Only when the one guard is the change's own: its version at the revision the change starts from.
    if (only && c.guards[0]!.version === only.version && c.guards[0]!.revision === only.before.revision) return this.applyOneStatusChange(tx, c, only);
    const row = (
      await tx.prepared<{ stale: string[]; changed: number }>(
        'vg_status_changes',
        `WITH guard AS (SELECT * FROM unnest($2::text[], $3::text[]) AS g(version, revision)),
         current AS (SELECT version, revision FROM package_versions WHERE package_id = $1 AND version = ANY($2::text[]) ORDER BY id FOR UPDATE),
         stale AS (SELECT guard.version FROM guard LEFT JOIN current ON current.version = guard.version WHERE current.revision IS DISTINCT FROM guard.revision),
         changed AS (
           UPDATE package_versions v SET status = c.status, revision = c.revision, status_updated_at = $4
           FROM unnest($5::text[], $6::text[], $7::text[], $8::text[]) AS c(version, status, revision, before)
           WHERE v.package_id = $1 AND v.version = c.version AND v.revision = c.before AND NOT EXISTS (SELECT 1 FROM stale)
           RETURNING v.id)
         SELECT ARRAY(SELECT version FROM stale) AS stale, (SELECT count(*) FROM changed)::int AS changed`,
        [
          c.packageId,
          c.guards.map((g) => g.version),
          c.guards.map((g) => g.revision),
          this.now(),
          c.changes.map((x) => x.version),
          c.changes.map((x) => x.after.status),
          c.changes.map((x) => x.after.revision),
          c.changes.map((x) => x.before.revision),
        ],
      )
    ).rows[0]!;
    if (row.stale.length > 0) throw new StaleRead(row.stale);
    if (row.changed !== c.changes.length) throw new PartialWrite(`commitVersionChanges: ${row.changed} of ${c.changes.length} status changes were made though every guard held`);
    const seq = tx.audit(c.audit);
    return () => ({ ok: true, auditSeq: seq.seq, blobsToDelete: [] });
  }

  /**
   * The common case, one version whose guard is the change's own revision: a plain guarded UPDATE.
   * Under its row lock PostgreSQL re-checks `revision = before` on the row as last committed, so the
   * change is made only if the guard holds; no row means stale. No separate lock (a WAL record of its
   * own) and no arrays: half the general statement's WAL records and a fraction of its time in
   * PostgreSQL (pg_stat_statements under bench:load --postgres).
   */
  private async applyOneStatusChange(tx: PgTx, c: VersionCommit, change: VersionCommit['changes'][number]): Promise<() => VersionCommitResult> {
    const updated = await tx.prepared(
      'vg_status_change_one',
      `UPDATE package_versions SET status = $3, revision = $4, status_updated_at = $5 WHERE package_id = $1 AND version = $2 AND revision = $6`,
      [c.packageId, change.version, change.after.status, change.after.revision, this.now(), change.before.revision],
    );
    // (package_id, version) is unique: one row changed, or none because the guard did not hold.
    if (updated.rowCount !== 1) throw new StaleRead([change.version]);
    const seq = tx.audit(c.audit);
    return () => ({ ok: true, auditSeq: seq.seq, blobsToDelete: [] });
  }

  private async applyVersionChanges(tx: PgTx, c: VersionCommit): Promise<() => VersionCommitResult> {
    const now = this.now();
    const blobsToDelete: string[] = [];
    if (c.packageId === null && !c.publish) throw new Error('commitVersionChanges: a package id is required unless a publish creates the package');
    if (c.publish && c.packageId !== null && !(await this.lockRepositoryOf(tx, c.packageId))) throw new StaleRead([c.publish.version]);
    const packageId = c.packageId ?? (await this.ensurePackage(tx, c.publish!.key, now));
    if (c.publish) {
      // Read before this transaction: blocked since, a new version may not be published.
      const held = await this.lockPackage(tx, packageId);
      if (held === undefined || (c.publish.originGuarded && held.originPublish === 'BLOCK')) throw new StaleRead([c.publish.version]);
    }
    const current = new Map<string, string>();
    for (const r of await this.versionStates(tx, packageId, c.guards.map((g) => g.version), true)) current.set(r.version, r.revision);
    const stale = c.guards.filter((g) => (current.get(g.version) ?? null) !== g.revision).map((g) => g.version);
    if (stale.length > 0) throw new StaleRead(stale);
    if (c.publish) await this.writePublish(tx, packageId, c.publish, c.guards, now);
    for (const change of c.changes) {
      const updated = await this.one<{ id: number }>(
        tx,
        `UPDATE package_versions SET status = $1, revision = $2, status_updated_at = $3 WHERE package_id = $4 AND version = $5 AND revision = $6 RETURNING id`,
        [change.after.status, change.after.revision, now, packageId, change.version, change.before.revision],
      );
      if (!updated) throw new StaleRead([change.version]);
      if (c.disposeAssets) {
        const removed = await this.rows<{ blob_key: string }>(tx, `DELETE FROM assets WHERE version_id = $1 RETURNING blob_key`, [updated.id]);
        blobsToDelete.push(...(await this.releaseBlobs(tx, removed.map((r) => r.blob_key), now)));
      }
      if (c.startSyncs?.includes(change.version)) await this.awaitSync(tx, updated.id, now);
    }
    const seq = tx.audit(c.audit);
    return () => ({ ok: true, auditSeq: seq.seq, blobsToDelete });
  }

  private async writePublish(tx: PgTx, packageId: number, p: PublishWrite, guards: VersionCommit['guards'], now: string): Promise<void> {
    const guard = guards.find((g) => g.version === p.version);
    if (!guard) throw new Error(`commitVersionChanges: the published version ${p.version} has no guard`);
    let versionId: number;
    if (guard.revision === null) {
      // Another replica inserting the same version at once makes this a unique violation: a lost race, stale.
      versionId = (
        await this.one<{ id: number }>(
          tx,
          `INSERT INTO package_versions (package_id, version, identifier, status, revision, published_at, status_updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id`,
          [packageId, p.version, newIdentifier(), p.status, p.revision, now],
        )
      )!.id;
    } else {
      const updated = await this.one<{ id: number }>(
        tx,
        p.fresh
          ? `UPDATE package_versions SET status = $1, revision = $2, status_updated_at = $3, published_at = $3, identifier = $7 WHERE package_id = $4 AND version = $5 AND revision = $6 RETURNING id`
          : `UPDATE package_versions SET status = $1, revision = $2, status_updated_at = $3 WHERE package_id = $4 AND version = $5 AND revision = $6 RETURNING id`,
        [p.status, p.revision, now, packageId, p.version, guard.revision, ...(p.fresh ? [newIdentifier()] : [])],
      );
      if (!updated) throw new StaleRead([p.version]);
      versionId = updated.id;
    }
    if (p.asset) {
      await this.insertAsset(tx, versionId, p.asset);
      const claimed = await tx.query(`DELETE FROM blob_deletions WHERE blob_key = $1`, [p.asset.blobKey]);
      if (claimed.rowCount !== 1) throw reservationGone(p.asset.blobKey);
    }
    await this.awaitSync(tx, versionId, now);
  }

  async commitVersionCopies(c: CopyCommit): Promise<VersionCommitResult> {
    const guards = [...c.source.guards.map((g) => g.version), ...c.destination.guards.map((g) => g.version)];
    return this.staleAware(
      () => this.grouped((tx) => this.applyCopies(tx, c), c.expired, (tx) => this.expiredResult(tx, c.expired)),
      (staleVersions) => ({ ok: false, reason: 'stale', staleVersions: staleVersions.length ? staleVersions : [...new Set(guards)] }),
    );
  }

  private async applyCopies(tx: PgTx, c: CopyCommit): Promise<() => VersionCommitResult> {
    const now = this.now();
    const rowsOf = async (packageId: number, versions: readonly string[]) => new Map((await this.versionStates(tx, packageId, versions, true)).map((r) => [r.version, r]));
    const sourceRows = await rowsOf(c.source.packageId, c.source.guards.map((g) => g.version));
    const staleSource = c.source.guards.filter((g) => sourceRows.get(g.version)?.revision !== g.revision).map((g) => g.version);
    const into = c.destination.packageId;
    if (into !== null && (!(await this.lockRepositoryOf(tx, into)) || (await this.lockPackage(tx, into)) === undefined)) throw new StaleRead(c.copies.map((x) => x.version));
    const destinationId = c.destination.packageId ?? (await this.ensurePackage(tx, c.destination.key, now));
    const destinationRows = await rowsOf(destinationId, c.destination.guards.map((g) => g.version));
    const staleDestination = c.destination.guards.filter((g) => (destinationRows.get(g.version)?.revision ?? null) !== g.revision).map((g) => g.version);
    const stale = [...new Set([...staleSource, ...staleDestination])];
    if (stale.length > 0) throw new StaleRead(stale);
    const replaced: string[] = [];
    for (const copy of c.copies) {
      const source = sourceRows.get(copy.version);
      if (!source) throw new Error(`commitVersionCopies: the copied version ${copy.version} has no source guard`);
      const existing = destinationRows.get(copy.version);
      let versionId: number;
      if (existing) {
        const updated = await this.one<{ id: number }>(
          tx,
          `UPDATE package_versions SET identifier = $1, status = $2, revision = $3, published_at = $4, status_updated_at = $4,
             summary = NULL, home_page = NULL, source_code_repository = NULL, licenses = NULL
           WHERE id = $5 AND revision = $6 RETURNING id`,
          [newIdentifier(), copy.after.status, copy.after.revision, now, existing.id, existing.revision],
        );
        if (!updated) throw new StaleRead([copy.version]);
        versionId = updated.id;
        replaced.push(...(await this.rows<{ blob_key: string }>(tx, `DELETE FROM assets WHERE version_id = $1 RETURNING blob_key`, [versionId])).map((r) => r.blob_key));
      } else {
        versionId = (
          await this.one<{ id: number }>(
            tx,
            `INSERT INTO package_versions (package_id, version, identifier, status, revision, published_at, status_updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id`,
            [destinationId, copy.version, newIdentifier(), copy.after.status, copy.after.revision, now],
          )
        )!.id;
      }
      await tx.query(
        `INSERT INTO assets (version_id, name, size, md5, sha1, sha256, sha512, blob_key) SELECT $1, ${ASSET_COLUMNS} FROM assets WHERE version_id = $2 ORDER BY name`,
        [versionId, source.id],
      );
      await this.awaitSync(tx, versionId, now);
    }
    const blobsToDelete = await this.releaseBlobs(tx, replaced, now);
    const seq = tx.audit(c.audit);
    return () => ({ ok: true, auditSeq: seq.seq, blobsToDelete });
  }

  async readVersion(key: PackageKey, version: string, assetName?: string): Promise<VersionSnapshot> {
    // One statement: one snapshot, so the version, its counts, its job and the asset belong together.
    const row = await this.namedOne<VersionRow & { package_id: number; asset_count: number | null; sync_state: string | null; sync_reason: string | null } & Partial<Prefixed<AssetRow>>>(
      'vg_read_version',
      `SELECT p.id AS package_id, ${VERSION_COLUMNS}, (SELECT count(*)::int FROM assets x WHERE x.version_id = v.id) AS asset_count,
         j.state AS sync_state, j.status_reason AS sync_reason,
         a.name AS a_name, a.size AS a_size, a.md5 AS a_md5, a.sha1 AS a_sha1, a.sha256 AS a_sha256, a.sha512 AS a_sha512, a.blob_key AS a_blob_key
       FROM packages p JOIN repositories r ON r.id = p.repository_id JOIN domains d ON d.id = r.domain_id
       LEFT JOIN package_versions v ON v.package_id = p.id AND v.version = $7
       LEFT JOIN sync_jobs j ON j.version_id = v.id
       LEFT JOIN assets a ON a.version_id = v.id AND a.name = $8
       WHERE d.owner = $1 AND d.name = $2 AND r.name = $3 AND p.format = $4 AND p.namespace = $5 AND p.name = $6`,
      [key.domainOwner, key.domain, key.repository, key.format, key.namespace, key.name, version, assetName ?? null],
    );
    if (!row) {
      const repositoryExists = (await this.repositoryId(this.pool, key.domainOwner, key.domain, key.repository)) !== undefined;
      const domainExists = repositoryExists || (await this.domainId(this.pool, key.domainOwner, key.domain)) !== undefined;
      return { domainExists, repositoryExists, packageId: null, version: null, asset: null };
    }
    const exists = row.id !== null;
    return {
      domainExists: true,
      repositoryExists: true,
      packageId: row.package_id,
      version: exists ? { ...toVersionRecord(row), assetCount: row.asset_count ?? 0, syncState: (row.sync_state as SyncState | null) ?? null, syncReason: row.sync_reason ?? null } : null,
      asset:
        exists && row.a_name != null
          ? { name: row.a_name, size: row.a_size!, md5: row.a_md5!, sha1: row.a_sha1!, sha256: row.a_sha256!, sha512: row.a_sha512!, blobKey: row.a_blob_key! }
          : null,
    };
  }

  async resolveIdentifier(identifier: string): Promise<IdentifiedVersion | null> {
    const r = await this.namedOne<IdentifierRow>(
      'vg_resolve_identifier',
      `SELECT d.owner, d.name AS domain, r.name AS repository, p.format, p.namespace, p.name, v.version
       FROM package_versions v JOIN packages p ON p.id = v.package_id JOIN repositories r ON r.id = p.repository_id JOIN domains d ON d.id = r.domain_id
       WHERE v.identifier = $1`,
      [identifier],
    );
    return r ? { key: keyOf(r), version: r.version } : null;
  }

  /**
   * The page and the latest Published version in one statement: the latest is a one-row derived
   * table, the page joined to it laterally, so an empty page is one row whose page columns are null.
   */
  async listVersions(q: VersionListQuery): Promise<VersionPage> {
    let rows: Array<{ [K in keyof VersionRow]: VersionRow[K] | null } & { latest_published: string | null }>;
    if (q.order === 'version') {
      const after = q.after?.order === 'version' ? q.after.version : '';
      rows = await this.namedRows(
        'vg_version_page_by_name',
        `SELECT l.latest_published, page.* FROM (${LATEST_PUBLISHED}) l
         LEFT JOIN LATERAL (SELECT ${VERSION_COLUMNS} FROM package_versions v
           WHERE v.package_id = $1 AND v.status = ANY($2::text[]) AND v.version > $3 ORDER BY v.version LIMIT $4) page ON true
         ORDER BY page.version`,
        [q.packageId, q.statuses, after, q.limit],
      );
    } else {
      const after = q.after?.order === 'published' ? q.after : { publishedAt: '\uffff', id: 2 ** 31 - 1 };
      rows = await this.namedRows(
        'vg_version_page_by_published',
        `SELECT l.latest_published, page.* FROM (${LATEST_PUBLISHED}) l
         LEFT JOIN LATERAL (SELECT ${VERSION_COLUMNS} FROM package_versions v
           WHERE v.package_id = $1 AND v.status = ANY($2::text[]) AND (v.published_at < $3 OR (v.published_at = $3 AND v.id < $4))
           ORDER BY v.published_at DESC, v.id DESC LIMIT $5) page ON true
         ORDER BY page.published_at DESC, page.id DESC`,
        [q.packageId, q.statuses, after.publishedAt, after.id, q.limit],
      );
    }
    return {
      versions: rows.filter((r) => r.id != null).map((r) => toVersionRecord(r as VersionRow)),
      latestPublished: rows[0]?.latest_published ?? null,
    };
  }

  async listAssets(versionId: number, afterName: string | undefined, limit: number): Promise<AssetInput[]> {
    return (await this.namedRows<AssetRow>('vg_list_assets', `SELECT ${ASSET_COLUMNS} FROM assets WHERE version_id = $1 AND name > $2 ORDER BY name LIMIT $3`, [versionId, afterName ?? '', limit])).map(
      toAsset,
    );
  }

  async reserveBlob(blobKey: string): Promise<void> {
    await this.pool.query(`INSERT INTO blob_deletions (blob_key, queued_at) VALUES ($1, $2)`, [blobKey, this.now()]);
  }

  async ensureSecret(name: string, candidate: Uint8Array): Promise<Uint8Array> {
    // Every replica offers its own candidate; the first insert wins and all read the same value.
    await this.pool.query(`INSERT INTO secrets (name, value, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, [name, Buffer.from(candidate), this.now()]);
    const row = await this.one<{ value: Buffer }>(this.pool, `SELECT value FROM secrets WHERE name = $1`, [name]);
    return new Uint8Array(row!.value);
  }

  /**
   * Keys queued for removal: only those older than the grace period (and queued before `queuedBefore`
   * when given). A younger reservation may be an upload in progress on another replica, whose bytes
   * must not be removed under it.
   */
  async pendingBlobDeletions(queuedBefore?: string): Promise<string[]> {
    const graceEnds = new Date(this.clock.now().getTime() - this.blobGraceMs).toISOString();
    const before = queuedBefore !== undefined && queuedBefore < graceEnds ? queuedBefore : graceEnds;
    return (await this.rows<{ blob_key: string }>(this.pool, `SELECT d.blob_key FROM blob_deletions d WHERE d.queued_at < $1 AND NOT EXISTS (SELECT 1 FROM assets a WHERE a.blob_key = d.blob_key) ORDER BY d.blob_key`, [before])).map((r) => r.blob_key);
  }

  async forgetBlobDeletions(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    await this.pool.query(`DELETE FROM blob_deletions WHERE blob_key = ANY($1::text[])`, [[...keys]]);
  }

  // --- Packages ---

  async readPackageRecord(key: PackageKey): Promise<PackageRecordSnapshot> {
    const rows = await this.namedRows<{ id: number; origin_publish: string; origin_upstream: string; version: string | null; status: string | null; revision: string | null }>(
      'vg_read_package_record',
      `SELECT p.id, p.origin_publish, p.origin_upstream, v.version, v.status, v.revision
       FROM packages p JOIN repositories r ON r.id = p.repository_id JOIN domains d ON d.id = r.domain_id
       LEFT JOIN package_versions v ON v.package_id = p.id
       WHERE d.owner = $1 AND d.name = $2 AND r.name = $3 AND p.format = $4 AND p.namespace = $5 AND p.name = $6 ORDER BY v.version`,
      [key.domainOwner, key.domain, key.repository, key.format, key.namespace, key.name],
    );
    const first = rows[0];
    if (!first) {
      const repositoryExists = (await this.repositoryId(this.pool, key.domainOwner, key.domain, key.repository)) !== undefined;
      return { domainExists: repositoryExists || (await this.domainId(this.pool, key.domainOwner, key.domain)) !== undefined, repositoryExists, package: null, versions: [] };
    }
    const versions = rows.filter((r) => r.version !== null).map((r) => ({ version: r.version!, status: r.status as VersionStatus, revision: r.revision! }));
    return { domainExists: true, repositoryExists: true, package: { id: first.id, origin: originOf(first) }, versions };
  }

  async listPackages(q: PackageListQuery): Promise<PackageListItem[]> {
    const args: unknown[] = [q.domainOwner, q.domain, q.repository];
    const where = ['d.owner = $1', 'd.name = $2', 'r.name = $3'];
    const arg = (v: unknown) => `$${args.push(v)}`;
    if (q.format !== undefined) where.push(`p.format = ${arg(q.format)}`);
    if (q.namespacePrefix !== undefined) where.push(`p.namespace >= ${arg(q.namespacePrefix)} AND p.namespace < ${arg(`${q.namespacePrefix}\uffff`)}`);
    if (q.packagePrefix !== undefined) where.push(`p.name >= ${arg(q.packagePrefix)} AND p.name < ${arg(`${q.packagePrefix}\uffff`)}`);
    if (q.publish !== undefined) where.push(`p.origin_publish = ${arg(q.publish)}`);
    if (q.upstream !== undefined) where.push(`p.origin_upstream = ${arg(q.upstream)}`);
    if (q.after) where.push(`(p.format, p.namespace, p.name) > (${arg(q.after.format)}, ${arg(q.after.namespace)}, ${arg(q.after.name)})`);
    const rows = await this.rows<{ format: string; namespace: string; name: string; origin_publish: string; origin_upstream: string }>(
      this.pool,
      `SELECT p.format, p.namespace, p.name, p.origin_publish, p.origin_upstream
       FROM packages p JOIN repositories r ON r.id = p.repository_id JOIN domains d ON d.id = r.domain_id
       WHERE ${where.join(' AND ')} ORDER BY p.format, p.namespace, p.name LIMIT ${arg(q.limit)}`,
      args,
    );
    return rows.map((r) => ({ format: r.format as PackageFormat, namespace: r.namespace, name: r.name, origin: originOf(r) }));
  }

  async putPackageOrigin(c: OriginCommit): Promise<'ok' | 'expired'> {
    return this.grouped(
      async (tx) => {
        const { key } = c;
        const repositoryId = await this.lockedRepositoryId(tx, key.domainOwner, key.domain, key.repository);
        if (repositoryId === undefined) throw new NotFoundError(`repository ${key.repository} does not exist in domain ${key.domain}`, 'repository', key.repository);
        await tx.query(
          `INSERT INTO packages (repository_id, format, namespace, name, created_at, origin_publish, origin_upstream) VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (repository_id, format, namespace, name) DO UPDATE SET origin_publish = excluded.origin_publish, origin_upstream = excluded.origin_upstream`,
          [repositoryId, key.format, key.namespace, key.name, this.now(), c.origin.publish, c.origin.upstream],
        );
        tx.audit(c.audit);
        return () => 'ok' as const;
      },
      c.expired,
      (tx) => {
        if (c.expired?.audit) tx.audit(c.expired.audit());
        return () => 'expired' as const;
      },
    );
  }

  async deletePackage(c: PackageDeleteCommit): Promise<PackageDeleteResult> {
    try {
      return await this.grouped<PackageDeleteResult>(
        async (tx) => {
          const now = this.now();
          // The package row first: writes into the package hold it (lockPackage), so no
          // version can be added between the read below and the deletes.
          if ((await this.one(tx, `SELECT id FROM packages WHERE id = $1 FOR UPDATE`, [c.packageId])) === undefined) throw new StalePackage();
          const rows = await this.rows<{ id: number; version: string; revision: string }>(tx, `SELECT id, version, revision FROM package_versions WHERE package_id = $1 ORDER BY id FOR UPDATE`, [c.packageId]);
          const guarded = new Map(c.guards.map((g) => [g.version, g.revision]));
          if (rows.length !== guarded.size || rows.some((r) => guarded.get(r.version) !== r.revision)) throw new StalePackage();
          const ids = rows.map((r) => r.id);
          const removed = await this.rows<{ blob_key: string }>(tx, `DELETE FROM assets WHERE version_id = ANY($1::int[]) RETURNING blob_key`, [ids]);
          // With all of the package's assets gone: a copy in another repository keeps its bytes.
          const blobsToDelete = await this.releaseBlobs(tx, removed.map((r) => r.blob_key), now);
          await tx.query(`DELETE FROM sync_jobs WHERE version_id = ANY($1::int[])`, [ids]);
          await tx.query(`DELETE FROM package_versions WHERE package_id = $1`, [c.packageId]);
          const gone = await tx.query(`DELETE FROM packages WHERE id = $1`, [c.packageId]);
          if (gone.rowCount !== 1) throw new StalePackage();
          tx.audit(c.audit);
          return () => ({ ok: true, blobsToDelete });
        },
        c.expired,
        (tx) => {
          if (c.expired?.audit) tx.audit(c.expired.audit());
          return () => ({ ok: false, reason: 'expired' });
        },
      );
    } catch (err) {
      if (err instanceof StalePackage || lostRace(err)) return { ok: false, reason: 'stale' };
      throw err;
    }
  }

  async readVersionStates(afterId: number, limit: number): Promise<StoredVersionState[]> {
    const rows = await this.rows<IdentifierRow & { id: number; status: VersionStatus; revision: string }>(
      this.pool,
      `SELECT v.id, d.owner, d.name AS domain, r.name AS repository, p.format, p.namespace, p.name, v.version, v.status, v.revision
       FROM package_versions v JOIN packages p ON p.id = v.package_id JOIN repositories r ON r.id = p.repository_id JOIN domains d ON d.id = r.domain_id
       WHERE v.id > $1 ORDER BY v.id LIMIT $2`,
      [afterId, limit],
    );
    return rows.map((r) => ({ id: r.id, key: keyOf(r), version: r.version, status: r.status, revision: r.revision }));
  }

  // --- Sync queue ---

  async scheduleSync(versionIds: readonly number[], audit: AuditRecordInput): Promise<boolean> {
    return this.group.submit(async (tx) => {
      const now = this.now();
      // Read before this transaction: a version may have been disposed, deleted or removed since. Its
      // row is held (FOR SHARE) so that it stays as checked until the commit.
      const present = await this.rows<{ status: string }>(tx, `SELECT status FROM package_versions WHERE id = ANY($1::int[]) FOR SHARE`, [[...versionIds]]);
      if (present.length !== new Set(versionIds).size || present.some((r) => GONE_STATUSES.includes(r.status))) return () => false;
      const busy = await this.one(tx, `SELECT 1 FROM sync_jobs WHERE version_id = ANY($1::int[]) AND state IN ('awaiting', 'in_progress') LIMIT 1`, [[...versionIds]]);
      if (busy) return () => false;
      for (const versionId of versionIds) await this.awaitSync(tx, versionId, now);
      tx.audit(audit);
      return () => true;
    });
  }

  async readSyncJob(versionId: number): Promise<SyncJob | null> {
    const row = await this.one<SyncJobRow>(this.pool, `SELECT ${JOB_COLUMNS} FROM sync_jobs WHERE version_id = $1`, [versionId]);
    return row ? toSyncJob(row) : null;
  }

  async readSyncJobs(versionIds: readonly number[]): Promise<Map<number, SyncJob>> {
    const jobs = new Map<number, SyncJob>();
    if (versionIds.length === 0) return jobs;
    const rows = await this.namedRows<SyncJobRow>('read-sync-jobs', `SELECT ${JOB_COLUMNS} FROM sync_jobs WHERE version_id = ANY($1::int[])`, [[...versionIds]]);
    for (const row of rows) jobs.set(row.version_id, toSyncJob(row));
    return jobs;
  }

  private leaseFrom(now: string): string {
    return new Date(Date.parse(now) + this.syncLeaseMs).toISOString();
  }

  /**
   * One statement claims a job: the oldest due awaiting one, or one whose claim's lease has run out
   * (its replica died), skipping rows another replica is claiming right now (SKIP LOCKED), so two
   * workers never take the same job and never wait for each other.
   */
  async claimSyncJob(): Promise<ClaimedSyncJob | null> {
    const now = this.now();
    const row = await this.one<SyncJobRow>(
      this.pool,
      `WITH next AS (
         SELECT j.id FROM sync_jobs j JOIN package_versions v ON v.id = j.version_id
         WHERE ((j.state = 'awaiting' AND j.next_attempt_at <= $1) OR (j.state = 'in_progress' AND j.lease_expires_at < $1)) AND v.status <> 'Unfinished'
         ORDER BY j.next_attempt_at, j.id LIMIT 1 FOR UPDATE OF j SKIP LOCKED)
       UPDATE sync_jobs s SET state = 'in_progress', attempts = s.attempts + 1, progress = 0, started_at = $1, updated_at = $1,
         generation = s.generation + 1, lease_expires_at = $2
       FROM next WHERE s.id = next.id
       RETURNING s.id, s.version_id, s.state, s.attempts, s.next_attempt_at, s.status_reason, s.progress, s.created_at, s.updated_at, s.started_at, s.finished_at, s.generation`,
      [now, this.leaseFrom(now)],
    );
    if (!row) return null;
    const where = await this.one<IdentifierRow>(
      this.pool,
      `SELECT d.owner, d.name AS domain, r.name AS repository, p.format, p.namespace, p.name, v.version
       FROM package_versions v JOIN packages p ON p.id = v.package_id JOIN repositories r ON r.id = p.repository_id JOIN domains d ON d.id = r.domain_id
       WHERE v.id = $1`,
      [row.version_id],
    );
    const assets = (await this.rows<AssetRow>(this.pool, `SELECT ${ASSET_COLUMNS} FROM assets WHERE version_id = $1 ORDER BY name`, [row.version_id])).map(toAsset);
    return { ...toSyncJob(row), generation: row.generation, key: keyOf(where!), version: where!.version, assets };
  }

  async setSyncProgress(claim: SyncClaim, progress: number): Promise<void> {
    const now = this.now();
    // Progress renews the lease: a job that moves is not taken over.
    await this.pool.query(`UPDATE sync_jobs SET progress = $1, updated_at = $2, lease_expires_at = $3 WHERE id = $4 AND generation = $5 AND state = 'in_progress'`, [
      progress,
      now,
      this.leaseFrom(now),
      claim.id,
      claim.generation,
    ]);
  }

  async completeSync(claim: SyncClaim, m: VersionMetadata, revision: string, audit: AuditRecordInput): Promise<'completed' | 'superseded'> {
    return this.group.submit(async (tx) => {
      const now = this.now();
      const job = await this.one<{ version_id: number; version: string; status: VersionStatus; revision: string }>(
        tx,
        `SELECT j.version_id, v.version, v.status, v.revision FROM sync_jobs j JOIN package_versions v ON v.id = j.version_id
         WHERE j.id = $1 AND j.generation = $2 AND j.state = 'in_progress' FOR UPDATE OF j, v`,
        [claim.id, claim.generation],
      );
      if (!job) return () => 'superseded' as const;
      if (job.status === 'Disposed' || job.status === 'Deleted') {
        await tx.query(`UPDATE sync_jobs SET state = 'failed', status_reason = $1, finished_at = $2, updated_at = $2, lease_expires_at = NULL WHERE id = $3`, [
          `The version was ${job.status.toLowerCase()} while its sync ran; nothing was changed.`,
          now,
          claim.id,
        ]);
        return () => 'superseded' as const;
      }
      await tx.query(`UPDATE sync_jobs SET state = 'completed', progress = 100, status_reason = NULL, finished_at = $1, updated_at = $1, lease_expires_at = NULL WHERE id = $2`, [now, claim.id]);
      await tx.query(
        `UPDATE package_versions SET summary = $1, home_page = $2, source_code_repository = $3, licenses = $4, readme = $5, dependencies = $6, revision = $7 WHERE id = $8`,
        [
          m.summary,
          m.homePage,
          m.sourceCodeRepository,
          m.licenses === null ? null : JSON.stringify(m.licenses),
          m.readme ?? null,
          m.dependencies ? JSON.stringify(m.dependencies) : null,
          revision,
          job.version_id,
        ],
      );
      tx.audit({ ...audit, changes: [{ version: job.version, before: { status: job.status, revision: job.revision }, after: { status: job.status, revision } }] });
      return () => 'completed' as const;
    });
  }

  async failSyncAttempt(claim: SyncClaim, reason: string, retryAt: string | null): Promise<void> {
    const now = this.now();
    if (retryAt === null) {
      await this.pool.query(
        `UPDATE sync_jobs SET state = 'failed', status_reason = $1, finished_at = $2, updated_at = $2, lease_expires_at = NULL WHERE id = $3 AND generation = $4 AND state = 'in_progress'`,
        [reason, now, claim.id, claim.generation],
      );
    } else {
      await this.pool.query(
        `UPDATE sync_jobs SET state = 'awaiting', status_reason = $1, next_attempt_at = $2, updated_at = $3, lease_expires_at = NULL WHERE id = $4 AND generation = $5 AND state = 'in_progress'`,
        [reason, retryAt, now, claim.id, claim.generation],
      );
    }
  }

  /**
   * At start: only jobs whose lease has run out go back to awaiting. A job in progress under a live
   * lease belongs to another replica that is running it; taking it would run it twice.
   */
  async recoverSyncJobs(): Promise<number> {
    const now = this.now();
    const r = await this.pool.query(
      `UPDATE sync_jobs SET state = 'awaiting', next_attempt_at = $1, updated_at = $1, generation = generation + 1, lease_expires_at = NULL,
         status_reason = 'The sync was interrupted by a restart; it will run again.'
       WHERE state = 'in_progress' AND (lease_expires_at IS NULL OR lease_expires_at < $1)`,
      [now],
    );
    return r.rowCount ?? 0;
  }

  async countSyncJobs(): Promise<SyncJobCounts> {
    const counts: SyncJobCounts = { awaiting: 0, in_progress: 0, completed: 0, failed: 0, waiting_for_assets: 0 };
    for (const r of await this.rows<{ state: SyncState; n: number }>(this.pool, `SELECT state, count(*)::int AS n FROM sync_jobs GROUP BY state`)) counts[r.state] = r.n;
    const unfinished =
      (await this.one<{ n: number }>(this.pool, `SELECT count(*)::int AS n FROM sync_jobs j JOIN package_versions v ON v.id = j.version_id WHERE j.state = 'awaiting' AND v.status = 'Unfinished'`))?.n ?? 0;
    counts.awaiting -= unfinished;
    counts.waiting_for_assets = unfinished;
    return counts;
  }

  async readVersionMetadata(versionId: number): Promise<VersionMetadata> {
    return toVersionMetadata(await this.namedOne<MetadataRow>('vg_read_version_metadata', `SELECT ${METADATA_COLUMNS} FROM package_versions WHERE id = $1`, [versionId]));
  }

  // --- Audit log ---

  async appendAudit(record: AuditRecordInput): Promise<number> {
    return this.group.submit(
      async (tx) => {
        const seq = tx.audit(record);
        return () => seq.seq;
      },
      undefined,
      RECORD_ONLY,
    );
  }

  async appendAuditBatch(records: readonly AuditRecordInput[]): Promise<void> {
    if (records.length === 0) return;
    await this.group.submit(
      async (tx) => {
        for (const r of records) tx.audit(r);
        return () => undefined;
      },
      undefined,
      RECORD_ONLY,
    );
  }

  /** A time window as a seq range (times never decrease along the chain). */
  private async firstAtOrAfter(time: string): Promise<number | undefined> {
    return (await this.one<{ seq: number }>(this.pool, `SELECT seq FROM audit_log WHERE time >= $1 ORDER BY time, seq LIMIT 1`, [time]))?.seq;
  }

  async listAudit(q: AuditQuery): Promise<AuditRecord[]> {
    const { since, until, ...filter } = q.filter ?? {};
    const args: unknown[] = [];
    const where = auditConditions(filter, args);
    const arg = (v: unknown) => `$${args.push(v)}`;
    // A time window as a seq range (times never decrease along the chain), found in the same
    // statement: each bound is an InitPlan that the seq index scan then starts or stops at.
    const firstAtOrAfter = (time: string) => `COALESCE((SELECT seq FROM audit_log WHERE time >= ${arg(time)} ORDER BY time, seq LIMIT 1), ${2 ** 31 - 1})`;
    if (since !== undefined) where.push(`seq >= ${firstAtOrAfter(since)}`);
    if (until !== undefined) where.push(`seq < ${firstAtOrAfter(until)}`);
    if (q.beforeSeq !== undefined) where.push(`seq < ${arg(q.beforeSeq)}`);
    const text = `SELECT ${RECORD_SELECT} FROM audit_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT ${arg(q.limit)}`;
    const rows = (await this.pool.query<RecordColumns>({ name: preparedName('vg_audit_page', text), text, values: args })).rows;
    return rows.map((r) => recordFromColumns(r));
  }

  async readAuditRange(afterSeq: number, limit: number, window: { since?: string | undefined; until?: string | undefined } = {}): Promise<StoredAuditRecord[]> {
    let from = afterSeq;
    let to = 2 ** 31 - 1;
    if (window.since !== undefined) from = Math.max(from, ((await this.firstAtOrAfter(window.since)) ?? 2 ** 31 - 1) - 1);
    if (window.until !== undefined) to = (await this.firstAtOrAfter(window.until)) ?? to;
    const rows = await this.rows<RawAuditRow>(this.pool, `SELECT ${AUDIT_SELECT} FROM audit_log WHERE seq > $1 AND seq < $2 ORDER BY seq LIMIT $3`, [from, to, limit]);
    if (rows.length === 0) return [];
    const versions = await this.versionsOf(rows[0]!.seq, rows[rows.length - 1]!.seq);
    return rows.map((row) => ({
      ...recordFromColumns(row),
      derived: { repositoryArn: row.repositoryArn, domainArn: row.domainArn, packageName: row.packageName, versions: versions.get(row.seq) ?? [] },
    }));
  }

  async readAuditChain(afterSeq: number, limit: number): Promise<AuditChainEntry[]> {
    const rows = await this.rows<RawAuditRow>(this.pool, `SELECT ${AUDIT_SELECT} FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2`, [afterSeq, limit]);
    if (rows.length === 0) return [];
    const versions = await this.versionsOf(rows[0]!.seq, rows[rows.length - 1]!.seq);
    return rows.map((r) => ({
      seq: r.seq,
      prevHash: r.prevHash,
      hash: r.hash,
      time: r.time,
      encoded: encodedFromColumns(r),
      derived: { repositoryArn: r.repositoryArn, domainArn: r.domainArn, packageName: r.packageName, versions: versions.get(r.seq) ?? [] },
    }));
  }

  private async versionsOf(firstSeq: number, lastSeq: number): Promise<Map<number, string[]>> {
    return versionsBySeq(await this.rows<{ seq: number; version: string }>(this.pool, `SELECT seq, version FROM audit_versions WHERE seq >= $1 AND seq <= $2 ORDER BY seq, version`, [firstSeq, lastSeq]));
  }

  async auditHead(): Promise<AuditHead | null> {
    const head = await this.one<{ seq: number; hash: string }>(this.pool, `SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1`);
    return head ?? null;
  }

  async keptAuditHead(): Promise<AuditHead | null> {
    // Seq 0 is the row migratePostgres puts there before the first record.
    const head = await this.one<{ seq: number; hash: string }>(this.pool, `SELECT seq, hash FROM audit_head WHERE id = 1 AND seq > 0`);
    return head ?? null;
  }

  async auditedArns(): Promise<AuditedArns> {
    const [repositoryArns, domainArns] = await Promise.all([this.distinctAuditArns('repository_arn'), this.distinctAuditArns('domain_arn')]);
    return { repositoryArns, domainArns };
  }

  /**
   * Each distinct value of an indexed ARN column, one index seek per value (a skip scan: PostgreSQL
   * has none of its own, and DISTINCT would read the whole index).
   */
  private async distinctAuditArns(column: 'repository_arn' | 'domain_arn'): Promise<string[]> {
    const next = `SELECT ${column} FROM audit_log WHERE ${column} > r.arn ORDER BY ${column} LIMIT 1`;
    const rows = await this.rows<{ arn: string }>(
      this.pool,
      `WITH RECURSIVE r(arn) AS (SELECT min(${column}) FROM audit_log UNION ALL SELECT (${next}) FROM r WHERE r.arn IS NOT NULL) SELECT arn FROM r WHERE arn IS NOT NULL`,
    );
    return rows.map((r) => r.arn);
  }

  async strayAuditVersion(lastSeq: number): Promise<{ seq: number; version: string } | undefined> {
    return this.one<{ seq: number; version: string }>(
      this.pool,
      `SELECT seq, version FROM audit_versions v WHERE v.seq < 1 OR (v.seq > $1 AND NOT EXISTS (SELECT 1 FROM audit_log l WHERE l.seq = v.seq)) ORDER BY seq LIMIT 1`,
      [lastSeq],
    );
  }

  // --- Tenancy through the API ---

  private async domainRow(db: Queryable, owner: string, name: string) {
    return this.one<{ id: number; name: string; owner: string; created_at: string }>(db, `SELECT id, name, owner, created_at FROM domains WHERE owner = $1 AND name = $2`, [owner, name]);
  }

  private async domainDetail(db: Queryable, owner: string, domain: string): Promise<DomainDetail | null> {
    const row = await this.domainRow(db, owner, domain);
    if (!row) return null;
    const counts = (await this.one<{ repositories: number; bytes: number }>(
      db,
      `SELECT (SELECT count(*)::int FROM repositories WHERE domain_id = $1) AS repositories,
         (SELECT coalesce(sum(a.size), 0)::float8 FROM assets a JOIN package_versions v ON v.id = a.version_id
            JOIN packages p ON p.id = v.package_id JOIN repositories r ON r.id = p.repository_id WHERE r.domain_id = $1) AS bytes`,
      [row.id],
    ))!;
    return { name: row.name, owner: row.owner, createdAt: row.created_at, repositoryCount: counts.repositories, assetSizeBytes: counts.bytes };
  }

  private async repositoryRow(db: Queryable, owner: string, domain: string, repository: string) {
    return this.one<RepositoryRow>(db, `SELECT ${REPOSITORY_COLUMNS} FROM repositories r JOIN domains d ON d.id = r.domain_id WHERE d.owner = $1 AND d.name = $2 AND r.name = $3`, [
      owner,
      domain,
      repository,
    ]);
  }

  async describeDomain(owner: string, domain: string): Promise<DomainDetail | null> {
    return this.domainDetail(this.pool, owner, domain);
  }

  async listDomainPage(after: { owner: string; name: string } | undefined, limit: number): Promise<DomainRecord[]> {
    return this.rows<DomainRecord>(this.pool, `SELECT name, owner, created_at AS "createdAt" FROM domains WHERE (owner, name) > ($1, $2) ORDER BY owner, name LIMIT $3`, [
      after?.owner ?? '',
      after?.name ?? '',
      limit,
    ]);
  }

  async describeRepository(owner: string, domain: string, repository: string): Promise<RepositoryDetail | null> {
    const row = await this.repositoryRow(this.pool, owner, domain, repository);
    return row ? toRepository(row) : null;
  }

  async listRepositoryPage(q: RepositoryListQuery): Promise<RepositoryDetail[]> {
    const args: unknown[] = [q.after?.domainOwner ?? '', q.after?.domain ?? '', q.after?.name ?? ''];
    const where = ['(d.owner, d.name, r.name) > ($1, $2, $3)'];
    const arg = (v: unknown) => `$${args.push(v)}`;
    if (q.domain) where.push(`d.owner = ${arg(q.domain.owner)} AND d.name = ${arg(q.domain.name)}`);
    if (q.prefix !== undefined) where.push(`r.name >= ${arg(q.prefix)} AND r.name < ${arg(`${q.prefix}\uffff`)}`);
    const rows = await this.rows<RepositoryRow>(
      this.pool,
      `SELECT ${REPOSITORY_COLUMNS} FROM repositories r JOIN domains d ON d.id = r.domain_id WHERE ${where.join(' AND ')} ORDER BY d.owner, d.name, r.name LIMIT ${arg(q.limit)}`,
      args,
    );
    return rows.map(toRepository);
  }

  async applyTenancyChange(change: TenancyChange, audit: AuditRecordInput): Promise<TenancyResult> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.group.submit(async (tx) => {
          const after = await this.applyTenancy(tx, change, this.now());
          const seq = tx.audit(audit);
          return (): TenancyResult => ({ ok: true, ...after, auditSeq: seq.seq });
        });
      } catch (err) {
        if (err instanceof TenancyRefused) return { ok: false, ...err.refusal };
        // Another replica made the same domain or repository at the same moment.
        if ((err as { code?: string }).code === '23505' && (change.kind === 'createDomain' || change.kind === 'createRepository')) {
          return { ok: false, reason: change.kind === 'createDomain' ? 'domain_exists' : 'repository_exists' };
        }
        // Chosen as a deadlock's victim (another replica's batch held rows this change needed while
        // waiting for the domain or repository row it holds): the change was rolled back whole, and
        // runs again, as a status change that loses such a race is read again and retried.
        // Past the attempts its error is answered as any deadlock's victim's (pgUnavailableAs: a 503).
        if (attempt < TENANCY_ATTEMPTS && (err as { code?: string }).code === '40P01') continue;
        throw err;
      }
    }
  }

  private async applyTenancy(tx: PgTx, change: TenancyChange, now: string): Promise<{ domain: DomainDetail; repository?: RepositoryDetail }> {
    // The domain row is locked: repository changes of one domain (and its deletion) take turns across replicas.
    const domain = await this.one<{ id: number }>(tx, `SELECT id FROM domains WHERE owner = $1 AND name = $2 FOR UPDATE`, [change.owner, change.domain]);
    if (change.kind === 'createDomain') {
      if (domain) throw new TenancyRefused({ reason: 'domain_exists' });
      await tx.query(`INSERT INTO domains (owner, name, created_at) VALUES ($1, $2, $3)`, [change.owner, change.domain, now]);
      return { domain: (await this.domainDetail(tx, change.owner, change.domain))! };
    }
    if (!domain) throw new TenancyRefused({ reason: 'domain_missing' });
    if (change.kind === 'deleteDomain') {
      const before = (await this.domainDetail(tx, change.owner, change.domain))!;
      if (before.repositoryCount > 0) throw new TenancyRefused({ reason: 'domain_not_empty' });
      await tx.query(`DELETE FROM domains WHERE id = $1`, [domain.id]);
      return { domain: before };
    }
    const existing = await this.repositoryRow(tx, change.owner, change.domain, change.repository);
    const after = async () => ({
      domain: (await this.domainDetail(tx, change.owner, change.domain))!,
      repository: (await this.describeRepositoryIn(tx, change.owner, change.domain, change.repository))!,
    });
    if (change.kind === 'createRepository') {
      if (existing) throw new TenancyRefused({ reason: 'repository_exists' });
      await this.checkUpstreams(tx, domain.id, change.upstreams);
      await tx.query(`INSERT INTO repositories (domain_id, name, created_at, description, upstreams) VALUES ($1, $2, $3, $4, $5)`, [
        domain.id,
        change.repository,
        now,
        change.description,
        JSON.stringify(change.upstreams),
      ]);
      return after();
    }
    if (!existing) throw new TenancyRefused({ reason: 'repository_missing' });
    if (change.kind === 'updateRepository') {
      if (change.upstreams !== undefined) {
        await this.checkUpstreams(tx, domain.id, change.upstreams);
        await tx.query(`UPDATE repositories SET upstreams = $1 WHERE id = $2`, [JSON.stringify(change.upstreams), existing.id]);
      }
      if (change.description !== undefined) await tx.query(`UPDATE repositories SET description = $1 WHERE id = $2`, [change.description, existing.id]);
      return after();
    }
    // Writes into the repository hold its row (lockedRepositoryId, lockRepositoryOf): the count waits
    // for them, and those that come later wait for this and then find no repository.
    await tx.query(`SELECT id FROM repositories WHERE id = $1 FOR UPDATE`, [existing.id]);
    const live = (await this.one<{ n: number }>(
      tx,
      `SELECT count(*)::int AS n FROM package_versions v JOIN packages p ON p.id = v.package_id WHERE p.repository_id = $1 AND NOT (v.status = ANY($2::text[]))`,
      [existing.id, GONE_STATUSES],
    ))!.n;
    if (live > 0) throw new TenancyRefused({ reason: 'repository_holds_versions', versions: live });
    const downstream = (await this.rows<{ name: string; upstreams: string }>(tx, `SELECT name, upstreams FROM repositories WHERE domain_id = $1 AND id <> $2`, [domain.id, existing.id]))
      .filter((r) => (JSON.parse(r.upstreams) as string[]).includes(existing.name))
      .map((r) => r.name);
    if (downstream.length > 0) throw new TenancyRefused({ reason: 'repository_is_upstream', downstream });
    const before = toRepository(existing);
    const versions = `SELECT v.id FROM package_versions v JOIN packages p ON p.id = v.package_id WHERE p.repository_id = $1`;
    // Bytes a copy outside the repository shares stay (no live version remains, so there should be none to queue).
    await tx.query(
      `INSERT INTO blob_deletions (blob_key, queued_at) SELECT DISTINCT a.blob_key, $2 FROM assets a WHERE a.version_id IN (${versions})
         AND NOT EXISTS (SELECT 1 FROM assets b WHERE b.blob_key = a.blob_key AND b.version_id NOT IN (${versions})) ON CONFLICT DO NOTHING`,
      [existing.id, now],
    );
    await tx.query(`DELETE FROM assets WHERE version_id IN (${versions})`, [existing.id]);
    await tx.query(`DELETE FROM sync_jobs WHERE version_id IN (${versions})`, [existing.id]);
    await tx.query(`DELETE FROM package_versions WHERE package_id IN (SELECT id FROM packages WHERE repository_id = $1)`, [existing.id]);
    await tx.query(`DELETE FROM packages WHERE repository_id = $1`, [existing.id]);
    await tx.query(`DELETE FROM repositories WHERE id = $1`, [existing.id]);
    return { domain: (await this.domainDetail(tx, change.owner, change.domain))!, repository: before };
  }

  private async describeRepositoryIn(db: Queryable, owner: string, domain: string, repository: string): Promise<RepositoryDetail | null> {
    const row = await this.repositoryRow(db, owner, domain, repository);
    return row ? toRepository(row) : null;
  }

  private async checkUpstreams(tx: Queryable, domainId: number, upstreams: readonly string[]): Promise<void> {
    const found = new Set((await this.rows<{ name: string }>(tx, `SELECT name FROM repositories WHERE domain_id = $1 AND name = ANY($2::text[])`, [domainId, [...upstreams]])).map((r) => r.name));
    const missing = upstreams.find((u) => !found.has(u));
    if (missing !== undefined) throw new TenancyRefused({ reason: 'upstream_missing', upstream: missing });
  }

  async ping(): Promise<void> {
    await this.pool.query('SELECT 1');
  }

  async close(): Promise<void> {
    await this.group.close();
    await this.packageReads.close();
    await this.reader.close();
    await this.pool.end();
  }
}

type Prefixed<T> = { [K in keyof T as `a_${string & K}`]: T[K] };
/**
 * A record's columns under their AuditColumns names: what a page of the log reads. Without the derived
 * repository, domain and package, which only the chain's readers use, a page decodes ~15% fewer
 * bytes in node-postgres.
 */
const RECORD_SELECT = `seq, prev_hash AS "prevHash", hash, decision_id AS "decisionId", time, request_id AS "requestId", source_ip AS "sourceIp",
  principal_issuer AS "principalIssuer", principal_subject AS "principalSubject", principal_groups AS "principalGroups", action, resource, decision, reason,
  determining_policies AS "determiningPolicies", errors, policy_set_hash AS "policySetHash", request, changes, outcome, http_status AS "httpStatus"`;
/** Every audit column under its AuditColumns name. */
const AUDIT_SELECT = `${RECORD_SELECT}, repository_arn AS "repositoryArn", domain_arn AS "domainArn", package_name AS "packageName"`;
type RawAuditRow = AuditColumns;

const preparedNames = new Map<string, string>();

/**
 * A name for a statement whose text is one of few (each combination of filters makes one), so that
 * each connection parses and plans it once: an audit page is a short index scan, and planning it cost
 * as much as running it. Values are always parameters, never part of the text.
 */
function preparedName(prefix: string, text: string): string {
  let name = preparedNames.get(text);
  if (name === undefined) preparedNames.set(text, (name = `${prefix}_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`));
  return name;
}

function auditConditions(f: AuditFilter, args: unknown[]): string[] {
  const arg = (v: unknown) => `$${args.push(v)}`;
  const c: string[] = [];
  if (f.principal !== undefined) c.push(`principal_subject = ${arg(f.principal)}`);
  if (f.action !== undefined) c.push(`action = ${arg(f.action)}`);
  if (f.decision !== undefined) c.push(`decision = ${arg(f.decision)}`);
  if (f.resource !== undefined) c.push(`resource = ${arg(f.resource)}`);
  if (f.resourcePrefix !== undefined) c.push(`resource >= ${arg(f.resourcePrefix)} AND resource < ${arg(`${f.resourcePrefix}\uffff`)}`);
  if (f.repositoryArn !== undefined) c.push(`repository_arn = ${arg(f.repositoryArn)}`);
  if (f.domainArn !== undefined) c.push(`domain_arn = ${arg(f.domainArn)}`);
  if (f.packageName !== undefined) c.push(`package_name = ${arg(f.packageName)}`);
  if (f.version !== undefined) c.push(`seq IN (SELECT seq FROM audit_versions WHERE version = ${arg(f.version)})`);
  if (f.repositoryScope !== undefined) c.push(scopeCondition(f.repositoryScope, f.domainScope ?? [], arg));
  return c;
}

/** A scoped reader's records: those of its repositories, and those of its domains that name no repository. */
function scopeCondition(repositories: readonly string[], domains: readonly string[], arg: (v: unknown) => string): string {
  const ofRepositories = repositories.length === 0 ? 'false' : `repository_arn = ANY(${arg([...repositories])}::text[])`;
  if (domains.length === 0) return ofRepositories;
  return `(${ofRepositories} OR (repository_arn IS NULL AND domain_arn = ANY(${arg([...domains])}::text[])))`;
}
