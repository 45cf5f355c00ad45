/** Reloads are checked in a worker thread: the event loop keeps turning, and any failure there refuses the reload. */
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, expect, it, vi } from 'vitest';
import { systemClock } from '../../src/clock.ts';
import { silentLogger } from '../../src/log.ts';
import { checkOffThread } from '../../src/policy/check-off-thread.ts';
import { headsFromParts, PolicyEngine } from '../../src/policy/engine.ts';
import { PolicyManager, type PolicyManagerOptions } from '../../src/policy/policy-manager.ts';

/** The shipped policies folder (as test/helpers/gateway.ts names it, without loading the app). */
const REPO_POLICIES = resolve(import.meta.dirname, '../../policies');

const EXTRA = '@id("qa-reads-policies")\npermit (principal in Group::"qa", action == Action::"ReadPolicies", resource);\n';
let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

function manager(options: Partial<PolicyManagerOptions> = {}): PolicyManager {
  dir = join(mkdtempSync(join(tmpdir(), 'vg-worker-')), 'policies');
  cpSync(REPO_POLICIES, dir, { recursive: true });
  return PolicyManager.start({ dir, clock: systemClock, logger: silentLogger, ...options });
}

it('checks a reload in a worker thread while the event loop keeps turning, then swaps', async () => {
  const m = manager();
  const before = m.live;
  writeFileSync(join(dir!, 'qa.cedar'), EXTRA);
  let turns = 0;
  const timer = setInterval(() => turns++, 1);
  const outcome = await m.reload('api');
  clearInterval(timer);
  expect(outcome).toMatchObject({ outcome: 'loaded', errors: [] });
  // A reload on this thread would hold the loop for all of it: no timer could fire.
  expect(turns).toBeGreaterThan(0);
  expect(m.live).not.toBe(before);
  expect(Object.keys(m.live.policySet.policies)).toContain('qa-reads-policies');
  const d = m.live.authorize({ principal: { issuer: 'i', subject: 'q', groups: ['qa'] }, action: 'ReadPolicies', resource: { uid: { type: 'PolicySet', id: 'live' }, entities: [{ uid: { type: 'PolicySet', id: 'live' }, attrs: {}, parents: [] }] }, context: {} });
  expect(d).toMatchObject({ decision: 'allow', determiningPolicies: ['qa-reads-policies'] });
});

it('a worker that does not answer in time refuses the reload; the live engine stays', async () => {
  const m = manager({ reloadTimeoutMs: 1 });
  const before = m.live;
  writeFileSync(join(dir!, 'qa.cedar'), EXTRA);
  const outcome = await m.reload('api');
  expect(outcome.outcome).toBe('refused');
  expect(outcome.errors[0]).toMatch(/^the policy check failed in its worker thread: no answer after 1 ms/);
  expect(m.live).toBe(before);
  expect(m.status().reloads).toEqual({ loaded: 0, refused: 1 });
});

it('the worker reports a set Cedar refuses with its diagnostics, as the in-thread check does', async () => {
  dir = join(mkdtempSync(join(tmpdir(), 'vg-worker-')), 'policies');
  cpSync(REPO_POLICIES, dir, { recursive: true });
  writeFileSync(join(dir, 'broken.cedar'), 'permit (principal, action, resource) when { resource.nope == 1 };\n');
  const answer = await checkOffThread({ dir });
  expect('errors' in answer.live && answer.live.errors.join('\n')).toContain('broken.cedar:1:');
  expect(answer.candidate).toBeNull();
});

it('a large set arrives whole, in parts, and decides as loaded', async () => {
  const m = manager();
  // The shipped set's size, from the set loaded at start: the count grows with every shipped policy.
  const shipped = Object.keys(m.live.policySet.policies).length;
  const n = 1_200; // more than two parts of PART_SIZE
  const lines = Array.from({ length: n }, (_, i) => `@id("gen-${i}") permit (principal == User::"user${i}", action == Action::"ReadPolicies", resource);`);
  writeFileSync(join(dir!, 'generated.cedar'), lines.join('\n'));
  const outcome = await m.reload('api');
  expect(outcome).toMatchObject({ outcome: 'loaded' });
  const set = m.live.policySet;
  expect(Object.keys(set.policies)).toHaveLength(n + shipped);
  // The heads came as JSON text and were consumed by the index: none is kept on this thread.
  expect(set.heads).toBeUndefined();
  expect(set.sources['gen-1100']).toMatchObject({ file: 'generated.cedar', line: 1101 });
  const policySet = { uid: { type: 'PolicySet', id: 'live' }, entities: [{ uid: { type: 'PolicySet', id: 'live' }, attrs: {}, parents: [] }] };
  expect(m.live.authorize({ principal: { issuer: 'i', subject: 'user1100', groups: [] }, action: 'ReadPolicies', resource: policySet, context: {} })).toMatchObject({
    decision: 'allow',
    determiningPolicies: ['gen-1100'],
  });
});

it('while a reload builds its engine over many turns, requests use the old set; the new one is swapped in whole', async () => {
  const m = manager();
  const before = m.live;
  const n = 1_500;
  writeFileSync(join(dir!, 'generated.cedar'), Array.from({ length: n }, (_, i) => `@id("gen-${i}") permit (principal == User::"user${i}", action == Action::"ReadPolicies", resource);`).join('\n'));
  const policySet = { uid: { type: 'PolicySet', id: 'live' }, entities: [{ uid: { type: 'PolicySet', id: 'live' }, attrs: {}, parents: [] }] };
  const ask = (subject: string) => m.authorizer().authorize({ principal: { issuer: 'i', subject, groups: [] }, action: 'ReadPolicies', resource: policySet, context: {} });
  const seen: Array<{ live: PolicyEngine; first: string; last: string }> = [];
  let running = true;
  const sample = () => {
    if (!running) return;
    // One request for the first generated policy and one for the last, in the same turn: a half-built
    // or half-swapped set would allow one and not the other.
    seen.push({ live: m.live, first: ask('user0').decision, last: ask(`user${n - 1}`).decision });
    setImmediate(sample);
  };
  setImmediate(sample);
  const outcome = await m.reload('api');
  running = false;
  expect(outcome.outcome).toBe('loaded');
  const after = m.live;
  expect(after).not.toBe(before);
  const old = seen.filter((s) => s.live === before);
  const swapped = seen.filter((s) => s.live === after);
  expect(old.length + swapped.length).toBe(seen.length);
  // Many turns ran while the engine was checked and built, all on the old set.
  expect(old.length).toBeGreaterThan(1);
  for (const s of old) expect([s.first, s.last]).toEqual(['deny', 'deny']);
  for (const s of swapped) expect([s.first, s.last]).toEqual(['allow', 'allow']);
  expect([ask('user0').decision, ask(`user${n - 1}`).decision]).toEqual(['allow', 'allow']);
});

it('an engine that fails to build refuses the reload and leaves the live set as it was', async () => {
  const m = manager();
  const before = m.live;
  writeFileSync(join(dir!, 'qa.cedar'), EXTRA);
  const create = vi.spyOn(PolicyEngine, 'create').mockRejectedValueOnce(new Error('the engine could not be built'));
  try {
    const outcome = await m.reload('api');
    expect(outcome).toMatchObject({ outcome: 'refused', errors: ['the engine could not be built'] });
  } finally {
    create.mockRestore();
  }
  expect(m.live).toBe(before);
  expect(m.authorizer()).toBe(before);
  expect(Object.keys(m.live.policySet.policies)).not.toContain('qa-reads-policies');
  // The next reload of the same folder loads it.
  expect((await m.reload('api')).outcome).toBe('loaded');
  expect(Object.keys(m.live.policySet.policies)).toContain('qa-reads-policies');
});

it('heads sent as parts are found by id in any order, each part parsed only when needed', () => {
  const head = (id: string) => ({ principal: { op: '==', entity: { type: 'User', id } }, action: { op: 'All' }, resource: { op: 'All' } });
  const parts = [JSON.stringify([['a', head('a')], ['b', head('b')]]), JSON.stringify([['c', head('c')]])];
  const parse = vi.spyOn(JSON, 'parse');
  try {
    const lookup = headsFromParts(parts);
    expect(lookup('b')).toEqual(head('b'));
    expect(parse).toHaveBeenCalledTimes(1);
    expect(lookup('a')).toEqual(head('a'));
    expect(parse).toHaveBeenCalledTimes(1);
    expect(lookup('c')).toEqual(head('c'));
    expect(lookup('nope')).toBeUndefined();
    expect(parse).toHaveBeenCalledTimes(2);
  } finally {
    parse.mockRestore();
  }
});
