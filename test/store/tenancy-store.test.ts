/**
 * The tenancy changes at the store: each commits with its audit record or not at all, and every
 * check is made inside the transaction that would make the change.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.ts';
import { seedDemo } from '../../src/cli/seed-demo.ts';
import { openBlobStore } from '../../src/store/blob-store.ts';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import type { Store } from '../../src/store/store.ts';
import { auditInput } from '../helpers/audit-input.ts';

const OWNER = '111122223333';

describe('SQLite store: domains and repositories', () => {
  let dir: string;
  let store: Store;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vg-tenancy-store-'));
    store = openSqliteStore({ file: join(dir, 'db.sqlite'), clock: systemClock });
    await seedDemo(store, openBlobStore(join(dir, 'blobs')));
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const auditCount = async () => (await store.auditHead())?.seq ?? 0;

  it('a refused change writes nothing, not even its audit record', async () => {
    const before = await auditCount();
    const refusals = await Promise.all([
      store.applyTenancyChange({ kind: 'createDomain', owner: OWNER, domain: 'my_domain' }, auditInput()),
      store.applyTenancyChange({ kind: 'createRepository', owner: OWNER, domain: 'my_domain', repository: 'new', description: null, upstreams: ['ghost'] }, auditInput()),
      store.applyTenancyChange({ kind: 'deleteRepository', owner: OWNER, domain: 'my_domain', repository: 'my_repo' }, auditInput()),
      store.applyTenancyChange({ kind: 'deleteDomain', owner: OWNER, domain: 'my_domain' }, auditInput()),
      store.applyTenancyChange({ kind: 'updateRepository', owner: OWNER, domain: 'nowhere', repository: 'r', description: 'x' }, auditInput()),
    ]);
    expect(refusals).toEqual([
      { ok: false, reason: 'domain_exists' },
      { ok: false, reason: 'upstream_missing', upstream: 'ghost' },
      { ok: false, reason: 'repository_holds_versions', versions: 5 },
      { ok: false, reason: 'domain_not_empty' },
      { ok: false, reason: 'domain_missing' },
    ]);
    expect(await auditCount()).toBe(before);
    expect(await store.describeRepository(OWNER, 'my_domain', 'new')).toBeNull();
    expect((await store.describeDomain(OWNER, 'my_domain'))?.repositoryCount).toBe(3);
  });

  it('two creations of the same repository in one group commit: one is made, the other refused', async () => {
    const create = () => store.applyTenancyChange({ kind: 'createRepository', owner: OWNER, domain: 'my_domain', repository: 'twin', description: null, upstreams: [] }, auditInput());
    const results = await Promise.all([create(), create()]);
    expect(results.map((r) => r.ok).sort()).toEqual([false, true]);
    expect(results.find((r) => !r.ok)).toEqual({ ok: false, reason: 'repository_exists' });
    expect((await store.listRepositoryPage({ domain: { owner: OWNER, name: 'my_domain' }, prefix: 'tw', limit: 10 })).map((r) => r.name)).toEqual(['twin']);
  });

  it('deleting a repository whose versions are all Deleted or Disposed removes them with it', async () => {
    const before = await auditCount();
    const key = { domainOwner: OWNER, domain: 'my_domain', repository: 'prod', format: 'npm' as const, namespace: '', name: 'chalk' };
    const snap = await store.readPackage(key, ['4.1.1']);
    const v = snap.versions.get('4.1.1')!;
    const disposed = await store.commitVersionChanges({
      packageId: snap.packageId,
      guards: [{ version: '4.1.1', revision: v.revision }],
      changes: [{ version: '4.1.1', before: { status: v.status, revision: v.revision }, after: { status: 'Disposed', revision: 'r2' } }],
      disposeAssets: true,
      audit: auditInput(),
    });
    expect(disposed.ok).toBe(true);
    const result = await store.applyTenancyChange({ kind: 'deleteRepository', owner: OWNER, domain: 'my_domain', repository: 'prod' }, auditInput());
    expect(result).toMatchObject({ ok: true, repository: { name: 'prod' }, domain: { repositoryCount: 2 } });
    expect(await auditCount()).toBe(before + 2);
    expect((await store.readPackage(key, ['4.1.1'])).repositoryExists).toBe(false);
  });
});
