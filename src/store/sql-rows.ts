/**
 * Rows as both SQL stores select them (snake_case columns from raw SQL) and their Store shapes. The
 * stores' schemas name these columns alike, so one mapping serves SQLite and PostgreSQL.
 */
import type { PackageFormat } from '../resource/formats.ts';
import type { VersionStatus } from '../registry/statuses.ts';
import type { AssetInput, OriginRestriction, PackageDependency, PackageKey, RepositoryDetail, SyncJob, SyncState, VersionMetadata, VersionRecord } from './store.ts';

export const VERSION_COLUMNS = 'v.id, v.version, v.identifier, v.status, v.revision, v.published_at';
export interface VersionRow {
  id: number;
  version: string;
  identifier: string;
  status: string;
  revision: string;
  published_at: string;
}
export function toVersionRecord(r: VersionRow): VersionRecord {
  return { id: r.id, version: r.version, identifier: r.identifier, status: r.status as VersionStatus, revision: r.revision, publishedAt: r.published_at };
}

export const METADATA_COLUMNS = 'summary, home_page, source_code_repository, licenses, readme, dependencies';
/** A version's metadata columns; the lists are JSON text. */
export interface MetadataRow {
  summary: string | null;
  home_page: string | null;
  source_code_repository: string | null;
  licenses: string | null;
  readme: string | null;
  dependencies: string | null;
}
/** A version's metadata, every field null when there is no row. */
export function toVersionMetadata(r: MetadataRow | undefined): VersionMetadata {
  return {
    summary: r?.summary ?? null,
    homePage: r?.home_page ?? null,
    sourceCodeRepository: r?.source_code_repository ?? null,
    licenses: r?.licenses ? (JSON.parse(r.licenses) as string[]) : null,
    readme: r?.readme ?? null,
    dependencies: r?.dependencies ? (JSON.parse(r.dependencies) as PackageDependency[]) : null,
  };
}

export const ASSET_COLUMNS = 'name, size, md5, sha1, sha256, sha512, blob_key';
export interface AssetRow {
  name: string;
  size: number;
  md5: string;
  sha1: string;
  sha256: string;
  sha512: string;
  blob_key: string;
}
export function toAsset(r: AssetRow): AssetInput {
  return { name: r.name, size: r.size, md5: r.md5, sha1: r.sha1, sha256: r.sha256, sha512: r.sha512, blobKey: r.blob_key };
}

export interface SyncJobRow {
  id: number;
  version_id: number;
  state: string;
  attempts: number;
  next_attempt_at: string;
  status_reason: string | null;
  progress: number;
  created_at: string;
  updated_at: string;
  started_at: string | null;
  finished_at: string | null;
  generation: number;
}
export function toSyncJob(r: SyncJobRow): SyncJob {
  return {
    id: r.id,
    versionId: r.version_id,
    state: r.state as SyncState,
    attempts: r.attempts,
    nextAttemptAt: r.next_attempt_at,
    statusReason: r.status_reason,
    progress: r.progress,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
  };
}

/** A version found by its identifier: its package's coordinates and the version. */
export interface IdentifierRow {
  owner: string;
  domain: string;
  repository: string;
  format: string;
  namespace: string;
  name: string;
  version: string;
}
export function keyOf(r: IdentifierRow): PackageKey {
  return { domainOwner: r.owner, domain: r.domain, repository: r.repository, format: r.format as PackageFormat, namespace: r.namespace, name: r.name };
}

export function originOf(r: { origin_publish: string; origin_upstream: string }) {
  return { publish: r.origin_publish as OriginRestriction, upstream: r.origin_upstream as OriginRestriction };
}

export const REPOSITORY_COLUMNS = 'r.id, r.name, r.created_at, r.description, r.upstreams, d.name AS domain, d.owner';
export interface RepositoryRow {
  id: number;
  name: string;
  created_at: string;
  description: string | null;
  upstreams: string;
  domain: string;
  owner: string;
}
export function toRepository(r: RepositoryRow): RepositoryDetail {
  return { domain: r.domain, domainOwner: r.owner, name: r.name, createdAt: r.created_at, description: r.description, upstreams: JSON.parse(r.upstreams) as string[] };
}
