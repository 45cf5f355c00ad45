/**
 * The embedded store: one SQLite file through drizzle + better-sqlite3.
 * Durability: WAL with synchronous=FULL (better-sqlite3 opens WAL at NORMAL, which can lose the last
 * commits on power loss), foreign keys on, a busy timeout, and BEGIN IMMEDIATE for every write so a
 * read-then-write transaction never fails halfway on a lock upgrade.
 * better-sqlite3 transactions are synchronous: nothing inside them awaits.
 */
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { and, asc, desc, eq, gte, inArray, lt, sql, type SQL } from 'drizzle-orm';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { EMPTY_CHAIN_HEAD, encodedFromColumns, linkRecord, recordFromColumns, versionsBySeq, type ChainHead } from '../../audit/chain-link.ts';
import type { AuditHead, AuditRecord, AuditRecordInput } from '../../audit/audit-record.ts';
import type { Clock } from '../../clock.ts';
import { ConflictError, NotFoundError } from '../../errors.ts';
import { packageRoot } from '../../package-root.ts';
import { newIdentifier } from '../../registry/identifier.ts';
import type { VersionState } from '../../registry/plan-change.ts';
import { VERSION_STATUSES, type VersionStatus } from '../../registry/statuses.ts';
import type {
  AssetInput,
  AuditChainEntry,
  AuditedArns,
  AuditFilter,
  AuditQuery,
  StoredAuditRecord,
  ClaimedSyncJob,
  SyncClaim,
  SyncJobCounts,
  DomainRecord,
  IdentifiedVersion,
  SyncJob,
  SyncState,
  VersionMetadata,
  NewVersion,
  OriginCommit,
  PackageDeleteCommit,
  PackageDeleteResult,
  PackageListItem,
  PackageListQuery,
  PackageRecordSnapshot,
  PackageKey,
  PackageSnapshot,
  PublishWrite,
  RepositoryRecord,
  Store,
  CopyCommit,
  DomainDetail,
  RepositoryDetail,
  RepositoryListQuery,
  TenancyChange,
  TenancyResult,
  VersionCommit,
  VersionCommitResult,
  VersionListQuery,
  VersionPage,
  VersionRecord,
  VersionSnapshot,
  StoredVersionState,
} from '../store.ts';
import { reservationGone } from '../store.ts';
import { applyVersionCopies } from './copy-versions.ts';
import { DEFAULT_GROUP_COMMIT, GroupCommitter, type GroupCommitOptions } from './group-commit.ts';
import { PackageRecords } from './package-records.ts';
import * as schema from './schema.ts';
import { StaleRead } from './stale-read.ts';
import { TenancyQueries, TenancyRefused } from './tenancy-store.ts';
import { ASSET_COLUMNS, type AssetRow, type IdentifierRow, keyOf, METADATA_COLUMNS, type MetadataRow, toVersionMetadata, type SyncJobRow, toAsset, toSyncJob, toVersionRecord, VERSION_COLUMNS, type VersionRow } from '../sql-rows.ts';
import { BOUND_LIMIT } from './bound-limit.ts';
import { answeringUnavailable } from '../answering-unavailable.ts';
import { TransactionStart } from './transaction-start.ts';
import { commitFailureAs, sqliteUnavailableAs } from './sqlite-unavailable.ts';

const MIGRATIONS = join(packageRoot(), 'drizzle/sqlite');

type Db = BetterSQLite3Database<typeof schema>;

export interface SqliteStoreOptions {
  /** A file path, or ':memory:' for throwaway use. */
  file: string;
  clock: Clock;
  /** How requests' writes are grouped into transactions (see group-commit.ts). */
  groupCommit?: GroupCommitOptions | undefined;
  /** Apply pending migrations (default true); the writer thread opens a database its parent migrated. */
  migrate?: boolean | undefined;
  /**
   * Keep SQLite's temporary files in memory (default true). A connection that group-commits needs it
   * (see below); one that only reads, as the threaded store's reader, does not, and keeps the large
   * sorts an audit query may make able to spill to disk.
   */
  memoryTempStore?: boolean | undefined;
}

/** One placeholder per status there is: a status filter never names more. */
const STATUS_SLOTS = VERSION_STATUSES.map(() => '?').join(', ');

/** Blob keys one statement takes off the deletion queue (SQLite allows 32,766 variables a statement). */
const FORGET_AT_ONCE = 10_000;
type StatusSlots = Array<string | null>;

function statusSlots(statuses: readonly string[]): StatusSlots {
  if (statuses.length > VERSION_STATUSES.length) throw new Error(`a status filter names ${statuses.length} statuses; there are ${VERSION_STATUSES.length}`);
  return VERSION_STATUSES.map((_, i) => statuses[i] ?? null);
}

/** One row of readPackage's statement: the version columns are null when no named version exists. */
interface PackageSnapshotRow {
  repositoryId: number | null;
  packageId: number | null;
  version: string | null;
  status: string | null;
  revision: string | null;
}

export function openSqliteStore(options: SqliteStoreOptions): Store {
  return answeringUnavailable(openSqliteConnection(options).store, sqliteUnavailableAs);
}

/** The store and its connection, for a caller that manages the connection's transactions itself (turn-snapshot.ts). */
export function openSqliteConnection({ file, clock, groupCommit, migrate: applyMigrations = true, memoryTempStore = true }: SqliteStoreOptions): { store: Store; sqlite: Database.Database } {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const sqlite = new Database(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = FULL');
  sqlite.pragma('foreign_keys = ON');
  const transactionStart = new TransactionStart(sqlite, file);
  // Each write of a group commit runs in a savepoint, whose undo pages SQLite keeps in a statement
  // journal that spills to a temporary file past 64 KiB: a batch of 32 wrote it with a pwrite per
  // page. It only ever serves a rollback inside the open transaction (durability is the WAL's), so
  // memory is where it belongs.
  if (memoryTempStore) sqlite.pragma('temp_store = MEMORY');
  const db = drizzle(sqlite, { schema });
  if (applyMigrations) migrate(db, { migrationsFolder: MIGRATIONS });
  return { store: new SqliteStore(sqlite, db, clock, new GroupCommitter(sqlite, groupCommit ?? DEFAULT_GROUP_COMMIT, transactionStart), transactionStart), sqlite };
}

class SqliteStore implements Store {
  /** verify and export read every record: one statement prepared once, rows mapped by hand. */
  private readonly auditRange: Database.Statement<[number, number, number], RawAuditRow>;
  /** The same rows as arrays in CHAIN_COLUMNS order: verify reads every record, objects cost. */
  private readonly auditChainRows: Database.Statement<[number, number], unknown[]>;
  private readonly auditRangeVersions: Database.Statement<[number, number], { seq: number; version: string }>;
  /** Every request appends a record: the statements are prepared once, not built per call. */
  private readonly auditHeadRow: Database.Statement<[], { seq: number; hash: string; time: string }>;
  private readonly versionStatePage: Database.Statement<[number, number], IdentifierRow & { id: number; status: VersionStatus; revision: string }>;
  private readonly insertAuditRow: Database.Statement<[Record<string, unknown>]>;
  private readonly insertAuditVersion: Database.Statement<[number, string]>;
  /** The read operations (list, describe, download) run these on every request. */
  private readonly packageIdOf: Database.Statement<[string, string, string, string, string, string], number>;
  private readonly versionRow: Database.Statement<[number, string], VersionRow & { asset_count: number; sync_state: string | null; sync_reason: string | null }>;
  private readonly scheduleJob: Database.Statement<[number, string, string, string]>;
  private readonly syncJobsByState: Database.Statement<[], { state: SyncState; n: number }>;
  private readonly awaitingUnfinished: Database.Statement<[], number>;
  private readonly assetRow: Database.Statement<[number, string], AssetRow>;
  private readonly versionsByName: Database.Statement<[number, ...StatusSlots, string, number], VersionRow>;
  private readonly versionsByPublished: Database.Statement<[number, ...StatusSlots, string, string, number, number], VersionRow>;
  private readonly latestPublished: Database.Statement<[number], string>;
  private readonly assetsByName: Database.Statement<[number, string, number], AssetRow>;
  /** A version and its asset are read in one transaction, so they always belong together. */
  private readonly byIdentifier: Database.Statement<[string], IdentifierRow>;
  private readonly readVersionTx: (key: PackageKey, version: string, assetName: string | null) => VersionSnapshot;
  /** The write path of every status change: read, guard, update, audit. Prepared once, never built per call. */
  private readonly domainIdOf: Database.Statement<[string, string], number>;
  private readonly repositoryIdOf: Database.Statement<[string, string, string], number>;
  /** The versions are one JSON array, so one prepared statement serves any number of them. */
  private readonly versionStates: Database.Statement<[number, string], { version: string; status: string; revision: string }>;
  private readonly versionStateOf1: Database.Statement<[number, string], { version: string; status: string; revision: string }>;
  private readonly versionStatusOf: Database.Statement<[number], string>;
  private readonly originPublishOf: Database.Statement<[number], string>;
  private readonly packageSnapshot: Database.Statement<[string, string, string, string, string, string, string], PackageSnapshotRow>;
  private readonly packageSnapshotOf1: Database.Statement<[string, string, string, string, string | null, string, string], PackageSnapshotRow>;
  private readonly updateStatus: Database.Statement<[string, string, string, number, string, string], number>;
  private readonly removeAssets: Database.Statement<[number], string>;
  private readonly blobInUse: Database.Statement<[string], number>;
  private readonly queueBlobDeletion: Database.Statement<[string, string]>;
  /** The other request paths' statements (resync, sync status, describe, the audit head). */
  private readonly syncJobOf: Database.Statement<[number], SyncJobRow>;
  private readonly syncJobsOf: Database.Statement<[string], SyncJobRow>;
  private readonly metadataOf: Database.Statement<[number], MetadataRow>;
  private readonly ownersOf: Database.Statement<[string], string>;
  private readonly allRepositories: Database.Statement<[], RepositoryRecord>;
  /** The package operations' SQL, in a file of its own. */
  private readonly packageRecords: PackageRecords;
  private readonly tenancy: TenancyQueries;

  constructor(
    private readonly sqlite: Database.Database,
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly group: GroupCommitter,
    private readonly transactionStart: TransactionStart,
  ) {
    this.auditRange = sqlite.prepare(`SELECT * FROM audit_log WHERE seq > ? AND seq < ? ORDER BY seq ${BOUND_LIMIT}`);
    this.auditChainRows = sqlite.prepare(`SELECT ${CHAIN_COLUMNS.join(', ')} FROM audit_log WHERE seq > ? ORDER BY seq ${BOUND_LIMIT}`).raw(true) as Database.Statement<[number, number], unknown[]>;
    this.auditRangeVersions = sqlite.prepare(`SELECT seq, version FROM audit_versions WHERE seq >= ? AND seq <= ? ORDER BY seq, version`);
    this.auditHeadRow = sqlite.prepare(`SELECT seq, hash, time FROM audit_log ORDER BY seq DESC LIMIT 1`);
    this.versionStatePage = sqlite.prepare(
      `SELECT v.id, d.owner, d.name AS domain, r.name AS repository, p.format, p.namespace, p.name, v.version, v.status, v.revision
       FROM package_versions v JOIN packages p ON p.id = v.package_id JOIN repositories r ON r.id = p.repository_id JOIN domains d ON d.id = r.domain_id
       WHERE v.id > ? ORDER BY v.id LIMIT ?`,
    );
    this.insertAuditRow = sqlite.prepare(
      `INSERT INTO audit_log (seq, prev_hash, hash, decision_id, time, request_id, source_ip, principal_issuer, principal_subject,
         principal_groups, action, resource, decision, reason, determining_policies, errors, policy_set_hash, request, changes,
         outcome, http_status, repository_arn, domain_arn, package_name)
       VALUES (@seq, @prevHash, @hash, @decisionId, @time, @requestId, @sourceIp, @principalIssuer, @principalSubject,
         @principalGroups, @action, @resource, @decision, @reason, @determiningPolicies, @errors, @policySetHash, @request, @changes,
         @outcome, @httpStatus, @repositoryArn, @domainArn, @packageName)`,
    );
    this.insertAuditVersion = sqlite.prepare(`INSERT INTO audit_versions (seq, version) VALUES (?, ?)`);
    this.packageIdOf = sqlite
      .prepare(
        `SELECT p.id FROM packages p JOIN repositories r ON r.id = p.repository_id JOIN domains d ON d.id = r.domain_id
         WHERE d.owner = ? AND d.name = ? AND r.name = ? AND p.format = ? AND p.namespace = ? AND p.name = ?`,
      )
      .pluck() as Database.Statement<[string, string, string, string, string, string], number>;
    this.versionRow = sqlite.prepare(
      `SELECT ${VERSION_COLUMNS}, (SELECT count(*) FROM assets a WHERE a.version_id = v.id) AS asset_count,
         j.state AS sync_state, j.status_reason AS sync_reason
       FROM package_versions v LEFT JOIN sync_jobs j ON j.version_id = v.id WHERE v.package_id = ? AND v.version = ?`,
    );
    this.syncJobsByState = sqlite.prepare(`SELECT state, count(*) AS n FROM sync_jobs GROUP BY state`);
    this.awaitingUnfinished = sqlite
      .prepare(`SELECT count(*) FROM sync_jobs j JOIN package_versions v ON v.id = j.version_id WHERE j.state = 'awaiting' AND v.status = 'Unfinished'`)
      .pluck() as Database.Statement<[], number>;
    this.scheduleJob = sqlite.prepare(
      `INSERT INTO sync_jobs (version_id, state, attempts, next_attempt_at, status_reason, progress, created_at, updated_at, started_at, finished_at, generation)
       VALUES (?, 'awaiting', 0, ?, NULL, 0, ?, ?, NULL, NULL, 1)
       ON CONFLICT (version_id) DO UPDATE SET state = 'awaiting', attempts = 0, next_attempt_at = excluded.next_attempt_at,
         status_reason = NULL, progress = 0, updated_at = excluded.updated_at, started_at = NULL, finished_at = NULL, generation = generation + 1`,
    );
    this.assetRow = sqlite.prepare(`SELECT ${ASSET_COLUMNS} FROM assets WHERE version_id = ? AND name = ?`);
    // Statuses fill STATUS_SLOTS parameters (the rest NULL, which matches nothing), so one prepared
    // statement serves every status filter; json_each here cost more than the whole lookup.
    this.versionsByName = sqlite.prepare(
      `SELECT ${VERSION_COLUMNS} FROM package_versions v
       WHERE v.package_id = ? AND v.status IN (${STATUS_SLOTS}) AND v.version > ?
       ORDER BY v.version ${BOUND_LIMIT}`,
    );
    this.versionsByPublished = sqlite.prepare(
      `SELECT ${VERSION_COLUMNS} FROM package_versions v
       WHERE v.package_id = ? AND v.status IN (${STATUS_SLOTS}) AND (v.published_at < ? OR (v.published_at = ? AND v.id < ?))
       ORDER BY v.published_at DESC, v.id DESC ${BOUND_LIMIT}`,
    );
    this.latestPublished = sqlite
      .prepare(`SELECT version FROM package_versions WHERE package_id = ? AND status = 'Published' ORDER BY published_at DESC, id DESC LIMIT 1`)
      .pluck() as Database.Statement<[number], string>;
    this.assetsByName = sqlite.prepare(`SELECT ${ASSET_COLUMNS} FROM assets WHERE version_id = ? AND name > ? ORDER BY name ${BOUND_LIMIT}`);
    this.byIdentifier = sqlite.prepare(
      `SELECT d.owner, d.name AS domain, r.name AS repository, p.format, p.namespace, p.name, v.version
       FROM package_versions v JOIN packages p ON p.id = v.package_id JOIN repositories r ON r.id = p.repository_id JOIN domains d ON d.id = r.domain_id
       WHERE v.identifier = ?`,
    );
    this.domainIdOf = sqlite.prepare(`SELECT id FROM domains WHERE owner = ? AND name = ?`).pluck() as Database.Statement<[string, string], number>;
    this.repositoryIdOf = sqlite
      .prepare(`SELECT r.id FROM repositories r JOIN domains d ON d.id = r.domain_id WHERE d.owner = ? AND d.name = ? AND r.name = ?`)
      .pluck() as Database.Statement<[string, string, string], number>;
    this.versionStates = sqlite.prepare(`SELECT version, status, revision FROM package_versions WHERE package_id = ? AND version IN (SELECT value FROM json_each(?))`);
    this.versionStateOf1 = sqlite.prepare(`SELECT version, status, revision FROM package_versions WHERE package_id = ? AND version = ?`);
    this.versionStatusOf = sqlite.prepare<[number], string>(`SELECT status FROM package_versions WHERE id = ?`).pluck();
    this.originPublishOf = sqlite.prepare<[number], string>(`SELECT origin_publish FROM packages WHERE id = ?`).pluck();
    // Every request that names a package reads this first: one statement rather than one per table,
    // since each call into SQLite costs more than the index lookups it makes. Most requests name one
    // version or none (a NULL, which matches no row), and json_each costs more than the rest of the
    // statement, so those have a statement of their own.
    const snapshotSql = (versionTest: string) =>
      `SELECT r.id AS repositoryId, p.id AS packageId, v.version, v.status, v.revision
         FROM domains d
         LEFT JOIN repositories r ON r.domain_id = d.id AND r.name = ?
         LEFT JOIN packages p ON p.repository_id = r.id AND p.format = ? AND p.namespace = ? AND p.name = ?
         LEFT JOIN package_versions v ON v.package_id = p.id AND ${versionTest}
        WHERE d.owner = ? AND d.name = ?`;
    this.packageSnapshot = sqlite.prepare(snapshotSql('v.version IN (SELECT value FROM json_each(?))'));
    this.packageSnapshotOf1 = sqlite.prepare(snapshotSql('v.version = ?'));
    this.updateStatus = sqlite
      .prepare(`UPDATE package_versions SET status = ?, revision = ?, status_updated_at = ? WHERE package_id = ? AND version = ? AND revision = ? RETURNING id`)
      .pluck() as Database.Statement<[string, string, string, number, string, string], number>;
    this.removeAssets = sqlite.prepare(`DELETE FROM assets WHERE version_id = ? RETURNING blob_key`).pluck() as Database.Statement<[number], string>;
    this.blobInUse = sqlite.prepare(`SELECT 1 FROM assets WHERE blob_key = ? LIMIT 1`).pluck() as Database.Statement<[string], number>;
    this.queueBlobDeletion = sqlite.prepare(`INSERT INTO blob_deletions (blob_key, queued_at) VALUES (?, ?) ON CONFLICT DO NOTHING`);
    this.syncJobOf = sqlite.prepare(`SELECT * FROM sync_jobs WHERE version_id = ?`);
    // The ids as one JSON array: one statement, prepared once, for any number of them.
    this.syncJobsOf = sqlite.prepare(`SELECT * FROM sync_jobs WHERE version_id IN (SELECT value FROM json_each(?))`);
    this.metadataOf = sqlite.prepare(`SELECT ${METADATA_COLUMNS} FROM package_versions WHERE id = ?`);
    this.ownersOf = sqlite.prepare(`SELECT owner FROM domains WHERE name = ?`).pluck() as Database.Statement<[string], string>;
    this.allRepositories = sqlite.prepare(
      `SELECT r.name AS name, r.created_at AS createdAt, d.name AS domain, d.owner AS domainOwner
       FROM repositories r JOIN domains d ON d.id = r.domain_id ORDER BY d.owner, d.name, r.name`,
    );
    this.tenancy = new TenancyQueries(sqlite);
    this.readVersionTx = sqlite.transaction((key: PackageKey, version: string, assetName: string | null) => this.readVersionNow(key, version, assetName));
    this.packageRecords = new PackageRecords({ sqlite, group, now: () => this.now(), insertAudit: (r) => this.insertAudit(r), releaseBlobs: (keys, now) => this.releaseBlobs(keys, now) });
  }

  private now(): string {
    return this.clock.now().toISOString();
  }

  private write<T>(fn: (tx: Db) => T): T {
    let committing = false;
    try {
      return this.transactionStart.run(() =>
        this.db.transaction(
          (tx) => {
            const result = fn(tx as unknown as Db);
            committing = true;
            return result;
          },
          { behavior: 'immediate' },
        ),
      );
    } catch (err) {
      throw (committing && commitFailureAs(err)) || err;
    }
  }

  private domainId(db: Db, owner: string, name: string): number | undefined {
    return db
      .select({ id: schema.domains.id })
      .from(schema.domains)
      .where(and(eq(schema.domains.owner, owner), eq(schema.domains.name, name)))
      .get()?.id;
  }

  private repositoryId(db: Db, owner: string, domain: string, name: string): number | undefined {
    return db
      .select({ id: schema.repositories.id })
      .from(schema.repositories)
      .innerJoin(schema.domains, eq(schema.repositories.domainId, schema.domains.id))
      .where(and(eq(schema.domains.owner, owner), eq(schema.domains.name, domain), eq(schema.repositories.name, name)))
      .get()?.id;
  }

  async createDomain(name: string, owner: string): Promise<DomainRecord> {
    return this.write((tx) => {
      if (this.domainId(tx, owner, name) !== undefined) throw new ConflictError(`domain ${name} already exists for owner ${owner}`, 'domain', name);
      const createdAt = this.now();
      tx.insert(schema.domains).values({ owner, name, createdAt }).run();
      return { name, owner, createdAt };
    });
  }

  async createRepository(domainOwner: string, domain: string, name: string): Promise<RepositoryRecord> {
    return this.write((tx) => {
      const domainId = this.domainId(tx, domainOwner, domain);
      if (domainId === undefined) throw new NotFoundError(`domain ${domain} (owner ${domainOwner}) does not exist`, 'domain', domain);
      if (this.repositoryId(tx, domainOwner, domain, name) !== undefined) {
        throw new ConflictError(`repository ${name} already exists in domain ${domain}`, 'repository', name);
      }
      const createdAt = this.now();
      tx.insert(schema.repositories).values({ domainId, name, createdAt }).run();
      return { domain, domainOwner, name, createdAt };
    });
  }

  async listDomains(): Promise<DomainRecord[]> {
    return this.db
      .select({ name: schema.domains.name, owner: schema.domains.owner, createdAt: schema.domains.createdAt })
      .from(schema.domains)
      .orderBy(schema.domains.owner, schema.domains.name)
      .all();
  }

  async listRepositories(domainOwner: string, domain: string): Promise<RepositoryRecord[]> {
    return this.db
      .select({ name: schema.repositories.name, createdAt: schema.repositories.createdAt })
      .from(schema.repositories)
      .innerJoin(schema.domains, eq(schema.repositories.domainId, schema.domains.id))
      .where(and(eq(schema.domains.owner, domainOwner), eq(schema.domains.name, domain)))
      .orderBy(schema.repositories.name)
      .all()
      .map((r) => ({ ...r, domain, domainOwner }));
  }

  async domainOwners(domain: string): Promise<string[]> {
    return this.ownersOf.all(domain);
  }

  async readPackage(key: PackageKey, versions: readonly string[]): Promise<PackageSnapshot> {
    const rows =
      versions.length <= 1
        ? this.packageSnapshotOf1.all(key.repository, key.format, key.namespace, key.name, versions[0] ?? null, key.domainOwner, key.domain)
        : this.packageSnapshot.all(key.repository, key.format, key.namespace, key.name, JSON.stringify(versions), key.domainOwner, key.domain);
    const first = rows[0];
    if (first === undefined) return { domainExists: false, repositoryExists: false, packageId: null, versions: new Map() };
    const found = new Map<string, VersionState>();
    for (const r of rows) {
      if (r.version !== null) found.set(r.version, { version: r.version, status: r.status as VersionStatus, revision: r.revision! });
    }
    return { domainExists: true, repositoryExists: first.repositoryId !== null, packageId: first.packageId, versions: found };
  }

  private packageId(db: Db, repositoryId: number, key: PackageKey): number | undefined {
    return db
      .select({ id: schema.packages.id })
      .from(schema.packages)
      .where(
        and(
          eq(schema.packages.repositoryId, repositoryId),
          eq(schema.packages.format, key.format),
          eq(schema.packages.namespace, key.namespace),
          eq(schema.packages.name, key.name),
        ),
      )
      .get()?.id;
  }

  async addVersion(v: NewVersion): Promise<void> {
    this.write((tx) => {
      const now = this.now();
      const packageId = this.ensurePackage(tx, v.key, now);
      const existing = tx
        .select({ id: schema.packageVersions.id })
        .from(schema.packageVersions)
        .where(and(eq(schema.packageVersions.packageId, packageId), eq(schema.packageVersions.version, v.version)))
        .get();
      if (existing) throw new ConflictError(`version ${v.version} already exists`, 'package-version', v.version);
      const versionId = tx
        .insert(schema.packageVersions)
        .values({ packageId, version: v.version, identifier: newIdentifier(), status: v.status, revision: v.revision, publishedAt: now, statusUpdatedAt: now })
        .returning({ id: schema.packageVersions.id })
        .get().id;
      for (const a of v.assets) tx.insert(schema.assets).values({ versionId, ...a }).run();
      this.awaitSync(versionId, now);
    });
  }

  /**
   * Puts the version's sync job (created if none) back to awaiting, due now, with no attempts, in the
   * caller's write transaction. The generation moves on, so a worker still running an older claim
   * writes nothing when it finishes.
   */
  private awaitSync(versionId: number, now: string): void {
    this.scheduleJob.run(versionId, now, now, now);
  }

  /** The package's id, creating the package in its repository if needed (inside a write transaction). */
  private ensurePackage(tx: Db, key: PackageKey, now: string): number {
    const repositoryId = this.repositoryId(tx, key.domainOwner, key.domain, key.repository);
    if (repositoryId === undefined) throw new NotFoundError(`repository ${key.repository} does not exist in domain ${key.domain}`, 'repository', key.repository);
    const existing = this.packageId(tx, repositoryId, key);
    if (existing !== undefined) return existing;
    return tx
      .insert(schema.packages)
      .values({ repositoryId, format: key.format, namespace: key.namespace, name: key.name, createdAt: now })
      .returning({ id: schema.packages.id })
      .get().id;
  }

  /**
   * Queues for deletion the bytes of removed asset records that no other asset record still uses
   * (a copied version shares its source's blob keys), inside the caller's write transaction.
   * Returns the keys queued.
   */
  private releaseBlobs(blobKeys: readonly string[], now: string): string[] {
    const released: string[] = [];
    for (const blobKey of new Set(blobKeys)) {
      if (this.blobInUse.get(blobKey) !== undefined) continue;
      this.queueBlobDeletion.run(blobKey, now);
      released.push(blobKey);
    }
    return released;
  }

  /**
   * Joins the next group commit (see group-commit.ts): the guards are checked and the changes made in
   * a savepoint of the batch's transaction, and the result is told only once that transaction is
   * durable. A stale guard rolls back this commit's savepoint alone. A commit whose request ran out of
   * time while it waited writes only `expired.audit` (when given) and changes nothing.
   */
  async commitVersionChanges(c: VersionCommit): Promise<VersionCommitResult> {
    const expired = c.expired;
    try {
      return await this.group.submit(
        () => this.applyVersionChanges(c),
        expired && {
          cancelled: () => expired.check(),
          instead: (): VersionCommitResult => {
            return { ok: false, reason: 'expired', ...(expired.audit ? { auditSeq: this.insertAudit(expired.audit()) } : {}) };
          },
        },
      );
    } catch (err) {
      if (err instanceof StaleRead) return { ok: false, reason: 'stale', staleVersions: err.versions };
      throw err;
    }
  }

  /** Joins the next group commit like commitVersionChanges; the writes are in copy-versions.ts. */
  async commitVersionCopies(c: CopyCommit): Promise<VersionCommitResult> {
    const expired = c.expired;
    try {
      return await this.group.submit(
        () => {
          const now = this.now();
          const { blobsToDelete } = applyVersionCopies(this.sqlite, c, {
            now,
            ensurePackage: (key) => this.ensurePackage(this.db, key, now),
            awaitSync: (versionId) => this.awaitSync(versionId, now),
            releaseBlobs: (keys) => this.releaseBlobs(keys, now),
          });
          return { ok: true, auditSeq: this.insertAudit(c.audit), blobsToDelete };
        },
        expired && {
          cancelled: () => expired.check(),
          instead: (): VersionCommitResult => ({ ok: false, reason: 'expired', ...(expired.audit ? { auditSeq: this.insertAudit(expired.audit()) } : {}) }),
        },
      );
    } catch (err) {
      if (err instanceof StaleRead) return { ok: false, reason: 'stale', staleVersions: err.versions };
      throw err;
    }
  }

  /** Runs inside a savepoint of a group commit (never awaits). */
  private applyVersionChanges(c: VersionCommit): VersionCommitResult {
    const now = this.now();
    const blobsToDelete: string[] = [];
    if (c.packageId === null && !c.publish) throw new Error('commitVersionChanges: a package id is required unless a publish creates the package');
    const packageId = c.packageId ?? this.ensurePackage(this.db, c.publish!.key, now);
    if (c.publish) {
      // The package was read before this transaction: deleted since (its repository with it), a
      // version under it would fail its foreign key; blocked since, a new version may not be published.
      const origin = this.originPublishOf.get(packageId);
      if (origin === undefined || (c.publish.originGuarded && origin === 'BLOCK')) throw new StaleRead([c.publish.version]);
    }
    const current = new Map<string, string>();
    // One guard is the common case, and json_each costs more than the lookup itself.
    const rows = c.guards.length === 1 ? this.versionStateOf1.all(packageId, c.guards[0]!.version) : this.versionStates.all(packageId, JSON.stringify(c.guards.map((g) => g.version)));
    for (const r of rows) current.set(r.version, r.revision);
    // A null guard is a version that did not exist when the decision was made: it still must not.
    const stale = c.guards.filter((g) => (current.get(g.version) ?? null) !== g.revision).map((g) => g.version);
    if (stale.length > 0) throw new StaleRead(stale);
    if (c.publish) this.writePublish(this.db, packageId, c.publish, c.guards, now);
    for (const change of c.changes) {
      const versionId = this.updateStatus.get(change.after.status, change.after.revision, now, packageId, change.version, change.before.revision);
      if (versionId === undefined) throw new StaleRead([change.version]);
      if (c.disposeAssets) blobsToDelete.push(...this.releaseBlobs(this.removeAssets.all(versionId), now));
      if (c.startSyncs?.includes(change.version)) this.awaitSync(versionId, now);
    }
    // StaleRead thrown above rolls this commit's savepoint back: a stale read never half-applies.
    const auditSeq = this.insertAudit(c.audit);
    return { ok: true, auditSeq, blobsToDelete };
  }

  /**
   * The version row of a publish (inserted, or updated under its guard) and its new asset. The asset's
   * blob key was reserved before the upload; claiming it here is what keeps the next start from
   * removing the bytes. A reservation that is gone means the bytes may be gone too: nothing is written.
   */
  private writePublish(tx: Db, packageId: number, p: PublishWrite, guards: VersionCommit['guards'], now: string): void {
    const guard = guards.find((g) => g.version === p.version);
    if (!guard) throw new Error(`commitVersionChanges: the published version ${p.version} has no guard`);
    let versionId: number;
    if (guard.revision === null) {
      versionId = tx
        .insert(schema.packageVersions)
        .values({ packageId, version: p.version, identifier: newIdentifier(), status: p.status, revision: p.revision, publishedAt: now, statusUpdatedAt: now })
        .returning({ id: schema.packageVersions.id })
        .get().id;
    } else {
      const updated = tx
        .update(schema.packageVersions)
        // Revived from Deleted: a new version as far as anyone can tell, so a new identifier too (as
        // Cloudsmith gives a re-upload). The old one names the deleted version, and resolves no more.
        .set({ status: p.status, revision: p.revision, statusUpdatedAt: now, ...(p.fresh ? { publishedAt: now, identifier: newIdentifier() } : {}) })
        .where(and(eq(schema.packageVersions.packageId, packageId), eq(schema.packageVersions.version, p.version), eq(schema.packageVersions.revision, guard.revision)))
        .returning({ id: schema.packageVersions.id })
        .get();
      if (!updated) throw new StaleRead([p.version]);
      versionId = updated.id;
    }
    if (p.asset) {
      tx.insert(schema.assets).values({ versionId, ...p.asset }).run();
      const claimed = tx.delete(schema.blobDeletions).where(eq(schema.blobDeletions.blobKey, p.asset.blobKey)).run();
      if (claimed.changes !== 1) throw reservationGone(p.asset.blobKey);
    }
    // Every publish goes through synchronisation: the version is downloadable again once it completes.
    this.awaitSync(versionId, now);
  }

  async readVersion(key: PackageKey, version: string, assetName?: string): Promise<VersionSnapshot> {
    return this.readVersionTx(key, version, assetName ?? null);
  }

  private readVersionNow(key: PackageKey, version: string, assetName: string | null): VersionSnapshot {
    const packageId = this.packageIdOf.get(key.domainOwner, key.domain, key.repository, key.format, key.namespace, key.name);
    if (packageId === undefined) {
      // The cold path (a 404, or a first publish): say which part is missing.
      const repositoryExists = this.repositoryIdOf.get(key.domainOwner, key.domain, key.repository) !== undefined;
      const domainExists = repositoryExists || this.domainIdOf.get(key.domainOwner, key.domain) !== undefined;
      return { domainExists, repositoryExists, packageId: null, version: null, asset: null };
    }
    const row = this.versionRow.get(packageId, version);
    const detail = row ? toVersionRecord(row) : null;
    const asset = row && assetName !== null ? (this.assetRow.get(row.id, assetName) ?? null) : null;
    return {
      domainExists: true,
      repositoryExists: true,
      packageId,
      version: detail && row ? { ...detail, assetCount: row.asset_count, syncState: (row.sync_state as SyncState | null) ?? null, syncReason: row.sync_reason ?? null } : null,
      asset: asset ? toAsset(asset) : null,
    };
  }

  async scheduleSync(versionIds: readonly number[], audit: AuditRecordInput): Promise<boolean> {
    return this.group.submit(() => {
      const now = this.now();
      for (const versionId of versionIds) {
        // Read before this transaction: the version may have been disposed, deleted or removed since
        // (a sync of it would have nothing to check, and a removed one fails its foreign key).
        const status = this.versionStatusOf.get(versionId);
        if (status === undefined || status === 'Disposed' || status === 'Deleted') return false;
        const job = this.syncJobOf.get(versionId);
        if (job && (job.state === 'awaiting' || job.state === 'in_progress')) return false;
      }
      for (const versionId of versionIds) this.awaitSync(versionId, now);
      this.insertAudit(audit);
      return true;
    });
  }

  async readSyncJob(versionId: number): Promise<SyncJob | null> {
    const row = this.syncJobOf.get(versionId);
    return row ? toSyncJob(row) : null;
  }

  async readSyncJobs(versionIds: readonly number[]): Promise<Map<number, SyncJob>> {
    const jobs = new Map<number, SyncJob>();
    if (versionIds.length === 0) return jobs;
    for (const row of this.syncJobsOf.all(JSON.stringify(versionIds))) jobs.set(row.version_id, toSyncJob(row));
    return jobs;
  }

  async claimSyncJob(): Promise<ClaimedSyncJob | null> {
    return this.write(() => {
      const now = this.now();
      const row = this.sqlite
        // An Unfinished version's sync waits for its last asset: syncing between uploads would only be
        // superseded, and its new revision would make the next upload's commit conflict.
        .prepare(
          `SELECT j.* FROM sync_jobs j JOIN package_versions v ON v.id = j.version_id
           WHERE j.state = 'awaiting' AND j.next_attempt_at <= ? AND v.status <> 'Unfinished' ORDER BY j.next_attempt_at, j.id LIMIT 1`,
        )
        .get(now) as SyncJobRow | undefined;
      if (!row) return null;
      this.sqlite
        .prepare(`UPDATE sync_jobs SET state = 'in_progress', attempts = attempts + 1, progress = 0, started_at = ?, updated_at = ?, generation = generation + 1 WHERE id = ?`)
        .run(now, now, row.id);
      const where = this.sqlite
        .prepare(
          `SELECT d.owner, d.name AS domain, r.name AS repository, p.format, p.namespace, p.name, v.version
           FROM package_versions v JOIN packages p ON p.id = v.package_id JOIN repositories r ON r.id = p.repository_id JOIN domains d ON d.id = r.domain_id
           WHERE v.id = ?`,
        )
        .get(row.version_id) as IdentifierRow;
      const assets = (this.sqlite.prepare(`SELECT ${ASSET_COLUMNS} FROM assets WHERE version_id = ? ORDER BY name`).all(row.version_id) as AssetRow[]).map(toAsset);
      return {
        ...toSyncJob({ ...row, state: 'in_progress', attempts: row.attempts + 1, progress: 0, started_at: now, updated_at: now }),
        generation: row.generation + 1,
        key: keyOf(where),
        version: where.version,
        assets,
      };
    });
  }

  async setSyncProgress(claim: SyncClaim, progress: number): Promise<void> {
    this.write(() =>
      this.sqlite
        .prepare(`UPDATE sync_jobs SET progress = ?, updated_at = ? WHERE id = ? AND generation = ? AND state = 'in_progress'`)
        .run(progress, this.now(), claim.id, claim.generation),
    );
  }

  async completeSync(claim: SyncClaim, m: VersionMetadata, revision: string, audit: AuditRecordInput): Promise<'completed' | 'superseded'> {
    return this.write(() => {
      const now = this.now();
      const jobId = claim.id;
      const job = this.sqlite
        .prepare(
          `SELECT j.version_id, v.version, v.status, v.revision FROM sync_jobs j JOIN package_versions v ON v.id = j.version_id
           WHERE j.id = ? AND j.generation = ? AND j.state = 'in_progress'`,
        )
        .get(jobId, claim.generation) as { version_id: number; version: string; status: VersionStatus; revision: string } | undefined;
      if (!job) return 'superseded';
      // Re-checked here, in the transaction that would change the version: a version disposed or
      // deleted after its sync was scheduled keeps its state, and the job says why it stopped.
      if (job.status === 'Disposed' || job.status === 'Deleted') {
        this.sqlite
          .prepare(`UPDATE sync_jobs SET state = 'failed', status_reason = ?, finished_at = ?, updated_at = ? WHERE id = ?`)
          .run(`The version was ${job.status.toLowerCase()} while its sync ran; nothing was changed.`, now, now, jobId);
        return 'superseded';
      }
      this.sqlite
        .prepare(`UPDATE sync_jobs SET state = 'completed', progress = 100, status_reason = NULL, finished_at = ?, updated_at = ? WHERE id = ?`)
        .run(now, now, jobId);
      this.sqlite
        .prepare(`UPDATE package_versions SET summary = ?, home_page = ?, source_code_repository = ?, licenses = ?, readme = ?, dependencies = ?, revision = ? WHERE id = ?`)
        .run(
          m.summary,
          m.homePage,
          m.sourceCodeRepository,
          m.licenses === null ? null : JSON.stringify(m.licenses),
          m.readme ?? null,
          m.dependencies ? JSON.stringify(m.dependencies) : null,
          revision,
          job.version_id,
        );
      // The new revision is a state change: it is audited with it, like every other.
      this.insertAudit({
        ...audit,
        changes: [{ version: job.version, before: { status: job.status, revision: job.revision }, after: { status: job.status, revision } }],
      });
      return 'completed';
    });
  }

  async failSyncAttempt(claim: SyncClaim, reason: string, retryAt: string | null): Promise<void> {
    this.write(() => {
      const now = this.now();
      if (retryAt === null) {
        this.sqlite
          .prepare(`UPDATE sync_jobs SET state = 'failed', status_reason = ?, finished_at = ?, updated_at = ? WHERE id = ? AND generation = ? AND state = 'in_progress'`)
          .run(reason, now, now, claim.id, claim.generation);
      } else {
        this.sqlite
          .prepare(`UPDATE sync_jobs SET state = 'awaiting', status_reason = ?, next_attempt_at = ?, updated_at = ? WHERE id = ? AND generation = ? AND state = 'in_progress'`)
          .run(reason, retryAt, now, claim.id, claim.generation);
      }
    });
  }

  async recoverSyncJobs(): Promise<number> {
    return this.write(() => {
      const now = this.now();
      return this.sqlite
        .prepare(
          `UPDATE sync_jobs SET state = 'awaiting', next_attempt_at = ?, updated_at = ?, generation = generation + 1,
             status_reason = 'The sync was interrupted by a restart; it will run again.' WHERE state = 'in_progress'`,
        )
        .run(now, now).changes;
    });
  }

  async countSyncJobs(): Promise<SyncJobCounts> {
    const counts: SyncJobCounts = { awaiting: 0, in_progress: 0, completed: 0, failed: 0, waiting_for_assets: 0 };
    // Counted from the (state, next_attempt_at) index alone; only the awaiting jobs, few, are joined
    // to their versions to set the Unfinished ones apart. A scrape runs this on the event loop.
    for (const r of this.syncJobsByState.all()) counts[r.state] = r.n;
    const unfinished = this.awaitingUnfinished.get() ?? 0;
    counts.awaiting -= unfinished;
    counts.waiting_for_assets = unfinished;
    return counts;
  }

  async readVersionMetadata(versionId: number): Promise<VersionMetadata> {
    return toVersionMetadata(this.metadataOf.get(versionId));
  }

  async readPackageRecord(key: PackageKey): Promise<PackageRecordSnapshot> {
    return this.packageRecords.read(key);
  }

  async listPackages(query: PackageListQuery): Promise<PackageListItem[]> {
    return this.packageRecords.list(query);
  }

  async putPackageOrigin(commit: OriginCommit): Promise<'ok' | 'expired'> {
    return this.packageRecords.putOrigin(commit);
  }

  async deletePackage(commit: PackageDeleteCommit): Promise<PackageDeleteResult> {
    return this.packageRecords.delete(commit);
  }

  async readVersionStates(afterId: number, limit: number): Promise<StoredVersionState[]> {
    return this.versionStatePage.all(afterId, limit).map((r) => ({ id: r.id, key: keyOf(r), version: r.version, status: r.status, revision: r.revision }));
  }

  async resolveIdentifier(identifier: string): Promise<IdentifiedVersion | null> {
    const r = this.byIdentifier.get(identifier);
    if (!r) return null;
    return {
      key: keyOf(r),
      version: r.version,
    };
  }

  async listVersions(q: VersionListQuery): Promise<VersionPage> {
    // Both statements run in this one synchronous call, so no commit comes between them: behind the
    // writer thread they share the turn's read transaction (turn-snapshot.ts), and with the writes on
    // this connection none can run meanwhile.
    return { versions: this.versionPage(q), latestPublished: this.latestPublished.get(q.packageId) ?? null };
  }

  private versionPage(q: VersionListQuery): VersionRecord[] {
    if (q.statuses.length === 0) return [];
    const statuses = statusSlots(q.statuses);
    if (q.order === 'version') {
      // Every version is at least one character long, so '' starts before the first.
      const after = q.after?.order === 'version' ? q.after.version : '';
      return this.versionsByName.all(q.packageId, ...statuses, after, q.limit).map(toVersionRecord);
    }
    // Newest first: the first page starts above every ISO time.
    const after = q.after?.order === 'published' ? q.after : { publishedAt: '\uffff', id: Number.MAX_SAFE_INTEGER };
    return this.versionsByPublished.all(q.packageId, ...statuses, after.publishedAt, after.publishedAt, after.id, q.limit).map(toVersionRecord);
  }

  async listAssets(versionId: number, afterName: string | undefined, limit: number): Promise<AssetInput[]> {
    return this.assetsByName.all(versionId, afterName ?? '', limit).map(toAsset);
  }

  async reserveBlob(blobKey: string): Promise<void> {
    this.write((tx) => tx.insert(schema.blobDeletions).values({ blobKey, queuedAt: this.now() }).run());
  }

  async ensureSecret(name: string, candidate: Uint8Array): Promise<Uint8Array> {
    return this.write((tx) => {
      tx.insert(schema.secrets).values({ name, value: Buffer.from(candidate), createdAt: this.now() }).onConflictDoNothing().run();
      return new Uint8Array(tx.select({ value: schema.secrets.value }).from(schema.secrets).where(eq(schema.secrets.name, name)).get()!.value);
    });
  }

  /** Joins the next group commit: resolves with the record's seq once it is durable. */
  async appendAudit(record: AuditRecordInput): Promise<number> {
    return this.group.submit(() => this.insertAudit(record));
  }

  async appendAuditBatch(records: readonly AuditRecordInput[]): Promise<void> {
    this.write(() => {
      let head = this.chainHead();
      for (const r of records) head = this.linkAudit(r, head);
    });
  }

  private chainHead(): ChainHead {
    return this.auditHeadRow.get() ?? EMPTY_CHAIN_HEAD;
  }

  /**
   * Links the record to the chain's current head. Runs inside a BEGIN IMMEDIATE transaction, so no
   * other writer can append between reading the head and inserting: the chain never forks.
   */
  private insertAudit(r: AuditRecordInput): number {
    // The raw statements run on the same connection, inside the caller's transaction.
    return this.linkAudit(r, this.chainHead()).seq;
  }

  /** The chain's rules are src/audit/chain-link.ts's; here the linked row is inserted. */
  private linkAudit(input: AuditRecordInput, head: ChainHead): ChainHead {
    const linked = linkRecord(head, input);
    this.insertAuditRow.run(linked.columns as unknown as Record<string, unknown>);
    for (const version of linked.versions) this.insertAuditVersion.run(linked.columns.seq, version);
    return linked.head;
  }

  /**
   * A time window as a seq range: times never decrease along the chain, so the first record at or
   * after a time is found with one seek on the time index, and the page query stays on the seq order.
   */
  private seqWindow(since: string | undefined, until: string | undefined): SQL[] {
    const firstAtOrAfter = (time: string) =>
      this.db.select({ seq: schema.auditLog.seq }).from(schema.auditLog).where(gte(schema.auditLog.time, time)).orderBy(asc(schema.auditLog.time), asc(schema.auditLog.seq)).limit(1).get()?.seq;
    const c: SQL[] = [];
    if (since !== undefined) c.push(gte(schema.auditLog.seq, firstAtOrAfter(since) ?? Number.MAX_SAFE_INTEGER));
    if (until !== undefined) {
      const end = firstAtOrAfter(until);
      if (end !== undefined) c.push(lt(schema.auditLog.seq, end));
    }
    return c;
  }

  async listAudit(q: AuditQuery): Promise<AuditRecord[]> {
    const { since, until, ...filter } = q.filter ?? {};
    const conditions = [...auditConditions(filter), ...this.seqWindow(since, until)];
    if (q.beforeSeq !== undefined) conditions.push(lt(schema.auditLog.seq, q.beforeSeq));
    return this.db
      .select()
      .from(schema.auditLog)
      .where(and(...conditions))
      .orderBy(desc(schema.auditLog.seq))
      .limit(q.limit)
      .all()
      .map(toAuditRecord);
  }

  async readAuditRange(afterSeq: number, limit: number, window: { since?: string | undefined; until?: string | undefined } = {}): Promise<StoredAuditRecord[]> {
    let from = afterSeq;
    let to = Number.MAX_SAFE_INTEGER;
    if (window.since !== undefined || window.until !== undefined) {
      // The window as a seq range (times never decrease along the chain).
      const first = (time: string) => this.sqlite.prepare(`SELECT seq FROM audit_log WHERE time >= ? ORDER BY time, seq LIMIT 1`).pluck().get(time) as number | undefined;
      if (window.since !== undefined) from = Math.max(from, (first(window.since) ?? Number.MAX_SAFE_INTEGER) - 1);
      if (window.until !== undefined) to = first(window.until) ?? to;
    }
    const rows = this.auditRange.all(from, to, limit);
    if (rows.length === 0) return [];
    const versions = this.versionsOf(rows[0]!.seq, rows[rows.length - 1]!.seq);
    return rows.map((row) => ({
      ...fromRawAuditRow(row),
      derived: { repositoryArn: row.repository_arn, domainArn: row.domain_arn, packageName: row.package_name, versions: versions.get(row.seq) ?? [] },
    }));
  }

  async readAuditChain(afterSeq: number, limit: number): Promise<AuditChainEntry[]> {
    const rows = this.auditChainRows.all(afterSeq, limit) as ChainRow[];
    if (rows.length === 0) return [];
    const versions = this.versionsOf(rows[0]![0], rows[rows.length - 1]![0]);
    return rows.map(([seq, prevHash, hash, decisionId, time, requestId, sourceIp, principalIssuer, principalSubject, principalGroups, action, resource, decision, reason, determiningPolicies, errors, policySetHash, request, changes, outcome, httpStatus, repositoryArn, domainArn, packageName]) => ({
      seq,
      prevHash,
      hash,
      time,
      encoded: encodedFromColumns({
        seq, prevHash, decisionId, time, requestId, sourceIp, principalIssuer, principalSubject, principalGroups, action, resource, decision, reason,
        determiningPolicies, errors, policySetHash, request, changes, outcome, httpStatus,
      }),
      derived: { repositoryArn, domainArn, packageName, versions: versions.get(seq) ?? [] },
    }));
  }

  private versionsOf(firstSeq: number, lastSeq: number): Map<number, string[]> {
    return versionsBySeq(this.auditRangeVersions.all(firstSeq, lastSeq));
  }

  async auditHead(): Promise<AuditHead | null> {
    const head = this.auditHeadRow.get();
    return head ? { seq: head.seq, hash: head.hash } : null;
  }

  async auditedArns(): Promise<AuditedArns> {
    return { repositoryArns: this.distinctAuditArns('repository_arn'), domainArns: this.distinctAuditArns('domain_arn') };
  }

  /** Each distinct value of an indexed ARN column, one index seek per value (a skip scan), not a walk of the log. */
  private distinctAuditArns(column: 'repository_arn' | 'domain_arn'): string[] {
    const next = `SELECT ${column} FROM audit_log WHERE ${column} > r.arn ORDER BY ${column} LIMIT 1`;
    return this.sqlite
      .prepare(`WITH RECURSIVE r(arn) AS (SELECT min(${column}) FROM audit_log UNION ALL SELECT (${next}) FROM r WHERE r.arn IS NOT NULL) SELECT arn FROM r WHERE arn IS NOT NULL`)
      .pluck()
      .all() as string[];
  }

  async strayAuditVersion(lastSeq: number): Promise<{ seq: number; version: string } | undefined> {
    return this.sqlite
      .prepare(`SELECT seq, version FROM audit_versions v WHERE v.seq < 1 OR (v.seq > ? AND NOT EXISTS (SELECT 1 FROM audit_log l WHERE l.seq = v.seq)) ORDER BY seq LIMIT 1`)
      .get(lastSeq) as { seq: number; version: string } | undefined;
  }

  async listAllRepositories(): Promise<RepositoryRecord[]> {
    return this.allRepositories.all();
  }

  async pendingBlobDeletions(queuedBefore?: string): Promise<string[]> {
    const unused = sql`NOT EXISTS (SELECT 1 FROM assets a WHERE a.blob_key = ${schema.blobDeletions.blobKey})`;
    return this.db
      .select({ blobKey: schema.blobDeletions.blobKey })
      .from(schema.blobDeletions)
      .where(queuedBefore === undefined ? unused : and(unused, lt(schema.blobDeletions.queuedAt, queuedBefore)))
      .all()
      .map((r) => r.blobKey);
  }

  async forgetBlobDeletions(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    // A slice at a time: SQLite takes at most 32,766 variables a statement, and a package's deletion can free more keys.
    this.write((tx) => {
      for (let i = 0; i < keys.length; i += FORGET_AT_ONCE) tx.delete(schema.blobDeletions).where(inArray(schema.blobDeletions.blobKey, keys.slice(i, i + FORGET_AT_ONCE))).run();
    });
  }

  // --- Tenancy through the API (tenancy-store.ts). ---

  async describeDomain(owner: string, domain: string): Promise<DomainDetail | null> {
    return this.tenancy.describeDomain(owner, domain);
  }

  async listDomainPage(after: { owner: string; name: string } | undefined, limit: number): Promise<DomainRecord[]> {
    return this.tenancy.listDomainPage(after, limit);
  }

  async describeRepository(owner: string, domain: string, repository: string): Promise<RepositoryDetail | null> {
    return this.tenancy.describeRepository(owner, domain, repository);
  }

  async listRepositoryPage(query: RepositoryListQuery): Promise<RepositoryDetail[]> {
    return this.tenancy.listRepositoryPage(query);
  }

  /** Joins the next group commit: the change and its audit record in one savepoint, or neither. */
  async applyTenancyChange(change: TenancyChange, audit: AuditRecordInput): Promise<TenancyResult> {
    try {
      return await this.group.submit((): TenancyResult => {
        const after = this.tenancy.apply(change, this.now());
        return { ok: true, ...after, auditSeq: this.insertAudit(audit) };
      });
    } catch (err) {
      if (err instanceof TenancyRefused) return { ok: false, ...err.refusal };
      throw err;
    }
  }

  async ping(): Promise<void> {
    this.transactionStart.checkFile();
    this.sqlite.prepare('SELECT 1').get();
  }

  async close(): Promise<void> {
    // Writes already submitted commit before the connection closes: they may have been acknowledged
    // to nobody yet, but they were decided, and each carries its audit record.
    if (this.sqlite.open) {
      this.group.close();
      this.sqlite.close();
    }
  }
}

type AuditRow = typeof schema.auditLog.$inferSelect;

const CHAIN_COLUMNS = [
  'seq', 'prev_hash', 'hash', 'decision_id', 'time', 'request_id', 'source_ip', 'principal_issuer', 'principal_subject',
  'principal_groups', 'action', 'resource', 'decision', 'reason', 'determining_policies', 'errors', 'policy_set_hash',
  'request', 'changes', 'outcome', 'http_status', 'repository_arn', 'domain_arn', 'package_name',
] as const;
type N = string | null;
type ChainRow = [number, string, string, string, string, string, N, N, N, N, string, N, string, N, string, string, N, string, string, string, number, N, N, N];

/** A row as better-sqlite3 returns it: column names, JSON still as text. */
interface RawAuditRow {
  seq: number;
  prev_hash: string;
  hash: string;
  decision_id: string;
  time: string;
  request_id: string;
  source_ip: string | null;
  principal_issuer: string | null;
  principal_subject: string | null;
  principal_groups: string | null;
  action: string;
  resource: string | null;
  decision: string;
  reason: string | null;
  determining_policies: string;
  errors: string;
  policy_set_hash: string | null;
  request: string;
  changes: string;
  outcome: string;
  http_status: number;
  repository_arn: string | null;
  domain_arn: string | null;
  package_name: string | null;
}

function fromRawAuditRow(r: RawAuditRow): AuditRecord {
  return toAuditRecord({
    seq: r.seq,
    prevHash: r.prev_hash,
    hash: r.hash,
    decisionId: r.decision_id,
    time: r.time,
    requestId: r.request_id,
    sourceIp: r.source_ip,
    principalIssuer: r.principal_issuer,
    principalSubject: r.principal_subject,
    principalGroups: r.principal_groups,
    action: r.action,
    resource: r.resource,
    decision: r.decision,
    reason: r.reason,
    determiningPolicies: r.determining_policies,
    errors: r.errors,
    policySetHash: r.policy_set_hash,
    request: r.request,
    changes: r.changes,
    outcome: r.outcome,
    httpStatus: r.http_status,
    repositoryArn: r.repository_arn,
    domainArn: r.domain_arn,
    packageName: r.package_name,
  });
}

function toAuditRecord(r: AuditRow): AuditRecord {
  return recordFromColumns(r);
}

function auditConditions(f: AuditFilter): SQL[] {
  const t = schema.auditLog;
  const c: SQL[] = [];
  if (f.principal !== undefined) c.push(eq(t.principalSubject, f.principal));
  if (f.action !== undefined) c.push(eq(t.action, f.action));
  if (f.decision !== undefined) c.push(eq(t.decision, f.decision));
  if (f.resource !== undefined) c.push(eq(t.resource, f.resource));
  if (f.resourcePrefix !== undefined) {
    // A range on the indexed column rather than LIKE, which SQLite cannot serve from an index here
    // (and which would treat _ and % in ARNs as wildcards). ARNs are ASCII, so U+FFFF bounds them.
    c.push(gte(t.resource, f.resourcePrefix), lt(t.resource, `${f.resourcePrefix}\uffff`));
  }
  if (f.repositoryArn !== undefined) c.push(eq(t.repositoryArn, f.repositoryArn));
  if (f.domainArn !== undefined) c.push(eq(t.domainArn, f.domainArn));
  if (f.packageName !== undefined) c.push(eq(t.packageName, f.packageName));
  if (f.version !== undefined) c.push(sql`${t.seq} IN (SELECT ${schema.auditVersions.seq} FROM ${schema.auditVersions} WHERE ${schema.auditVersions.version} = ${f.version})`);
  // One JSON parameter, not one per repository: SQLite takes at most 32,766 variables a statement.
  if (f.repositoryScope !== undefined) c.push(scopeCondition(f.repositoryScope, f.domainScope ?? []));
  return c;
}

/**
 * A scoped reader's records: those of its repositories, and those of its domains that name no
 * repository. One JSON parameter per list, not one per ARN: SQLite takes at most 32,766 variables a
 * statement.
 */
function scopeCondition(repositories: readonly string[], domains: readonly string[]): SQL {
  const t = schema.auditLog;
  const ofRepositories = sql`${t.repositoryArn} IN (SELECT value FROM json_each(${JSON.stringify(repositories)}))`;
  if (domains.length === 0) return repositories.length === 0 ? sql`0` : ofRepositories;
  const ofDomains = sql`(${t.repositoryArn} IS NULL AND ${t.domainArn} IN (SELECT value FROM json_each(${JSON.stringify(domains)})))`;
  return sql`(${ofRepositories} OR ${ofDomains})`;
}
