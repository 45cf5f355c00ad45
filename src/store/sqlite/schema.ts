/** The SQLite schema. Migrations in drizzle/sqlite are generated from this file by drizzle-kit. */
import { blob, index, integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';

export const domains = sqliteTable(
  'domains',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    owner: text('owner').notNull(),
    name: text('name').notNull(),
    createdAt: text('created_at').notNull(),
  },
  (t) => [uniqueIndex('domains_owner_name').on(t.owner, t.name), index('domains_name').on(t.name)],
);

export const repositories = sqliteTable(
  'repositories',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    domainId: integer('domain_id')
      .notNull()
      .references(() => domains.id),
    name: text('name').notNull(),
    createdAt: text('created_at').notNull(),
    /** CreateRepository / UpdateRepository's description; null when none was given. */
    description: text('description'),
    /**
     * The upstream repositories' names in priority order, a JSON array. Stored and described only:
     * versiongate resolves no package through them (see the README).
     */
    upstreams: text('upstreams').notNull().default('[]'),
  },
  (t) => [uniqueIndex('repositories_domain_name').on(t.domainId, t.name)],
);

export const packages = sqliteTable(
  'packages',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    repositoryId: integer('repository_id')
      .notNull()
      .references(() => repositories.id),
    format: text('format').notNull(),
    /** '' when the package has no namespace, so the unique index holds. */
    namespace: text('namespace').notNull(),
    name: text('name').notNull(),
    createdAt: text('created_at').notNull(),
    /**
     * CodeArtifact's package origin restrictions (PutPackageOriginConfiguration), ALLOW or BLOCK. A
     * package first added by publishing gets publish ALLOW, upstream BLOCK, as CodeArtifact sets them.
     */
    originPublish: text('origin_publish').notNull().default('ALLOW'),
    originUpstream: text('origin_upstream').notNull().default('BLOCK'),
  },
  (t) => [uniqueIndex('packages_coordinates').on(t.repositoryId, t.format, t.namespace, t.name)],
);

export const packageVersions = sqliteTable(
  'package_versions',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    packageId: integer('package_id')
      .notNull()
      .references(() => packages.id),
    version: text('version').notNull(),
    /** Permanent, unique, URL-safe (12 base62 characters): the version's own name, never reused. */
    identifier: text('identifier').notNull(),
    status: text('status').notNull(),
    revision: text('revision').notNull(),
    publishedAt: text('published_at').notNull(),
    statusUpdatedAt: text('status_updated_at').notNull(),
    /** Metadata the last completed sync extracted from the assets (null: none found, or never synced). */
    summary: text('summary'),
    homePage: text('home_page'),
    sourceCodeRepository: text('source_code_repository'),
    /** A JSON array of license names. */
    licenses: text('licenses'),
    /** The README the last completed sync found (an npm tarball's package/README*), or null. */
    readme: text('readme'),
    /** A JSON array of the manifest's dependencies ({namespace, package, dependencyType, versionRequirement}), or null. */
    dependencies: text('dependencies'),
  },
  (t) => [
    uniqueIndex('package_versions_package_version').on(t.packageId, t.version),
    uniqueIndex('package_versions_identifier').on(t.identifier),
    // ListPackageVersions sorted by PUBLISHED_TIME pages through this (the rowid breaks ties).
    index('package_versions_package_published').on(t.packageId, t.publishedAt),
  ],
);

/**
 * Each version's synchronisation job (one row per version, reused by every resync): awaiting ->
 * in_progress -> completed | failed. A failed attempt goes back to awaiting with a later
 * next_attempt_at until the attempts run out. A job in_progress at start goes back to awaiting.
 */
export const syncJobs = sqliteTable(
  'sync_jobs',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
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
    /**
     * Bumped by every claim and every (re)schedule: a worker's writes name the generation it claimed,
     * so a worker whose job was superseded meanwhile (a new asset published, a restart) changes nothing.
     */
    generation: integer('generation').notNull().default(0),
  },
  (t) => [uniqueIndex('sync_jobs_version').on(t.versionId), index('sync_jobs_state_next').on(t.state, t.nextAttemptAt)],
);

export const assets = sqliteTable(
  'assets',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    versionId: integer('version_id')
      .notNull()
      .references(() => packageVersions.id),
    name: text('name').notNull(),
    size: integer('size').notNull(),
    md5: text('md5').notNull(),
    sha1: text('sha1').notNull(),
    sha256: text('sha256').notNull(),
    sha512: text('sha512').notNull(),
    blobKey: text('blob_key').notNull(),
  },
  // A copied version's assets share their source's blob keys: bytes are deleted only when no record uses them.
  (t) => [uniqueIndex('assets_version_name').on(t.versionId, t.name), index('assets_blob_key').on(t.blobKey)],
);

/**
 * Bytes that no record claims: those of disposed or deleted assets, removed after the commit that
 * orphaned them, and those of an upload in progress, reserved before the first byte is written and
 * claimed by the commit that adds the asset. Whatever a crash leaves here is removed at the next start.
 */
export const blobDeletions = sqliteTable('blob_deletions', {
  blobKey: text('blob_key').primaryKey(),
  queuedAt: text('queued_at').notNull(),
});

/**
 * Secrets the gateway generates for itself on first use, such as the key that signs pagination tokens.
 * Kept in the database so that every instance sharing it agrees, and a restart keeps tokens valid.
 */
export const secrets = sqliteTable('secrets', {
  name: text('name').primaryKey(),
  value: blob('value', { mode: 'buffer' }).notNull(),
  createdAt: text('created_at').notNull(),
});

/**
 * The audit log: a hash chain. Each record's hash is SHA-256 over the canonical encoding of its
 * fields including `seq` and `prev_hash` (see src/audit/audit-hash.ts). The columns after
 * `http_status` are derived from the hashed fields, for indexed queries; verify checks them too.
 */
export const auditLog = sqliteTable(
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
    // JSON-valued columns hold the canonical encoding (src/audit/audit-hash.ts), which is what
    // the hash covers: verify reads these texts as they are, and any edit to them shows.
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
  // No index on decision_id: nothing looks a record up by it, and a random UUID's index took a page
  // of its own per record written (about a third of the WAL a status change wrote, at 200,000 records).
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

/** The versions each record names (request and changes), for the `version` filter. */
export const auditVersions = sqliteTable(
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
