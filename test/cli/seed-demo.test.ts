/**
 * `seed demo` run again restores the demo versions a reader deleted or disposed (the README does
 * both), with their demo asset, audited; versions in any other status are left as they are.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
    const records = (await store.listAudit({ limit: 20 })).filter((r) => r.action === 'SeedDemo');
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

  it('restores nothing and reports every version as existing when nothing was deleted or disposed', async () => {
    const report = await seedDemo(store, blobs);
    expect(report).toMatchObject({ created: [], restored: [], versionsCreated: 0 });
    expect(report.existing).toHaveLength(10);
    expect((await store.listAudit({ limit: 50 })).filter((r) => r.action === 'SeedDemo')).toEqual([]);
  });
});
