/**
 * The package operations' SQL (DescribePackage, ListPackages, DeletePackage,
 * PutPackageOriginConfiguration), apart from the version store. The writes join the store's group
 * commit, each in a savepoint of its own with its audit record, so a change and its record commit
 * together or not at all. Nothing here awaits inside a transaction.
 */
import type Database from 'better-sqlite3';
import type { AuditRecordInput } from '../../audit/audit-record.ts';
import { NotFoundError } from '../../errors.ts';
import type { VersionState } from '../../registry/plan-change.ts';
import type { VersionStatus } from '../../registry/statuses.ts';
import type { PackageFormat } from '../../resource/formats.ts';
import type {
  OriginCommit,
  PackageDeleteCommit,
  PackageDeleteResult,
  PackageKey,
  PackageListItem,
  PackageListQuery,
  PackageRecordSnapshot,
} from '../store.ts';
import type { GroupCommitter } from './group-commit.ts';
import { originOf } from '../sql-rows.ts';
import { BOUND_LIMIT } from './bound-limit.ts';

/** What the package records need from the store that owns the connection. */
export interface PackageRecordsHost {
  sqlite: Database.Database;
  group: GroupCommitter;
  now(): string;
  /** Links a record to the audit chain, inside the caller's transaction. */
  insertAudit(record: AuditRecordInput): number;
  /** Queues the bytes of removed assets that no asset record still uses (a copy shares its source's); returns those queued. */
  releaseBlobs(blobKeys: readonly string[], now: string): string[];
}

interface PackageRow {
  id: number;
  origin_publish: string;
  origin_upstream: string;
}

interface ListRow {
  format: string;
  namespace: string;
  name: string;
  origin_publish: string;
  origin_upstream: string;
}

/** Thrown inside the delete's savepoint to roll it back when the package changed since it was read. */
class StalePackage extends Error {}

export class PackageRecords {
  private readonly repositoryIdOf: Database.Statement<[string, string, string], number>;
  private readonly domainIdOf: Database.Statement<[string, string], number>;
  private readonly packageRow: Database.Statement<[number, string, string, string], PackageRow>;
  private readonly versionRows: Database.Statement<[number], { id: number; version: string; status: string; revision: string }>;
  private readonly readTx: (key: PackageKey) => PackageRecordSnapshot;

  constructor(private readonly host: PackageRecordsHost) {
    const { sqlite } = host;
    this.repositoryIdOf = sqlite
      .prepare(`SELECT r.id FROM repositories r JOIN domains d ON d.id = r.domain_id WHERE d.owner = ? AND d.name = ? AND r.name = ?`)
      .pluck() as Database.Statement<[string, string, string], number>;
    this.domainIdOf = sqlite.prepare(`SELECT id FROM domains WHERE owner = ? AND name = ?`).pluck() as Database.Statement<[string, string], number>;
    this.packageRow = sqlite.prepare(`SELECT id, origin_publish, origin_upstream FROM packages WHERE repository_id = ? AND format = ? AND namespace = ? AND name = ?`);
    this.versionRows = sqlite.prepare(`SELECT id, version, status, revision FROM package_versions WHERE package_id = ? ORDER BY version`);
    this.readTx = sqlite.transaction((key: PackageKey) => this.readNow(key));
  }

  async read(key: PackageKey): Promise<PackageRecordSnapshot> {
    return this.readTx(key);
  }

  private readNow(key: PackageKey): PackageRecordSnapshot {
    const repositoryId = this.repositoryIdOf.get(key.domainOwner, key.domain, key.repository);
    if (repositoryId === undefined) {
      return { domainExists: this.domainIdOf.get(key.domainOwner, key.domain) !== undefined, repositoryExists: false, package: null, versions: [] };
    }
    const row = this.packageRow.get(repositoryId, key.format, key.namespace, key.name);
    if (!row) return { domainExists: true, repositoryExists: true, package: null, versions: [] };
    const versions: VersionState[] = this.versionRows.all(row.id).map((v) => ({ version: v.version, status: v.status as VersionStatus, revision: v.revision }));
    return { domainExists: true, repositoryExists: true, package: { id: row.id, origin: originOf(row) }, versions };
  }

  async list(q: PackageListQuery): Promise<PackageListItem[]> {
    const where = ['d.owner = ?', 'd.name = ?', 'r.name = ?'];
    const args: unknown[] = [q.domainOwner, q.domain, q.repository];
    if (q.format !== undefined) (where.push('p.format = ?'), args.push(q.format));
    // Prefixes as ranges, not LIKE: names may hold _ and %, which LIKE would read as wildcards.
    // Names are ASCII (coordinates.ts refuses anything else), so U+FFFF bounds every prefix.
    if (q.namespacePrefix !== undefined) (where.push('p.namespace >= ? AND p.namespace < ?'), args.push(q.namespacePrefix, `${q.namespacePrefix}\uffff`));
    if (q.packagePrefix !== undefined) (where.push('p.name >= ? AND p.name < ?'), args.push(q.packagePrefix, `${q.packagePrefix}\uffff`));
    if (q.publish !== undefined) (where.push('p.origin_publish = ?'), args.push(q.publish));
    if (q.upstream !== undefined) (where.push('p.origin_upstream = ?'), args.push(q.upstream));
    if (q.after) (where.push('(p.format, p.namespace, p.name) > (?, ?, ?)'), args.push(q.after.format, q.after.namespace, q.after.name));
    const rows = this.host.sqlite
      .prepare(
        `SELECT p.format, p.namespace, p.name, p.origin_publish, p.origin_upstream
         FROM packages p JOIN repositories r ON r.id = p.repository_id JOIN domains d ON d.id = r.domain_id
         WHERE ${where.join(' AND ')} ORDER BY p.format, p.namespace, p.name ${BOUND_LIMIT}`,
      )
      .all(...args, q.limit) as ListRow[];
    return rows.map((r) => ({ format: r.format as PackageFormat, namespace: r.namespace, name: r.name, origin: originOf(r) }));
  }

  async putOrigin(c: OriginCommit): Promise<'ok' | 'expired'> {
    const expired = c.expired;
    const guard = expired && {
      cancelled: () => expired.check(),
      instead: (): 'expired' => {
        if (expired.audit) this.host.insertAudit(expired.audit());
        return 'expired';
      },
    };
    return this.host.group.submit((): 'ok' | 'expired' => {
      const { key } = c;
      const repositoryId = this.repositoryIdOf.get(key.domainOwner, key.domain, key.repository);
      if (repositoryId === undefined) throw new NotFoundError(`repository ${key.repository} does not exist in domain ${key.domain}`, 'repository', key.repository);
      // CodeArtifact creates a package with no versions when the configuration names one that does not exist.
      this.host.sqlite
        .prepare(
          `INSERT INTO packages (repository_id, format, namespace, name, created_at, origin_publish, origin_upstream) VALUES (?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (repository_id, format, namespace, name) DO UPDATE SET origin_publish = excluded.origin_publish, origin_upstream = excluded.origin_upstream`,
        )
        .run(repositoryId, key.format, key.namespace, key.name, this.host.now(), c.origin.publish, c.origin.upstream);
      this.host.insertAudit(c.audit);
      return 'ok';
    }, guard);
  }

  async delete(c: PackageDeleteCommit): Promise<PackageDeleteResult> {
    const expired = c.expired;
    try {
      return await this.host.group.submit(
        () => this.deleteNow(c),
        expired && {
          cancelled: () => expired.check(),
          instead: (): PackageDeleteResult => {
            if (expired.audit) this.host.insertAudit(expired.audit());
            return { ok: false, reason: 'expired' };
          },
        },
      );
    } catch (err) {
      if (err instanceof StalePackage) return { ok: false, reason: 'stale' };
      throw err;
    }
  }

  /** Runs in a savepoint of a group commit: every row of the package goes, its bytes are queued. */
  private deleteNow(c: PackageDeleteCommit): PackageDeleteResult {
    const { sqlite } = this.host;
    const now = this.host.now();
    const rows = this.versionRows.all(c.packageId);
    const guarded = new Map(c.guards.map((g) => [g.version, g.revision]));
    // The decision was made on exactly these versions at these revisions: any other state is not what Cedar judged.
    if (rows.length !== guarded.size || rows.some((r) => guarded.get(r.version) !== r.revision)) throw new StalePackage();
    const removedKeys: string[] = [];
    const removeAssets = sqlite.prepare(`DELETE FROM assets WHERE version_id = ? RETURNING blob_key`).pluck();
    const removeJob = sqlite.prepare(`DELETE FROM sync_jobs WHERE version_id = ?`);
    for (const r of rows) {
      removedKeys.push(...(removeAssets.all(r.id) as string[]));
      // A sync running now finds its job gone and writes nothing (its claim's generation matches no row).
      removeJob.run(r.id);
    }
    // Only now, with all of the package's assets gone: a copy in another repository keeps its bytes.
    const blobsToDelete = this.host.releaseBlobs(removedKeys, now);
    sqlite.prepare(`DELETE FROM package_versions WHERE package_id = ?`).run(c.packageId);
    const removed = sqlite.prepare(`DELETE FROM packages WHERE id = ?`).run(c.packageId);
    if (removed.changes !== 1) throw new StalePackage();
    this.host.insertAudit(c.audit);
    return { ok: true, blobsToDelete };
  }
}
