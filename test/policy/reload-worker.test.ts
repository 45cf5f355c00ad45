/** Reloads are checked in a worker thread: the event loop keeps turning, and any failure there refuses the reload. */
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.ts';
import { silentLogger } from '../../src/log.ts';
import { checkOffThread } from '../../src/policy/check-off-thread.ts';
import { loadPolicyDir } from '../../src/policy/load-policies.ts';
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
  const n = 1_200; // more than two parts of PART_SIZE
  const lines = Array.from({ length: n }, (_, i) => `@id("gen-${i}") permit (principal == User::"user${i}", action == Action::"ReadPolicies", resource);`);
  writeFileSync(join(dir!, 'generated.cedar'), lines.join('\n'));
  const outcome = await m.reload('api');
  expect(outcome).toMatchObject({ outcome: 'loaded' });
  const set = m.live.policySet;
  // The shipped set's own policies (and links), counted rather than written down: the folder grows.
  const shipped = Object.keys(loadPolicyDir(REPO_POLICIES).policies).length;
  expect(Object.keys(set.policies)).toHaveLength(n + shipped);
  expect(Object.keys(set.heads ?? {})).toHaveLength(n + shipped + Object.keys(set.templates).length);
  expect(set.sources['gen-1100']).toMatchObject({ file: 'generated.cedar', line: 1101 });
  const policySet = { uid: { type: 'PolicySet', id: 'live' }, entities: [{ uid: { type: 'PolicySet', id: 'live' }, attrs: {}, parents: [] }] };
  expect(m.live.authorize({ principal: { issuer: 'i', subject: 'user1100', groups: [] }, action: 'ReadPolicies', resource: policySet, context: {} })).toMatchObject({
    decision: 'allow',
    determiningPolicies: ['gen-1100'],
  });
});
