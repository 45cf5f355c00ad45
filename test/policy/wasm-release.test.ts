/** Releasing a collected engine's preparsed slices and schema, a few per turn of the event loop. */
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { describe, expect, it } from 'vitest';
import { ReleaseQueue, RELEASES_PER_TURN } from '../../src/policy/wasm-release.ts';

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

const allowedBy = (id: string) => {
  const answer = cedar.statefulIsAuthorized({
    principal: { type: 'User', id: 'alice' },
    action: { type: 'Action', id: 'read' },
    resource: { type: 'Doc', id: 'd' },
    context: {},
    entities: [],
    preparsedPolicySetId: id,
  });
  if (answer.type === 'failure') throw new Error(answer.errors.map((e) => e.message).join('; '));
  return answer.response.decision;
};

describe('releasing preparsed sets', () => {
  it('empties each set, at most RELEASES_PER_TURN per turn, leaving the others alone', async () => {
    const ids = Array.from({ length: RELEASES_PER_TURN * 2 + 5 }, (_, i) => `wasm-release-test-${i}`);
    for (const id of [...ids, 'wasm-release-test-kept']) {
      const parsed = cedar.preparsePolicySet(id, { staticPolicies: { p: 'permit(principal, action, resource);' } });
      expect(parsed.type).toBe('success');
    }
    expect(allowedBy(ids[0]!)).toBe('allow');
    // A queue of its own: engines other files made are finalized into the process's queue.
    const releases = new ReleaseQueue();
    releases.releaseLater(ids, 'wasm-release-test-schema');
    const waiting = [releases.pending()];
    expect(waiting[0]).toBe(ids.length + 1);
    while (releases.pending() > 0) {
      await turn();
      waiting.push(releases.pending());
    }
    // Every turn released something, and none more than its share.
    for (let i = 1; i < waiting.length; i++) {
      expect(waiting[i - 1]! - waiting[i]!).toBeGreaterThan(0);
      expect(waiting[i - 1]! - waiting[i]!).toBeLessThanOrEqual(RELEASES_PER_TURN);
    }
    for (const id of ids) expect(allowedBy(id)).toBe('deny');
    expect(allowedBy('wasm-release-test-kept')).toBe('allow');
  });
});

describe('preparsed schemas', () => {
  it('engines of one schema text share one preparsed schema; another text gets its own', async () => {
    const { PolicyEngine, preparsedSchemaCount } = await import('../../src/policy/engine.ts');
    const { loadPolicyDir } = await import('../../src/policy/load-policies.ts');
    const { resolve } = await import('node:path');
    const set = loadPolicyDir(resolve(import.meta.dirname, '../../policies'));
    const before = preparsedSchemaCount();
    const engines = [new PolicyEngine(set), new PolicyEngine({ ...set, hash: 'another-set-same-schema' })];
    const held = preparsedSchemaCount();
    // At most one more: the shipped schema may already be held by an engine another test made.
    expect(held - before).toBeLessThanOrEqual(1);
    const other = new PolicyEngine({ ...set, schemaText: `${set.schemaText}\n// the same schema, another text\n` });
    expect(preparsedSchemaCount()).toBe(held + 1);
    // Both schemas answer: the engines decide with them.
    const request = { principal: { issuer: 'i', subject: 'alice', groups: ['maintainers'] }, action: 'ReadPolicies' as const, resource: { uid: { type: 'PolicySet', id: 'live' }, entities: [{ uid: { type: 'PolicySet', id: 'live' }, attrs: {}, parents: [] }] }, context: {} };
    for (const e of [...engines, other]) expect(e.authorize(request).errors).toEqual([]);
  });
});
