/**
 * The PostgreSQL schema: the same tables as SQLite's (src/store/sqlite/schema.ts), plus what several
 * replicas on one database need: the audit chain's head row (locked by every append), sync jobs'
 * leases, and asset bytes in chunks (replicas share no disk). Migrations in drizzle/postgres are
 * generated from this file by drizzle-kit (`npm run db:generate:postgres`).
 *
 * Text compares as bytes (COLLATE "C"), as in SQLite: orderings and keyset pages (versions, packages,
 * repositories) must not depend on the database's locale. Canonical JSON stays text: the audit hash
 * covers those bytes, which jsonb would re-encode.
 */
import { sql } from 'drizzle-orm';
import { bigint, customType, index, integer, pgTable, primaryKey, serial, uniqueIndex } from 'drizzle-orm/pg-core';

/** Text ordered by bytes, whatever the database's collation. */
const text = customType<{ data: string; driverData: string }>({ dataType: () => 'text COLLATE "C"' });
const bytea = customType<{ data: Buffer; driverData: Buffer }>({ dataType: () => 'bytea' });

export const domains = pgTable(
  'domains',
  {
    id: serial('id').primaryKey(),
    owner: text('owner').notNull(),
    name: text('name').notNull(),
    createdAt: text('created_at').notNull(),
  },
  (t) => [uniqueIndex('domains_owner_name').on(t.owner, t.name), index('domains_name').on(t.name)],
);

export const repositories = pgTable(
  'repositories',
  {
    id: serial('id').primaryKey(),
    domainId: integer('domain_id')
      .notNull()
      .references(() => domains.id),
    name: text('name').notNull(),
    createdAt: text('created_at').notNull(),
    description: text('description'),
    /** The upstream repositories' names in priority order, a JSON array. */
    upstreams: text('upstreams').notNull().default('[]'),
  },
  (t) => [uniqueIndex('repositories_domain_name').on(t.domainId, t.name)],
);

export const packages = pgTable(
  'packages',
  {
    id: serial('id').primaryKey(),
    repositoryId: integer('repository_id')
      .notNull()
      .references(() => repositories.id),
    format: text('format').notNull(),
    namespace: text('namespace').notNull(),
    name: text('name').notNull(),
    createdAt: text('created_at').notNull(),
    originPublish: text('origin_publish').notNull().default('ALLOW'),
    originUpstream: text('origin_upstream').notNull().default('BLOCK'),
  },
  (t) => [uniqueIndex('packages_coordinates').on(t.repositoryId, t.format, t.namespace, t.name)],
);

export const packageVersions = pgTable(
  'package_versions',
  {
    id: serial('id').primaryKey(),
    packageId: integer('package_id')
      .notNull()
      .references(() => packages.id),
    version: text('version').notNull(),
    identifier: text('identifier').notNull(),
    status: text('status').notNull(),
    revision: text('revision').notNull(),
    publishedAt: text('published_at').notNull(),
    statusUpdatedAt: text('status_updated_at').notNull(),
    summary: text('summary'),
    homePage: text('home_page'),
    sourceCodeRepository: text('source_code_repository'),
    licenses: text('licenses'),
    readme: text('readme'),
    dependencies: text('dependencies'),
  },
  (t) => [
    uniqueIndex('package_versions_package_version').on(t.packageId, t.version),
    uniqueIndex('package_versions_identifier').on(t.identifier),
    index('package_versions_package_published').on(t.packageId, t.publishedAt),
  ],
);

/**
 * As SQLite's, plus a lease: a claim holds the job until `lease_expires_at` (renewed by progress).
 * A replica that dies mid-job leaves it in_progress; once the lease has expired any replica takes it
 * over (a new claim, a new generation, so the dead claim could write nothing even if it came back).
 */
export const syncJobs = pgTable(
  'sync_jobs',
  {
    id: serial('id').primaryKey(),
    versionId: integer('version_id')
      .notNull()
      .references(() => packageVersions.id),
    state: text('state').notNull(),
    attempts: integer('attempts').notNull(),
    nextAttemptAt: text('next_attempt_at').notNull(),
    statusReason: text('status_reason'),
    progress: integer('progress').notNull(),
    createdAt: text('created_at').notNull(),
    updatedAt: text('updated_at').notNull(),
    startedAt: text('started_at'),
    finishedAt: text('finished_at'),
    generation: integer('generation').notNull().default(0),
    leaseExpiresAt: text('lease_expires_at'),
  },
  (t) => [
    uniqueIndex('sync_jobs_version').on(t.versionId),
    index('sync_jobs_state_next').on(t.state, t.nextAttemptAt),
    // The jobs a worker may claim: few at any time, so a partial index keeps the claim a short seek.
    index('sync_jobs_available').on(t.nextAttemptAt, t.id).where(sql`state = 'awaiting'`),
  ],
);

export const assets = pgTable(
  'assets',
  {
    id: serial('id').primaryKey(),
    versionId: integer('version_id')
      .notNull()
      .references(() => packageVersions.id),
    name: text('name').notNull(),
    size: bigint('size', { mode: 'number' }).notNull(),
    md5: text('md5').notNull(),
    sha1: text('sha1').notNull(),
    sha256: text('sha256').notNull(),
    sha512: text('sha512').notNull(),
    blobKey: text('blob_key').notNull(),
  },
  (t) => [uniqueIndex('assets_version_name').on(t.versionId, t.name), index('assets_blob_key').on(t.blobKey)],
);

export const blobDeletions = pgTable('blob_deletions', {
  blobKey: text('blob_key').primaryKey(),
  queuedAt: text('queued_at').notNull(),
});

/** Asset bytes, when they are kept in the database: a blob is complete once its `blobs` row exists. */
export const blobs = pgTable('blobs', {
  blobKey: text('blob_key').primaryKey(),
  size: bigint('size', { mode: 'number' }).notNull(),
  chunks: integer('chunks').notNull(),
});

/** The bytes in order, a chunk (at most 256 KiB) a row, so neither side ever holds a whole asset. */
export const blobChunks = pgTable(
  'blob_chunks',
  {
    blobKey: text('blob_key').notNull(),
    n: integer('n').notNull(),
    data: bytea('data').notNull(),
  },
  (t) => [primaryKey({ columns: [t.blobKey, t.n] })],
);

export const secrets = pgTable('secrets', {
  name: text('name').primaryKey(),
  value: bytea('value').notNull(),
  createdAt: text('created_at').notNull(),
});

/**
 * The chain's head: one row (id 1), locked FOR UPDATE by every append, so replicas take seqs one
 * after another and never fork the chain. A batch of appends locks and updates it once.
 */
export const auditHead = pgTable('audit_head', {
  id: integer('id').primaryKey(),
  seq: integer('seq').notNull(),
  hash: text('hash').notNull(),
  time: text('time').notNull(),
});

export const auditLog = pgTable(
  'audit_log',
  {
    seq: integer('seq').primaryKey(),
    prevHash: text('prev_hash').notNull(),
    hash: text('hash').notNull(),
    decisionId: text('decision_id').notNull(),
    time: text('time').notNull(),
    requestId: text('request_id').notNull(),
    sourceIp: text('source_ip'),
    principalIssuer: text('principal_issuer'),
    principalSubject: text('principal_subject'),
    principalGroups: text('principal_groups'),
    action: text('action').notNull(),
    resource: text('resource'),
    decision: text('decision').notNull(),
    reason: text('reason'),
    determiningPolicies: text('determining_policies').notNull(),
    errors: text('errors').notNull(),
    policySetHash: text('policy_set_hash'),
    request: text('request').notNull(),
    changes: text('changes').notNull(),
    outcome: text('outcome').notNull(),
    httpStatus: integer('http_status').notNull(),
    repositoryArn: text('repository_arn'),
    domainArn: text('domain_arn'),
    packageName: text('package_name'),
  },
  // No index on decision_id, as in SQLite: nothing looks a record up by it, and a random UUID's
  // index dirties a page of its own per record written.
  (t) => [
    index('audit_log_time').on(t.time),
    index('audit_log_resource_seq').on(t.resource, t.seq),
    index('audit_log_repository_seq').on(t.repositoryArn, t.seq),
    index('audit_log_domain_seq').on(t.domainArn, t.seq),
    index('audit_log_principal_seq').on(t.principalSubject, t.seq),
    index('audit_log_action_seq').on(t.action, t.seq),
    index('audit_log_decision_seq').on(t.decision, t.seq),
    index('audit_log_package_seq').on(t.packageName, t.seq),
  ],
);

export const auditVersions = pgTable(
  'audit_versions',
  {
    seq: integer('seq')
      .notNull()
      .references(() => auditLog.seq),
    version: text('version').notNull(),
  },
  // By seq too: every audit page and every verify batch reads the versions of a run of records
  // (without it, each read scanned the whole table: 53 ms a page at a million rows, and a verify
  // walk grew with the square of the log).
  (t) => [uniqueIndex('audit_versions_version_seq').on(t.version, t.seq), index('audit_versions_seq').on(t.seq)],
);
