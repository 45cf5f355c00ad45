/**
 * Domains and repositories as the CodeArtifact API manages them: describe, list a page, and the
 * changes (create, update, delete), each checked again inside the transaction that makes it, so a
 * concurrent request can never slip between the check and the write.
 * Synchronous on purpose: these run inside better-sqlite3 transactions (a savepoint of a group
 * commit), where nothing may await.
 */
import type Database from 'better-sqlite3';
import type {
  DomainDetail,
  DomainRecord,
  RepositoryDetail,
  RepositoryListQuery,
  TenancyChange,
  TenancyRefusal,
} from '../store.ts';
import { REPOSITORY_COLUMNS, type RepositoryRow, toRepository } from '../sql-rows.ts';
import { BOUND_LIMIT } from './bound-limit.ts';

/** Statuses a repository may still hold when it is deleted: nothing a consumer could download or restore. */
const GONE_STATUSES = ['Deleted', 'Disposed'];


/** Thrown inside the change's savepoint to roll it back and say why. */
export class TenancyRefused extends Error {
  constructor(readonly refusal: TenancyRefusal) {
    super(refusal.reason);
  }
}

export class TenancyQueries {
  private readonly domainRow: Database.Statement<[string, string], { id: number; name: string; owner: string; created_at: string }>;
  private readonly domainCounts: Database.Statement<[number, number], { repositories: number; bytes: number }>;
  private readonly repositoryRow: Database.Statement<[string, string, string], RepositoryRow>;

  constructor(private readonly db: Database.Database) {
    this.domainRow = db.prepare(`SELECT id, name, owner, created_at FROM domains WHERE owner = ? AND name = ?`);
    this.domainCounts = db.prepare(
      `SELECT (SELECT count(*) FROM repositories WHERE domain_id = ?) AS repositories,
         (SELECT coalesce(sum(a.size), 0) FROM assets a JOIN package_versions v ON v.id = a.version_id
            JOIN packages p ON p.id = v.package_id JOIN repositories r ON r.id = p.repository_id WHERE r.domain_id = ?) AS bytes`,
    );
    this.repositoryRow = db.prepare(`SELECT ${REPOSITORY_COLUMNS} FROM repositories r JOIN domains d ON d.id = r.domain_id WHERE d.owner = ? AND d.name = ? AND r.name = ?`);
  }

  describeDomain(owner: string, domain: string): DomainDetail | null {
    const row = this.domainRow.get(owner, domain);
    if (!row) return null;
    const counts = this.domainCounts.get(row.id, row.id)!;
    return { name: row.name, owner: row.owner, createdAt: row.created_at, repositoryCount: counts.repositories, assetSizeBytes: counts.bytes };
  }

  listDomainPage(after: { owner: string; name: string } | undefined, limit: number): DomainRecord[] {
    const rows = this.db
      .prepare(`SELECT name, owner, created_at FROM domains WHERE (owner, name) > (?, ?) ORDER BY owner, name ${BOUND_LIMIT}`)
      .all(after?.owner ?? '', after?.name ?? '', limit) as Array<{ name: string; owner: string; created_at: string }>;
    return rows.map((r) => ({ name: r.name, owner: r.owner, createdAt: r.created_at }));
  }

  describeRepository(owner: string, domain: string, repository: string): RepositoryDetail | null {
    const row = this.repositoryRow.get(owner, domain, repository);
    return row ? toRepository(row) : null;
  }

  listRepositoryPage(q: RepositoryListQuery): RepositoryDetail[] {
    const where: string[] = [`(d.owner, d.name, r.name) > (?, ?, ?)`];
    const params: Array<string | number> = [q.after?.domainOwner ?? '', q.after?.domain ?? '', q.after?.name ?? ''];
    if (q.domain) {
      where.push('d.owner = ? AND d.name = ?');
      params.push(q.domain.owner, q.domain.name);
    }
    if (q.prefix !== undefined) {
      // A range rather than LIKE, whose _ would be a wildcard (repository names may contain it).
      where.push('r.name >= ? AND r.name < ?');
      params.push(q.prefix, `${q.prefix}\uffff`);
    }
    params.push(q.limit);
    const rows = this.db
      .prepare(`SELECT ${REPOSITORY_COLUMNS} FROM repositories r JOIN domains d ON d.id = r.domain_id WHERE ${where.join(' AND ')} ORDER BY d.owner, d.name, r.name ${BOUND_LIMIT}`)
      .all(...params) as RepositoryRow[];
    return rows.map(toRepository);
  }

  /**
   * Makes the change (inside the caller's transaction) and returns the domain and repository as they
   * are after it, or throws TenancyRefused having written nothing.
   */
  apply(change: TenancyChange, now: string): { domain: DomainDetail; repository?: RepositoryDetail } {
    const domain = this.domainRow.get(change.owner, change.domain);
    if (change.kind === 'createDomain') {
      if (domain) throw new TenancyRefused({ reason: 'domain_exists' });
      this.db.prepare(`INSERT INTO domains (owner, name, created_at) VALUES (?, ?, ?)`).run(change.owner, change.domain, now);
      return { domain: this.describeDomain(change.owner, change.domain)! };
    }
    if (!domain) throw new TenancyRefused({ reason: 'domain_missing' });
    if (change.kind === 'deleteDomain') {
      const before = this.describeDomain(change.owner, change.domain)!;
      if (before.repositoryCount > 0) throw new TenancyRefused({ reason: 'domain_not_empty' });
      this.db.prepare(`DELETE FROM domains WHERE id = ?`).run(domain.id);
      return { domain: before };
    }
    const existing = this.repositoryRow.get(change.owner, change.domain, change.repository);
    if (change.kind === 'createRepository') {
      if (existing) throw new TenancyRefused({ reason: 'repository_exists' });
      this.checkUpstreams(domain.id, change.upstreams);
      this.db
        .prepare(`INSERT INTO repositories (domain_id, name, created_at, description, upstreams) VALUES (?, ?, ?, ?, ?)`)
        .run(domain.id, change.repository, now, change.description, JSON.stringify(change.upstreams));
      return this.after(change);
    }
    if (!existing) throw new TenancyRefused({ reason: 'repository_missing' });
    if (change.kind === 'updateRepository') {
      if (change.upstreams !== undefined) {
        this.checkUpstreams(domain.id, change.upstreams);
        this.db.prepare(`UPDATE repositories SET upstreams = ? WHERE id = ?`).run(JSON.stringify(change.upstreams), existing.id);
      }
      if (change.description !== undefined) this.db.prepare(`UPDATE repositories SET description = ? WHERE id = ?`).run(change.description, existing.id);
      return this.after(change);
    }
    return this.deleteRepository(domain.id, existing, change, now);
  }

  private after(change: { owner: string; domain: string; repository: string }) {
    return { domain: this.describeDomain(change.owner, change.domain)!, repository: this.describeRepository(change.owner, change.domain, change.repository)! };
  }

  private checkUpstreams(domainId: number, upstreams: readonly string[]): void {
    const found = new Set(
      this.db
        .prepare(`SELECT name FROM repositories WHERE domain_id = ? AND name IN (SELECT value FROM json_each(?))`)
        .pluck()
        .all(domainId, JSON.stringify(upstreams)) as string[],
    );
    const missing = upstreams.find((u) => !found.has(u));
    if (missing !== undefined) throw new TenancyRefused({ reason: 'upstream_missing', upstream: missing });
  }

  /**
   * Removes the repository with its packages and versions. Refused while it holds a version that is
   * not Deleted or Disposed (so a repository deletion never takes a version that Cedar's rules for
   * DisposePackageVersions and DeletePackageVersions would have kept), or while another repository
   * names it as an upstream. Deleted and Disposed versions have no assets left; any asset record
   * still found has its bytes queued in blob_deletions, which the next start removes.
   */
  private deleteRepository(domainId: number, row: RepositoryRow, change: { owner: string; domain: string }, now: string) {
    const live = this.db
      .prepare(
        `SELECT count(*) FROM package_versions v JOIN packages p ON p.id = v.package_id
         WHERE p.repository_id = ? AND v.status NOT IN (SELECT value FROM json_each(?))`,
      )
      .pluck()
      .get(row.id, JSON.stringify(GONE_STATUSES)) as number;
    if (live > 0) throw new TenancyRefused({ reason: 'repository_holds_versions', versions: live });
    const downstream = (
      this.db.prepare(`SELECT name, upstreams FROM repositories WHERE domain_id = ? AND id <> ?`).all(domainId, row.id) as Array<{ name: string; upstreams: string }>
    )
      .filter((r) => (JSON.parse(r.upstreams) as string[]).includes(row.name))
      .map((r) => r.name);
    if (downstream.length > 0) throw new TenancyRefused({ reason: 'repository_is_upstream', downstream });
    const before = toRepository(row);
    const versions = `SELECT v.id FROM package_versions v JOIN packages p ON p.id = v.package_id WHERE p.repository_id = ?`;
    // Bytes a copy outside the repository shares stay (no live version remains, so there should be none to queue).
    this.db
      .prepare(
        `INSERT INTO blob_deletions (blob_key, queued_at) SELECT DISTINCT a.blob_key, ? FROM assets a WHERE a.version_id IN (${versions})
           AND NOT EXISTS (SELECT 1 FROM assets b WHERE b.blob_key = a.blob_key AND b.version_id NOT IN (${versions})) ON CONFLICT DO NOTHING`,
      )
      .run(now, row.id, row.id);
    this.db.prepare(`DELETE FROM assets WHERE version_id IN (${versions})`).run(row.id);
    this.db.prepare(`DELETE FROM sync_jobs WHERE version_id IN (${versions})`).run(row.id);
    this.db.prepare(`DELETE FROM package_versions WHERE package_id IN (SELECT id FROM packages WHERE repository_id = ?)`).run(row.id);
    this.db.prepare(`DELETE FROM packages WHERE repository_id = ?`).run(row.id);
    this.db.prepare(`DELETE FROM repositories WHERE id = ?`).run(row.id);
    return { domain: this.describeDomain(change.owner, change.domain)!, repository: before };
  }
}
