/**
 * The embedded store: one SQLite file through drizzle + better-sqlite3.
 * Durability: WAL with synchronous=FULL (better-sqlite3 opens WAL at NORMAL, which can lose the last
 * commits on power loss), foreign keys on, a busy timeout, and BEGIN IMMEDIATE for every write so a
 * read-then-write transaction never fails halfway on a lock upgrade.
 * better-sqlite3 transactions are synchronous: nothing inside them awaits.
 */
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { and, asc, desc, eq, gt, gte, inArray, lt, sql, type SQL } from 'drizzle-orm';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { GENESIS_HASH, recordHash } from '../../audit/audit-hash.ts';
import type { AuditHead, AuditRecord, AuditRecordInput } from '../../audit/audit-record.ts';
import { deriveFields } from '../../audit/derived-fields.ts';
import type { Clock } from '../../clock.ts';
import { ConflictError, NotFoundError } from '../../errors.ts';
import type { VersionState } from '../../registry/plan-change.ts';
import type { VersionStatus } from '../../registry/statuses.ts';
import type {
  AuditFilter,
  AuditQuery,
  StoredAuditRecord,
  DomainRecord,
  NewVersion,
  PackageKey,
  PackageSnapshot,
  RepositoryRecord,
  Store,
  VersionCommit,
  VersionCommitResult,
} from '../store.ts';
import * as schema from './schema.ts';

const MIGRATIONS = join(dirname(fileURLToPath(import.meta.url)), '../../../drizzle/sqlite');

type Db = BetterSQLite3Database<typeof schema>;

export interface SqliteStoreOptions {
  /** A file path, or ':memory:' for throwaway use. */
  file: string;
  clock: Clock;
}

export function openSqliteStore({ file, clock }: SqliteStoreOptions): Store {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const sqlite = new Database(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = FULL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  const db = drizzle(sqlite, { schema });
  migrate(db, { migrationsFolder: MIGRATIONS });
  return new SqliteStore(sqlite, db, clock);
}

class SqliteStore implements Store {
  constructor(
    private readonly sqlite: Database.Database,
    private readonly db: Db,
    private readonly clock: Clock,
  ) {}

  private now(): string {
    return this.clock.now().toISOString();
  }

  private write<T>(fn: (tx: Db) => T): T {
    return this.db.transaction((tx) => fn(tx as unknown as Db), { behavior: 'immediate' });
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
    return this.db
      .select({ owner: schema.domains.owner })
      .from(schema.domains)
      .where(eq(schema.domains.name, domain))
      .all()
      .map((r) => r.owner);
  }

  async readPackage(key: PackageKey, versions: readonly string[]): Promise<PackageSnapshot> {
    const repositoryId = this.repositoryId(this.db, key.domainOwner, key.domain, key.repository);
    if (repositoryId === undefined) {
      const domainExists = this.domainId(this.db, key.domainOwner, key.domain) !== undefined;
      return { domainExists, repositoryExists: false, packageId: null, versions: new Map() };
    }
    const packageId = this.packageId(this.db, repositoryId, key);
    const found = new Map<string, VersionState>();
    if (packageId !== undefined && versions.length > 0) {
      const rows = this.db
        .select({ version: schema.packageVersions.version, status: schema.packageVersions.status, revision: schema.packageVersions.revision })
        .from(schema.packageVersions)
        .where(and(eq(schema.packageVersions.packageId, packageId), inArray(schema.packageVersions.version, [...versions])))
        .all();
      for (const r of rows) found.set(r.version, { version: r.version, status: r.status as VersionStatus, revision: r.revision });
    }
    return { domainExists: true, repositoryExists: true, packageId: packageId ?? null, versions: found };
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
      const repositoryId = this.repositoryId(tx, v.key.domainOwner, v.key.domain, v.key.repository);
      if (repositoryId === undefined) throw new NotFoundError(`repository ${v.key.repository} does not exist in domain ${v.key.domain}`, 'repository', v.key.repository);
      const now = this.now();
      let packageId = this.packageId(tx, repositoryId, v.key);
      if (packageId === undefined) {
        packageId = tx
          .insert(schema.packages)
          .values({ repositoryId, format: v.key.format, namespace: v.key.namespace, name: v.key.name, createdAt: now })
          .returning({ id: schema.packages.id })
          .get().id;
      }
      const existing = tx
        .select({ id: schema.packageVersions.id })
        .from(schema.packageVersions)
        .where(and(eq(schema.packageVersions.packageId, packageId), eq(schema.packageVersions.version, v.version)))
        .get();
      if (existing) throw new ConflictError(`version ${v.version} already exists`, 'package-version', v.version);
      const versionId = tx
        .insert(schema.packageVersions)
        .values({ packageId, version: v.version, status: v.status, revision: v.revision, publishedAt: now, statusUpdatedAt: now })
        .returning({ id: schema.packageVersions.id })
        .get().id;
      for (const a of v.assets) tx.insert(schema.assets).values({ versionId, ...a }).run();
    });
  }

  async commitVersionChanges(c: VersionCommit): Promise<VersionCommitResult> {
    try {
      return this.applyVersionChanges(c);
    } catch (err) {
      if (err instanceof StaleRead) return { ok: false, staleVersions: err.versions };
      throw err;
    }
  }

  private applyVersionChanges(c: VersionCommit): VersionCommitResult {
    return this.write((tx): VersionCommitResult => {
      const now = this.now();
      const blobsToDelete: string[] = [];
      const current = new Map(
        tx
          .select({ version: schema.packageVersions.version, revision: schema.packageVersions.revision })
          .from(schema.packageVersions)
          .where(and(eq(schema.packageVersions.packageId, c.packageId), inArray(schema.packageVersions.version, c.guards.map((g) => g.version))))
          .all()
          .map((r) => [r.version, r.revision]),
      );
      const stale = c.guards.filter((g) => current.get(g.version) !== g.revision).map((g) => g.version);
      if (stale.length > 0) throw new StaleRead(stale);
      for (const change of c.changes) {
        const updated = tx
          .update(schema.packageVersions)
          .set({ status: change.after.status, revision: change.after.revision, statusUpdatedAt: now })
          .where(
            and(
              eq(schema.packageVersions.packageId, c.packageId),
              eq(schema.packageVersions.version, change.version),
              eq(schema.packageVersions.revision, change.before.revision),
            ),
          )
          .returning({ id: schema.packageVersions.id })
          .get();
        if (!updated) throw new StaleRead([change.version]);
        if (c.disposeAssets) {
          const gone = tx.delete(schema.assets).where(eq(schema.assets.versionId, updated.id)).returning({ blobKey: schema.assets.blobKey }).all();
          for (const { blobKey } of gone) {
            tx.insert(schema.blobDeletions).values({ blobKey, queuedAt: now }).onConflictDoNothing().run();
            blobsToDelete.push(blobKey);
          }
        }
      }
      // StaleRead thrown above rolls the whole transaction back: a stale read never half-applies.
      const auditSeq = this.insertAudit(tx, c.audit);
      return { ok: true, auditSeq, blobsToDelete };
    });
  }

  async appendAudit(record: AuditRecordInput): Promise<number> {
    return this.write((tx) => this.insertAudit(tx, record));
  }

  async appendAuditBatch(records: readonly AuditRecordInput[]): Promise<void> {
    this.write((tx) => {
      for (const r of records) this.insertAudit(tx, r);
    });
  }

  /**
   * Links the record to the chain's current head. Runs inside a BEGIN IMMEDIATE transaction, so no
   * other writer can append between reading the head and inserting: the chain never forks.
   */
  private insertAudit(tx: Db, r: AuditRecordInput): number {
    const last = tx.select({ seq: schema.auditLog.seq, hash: schema.auditLog.hash }).from(schema.auditLog).orderBy(desc(schema.auditLog.seq)).limit(1).get();
    const seq = (last?.seq ?? 0) + 1;
    const prevHash = last?.hash ?? GENESIS_HASH;
    const derived = deriveFields(r);
    tx.insert(schema.auditLog)
      .values({
        seq,
        prevHash,
        hash: recordHash(seq, prevHash, r),
        decisionId: r.decisionId,
        time: r.time,
        requestId: r.requestId,
        sourceIp: r.sourceIp,
        principalIssuer: r.principal?.issuer ?? null,
        principalSubject: r.principal?.subject ?? null,
        principalGroups: r.principal?.groups ?? null,
        action: r.action,
        resource: r.resource,
        decision: r.decision,
        reason: r.reason,
        determiningPolicies: r.determiningPolicies,
        errors: r.errors,
        policySetHash: r.policySetHash,
        request: r.request,
        changes: r.changes,
        outcome: r.outcome,
        httpStatus: r.httpStatus,
        repositoryArn: derived.repositoryArn,
        domainArn: derived.domainArn,
        packageName: derived.packageName,
      })
      .run();
    for (const version of derived.versions) tx.insert(schema.auditVersions).values({ seq, version }).run();
    return seq;
  }

  async listAudit(q: AuditQuery): Promise<AuditRecord[]> {
    const conditions = auditConditions(q.filter ?? {});
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
    const conditions = [gt(schema.auditLog.seq, afterSeq), ...auditConditions({ since: window.since, until: window.until })];
    const rows = this.db.select().from(schema.auditLog).where(and(...conditions)).orderBy(asc(schema.auditLog.seq)).limit(limit).all();
    if (rows.length === 0) return [];
    const versions = new Map<number, string[]>();
    const first = rows[0]!.seq;
    const last = rows[rows.length - 1]!.seq;
    for (const v of this.db
      .select()
      .from(schema.auditVersions)
      .where(and(gte(schema.auditVersions.seq, first), lt(schema.auditVersions.seq, last + 1)))
      .orderBy(asc(schema.auditVersions.seq), asc(schema.auditVersions.version))
      .all()) {
      const list = versions.get(v.seq) ?? [];
      list.push(v.version);
      versions.set(v.seq, list);
    }
    return rows.map((row) => ({
      ...toAuditRecord(row),
      derived: { repositoryArn: row.repositoryArn, domainArn: row.domainArn, packageName: row.packageName, versions: versions.get(row.seq) ?? [] },
    }));
  }

  async auditHead(): Promise<AuditHead | null> {
    return this.db.select({ seq: schema.auditLog.seq, hash: schema.auditLog.hash }).from(schema.auditLog).orderBy(desc(schema.auditLog.seq)).limit(1).get() ?? null;
  }

  async listAllRepositories(): Promise<RepositoryRecord[]> {
    return this.db
      .select({ name: schema.repositories.name, createdAt: schema.repositories.createdAt, domain: schema.domains.name, domainOwner: schema.domains.owner })
      .from(schema.repositories)
      .innerJoin(schema.domains, eq(schema.repositories.domainId, schema.domains.id))
      .orderBy(schema.domains.owner, schema.domains.name, schema.repositories.name)
      .all();
  }

  async pendingBlobDeletions(): Promise<string[]> {
    return this.db.select({ blobKey: schema.blobDeletions.blobKey }).from(schema.blobDeletions).all().map((r) => r.blobKey);
  }

  async forgetBlobDeletions(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    this.write((tx) => tx.delete(schema.blobDeletions).where(inArray(schema.blobDeletions.blobKey, [...keys])).run());
  }

  async close(): Promise<void> {
    if (this.sqlite.open) this.sqlite.close();
  }
}

type AuditRow = typeof schema.auditLog.$inferSelect;

function toAuditRecord(r: AuditRow): AuditRecord {
  return {
    seq: r.seq,
    prevHash: r.prevHash,
    hash: r.hash,
    decisionId: r.decisionId,
    time: r.time,
    requestId: r.requestId,
    sourceIp: r.sourceIp,
    principal: r.principalSubject === null ? null : { issuer: r.principalIssuer ?? '', subject: r.principalSubject, groups: r.principalGroups ?? [] },
    action: r.action,
    resource: r.resource,
    decision: r.decision as AuditRecord['decision'],
    reason: r.reason,
    determiningPolicies: r.determiningPolicies,
    errors: r.errors,
    policySetHash: r.policySetHash,
    request: r.request,
    changes: r.changes as AuditRecord['changes'],
    outcome: r.outcome as AuditRecord['outcome'],
    httpStatus: r.httpStatus,
  };
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
  if (f.since !== undefined) c.push(gte(t.time, f.since));
  if (f.until !== undefined) c.push(lt(t.time, f.until));
  if (f.repositoryScope !== undefined) c.push(f.repositoryScope.length === 0 ? sql`0` : inArray(t.repositoryArn, [...f.repositoryScope]));
  return c;
}

/** Thrown inside a write transaction to roll it back; commitVersionChanges turns it into a result. */
class StaleRead extends Error {
  constructor(readonly versions: string[]) {
    super('stale read');
  }
}
