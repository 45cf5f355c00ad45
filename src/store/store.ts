/**
 * The store contract. Routes and operations reach persistence only through this async interface,
 * so SQLite (embedded default) and PostgreSQL implementations are interchangeable.
 *
 * Writes are compare-and-set on version revisions: an operation reads, decides (Cedar), then commits
 * with the revisions it read as guards. No callback ever runs inside a transaction, which keeps
 * better-sqlite3's synchronous transactions safe and maps directly onto a PostgreSQL transaction.
 */
import type { AuditHead, AuditRecord, AuditRecordInput } from '../audit/audit-record.ts';
import { ServiceUnavailableError } from '../errors.ts';
import type { EncodedFields } from '../audit/audit-hash.ts';
import type { DerivedAuditFields } from '../audit/derived-fields.ts';
import type { PackageFormat } from '../resource/formats.ts';
import type { VersionChange, VersionState } from '../registry/plan-change.ts';
import type { VersionCopy } from '../registry/plan-copy.ts';
import type { VersionStatus } from '../registry/statuses.ts';

export interface DomainRecord {
  name: string;
  owner: string;
  createdAt: string;
}

export interface RepositoryRecord {
  domain: string;
  domainOwner: string;
  name: string;
  createdAt: string;
}

export interface PackageKey {
  domainOwner: string;
  domain: string;
  repository: string;
  format: PackageFormat;
  namespace: string;
  name: string;
}

export interface PackageSnapshot {
  domainExists: boolean;
  repositoryExists: boolean;
  /** null when the package does not exist. */
  packageId: number | null;
  versions: Map<string, VersionState>;
}

/** An asset's record: its name, size and hashes (hex), and the key of its bytes in the blob store. */
export interface AssetInput {
  name: string;
  size: number;
  md5: string;
  sha1: string;
  sha256: string;
  sha512: string;
  blobKey: string;
}

export interface NewVersion {
  key: PackageKey;
  version: string;
  status: VersionStatus;
  revision: string;
  assets: AssetInput[];
}

export interface VersionCommit {
  /** The package; null only for a publish that creates it (named by `publish.key`). */
  packageId: number | null;
  /**
   * The revisions the decision was made on, for every version read (changed or not). If any is no
   * longer current, nothing is written: the answer would describe a state that no longer exists.
   * A null revision guards a version that did not exist: it must still not exist.
   */
  guards: ReadonlyArray<{ version: string; revision: string | null }>;
  /** The status writes; each change's `before.revision` is also among the guards. */
  changes: VersionChange[];
  /**
   * Dispose and delete: remove the versions' asset records and queue their bytes for deletion (bytes
   * that a copy of the version still uses stay).
   */
  disposeAssets: boolean;
  /** Changed versions whose sync starts with this commit (an Unfinished version set Published). */
  startSyncs?: readonly string[] | undefined;
  /** A publish: the version written (created, revived or updated) and the asset it gains. */
  publish?: PublishWrite | undefined;
  audit: AuditRecordInput;
  /**
   * The request's deadline, checked again when the commit actually runs (commits are grouped, so it
   * may wait a moment): past it nothing is changed, only `audit()` (the timeout's record, built only
   * then) is written, and the result says `expired`. So a change never commits after its client was
   * told it failed.
   */
  expired?:
    | {
        check(): boolean;
        /** Milliseconds left: a store that commits on another thread checks the deadline there as an instant. */
        remainingMs: () => number;
        audit?: (() => AuditRecordInput) | undefined;
      }
    | undefined;
}

export interface PublishWrite {
  key: PackageKey;
  version: string;
  status: VersionStatus;
  revision: string;
  /** Created or revived from Deleted: the version gets a new published time. */
  fresh: boolean;
  /** The asset added, whose bytes are already in the blob store under a reserved key. */
  asset?: AssetInput | undefined;
  /**
   * The version is new to its package (none, or Deleted), so the package's origin configuration had
   * to allow publishing; it was read before the upload, so the commit reads it again: blocked since,
   * the write is a stale read (nothing is written, and the operation decides again).
   */
  originGuarded?: boolean | undefined;
}

/**
 * CopyPackageVersions' writes: each copy becomes (or replaces) the destination's version, with the
 * source version's asset records (the same blob keys: the bytes are not duplicated), a new identifier,
 * the plan's revision and its own sync; the destination package is created if needed.
 */
export interface CopyCommit {
  source: { packageId: number; guards: ReadonlyArray<{ version: string; revision: string }> };
  /** A null revision guards a version that did not exist in the destination: it must still not. */
  destination: { key: PackageKey; packageId: number | null; guards: ReadonlyArray<{ version: string; revision: string | null }> };
  copies: VersionCopy[];
  audit: AuditRecordInput;
  expired?: VersionCommit['expired'];
}

/** A version as the read operations see it. */
export interface VersionRecord extends VersionState {
  id: number;
  /**
   * The version's permanent identifier (12 base62 characters), never reused. A version deleted and
   * published again is a new version: it gets a new identifier, and the old one resolves no more.
   */
  identifier: string;
  /** When the version was (last) created, ISO 8601. */
  publishedAt: string;
}

export interface VersionDetail extends VersionRecord {
  assetCount: number;
  /** Its sync job's state; null for a version that never had one (it was stored before syncs existed). */
  syncState: SyncState | null;
  /** Why its last sync attempt failed, when it did. */
  syncReason: string | null;
}

/** What a version's identifier resolves to. */
export interface IdentifiedVersion {
  key: PackageKey;
  version: string;
}

/** One version of one package, and optionally one of its assets, read together. */
export interface VersionSnapshot {
  domainExists: boolean;
  repositoryExists: boolean;
  packageId: number | null;
  /** null when the version never existed; Deleted versions are returned with their status. */
  version: VersionDetail | null;
  /** The asset asked for, when it exists. */
  asset: AssetInput | null;
}

/** Where a page of versions starts: after this version, in the listing's order. */
export type VersionCursor = { order: 'version'; version: string } | { order: 'published'; publishedAt: string; id: number };

export interface VersionListQuery {
  packageId: number;
  statuses: readonly VersionStatus[];
  /** By version string, or newest published first. */
  order: 'version' | 'published';
  after?: VersionCursor | undefined;
  limit: number;
}

/** A page of versions, and what ListPackageVersions answers beside it, read together. */
export interface VersionPage {
  versions: VersionRecord[];
  /** The most recently published version whose status is Published (its defaultDisplayVersion), if any. */
  latestPublished: string | null;
}

export type VersionCommitResult =
  | { ok: true; auditSeq: number; blobsToDelete: string[] }
  | { ok: false; reason: 'stale'; staleVersions: string[] }
  /** Nothing changed; `auditSeq` is the timeout's record, when one was given. */
  | { ok: false; reason: 'expired'; auditSeq?: number | undefined };

export interface AuditFilter {
  /** The principal's subject. */
  principal?: string | undefined;
  action?: string | undefined;
  decision?: string | undefined;
  /** Exact resource (a package ARN, or `AuditLog::"versiongate"`). */
  resource?: string | undefined;
  /** Resources starting with this text (a package ARN prefix). */
  resourcePrefix?: string | undefined;
  repositoryArn?: string | undefined;
  domainArn?: string | undefined;
  /** The package name (the last ARN segment). */
  packageName?: string | undefined;
  version?: string | undefined;
  /** ISO times: since inclusive, until exclusive. */
  since?: string | undefined;
  until?: string | undefined;
  /** Authorization scope: only records of these repository ARNs. Undefined: every record. */
  repositoryScope?: readonly string[] | undefined;
  /**
   * Authorization scope, with repositoryScope: also the records of these domains that name no
   * repository (DescribeDomain, ListRepositoriesInDomain…; CreateRepository names the one it creates).
   */
  domainScope?: readonly string[] | undefined;
}

export interface AuditQuery {
  filter?: AuditFilter;
  limit: number;
  /** Return records with seq below this (keyset pagination, newest first). */
  beforeSeq?: number | undefined;
}

/** A record as stored, with the derived columns. */
export interface StoredAuditRecord extends AuditRecord {
  derived: DerivedAuditFields;
}

/** A record as verification needs it: its fields' stored canonical texts, unparsed. */
export interface AuditChainEntry {
  seq: number;
  prevHash: string;
  hash: string;
  time: string;
  encoded: EncodedFields;
  /** The derived columns as stored, to be checked against the record. */
  derived: DerivedAuditFields;
}

export type SyncState = 'awaiting' | 'in_progress' | 'completed' | 'failed';

export type SyncJobCounts = Record<SyncState | 'waiting_for_assets', number>;

/** A version's synchronisation job as stored. */
export interface SyncJob {
  id: number;
  versionId: number;
  state: SyncState;
  attempts: number;
  nextAttemptAt: string;
  statusReason: string | null;
  progress: number;
  createdAt: string;
  updatedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

/** Which claim of a job a worker holds: its writes count only while the job is still at this generation. */
export interface SyncClaim {
  id: number;
  generation: number;
}

/** A job claimed by a worker, with what it needs to sync the version. */
export interface ClaimedSyncJob extends SyncJob, SyncClaim {
  key: PackageKey;
  version: string;
  assets: AssetInput[];
}

/** What a sync extracts from the assets, for DescribePackageVersion, GetPackageVersionReadme and ListPackageVersionDependencies. */
export interface VersionMetadata {
  summary: string | null;
  homePage: string | null;
  sourceCodeRepository: string | null;
  licenses: string[] | null;
  /** The README's text, when the assets carry one (absent from older syncs: undefined reads as null). */
  readme?: string | null | undefined;
  /** The manifest's direct dependencies, in the manifest's order; null when none were read. */
  dependencies?: PackageDependency[] | null | undefined;
}

/** One direct dependency as CodeArtifact's PackageDependency names it. */
export interface PackageDependency {
  namespace: string | null;
  package: string;
  /** npm: regular, dev, peer, optional; Maven: the scope, optional or parent. */
  dependencyType: string | null;
  versionRequirement: string | null;
}

export type OriginRestriction = 'ALLOW' | 'BLOCK';

/** CodeArtifact's PackageOriginRestrictions. */
export interface OriginRestrictions {
  publish: OriginRestriction;
  upstream: OriginRestriction;
}

/** One package as the package operations (describe, delete, origin configuration) read it. */
export interface PackageRecordSnapshot {
  domainExists: boolean;
  repositoryExists: boolean;
  /** null when the package does not exist. */
  package: { id: number; origin: OriginRestrictions } | null;
  /** Every version row of the package, Deleted ones included, with its revision (the commit's guards). */
  versions: VersionState[];
}

export interface PackageListQuery {
  domainOwner: string;
  domain: string;
  repository: string;
  format?: PackageFormat | undefined;
  /** Namespaces starting with this (CodeArtifact's `namespace` filter matches a prefix). */
  namespacePrefix?: string | undefined;
  packagePrefix?: string | undefined;
  publish?: OriginRestriction | undefined;
  upstream?: OriginRestriction | undefined;
  /** Start after this package, in (format, namespace, name) order. */
  after?: { format: string; namespace: string; name: string } | undefined;
  limit: number;
}

export interface PackageListItem {
  format: PackageFormat;
  namespace: string;
  name: string;
  origin: OriginRestrictions;
}

/** PutPackageOriginConfiguration: the package (created with no versions if it does not exist) and the audit record. */
export interface OriginCommit {
  key: PackageKey;
  origin: OriginRestrictions;
  audit: AuditRecordInput;
  expired?: VersionCommit['expired'];
}

/** DeletePackage: the package, its versions, their assets (bytes queued) and sync jobs, with the audit record. */
export interface PackageDeleteCommit {
  packageId: number;
  /** Every version row as read when Cedar decided: if any changed, was added or went, nothing is deleted. */
  guards: ReadonlyArray<{ version: string; revision: string }>;
  audit: AuditRecordInput;
  expired?: VersionCommit['expired'];
}

export type PackageDeleteResult =
  | { ok: true; blobsToDelete: string[] }
  | { ok: false; reason: 'stale' }
  | { ok: false; reason: 'expired' };

/** Packages, their versions and assets: reads, and the guarded (compare-and-set on revisions) writes with their audit records. */
export interface VersionStore {
  /** The metadata the last completed sync recorded. */
  readVersionMetadata(versionId: number): Promise<VersionMetadata>;
  readPackage(key: PackageKey, versions: readonly string[]): Promise<PackageSnapshot>;
  /**
   * Adds a version (creating the package if needed), its sync awaiting. Fails with ConflictError if it
   * exists. It writes no audit record, so nothing the gateway or its commands run uses it (`audit
   * verify --state` names such a row): tests and benchmarks build fixtures with it.
   */
  addVersion(version: NewVersion): Promise<void>;
  commitVersionChanges(commit: VersionCommit): Promise<VersionCommitResult>;
  /**
   * Commits copies with their audit record, in one transaction, guarded by the source and destination
   * revisions the decision was made on (stale: nothing written). Replaced destination assets' bytes
   * are returned in blobsToDelete only when no record uses them any more.
   */
  commitVersionCopies(commit: CopyCommit): Promise<VersionCommitResult>;
  /** One version (Deleted included) with its asset count, and the named asset, in one consistent read. */
  readVersion(key: PackageKey, version: string, assetName?: string): Promise<VersionSnapshot>;
  /** The package and version a permanent identifier names (Deleted versions included); null if none. */
  resolveIdentifier(identifier: string): Promise<IdentifiedVersion | null>;
  /**
   * A page of a package's versions with one of the given statuses, in the query's order, and its
   * latest Published version whatever the page's filter: one read (one round trip on PostgreSQL).
   */
  listVersions(query: VersionListQuery): Promise<VersionPage>;
  /** A page of a version's assets by name, starting after `afterName`. */
  listAssets(versionId: number, afterName: string | undefined, limit: number): Promise<AssetInput[]>;
  /**
   * Reserves a blob key before an upload writes its bytes: until a commit claims the key with its
   * asset record, the bytes count as orphaned and the next start removes them.
   */
  reserveBlob(blobKey: string): Promise<void>;
  /**
   * Blob keys whose records are gone but whose bytes may still be held: all of them, or only those
   * queued before `queuedBefore` (an ISO time) when given. A store replicas share (PostgreSQL) also
   * holds back those younger than its grace (BLOB_GRACE_MS): another replica may be uploading under
   * a fresh reservation. A key an asset record uses is never listed, whatever queued it (a
   * DeletePackage before 2026-12-07 queued the bytes its versions shared with copies elsewhere).
   */
  pendingBlobDeletions(queuedBefore?: string): Promise<string[]>;
  forgetBlobDeletions(keys: readonly string[]): Promise<void>;
  /** The package, its origin restrictions and its versions, in one consistent read. */
  readPackageRecord(key: PackageKey): Promise<PackageRecordSnapshot>;
  /** A page of a repository's packages in (format, namespace, name) order, filtered. */
  listPackages(query: PackageListQuery): Promise<PackageListItem[]>;
  /** Sets the package's origin restrictions (creating it with no versions if needed) with the audit record. */
  putPackageOrigin(commit: OriginCommit): Promise<'ok' | 'expired'>;
  /** Deletes the package and everything it holds with the audit record, all or nothing. */
  deletePackage(commit: PackageDeleteCommit): Promise<PackageDeleteResult>;
  /**
   * Every version row (Deleted ones included) with its package's coordinates, by row id, the page
   * after `afterId`: what `audit verify --state` compares with the audit log.
   */
  readVersionStates(afterId: number, limit: number): Promise<StoredVersionState[]>;
}

/** A version row as `audit verify --state` reads it: where it is, its status and its revision. */
export interface StoredVersionState extends VersionState {
  /** The row's id, the page cursor. */
  id: number;
  key: PackageKey;
}

/**
 * The sync queue: each version's job, claimed by one worker at a time (a generation guard makes a
 * superseded claim write nothing; several replicas claim without taking the same job).
 */
export interface SyncQueueStore {
  /**
   * Schedules the versions' syncs, all or none, with `audit`, in one transaction: each job (created
   * if none) goes to awaiting with no attempts. Returns false, writing nothing (the caller records
   * the refusal), when any is already awaiting or in progress, or is no longer there to sync: gone
   * (its package deleted) or Disposed or Deleted since the caller read it.
   * (A publish or addVersion schedules its version's sync itself, in its own transaction, superseding
   * any sync running: the assets it checked are no longer all the version's.)
   */
  scheduleSync(versionIds: readonly number[], audit: AuditRecordInput): Promise<boolean>;
  /** The version's sync job, if it ever had one. */
  readSyncJob(versionId: number): Promise<SyncJob | null>;
  /** The sync jobs of these versions (a page's, up to 1,000), by version id; a version with none is absent. */
  readSyncJobs(versionIds: readonly number[]): Promise<Map<number, SyncJob>>;
  /**
   * Takes the oldest awaiting job due by now, of a version that is not Unfinished (its sync waits for
   * its last asset): in_progress, one more attempt. Null when none is due.
   */
  claimSyncJob(): Promise<ClaimedSyncJob | null>;
  /** The claim's progress (0–100); ignored once the claim is superseded. */
  setSyncProgress(claim: SyncClaim, progress: number): Promise<void>;
  /**
   * Records a finished sync: the metadata and the new revision, with `audit` (its `changes` filled
   * in with the revision before and after) in the same transaction. A version that was disposed or
   * deleted while its sync ran is not touched: the job fails with that reason instead. A claim
   * superseded meanwhile (the job was scheduled again) writes nothing.
   */
  completeSync(claim: SyncClaim, metadata: VersionMetadata, revision: string, audit: AuditRecordInput): Promise<'completed' | 'superseded'>;
  /** A failed attempt: back to awaiting at retryAt, or failed for good when retryAt is null. Ignored once superseded. */
  failSyncAttempt(claim: SyncClaim, reason: string, retryAt: string | null): Promise<void>;
  /** At start: jobs left in_progress by a process that died go back to awaiting; returns how many. */
  recoverSyncJobs(): Promise<number>;
  /**
   * How many sync jobs are in each state (metrics; tests waiting for the pool to go idle). `awaiting`
   * counts only jobs a worker may claim: those of Unfinished versions are `waiting_for_assets`.
   */
  countSyncJobs(): Promise<SyncJobCounts>;
}

/** The audit log: one hash chain (its rules are src/audit/chain-link.ts), appended in commit order. */
export interface AuditLogStore {
  /**
   * Appends one record to the chain; resolves with its seq once it is durable. Requests' writes
   * (this, commitVersionChanges, scheduleSync) may be grouped into one transaction, each isolated
   * from the others; the chain stays one chain in commit order.
   */
  appendAudit(record: AuditRecordInput): Promise<number>;
  /** Appends many records in one transaction (imports, benchmarks). */
  appendAuditBatch(records: readonly AuditRecordInput[]): Promise<void>;
  /** Newest first, filtered, a page at a time. */
  listAudit(query: AuditQuery): Promise<AuditRecord[]>;
  /** Oldest first from afterSeq (exclusive), for verify and export. */
  readAuditRange(afterSeq: number, limit: number, window?: { since?: string | undefined; until?: string | undefined }): Promise<StoredAuditRecord[]>;
  /** Oldest first from afterSeq (exclusive), unparsed, for verify. */
  readAuditChain(afterSeq: number, limit: number): Promise<AuditChainEntry[]>;
  auditHead(): Promise<AuditHead | null>;
  /**
   * Every repository and domain ARN the log names, each once, deleted ones included: a scoped
   * reader's candidates (the registry lists only what exists now). A skip scan of the ARN indexes,
   * so it costs one seek per ARN, whatever the log's length.
   */
  auditedArns(): Promise<AuditedArns>;
  /**
   * The first audit_versions row that belongs to no record the chain holds (a seq below 1, or above
   * `lastSeq` with no record): verify has checked the rows of seqs 1..lastSeq against their records.
   */
  strayAuditVersion(lastSeq: number): Promise<{ seq: number; version: string } | undefined>;
}

/**
 * A store that keeps the chain's head apart from the log (PostgreSQL's audit_head row, which every
 * append links to and sets in its transaction); SQLite reads its head from the log itself and has
 * none. Records removed from the log leave this head ahead of it: verify then fails, and the start
 * warns, without a head saved elsewhere.
 */
export interface KeptAuditHead {
  /** Null before the first record. */
  keptAuditHead(): Promise<AuditHead | null>;
}

export interface AuditedArns {
  repositoryArns: string[];
  domainArns: string[];
}

/** Secrets the gateway makes for itself, created once and shared by every process on the database. */
export interface SecretStore {
  /** The secret stored under this name; stores `candidate` first if there is none yet. */
  ensureSecret(name: string, candidate: Uint8Array): Promise<Uint8Array>;
}

/** Domains and repositories as lists (the audit scope); every change to them is TenancyStore's. */
export interface DirectoryStore {
  /**
   * Create with no audit record, as addVersion adds: fixtures for tests and benchmarks only. The API,
   * `seed demo` and the bootstrap commands create through applyTenancyChange, with their record.
   */
  createDomain(name: string, owner: string): Promise<DomainRecord>;
  createRepository(domainOwner: string, domain: string, name: string): Promise<RepositoryRecord>;
  listDomains(): Promise<DomainRecord[]>;
  listRepositories(domainOwner: string, domain: string): Promise<RepositoryRecord[]>;
  /** Owners of every domain with this name (the caller resolves a missing domain-owner). */
  domainOwners(domain: string): Promise<string[]>;
  /** Every repository of every domain (to decide which ones a principal may read the audit of). */
  listAllRepositories(): Promise<RepositoryRecord[]>;
}

/** Every port, on one database: what the gateway is given. */
export interface Store extends VersionStore, SyncQueueStore, AuditLogStore, SecretStore, DirectoryStore, TenancyStore {
  /** Resolves when the database answers a trivial query (readiness). */
  ping(): Promise<void>;

  close(): Promise<void>;
}

// --- Tenancy: domains and repositories through the API (src/store/sqlite/tenancy-store.ts). ---

/** A domain as DescribeDomain shows it. */
export interface DomainDetail extends DomainRecord {
  repositoryCount: number;
  /** The bytes of every asset its repositories hold. */
  assetSizeBytes: number;
}

/** A repository as DescribeRepository shows it. */
export interface RepositoryDetail extends RepositoryRecord {
  description: string | null;
  /** The upstream repositories' names, in priority order. */
  upstreams: string[];
}

/** Where a page of repositories starts: after this one, in (domainOwner, domain, name) order. */
export interface RepositoryCursor {
  domainOwner: string;
  domain: string;
  name: string;
}

export interface RepositoryListQuery {
  /** One domain (ListRepositoriesInDomain); every domain when absent (ListRepositories). */
  domain?: { owner: string; name: string } | undefined;
  prefix?: string | undefined;
  after?: RepositoryCursor | undefined;
  limit: number;
}

/** A change to domains or repositories; each is checked again inside the transaction that makes it. */
export type TenancyChange =
  | { kind: 'createDomain'; owner: string; domain: string }
  | { kind: 'deleteDomain'; owner: string; domain: string }
  | { kind: 'createRepository'; owner: string; domain: string; repository: string; description: string | null; upstreams: string[] }
  | { kind: 'updateRepository'; owner: string; domain: string; repository: string; description?: string | null | undefined; upstreams?: string[] | undefined }
  | { kind: 'deleteRepository'; owner: string; domain: string; repository: string };

/** Why a tenancy change was not made (nothing was written, not even `audit`). */
export type TenancyRefusal =
  | { reason: 'domain_exists' | 'domain_missing' | 'domain_not_empty' | 'repository_exists' | 'repository_missing' }
  | { reason: 'upstream_missing'; upstream: string }
  /** The repository holds versions that are neither Deleted nor Disposed: `versions` counts them. */
  | { reason: 'repository_holds_versions'; versions: number }
  /** Other repositories name it as an upstream. */
  | { reason: 'repository_is_upstream'; downstream: string[] };

export type TenancyResult =
  | { ok: true; domain: DomainDetail; repository?: RepositoryDetail | undefined; auditSeq: number }
  | ({ ok: false } & TenancyRefusal);

export interface TenancyStore {
  describeDomain(owner: string, domain: string): Promise<DomainDetail | null>;
  /** A page of domains in (owner, name) order, after the given one. */
  listDomainPage(after: { owner: string; name: string } | undefined, limit: number): Promise<DomainRecord[]>;
  describeRepository(owner: string, domain: string, repository: string): Promise<RepositoryDetail | null>;
  listRepositoryPage(query: RepositoryListQuery): Promise<RepositoryDetail[]>;
  /** Makes the change with its audit record in one transaction, or nothing and says why. */
  applyTenancyChange(change: TenancyChange, audit: AuditRecordInput): Promise<TenancyResult>;
}

/**
 * How long a reserved blob key may belong to an upload in progress. A queued removal older than this
 * is an orphan's (a crash between a commit and its bytes' removal, or an upload that never committed)
 * and safe to remove while the gateway serves. It must be at least the longest request deadline
 * (MAX_REQUEST_DEADLINE_SECONDS in config.ts): an upload reserves its key after its request began
 * and commits before its deadline or never, so no reservation it may still claim is ever this old.
 */
export const BLOB_GRACE_MS = 60 * 60_000;

/**
 * A publish whose blob reservation was removed before its commit (a sweep or another replica's start
 * took it for an orphan's, as a clock stepped past the grace could make it): its bytes may be gone
 * too, so the asset is not added. Nothing was published, and the same upload again succeeds: a 503
 * the SDKs retry, not an internal error.
 */
export function reservationGone(blobKey: string): ServiceUnavailableError {
  return new ServiceUnavailableError(`The upload's reserved storage (blob ${blobKey}) was reclaimed before it committed, so its bytes may be gone. Nothing was published; upload the asset again.`);
}
