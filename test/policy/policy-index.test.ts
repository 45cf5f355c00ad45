/** The index of policy scopes and the decision cache: the pieces the differential test guards as a whole. */
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decisionKey, GenerationalCache, Lru } from '../../src/policy/decision-cache.ts';
import { indexPolicySet, indexPolicySetInSteps, PolicyEngine } from '../../src/policy/engine.ts';
import { packageResource } from '../../src/policy/entities.ts';
import { loadPolicyDir } from '../../src/policy/load-policies.ts';
import { headOf, PolicyIndex, scopeOf } from '../../src/policy/policy-index.ts';

/** The shipped policies folder (as test/helpers/gateway.ts names it, without loading the app). */
const REPO_POLICIES = resolve(import.meta.dirname, '../../policies');

const chalk = (repository: string) => packageResource({ region: 'us-east-1', domain: 'my_domain', domainOwner: '111122223333', repository, format: 'npm', namespace: '', name: 'chalk' });

describe('policy scopes', () => {
  it('files a policy under what its scope pins, from Cedar’s parse', () => {
    expect(scopeOf(headOf(`permit (principal in Group::"a", action in [Action::"X", Action::"Y"], resource is Package in Repository::"r");`))).toEqual({
      principal: ['Group::"a"'],
      action: ['Action::"X"', 'Action::"Y"'],
      resource: ['Repository::"r"'],
    });
    // `is` alone and an unconstrained head pin nothing; `action in []` pins to nothing at all.
    expect(scopeOf(headOf('forbid (principal is User, action in [], resource) when { true };'))).toEqual({ principal: null, action: [], resource: null });
    // A template's slots take the link's values.
    expect(scopeOf(headOf('permit (principal == ?principal, action, resource in ?resource);', true), { '?principal': { type: 'User', id: 'u' }, '?resource': { type: 'Domain', id: 'd' } })).toEqual({
      principal: ['User::"u"'],
      action: null,
      resource: ['Domain::"d"'],
    });
  });

  it('files and finds policies by key, in order, with duplicates filed once and late additions seen', () => {
    const index = new PolicyIndex([
      { id: 'p0', scope: { principal: ['User::"a"'], action: ['Action::"X"', 'Action::"X"'], resource: null } },
      { id: 'p1', scope: { principal: null, action: null, resource: null } },
      { id: 'p2', scope: { principal: ['Group::"g"'], action: ['Action::"X"', 'Action::"Y"'], resource: ['Repository::"r"'] } },
      { id: 'p3', scope: { principal: ['User::"b"'], action: [], resource: null } },
    ]);
    const anc = (principal: string[], action: string[], resource: string[]) => ({ principal: new Set(principal), action: new Set(action), resource: new Set(resource) });
    expect(index.lookup(anc(['User::"a"'], ['Action::"X"'], ['Package::"p"']))).toEqual([0, 1]);
    expect(index.lookup(anc(['User::"a"', 'Group::"g"'], ['Action::"Y"'], ['Package::"p"', 'Repository::"r"']))).toEqual([1, 2]);
    // `action in []` never holds.
    expect(index.lookup(anc(['User::"b"'], ['Action::"X"'], []))).toEqual([1]);
    expect(index.remainder).toEqual(['p1']);
    expect(index.policyAt(0)).toEqual({ id: 'p0', scope: { principal: ['User::"a"'], action: ['Action::"X"'], resource: null } });
    index.add({ id: 'p4', scope: { principal: ['User::"a"'], action: null, resource: null } });
    expect(index.lookup(anc(['User::"a"'], ['Action::"Z"'], []))).toEqual([1, 4]);
  });

  it('an index built in steps (sealed over several turns) answers as one built at once', async () => {
    const set = loadPolicyDir(REPO_POLICIES);
    const whole = indexPolicySet(set);
    const stepped = await indexPolicySetInSteps(set, 0);
    expect(stepped.size).toBe(whole.size);
    for (let i = 0; i < whole.size; i++) expect(stepped.policyAt(i)).toEqual(whole.policyAt(i));
    const anc = { principal: new Set(['User::"alice"', 'Group::"release-managers"']), action: new Set(['Action::"UpdatePackageVersionsStatus"']), resource: new Set(['Package::', 'Repository::', 'Domain::'].map((t, i) => `${t}${JSON.stringify([chalk('my_repo').uid.id, ...(chalk('my_repo').entities[0]!.parents as Array<{ id: string }>).map((p) => p.id)][i])}`)) };
    expect(stepped.lookup(anc)).toEqual(whole.lookup(anc));
    expect(whole.lookup(anc).length).toBeGreaterThan(0);
  });

  it('the shipped set: only the policies that pin nothing are in the remainder', () => {
    const engine = new PolicyEngine(loadPolicyDir(REPO_POLICIES));
    // Every shipped policy pins at least its action, so nothing is evaluated with every request.
    expect(engine.remainder).toEqual([]);
    const call = (principal: { subject: string; groups: string[] }, resource: ReturnType<typeof chalk>) => ({
      principal: { type: 'User', id: principal.subject },
      action: { type: 'Action', id: 'UpdatePackageVersionsStatus' },
      resource: resource.uid,
      context: { versions: ['4.1.0'], currentStatuses: ['Published'], targetStatus: 'Archived' },
      entities: [{ uid: { type: 'User', id: principal.subject }, attrs: { issuer: 'i' }, parents: principal.groups.map((id) => ({ type: 'Group', id })) }, ...resource.entities],
    });
    const slice = (p: { subject: string; groups: string[] }, r: ReturnType<typeof chalk>) => engine.sliceOf(call(p, r)).map((x) => x.id).sort();
    // A release manager in my_repo: the my_repo permits for the group, the any-principal forbid, and
    // the web-team link is left out (the principal is not in web-team).
    expect(slice({ subject: 'rita', groups: ['release-managers'] }, chalk('my_repo'))).toEqual(['release-managers-curate-my-repo', 'restore-archived-needs-release-manager']);
    expect(slice({ subject: 'w', groups: ['web-team'] }, chalk('my_repo'))).toEqual(['restore-archived-needs-release-manager', 'web-team-curates-my-repo']);
    // In another repository nothing pinned to my_repo is evaluated.
    expect(slice({ subject: 'rita', groups: ['release-managers'] }, chalk('prod'))).toEqual(['restore-archived-needs-release-manager']);
  });
});

describe('the decision cache', () => {
  const engine = () => new PolicyEngine(loadPolicyDir(REPO_POLICIES));
  const request = { principal: { issuer: 'i', subject: 'rita', groups: ['release-managers'] }, action: 'UpdatePackageVersionsStatus' as const, resource: chalk('my_repo') };

  it('answers a repeated call from the cache, marked, with the same decision', () => {
    const e = engine();
    const first = e.authorize({ ...request, context: { versions: ['4.1.0'], currentStatuses: ['Published'], targetStatus: 'Archived' } });
    expect(first.cached).toBeUndefined();
    const again = e.authorize({ ...request, context: { versions: ['4.1.0'], currentStatuses: ['Published'], targetStatus: 'Archived' } });
    expect(again).toEqual({ ...first, cached: true });
    // The same call with its keys in another order is a second entry, decided alike.
    const reordered = e.authorize({ ...request, context: { targetStatus: 'Archived', currentStatuses: ['Published'], versions: ['4.1.0'] } });
    expect(reordered).toEqual(first);
    expect(e.authorize({ ...request, context: { targetStatus: 'Archived', currentStatuses: ['Published'], versions: ['4.1.0'] } })).toEqual({ ...first, cached: true });
    // Mutating an answer does not change what the cache holds.
    again.determiningPolicies.push('tampered');
    expect(e.authorize({ ...request, context: { versions: ['4.1.0'], currentStatuses: ['Published'], targetStatus: 'Archived' } }).determiningPolicies).toEqual(first.determiningPolicies);
    // A new engine (a reload) starts empty.
    expect(engine().authorize({ ...request, context: { versions: ['4.1.0'], currentStatuses: ['Published'], targetStatus: 'Archived' } }).cached).toBeUndefined();
  });

  it('caches request errors too, and can be turned off', () => {
    const e = new PolicyEngine(loadPolicyDir(REPO_POLICIES), { decisionCacheSize: 0 });
    const bad = { ...request, context: { versions: ['4.1.0'], currentStatuses: ['Published'] } };
    expect(e.authorize(bad)).toMatchObject({ decision: 'deny', denyKind: 'error' });
    expect(e.authorize(bad).cached).toBeUndefined();
    const c = engine();
    c.authorize(bad);
    expect(c.authorize(bad)).toMatchObject({ decision: 'deny', denyKind: 'error', cached: true });
  });

  it('never merges inputs that JSON would make equal', () => {
    expect(decisionKey({ b: 1, a: [1, 'x'] })).toBe(decisionKey({ b: 1, a: [1, 'x'] }));
    expect(decisionKey({ b: 1, a: [1, 'x'] })).not.toBe(decisionKey({ b: 1, a: ['1', 'x'] }));
    expect(decisionKey({ a: null })).not.toBe(decisionKey({}));
    expect(decisionKey({ a: undefined })).toBeUndefined();
    expect(decisionKey({ a: Number.NaN })).toBeUndefined();
    expect(decisionKey({ a: -0 })).toBeUndefined();
    expect(decisionKey({ a: new Date(0) })).toBeUndefined();
    // eslint-disable-next-line no-sparse-arrays
    expect(decisionKey([1, , 2])).toBeUndefined();
    expect(decisionKey('a"b')).not.toBe(decisionKey('a\\"b'));
    expect(decisionKey({ a: () => 1 })).toBeUndefined();
    expect(decisionKey({ a: { toJSON: () => 'x' } })).toBeUndefined();
    expect(decisionKey({ a: 1n })).toBeUndefined();
    expect(decisionKey({ a: 1, [Symbol('s')]: 2 })).toBeUndefined();
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(decisionKey(cyclic)).toBeUndefined();
  });

  it('the LRU drops the least recently used entry', () => {
    const evicted: string[] = [];
    const lru = new Lru<number>(2, (k) => evicted.push(k));
    lru.set('a', 1);
    lru.set('b', 2);
    lru.get('a');
    lru.set('c', 3);
    expect(evicted).toEqual(['b']);
    expect([...lru.values()]).toEqual([1, 3]);
  });

  it('the decision cache never holds more than its capacity, and keeps what is used', () => {
    const cache = new GenerationalCache<number>(4);
    for (let i = 0; i < 100; i++) {
      cache.set(`k${i}`, i);
      // k0 is asked for after every insertion: it stays, however many others come and go.
      expect(cache.get('k0')).toBe(0);
      expect(cache.size).toBeLessThanOrEqual(4);
    }
    expect(cache.get('k99')).toBe(99);
    // Not used for two generations (of two entries each): dropped.
    expect(cache.get('k90')).toBeUndefined();
  });

  it('the decision cache replaces a value set again, and a capacity of 1 or 0 holds 1 or 0', () => {
    const cache = new GenerationalCache<string>(4);
    cache.set('a', 'one');
    cache.set('b', 'two');
    cache.set('a', 'uno');
    expect(cache.get('a')).toBe('uno');
    cache.set('c', 'three'); // the recent generation was full: a and b are the older one now
    cache.set('b', 'dos'); // set again from the older generation: one entry, not two
    expect(cache.size).toBe(3);
    expect([cache.get('a'), cache.get('b'), cache.get('c')]).toEqual(['uno', 'dos', 'three']);
    const one = new GenerationalCache<number>(1);
    one.set('x', 1);
    one.set('y', 2);
    expect(one.size).toBe(1);
    expect(one.get('y')).toBe(2);
    const none = new GenerationalCache<number>(0);
    none.set('x', 1);
    expect(none.get('x')).toBeUndefined();
  });

  it('a cached decision is a copy: changing it changes neither the cache nor the next answer', () => {
    const e = new PolicyEngine(loadPolicyDir(REPO_POLICIES));
    const request = { principal: { issuer: 'i', subject: 'alice', groups: ['maintainers'] }, action: 'UpdatePackageVersionsStatus' as const, resource: chalk('my_repo'), context: { versions: ['1.0.0'], currentStatuses: ['Published'], targetStatus: 'Archived' } };
    const first = e.authorize(request);
    const hit = e.authorize(request);
    expect(hit).toEqual({ ...first, cached: true });
    hit.determiningPolicies.push('tampered');
    hit.errors.push('tampered');
    (hit as { decision: string }).decision = 'tampered';
    expect(e.authorize(request)).toEqual({ ...first, cached: true });
  });
});
