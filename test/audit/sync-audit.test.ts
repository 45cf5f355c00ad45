/**
 * A completed sync changes the version's revision, so it is audited like every other change, in the
 * same transaction; a version disposed while its sync waited is left alone and the job says why.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { verifyChain } from '../../src/audit/verify-chain.ts';
import { systemClock } from '../../src/clock.ts';
import { silentLogger } from '../../src/log.ts';
import type { PackageKey } from '../../src/store/store.ts';
import { createSyncWorker, type SyncWorker } from '../../src/sync/sync-worker.ts';
import { CHALK, DISPOSE, testGateway, type TestGateway } from '../helpers/gateway.ts';

const chalk: PackageKey = { domainOwner: '111122223333', domain: 'my_domain', repository: 'my_repo', format: 'npm', namespace: '', name: 'chalk' };

describe('syncs in the audit log', () => {
  let gw: TestGateway;
  let worker: SyncWorker;
  let maintainer: string;
  beforeEach(async () => {
    gw = await testGateway();
    worker = createSyncWorker({ store: gw.store, blobs: gw.blobs, clock: systemClock, log: silentLogger, settings: { concurrency: 1, maxAttempts: 1, retryBaseMs: 0, pollMs: 10 } });
    maintainer = await gw.token('mia', ['maintainers']);
  });
  afterEach(() => gw.close());

  const resync = async (version: string) => {
    const id = (await gw.store.readVersion(chalk, version)).version!.identifier;
    expect((await gw.post(`/v1/packages/my_domain/my_repo/${id}/resync/`, {}, maintainer)).status).toBe(200);
    return id;
  };

  it('records the new revision a completed sync sets, before and after, and the chain stays intact', async () => {
    await resync('4.1.0');
    const before = (await gw.store.readVersion(chalk, '4.1.0')).version!.revision;
    expect(await worker.runOnce()).toBe(true);
    const after = (await gw.store.readVersion(chalk, '4.1.0')).version!.revision;
    expect(after).not.toBe(before);
    const [record] = await gw.store.listAudit({ limit: 1, filter: { action: 'SyncPackageVersion' } });
    expect(record).toMatchObject({
      principal: null,
      decision: 'none',
      outcome: 'applied',
      resource: 'arn:aws:codeartifact:us-east-1:111122223333:package/my_domain/my_repo/npm//chalk',
      changes: [{ version: '4.1.0', before: { status: 'Published', revision: before }, after: { status: 'Published', revision: after } }],
    });
    expect((await verifyChain(gw.store)).ok).toBe(true);
  });

  it('leaves a version disposed while its sync waited untouched, and fails the job with the reason', async () => {
    const seqBefore = (await gw.store.auditHead())!.seq;
    const id = await resync('4.0.0');
    expect((await gw.post(`${DISPOSE}?${CHALK}`, { versions: ['4.0.0'] }, await gw.token('sam', ['security']))).status).toBe(200);
    const disposed = (await gw.store.readVersion(chalk, '4.0.0')).version!;
    await worker.runOnce();
    const now = (await gw.store.readVersion(chalk, '4.0.0')).version!;
    expect(now).toMatchObject({ status: 'Disposed', revision: disposed.revision });
    // No sync record since the resync (the seeded versions' own syncs come before it).
    expect((await gw.store.listAudit({ limit: 5, filter: { action: 'SyncPackageVersion' } })).filter((r) => r.seq > seqBefore)).toEqual([]);
    const status = await (await gw.get(`/v1/packages/my_domain/my_repo/${id}/status/`, maintainer)).json();
    expect(status.status_reason).toBe('The version was disposed while its sync ran; nothing was changed.');
  });
});
