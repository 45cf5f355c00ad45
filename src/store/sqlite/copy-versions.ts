/**
 * CopyPackageVersions' writes, inside a savepoint of a group commit (synchronous: never awaits).
 * Every guard is checked first, source and destination: a version changed since the decision was
 * made means nothing is written (StaleRead rolls the savepoint back). Each copy then becomes the
 * destination's version with the source's asset records, sharing their blob keys: the bytes exist
 * once, and the store deletes them only when no asset record uses them any more.
 */
import type Database from 'better-sqlite3';
import { newIdentifier } from '../../registry/identifier.ts';
import type { CopyCommit, PackageKey } from '../store.ts';
import { StaleRead } from './stale-read.ts';

export interface CopyHelpers {
  now: string;
  /** The destination package's id, created if needed. */
  ensurePackage(key: PackageKey): number;
  /** The version's sync job back to awaiting, due now, superseding any running claim. */
  awaitSync(versionId: number): void;
  /** Queues removed blob keys that no asset record still uses; returns those queued. */
  releaseBlobs(keys: readonly string[]): string[];
}

interface VersionRow {
  id: number;
  version: string;
  revision: string;
}

export function applyVersionCopies(sqlite: Database.Database, c: CopyCommit, h: CopyHelpers): { blobsToDelete: string[] } {
  const rowsOf = (packageId: number, versions: readonly string[]) =>
    new Map(
      (sqlite.prepare(`SELECT id, version, revision FROM package_versions WHERE package_id = ? AND version IN (SELECT value FROM json_each(?))`).all(packageId, JSON.stringify(versions)) as VersionRow[]).map(
        (r) => [r.version, r],
      ),
    );

  const sourceRows = rowsOf(c.source.packageId, c.source.guards.map((g) => g.version));
  const staleSource = c.source.guards.filter((g) => sourceRows.get(g.version)?.revision !== g.revision).map((g) => g.version);
  // A destination read before this transaction may have been deleted since (its repository with it).
  if (c.destination.packageId !== null && sqlite.prepare(`SELECT 1 FROM packages WHERE id = ?`).get(c.destination.packageId) === undefined) throw new StaleRead(c.copies.map((x) => x.version));
  const destinationId = c.destination.packageId ?? h.ensurePackage(c.destination.key);
  const destinationRows = rowsOf(destinationId, c.destination.guards.map((g) => g.version));
  const staleDestination = c.destination.guards.filter((g) => (destinationRows.get(g.version)?.revision ?? null) !== g.revision).map((g) => g.version);
  const stale = [...new Set([...staleSource, ...staleDestination])];
  if (stale.length > 0) throw new StaleRead(stale);

  const assetsOf = sqlite.prepare(`SELECT name, size, md5, sha1, sha256, sha512, blob_key FROM assets WHERE version_id = ? ORDER BY name`);
  const removeAssets = sqlite.prepare(`DELETE FROM assets WHERE version_id = ? RETURNING blob_key`).pluck();
  const insertAsset = sqlite.prepare(`INSERT INTO assets (version_id, name, size, md5, sha1, sha256, sha512, blob_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`);
  const insertVersion = sqlite.prepare(
    `INSERT INTO package_versions (package_id, version, identifier, status, revision, published_at, status_updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
  ).pluck();
  // A replaced (or once deleted) destination version is a new version as far as anyone can tell: new
  // identifier, new published time, and none of the old one's metadata (its own sync extracts it).
  const replaceVersion = sqlite.prepare(
    `UPDATE package_versions SET identifier = ?, status = ?, revision = ?, published_at = ?, status_updated_at = ?,
       summary = NULL, home_page = NULL, source_code_repository = NULL, licenses = NULL
     WHERE id = ? AND revision = ? RETURNING id`,
  ).pluck();

  const replaced: string[] = [];
  for (const copy of c.copies) {
    const source = sourceRows.get(copy.version);
    if (!source) throw new Error(`commitVersionCopies: the copied version ${copy.version} has no source guard`);
    const existing = destinationRows.get(copy.version);
    let versionId: number;
    if (existing) {
      const updated = replaceVersion.get(newIdentifier(), copy.after.status, copy.after.revision, h.now, h.now, existing.id, existing.revision) as number | undefined;
      if (updated === undefined) throw new StaleRead([copy.version]);
      versionId = updated;
      replaced.push(...(removeAssets.all(versionId) as string[]));
    } else {
      versionId = insertVersion.get(destinationId, copy.version, newIdentifier(), copy.after.status, copy.after.revision, h.now, h.now) as number;
    }
    for (const a of assetsOf.all(source.id) as Array<{ name: string; size: number; md5: string; sha1: string; sha256: string; sha512: string; blob_key: string }>) {
      insertAsset.run(versionId, a.name, a.size, a.md5, a.sha1, a.sha256, a.sha512, a.blob_key);
    }
    // Its own sync: the copy is downloadable from the destination once its assets were checked there.
    h.awaitSync(versionId);
  }
  // Only after every copy's records are in: a replaced asset whose bytes a copy now uses keeps them.
  return { blobsToDelete: h.releaseBlobs(replaced) };
}
