/**
 * The per-request deadline: a change that has not started committing by its deadline is not made,
 * and the client is told so (503 in CodeArtifact's envelope); a commit that started completes and
 * answers normally. The slow step is a store decorator, and the only timing relied on is that a
 * 200 ms sleep outlasts a 20 ms deadline.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/store.ts';
import { CHALK } from '../helpers/gateway.ts';
import { CHALK_KEY, opsApp, post, sample, type OpsApp } from './ops-app.ts';

const UPDATE = `/v1/package/versions/update_status?${CHALK}`;

/** A store whose named method runs `around` in place of the original. */
function decorate<K extends keyof Store>(name: K, around: (original: Store[K], store: Store) => Store[K]) {
  return (store: Store): Store =>
    new Proxy(store, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver);
        if (property !== name) return typeof value === 'function' ? value.bind(target) : value;
        return around((value as Store[K] & ((...a: unknown[]) => unknown)).bind(target) as Store[K], target);
      },
    });
}

const slowRead = (ms: number) =>
  decorate('readPackage', (original) => (async (...args: Parameters<Store['readPackage']>) => {
    const snapshot = await original(...args);
    await sleep(ms);
    return snapshot;
  }) as Store['readPackage']);

async function state(gw: OpsApp, version: string) {
  const v = (await gw.store.readPackage(CHALK_KEY, [version])).versions.get(version)!;
  return { status: v.status, revision: v.revision };
}

describe('the per-request deadline', () => {
  let gw: OpsApp;
  afterEach(() => gw.close());

  it('answers 503 and changes nothing when the deadline passes before the commit', async () => {
    gw = await opsApp({ requestDeadlineMs: 20, decorateStore: slowRead(200) });
    const before = await state(gw, '4.1.0');
    // The seed's records come first: the request's are those after them.
    const seeded = (await gw.store.auditHead())!.seq;
    const token = await gw.token('alice', ['release-managers']);
    const res = await gw.request(UPDATE, post({ versions: ['4.1.0'], targetStatus: 'Archived' }, token));
    expect(res.status).toBe(503);
    expect(res.headers.get('x-amzn-errortype')).toBe('ServiceUnavailableException');
    expect(res.headers.get('retry-after')).toBe('5');
    expect(res.headers.get('x-request-id')).toBeTruthy();
    expect(await res.json()).toEqual({ message: 'The request did not finish within its 20 ms deadline. Nothing was changed; try again.' });
    expect(await state(gw, '4.1.0')).toEqual(before);
    // Cedar allowed it, but nothing was committed: the decision is recorded as a timeout, with no changes.
    const records = await gw.store.readAuditRange(seeded, 10);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ decision: 'allow', outcome: 'timeout', httpStatus: 503, changes: [] });
    const text = await (await gw.request('/metrics')).text();
    expect(sample(text, 'versiongate_audit_records_total')).toBe(1); // the timeout's record, and only it
    expect(gw.log.requests()[0]).toMatchObject({ status: 503, decision: 'allow', principal: 'alice' });
  });

  it('applies the same slow request when the deadline is long enough', async () => {
    gw = await opsApp({ requestDeadlineMs: 60_000, decorateStore: slowRead(200) });
    const token = await gw.token('alice', ['release-managers']);
    const res = await gw.request(UPDATE, post({ versions: ['4.1.0'], targetStatus: 'Archived' }, token));
    expect(res.status).toBe(200);
    expect((await state(gw, '4.1.0')).status).toBe('Archived');
  });

  it('expires every deadline when the shutdown grace runs out, before anything commits', async () => {
    let abort: () => void = () => {};
    gw = await opsApp({
      decorateStore: decorate('readPackage', (original) => (async (...args: Parameters<Store['readPackage']>) => {
        const snapshot = await original(...args);
        abort(); // the grace ran out while this request was between its read and its commit
        return snapshot;
      }) as Store['readPackage']),
    });
    abort = () => gw.lifecycle.abortInFlight();
    const before = await state(gw, '4.1.0');
    const res = await gw.request(UPDATE, post({ versions: ['4.1.0'], targetStatus: 'Archived' }, await gw.token('alice', ['release-managers'])));
    expect(res.status).toBe(503);
    expect((await res.json()).message).toMatch(/shutting down.*Nothing was changed/);
    expect(await state(gw, '4.1.0')).toEqual(before);
  });

  it('completes normally once the commit has started, even if every deadline expires during it', async () => {
    let expireAll: () => void = () => {};
    gw = await opsApp({
      // Commits are grouped: this one starts when its batch runs and checks the deadline. Right after
      // that check says "in time", every deadline expires, while the change is being made.
      decorateStore: decorate('commitVersionChanges', (original) => ((commit: Parameters<Store['commitVersionChanges']>[0]) => {
        const expired = commit.expired!;
        return original({
          ...commit,
          expired: {
            ...expired,
            check: () => {
              const late = expired.check();
              expireAll();
              return late;
            },
          },
        });
      }) as Store['commitVersionChanges']),
    });
    expireAll = () => gw.lifecycle.abortInFlight();
    const res = await gw.request(UPDATE, post({ versions: ['4.1.0'], targetStatus: 'Archived' }, await gw.token('alice', ['release-managers'])));
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.successfulVersions['4.1.0'].status).toBe('Archived');
    expect(await state(gw, '4.1.0')).toEqual({ status: 'Archived', revision: body.successfulVersions['4.1.0'].revision });
  });
});
