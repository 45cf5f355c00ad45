/**
 * The compare-and-set path, made deterministic: a store wrapper changes a version between the
 * operation's read (and Cedar's decision) and its commit.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Principal } from '../../src/auth/principal.ts';
import { systemClock } from '../../src/clock.ts';
import { silentLogger } from '../../src/log.ts';
import { changeVersions } from '../../src/operations/change-versions.ts';
import { PolicyEngine } from '../../src/policy/engine.ts';
import { loadPolicyDir } from '../../src/policy/load-policies.ts';
import { parseCoordinates } from '../../src/resource/coordinates.ts';
import type { PackageKey, Store } from '../../src/store/store.ts';
import { REPO_POLICIES, testGateway, type TestGateway } from '../helpers/gateway.ts';

const key: PackageKey = { domainOwner: '111122223333', domain: 'my_domain', repository: 'my_repo', format: 'npm', namespace: '', name: 'chalk' };
const alice: Principal = { issuer: 'urn:versiongate:dev', subject: 'alice', groups: ['release-managers'] };
const maintainer: Principal = { issuer: 'urn:versiongate:dev', subject: 'mo', groups: ['maintainers'] };
const coordinates = parseCoordinates({ domain: 'my_domain', domainOwner: '111122223333', repository: 'my_repo', format: 'npm', package: 'chalk' });

describe('changeVersions under concurrent change', () => {
  let gw: TestGateway;
  const engine = new PolicyEngine(loadPolicyDir(REPO_POLICIES));
  beforeEach(async () => {
    gw = await testGateway();
  });
  afterEach(() => gw.close());

  /** A store whose next commit is preceded by another writer's change to `version`. */
  function racingStore(target: 'Archived' | 'Unlisted', times = 1): Store {
    let races = times;
    return new Proxy(gw.store, {
      get(real, prop, receiver) {
        if (prop === 'commitVersionChanges') {
          return async (commit: Parameters<Store['commitVersionChanges']>[0]) => {
            if (races-- > 0) {
              const snap = await real.readPackage(key, ['4.1.0']);
              const v = snap.versions.get('4.1.0')!;
              await real.commitVersionChanges({
                packageId: snap.packageId!,
                guards: [{ version: '4.1.0', revision: v.revision }],
                changes: [{ version: '4.1.0', before: { status: v.status, revision: v.revision }, after: { status: target, revision: `racer-${races}` } }],
                disposeAssets: false,
                audit: { ...commit.audit, decisionId: crypto.randomUUID(), requestId: 'racer' },
              });
            }
            return real.commitVersionChanges(commit);
          };
        }
        return Reflect.get(real, prop, receiver);
      },
    });
  }

  const deps = (store: Store) => ({ store, blobs: gw.blobs, authorizer: () => engine, clock: systemClock, region: 'us-east-1', accountId: '111122223333', logger: silentLogger });
  const request = (principal: Principal, targetStatus: 'Published' | 'Unlisted' | 'Archived') => ({
    caller: { principal, meta: { requestId: 'mine', sourceIp: null } },
    coordinates,
    versions: ['4.1.0'],
    versionRevisions: {},
    operation: { kind: 'update' as const, targetStatus },
  });

  it('re-reads and re-decides when a version changed after the decision', async () => {
    const result = await changeVersions(deps(racingStore('Unlisted')), request(alice, 'Archived'));
    expect(result.successfulVersions['4.1.0']!.status).toBe('Archived');
    const mine = (await gw.store.listAudit({ limit: 10 })).filter((r) => r.requestId === 'mine');
    expect(mine).toHaveLength(1);
    expect(mine[0]!.changes[0]!.before).toEqual({ status: 'Unlisted', revision: 'racer-0' });
  });

  it('a decision made on stale state is never applied: the fresh state is judged again and denied', async () => {
    // A maintainer may publish a Published version (a no-op) but not restore an Archived one. The racer
    // archives 4.1.0 after the maintainer's request was allowed; the retry sees Archived and is denied.
    await expect(changeVersions(deps(racingStore('Archived')), request(maintainer, 'Published'))).rejects.toMatchObject({ status: 403 });
    expect((await gw.store.readPackage(key, ['4.1.0'])).versions.get('4.1.0')!.status).toBe('Archived');
  });

  it('gives up with a ConflictError after repeated races, changing nothing', async () => {
    await expect(changeVersions(deps(racingStore('Unlisted', 10)), request(alice, 'Archived'))).rejects.toMatchObject({ status: 409, type: 'ConflictException' });
    const mine = (await gw.store.listAudit({ limit: 50 })).filter((r) => r.requestId === 'mine');
    expect(mine.map((r) => r.outcome)).toEqual(['conflict']);
    expect((await gw.store.readPackage(key, ['4.1.0'])).versions.get('4.1.0')!.status).toBe('Unlisted');
  });
});
