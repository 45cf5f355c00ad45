/**
 * The store's side of CopyPackageVersions: the copies and their audit record commit together, only
 * while both sides still have the revisions the decision was made on; a stale guard writes nothing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.ts';
import { seedDemo } from '../../src/cli/seed-demo.ts';
import { planCopy } from '../../src/registry/plan-copy.ts';
import { openBlobStore } from '../../src/store/blob-store.ts';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import type { CopyCommit, PackageKey, Store } from '../../src/store/store.ts';
import { auditInput } from '../helpers/audit-input.ts';

const source: PackageKey = { domainOwner: '111122223333', domain: 'my_domain', repository: 'my_repo', format: 'npm', namespace: '', name: 'chalk' };
const destination: PackageKey = { ...source, repository: 'staging' };
let n = 0;
const rev = () => `R${++n}`;

describe('commitVersionCopies', () => {
  let dir: string;
  let store: Store;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vg-copy-store-'));
    store = openSqliteStore({ file: join(dir, 'db.sqlite'), clock: systemClock });
    await seedDemo(store, openBlobStore(join(dir, 'blobs')));
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A commit planned on the current state of both packages. */
  async function planned(versions: string[]): Promise<CopyCommit> {
    const src = await store.readPackage(source, versions);
    const dst = await store.readPackage(destination, versions);
    const plan = planCopy({ repository: 'my_repo', versions: src.versions }, { repository: 'staging', versions: dst.versions }, { versions, versionRevisions: {}, allowOverwrite: false }, rev);
    return {
      source: { packageId: src.packageId!, guards: [...src.versions.values()].map((v) => ({ version: v.version, revision: v.revision })) },
      destination: { key: destination, packageId: dst.packageId, guards: versions.map((version) => ({ version, revision: dst.versions.get(version)?.revision ?? null })) },
      copies: plan.copies,
      audit: { ...auditInput({ outcome: 'applied' }), changes: plan.copies },
    };
  }

  it('creates the destination package and its versions with the source assets (same blob keys), their syncs awaiting, and the audit record', async () => {
    const auditBefore = (await store.auditHead())?.seq ?? 0;
    const commit = await planned(['4.0.0', '4.1.0']);
    const result = await store.commitVersionCopies(commit);
    expect(result).toMatchObject({ ok: true, blobsToDelete: [] });
    const copied = await store.readVersion(destination, '4.1.0', 'chalk-4.1.0.tgz');
    const original = await store.readVersion(source, '4.1.0', 'chalk-4.1.0.tgz');
    expect(copied.version).toMatchObject({ status: 'Published', revision: commit.copies[1]!.after.revision, assetCount: 1, syncState: 'awaiting' });
    expect(copied.version!.identifier).not.toBe(original.version!.identifier);
    expect(copied.asset).toEqual(original.asset);
    expect((await store.auditHead())!.seq).toBe(auditBefore + 1);
  });

  it('writes nothing when a source version changed after the decision (stale), nor when the destination gained the version', async () => {
    const commit = await planned(['4.0.0', '4.1.0']);
    const snap = await store.readPackage(source, ['4.1.0']);
    const v = snap.versions.get('4.1.0')!;
    await store.commitVersionChanges({
      packageId: snap.packageId!,
      guards: [{ version: '4.1.0', revision: v.revision }],
      changes: [{ version: '4.1.0', before: { status: v.status, revision: v.revision }, after: { status: 'Archived', revision: 'ARCHIVED' } }],
      disposeAssets: false,
      audit: auditInput({ outcome: 'applied' }),
    });
    const auditBefore = (await store.auditHead())!.seq;
    expect(await store.commitVersionCopies(commit)).toEqual({ ok: false, reason: 'stale', staleVersions: ['4.1.0'] });
    expect((await store.readPackage(destination, ['4.0.0'])).packageId).toBeNull();
    expect((await store.auditHead())!.seq).toBe(auditBefore);

    const fresh = await planned(['4.0.0']);
    expect((await store.commitVersionCopies(await planned(['4.0.0']))).ok).toBe(true);
    // Planned when 4.0.0 was not in staging: it is now, so the guard (null) is stale.
    expect(await store.commitVersionCopies(fresh)).toEqual({ ok: false, reason: 'stale', staleVersions: ['4.0.0'] });
  });
});
