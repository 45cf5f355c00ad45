/**
 * `seed demo` records what it creates (its domain, repositories and versions) as SeedDemo changes,
 * each in the transaction that writes it, so `audit verify --state` checks the demo as any other
 * versions. Run again, it restores the demo versions a reader deleted or disposed (the README does
 * both), with their demo asset, audited; versions in any other status are left as they are.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { verifyChain } from '../../src/audit/verify-chain.ts';
import { systemClock } from '../../src/clock.ts';
import { DEMO_DOMAIN, DEMO_OWNER, seedDemo } from '../../src/cli/seed-demo.ts';
import { openBlobStore, type BlobStore } from '../../src/store/blob-store.ts';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import type { PackageKey, Store } from '../../src/store/store.ts';
import type { VersionStatus } from '../../src/registry/statuses.ts';
import { auditInput } from '../helpers/audit-input.ts';

const chalk: PackageKey = { domainOwner: DEMO_OWNER, domain: DEMO_DOMAIN, repository: 'my_repo', format: 'npm', namespace: '', name: 'chalk' };

describe('seed demo, run again', () => {
  let dir: string;
  let store: Store;
  let blobs: BlobStore;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'versiongate-seed-'));
    store = openSqliteStore({ file: join(dir, 'db.sqlite'), clock: systemClock });
    blobs = openBlobStore(join(dir, 'blobs'));
    await seedDemo(store, blobs);
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A status change as the API commits it: Deleted and Disposed remove the asset records. */
  const setStatus = async (version: string, status: VersionStatus) => {
    const snap = await store.readPackage(chalk, [version]);
    const v = snap.versions.get(version)!;
    const result = await store.commitVersionChanges({
      packageId: snap.packageId!,
      guards: [{ version, revision: v.revision }],
      changes: [{ version, before: { status: v.status, revision: v.revision }, after: { status, revision: `r-${status}` } }],
      disposeAssets: status === 'Deleted' || status === 'Disposed',
      audit: auditInput(),
    });
    expect(result.ok).toBe(true);
    return result.ok ? result.blobsToDelete : [];
  };
  const version = async (v: string) => (await store.readVersion(chalk, v, `chalk-${v}.tgz`)).version!;

  it('publishes deleted and disposed demo versions again with their demo asset, and leaves an archived one', async () => {
    const assetBefore = (await store.readVersion(chalk, '4.0.0', 'chalk-4.0.0.tgz')).asset!;
    const identifierBefore = (await version('4.0.0')).identifier;
    for (const key of await setStatus('4.0.0', 'Deleted')) await blobs.remove(key);
    for (const key of await setStatus('4.1.0', 'Disposed')) await blobs.remove(key);
    await setStatus('4.1.1', 'Archived');
    const disposedIdentifier = (await version('4.1.0')).identifier;

    const report = await seedDemo(store, blobs);
    expect(report.restored).toEqual(['my_repo: npm chalk 4.0.0 (was Deleted)', 'my_repo: npm chalk 4.1.0 (was Disposed)']);
    expect(report.created).toEqual([]);
    expect(report.existing).toContain('my_repo: npm chalk 4.1.1');
    expect(report.versionsCreated).toBe(2);

    const deleted = await version('4.0.0');
    expect(deleted).toMatchObject({ status: 'Published', assetCount: 1, syncState: 'awaiting' });
    // Deleted and published again is a new version: a new identifier, as a publish gives it.
    expect(deleted.identifier).not.toBe(identifierBefore);
    const disposed = await version('4.1.0');
    expect(disposed).toMatchObject({ status: 'Published', assetCount: 1, syncState: 'awaiting', identifier: disposedIdentifier });
    expect((await version('4.1.1')).status).toBe('Archived');

    // The same bytes as the first seed gave it, readable from the blob store.
    const asset = (await store.readVersion(chalk, '4.0.0', 'chalk-4.0.0.tgz')).asset!;
    expect(asset).toMatchObject({ size: assetBefore.size, sha256: assetBefore.sha256 });
    const opened = await blobs.open(asset.blobKey);
    const chunks: Buffer[] = [];
    for await (const c of opened.stream) chunks.push(Buffer.from(c));
    expect(Buffer.concat(chunks).length).toBe(assetBefore.size);

    // Each restore is one audited change in the chain.
    const records = (await store.listAudit({ limit: 20 })).filter((r) => r.action === 'SeedDemo' && (r.request as { restore?: boolean }).restore === true);
    expect(records).toHaveLength(2);
    expect(records.map((r) => r.changes)).toEqual(
      expect.arrayContaining([
        [{ version: '4.0.0', before: { status: 'Deleted', revision: 'r-Deleted' }, after: { status: 'Published', revision: deleted.revision } }],
        [{ version: '4.1.0', before: { status: 'Disposed', revision: 'r-Disposed' }, after: { status: 'Published', revision: disposed.revision } }],
      ]),
    );
    expect(records.every((r) => r.resource === 'arn:aws:codeartifact:us-east-1:111122223333:package/my_domain/my_repo/npm//chalk' && r.outcome === 'applied')).toBe(true);
    expect((await verifyChain(store)).ok).toBe(true);

    // A third run finds nothing to restore.
    expect((await seedDemo(store, blobs)).restored).toEqual([]);
  });

  it('restores nothing, reports every version as existing and records nothing when nothing was deleted or disposed', async () => {
    const head = await store.auditHead();
    const report = await seedDemo(store, blobs);
    expect(report).toMatchObject({ created: [], restored: [], versionsCreated: 0 });
    expect(report.existing).toHaveLength(10);
    expect(await store.auditHead()).toEqual(head);
  });
});

describe('seed demo, on an empty store', () => {
  let dir: string;
  let file: string;
  let store: Store;
  let blobs: BlobStore;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'versiongate-seed-'));
    file = join(dir, 'db.sqlite');
    store = openSqliteStore({ file, clock: systemClock });
    blobs = openBlobStore(join(dir, 'blobs'));
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const DOMAIN_ARN = 'arn:aws:codeartifact:us-east-1:111122223333:domain/my_domain';
  const REPOSITORY_ARN = 'arn:aws:codeartifact:us-east-1:111122223333:repository/my_domain';
  const PACKAGE_ARN = 'arn:aws:codeartifact:us-east-1:111122223333:package/my_domain';
  /** What every record of the seed has: the operator's local command, no principal, no Cedar decision. */
  const SEEDED = { action: 'SeedDemo', requestId: 'seed-demo', principal: null, sourceIp: null, decision: 'none', reason: null, determiningPolicies: [], errors: [], policySetHash: null, outcome: 'applied', httpStatus: 0 };

  it('records its domain, each repository and each version it creates, as a publish records a new version', async () => {
    await seedDemo(store, blobs);
    const records = await store.readAuditRange(0, 100);
    const created = async (repository: string, format: 'npm' | 'maven', namespace: string, name: string, version: string) => {
      const row = (await store.readVersion({ domainOwner: DEMO_OWNER, domain: DEMO_DOMAIN, repository, format, namespace, name }, version)).version!;
      expect(row).toMatchObject({ status: 'Published', syncState: 'awaiting' });
      return {
        ...SEEDED,
        resource: `${PACKAGE_ARN}/${repository}/${format}/${namespace}/${name}`,
        request: { versions: [version], assetName: expect.stringMatching(/\.(tgz|pom)$/) },
        changes: [{ version, before: { status: 'Deleted', revision: '' }, after: { status: 'Published', revision: row.revision } }],
        derived: { repositoryArn: `${REPOSITORY_ARN}/${repository}`, domainArn: DOMAIN_ARN, packageName: name, versions: [version] },
      };
    };
    expect(records).toEqual([
      expect.objectContaining({ ...SEEDED, resource: `Domain::"${DOMAIN_ARN}"`, request: { create: 'domain', domain: 'my_domain' }, changes: [], derived: { repositoryArn: null, domainArn: DOMAIN_ARN, packageName: null, versions: [] } }),
      ...['my_repo', 'prod', 'staging'].map((repository) =>
        expect.objectContaining({
          ...SEEDED,
          resource: `Domain::"${DOMAIN_ARN}"`,
          request: { create: 'repository', domain: 'my_domain', repository },
          changes: [],
          // In the repository's scope, as CreateRepository's record is.
          derived: { repositoryArn: `${REPOSITORY_ARN}/${repository}`, domainArn: DOMAIN_ARN, packageName: null, versions: [] },
        }),
      ),
      expect.objectContaining(await created('my_repo', 'npm', '', 'chalk', '4.0.0')),
      expect.objectContaining(await created('my_repo', 'npm', '', 'chalk', '4.1.0')),
      expect.objectContaining(await created('my_repo', 'npm', '', 'chalk', '4.1.1')),
      expect.objectContaining(await created('my_repo', 'npm', 'nestjs', 'core', '8.0.0')),
      expect.objectContaining(await created('my_repo', 'maven', 'org.apache.logging.log4j', 'log4j', '2.13.1')),
      expect.objectContaining(await created('prod', 'npm', '', 'chalk', '4.1.1')),
    ]);
    expect((await verifyChain(store)).ok).toBe(true);
  });

  it('names the region it is given in its records\' ARNs', async () => {
    await seedDemo(store, blobs, { region: 'eu-west-1' });
    const resources = new Set((await store.readAuditRange(0, 100)).map((r) => r.resource));
    expect(resources).toContain('Domain::"arn:aws:codeartifact:eu-west-1:111122223333:domain/my_domain"');
    expect(resources).toContain('arn:aws:codeartifact:eu-west-1:111122223333:package/my_domain/prod/npm//chalk');
    expect([...resources].every((r) => r!.includes(':eu-west-1:'))).toBe(true);
  });

  it('writes a version and its record together: a record the log refuses leaves no version, and the next run creates it', async () => {
    // The log refuses log4j's record (as a full disk or a failed write would), inside the commit.
    const db = new Database(file);
    db.exec(`CREATE TRIGGER refuse_log4j BEFORE INSERT ON audit_log WHEN NEW.resource LIKE '%/log4j' BEGIN SELECT RAISE(ABORT, 'the audit log refuses this record'); END`);
    await expect(seedDemo(store, blobs)).rejects.toThrow('the audit log refuses this record');
    const log4j: PackageKey = { domainOwner: DEMO_OWNER, domain: DEMO_DOMAIN, repository: 'my_repo', format: 'maven', namespace: 'org.apache.logging.log4j', name: 'log4j' };
    expect((await store.readVersion(log4j, '2.13.1')).version).toBeNull();
    // What was written before it is whole: every row with its record.
    const versionRecords = (await store.readAuditRange(0, 100)).filter((r) => r.changes.length > 0);
    expect(versionRecords.map((r) => `${r.resource!.split('/').slice(-4).join('/')}@${r.changes[0]!.version}`)).toEqual([
      'my_repo/npm//chalk@4.0.0',
      'my_repo/npm//chalk@4.1.0',
      'my_repo/npm//chalk@4.1.1',
      'my_repo/npm/nestjs/core@8.0.0',
    ]);

    db.exec('DROP TRIGGER refuse_log4j');
    db.close();
    const again = await seedDemo(store, blobs);
    expect(again.created).toEqual(['my_repo: maven org.apache.logging.log4j/log4j 2.13.1', 'prod: npm chalk 4.1.1']);
    expect((await store.readVersion(log4j, '2.13.1')).version).toMatchObject({ status: 'Published' });
    expect((await verifyChain(store)).ok).toBe(true);
  });
});
