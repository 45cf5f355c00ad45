import { describe, expect, it } from 'vitest';
import { planChange, type VersionState } from '../../src/registry/plan-change.ts';
import { transitionProblem, type VersionStatus } from '../../src/registry/statuses.ts';

const state = (version: string, status: VersionStatus, revision = `rev-${version}`): [string, VersionState] => [version, { version, status, revision }];
let n = 0;
const rev = () => `new-${++n}`;

describe('transitions', () => {
  const targets = ['Published', 'Unlisted', 'Archived'] as const;
  it.each(['Published', 'Unlisted', 'Archived'] as const)('%s may move to any of Published, Unlisted, Archived', (from) => {
    for (const t of targets) expect(transitionProblem(from, { kind: 'update', targetStatus: t })).toBeUndefined();
  });
  it('Disposed is terminal for status updates', () => {
    for (const t of targets) expect(transitionProblem('Disposed', { kind: 'update', targetStatus: t })).toMatch(/Disposed/);
  });
  it('Unfinished may be Published (as CodeArtifact documents) or disposed, never Unlisted or Archived', () => {
    expect(transitionProblem('Unfinished', { kind: 'update', targetStatus: 'Published' })).toBeUndefined();
    expect(transitionProblem('Unfinished', { kind: 'update', targetStatus: 'Unlisted' })).toMatch(/cannot change status from Unfinished to Unlisted/);
    expect(transitionProblem('Unfinished', { kind: 'update', targetStatus: 'Archived' })).toMatch(/cannot change status from Unfinished to Archived/);
    expect(transitionProblem('Unfinished', { kind: 'dispose' })).toBeUndefined();
  });
  it('publishing an Unfinished version starts its sync; no other change does', () => {
    const current = new Map([state('1.0.0', 'Unfinished'), state('2.0.0', 'Archived')]);
    const plan = planChange(current, { versions: ['1.0.0', '2.0.0'], versionRevisions: {}, operation: { kind: 'update', targetStatus: 'Published' } }, rev);
    expect(plan.syncs).toEqual(['1.0.0']);
    expect(plan.successfulVersions['1.0.0']!.status).toBe('Published');
  });
  it('any live status may be disposed', () => {
    for (const from of ['Published', 'Unlisted', 'Archived'] as const) expect(transitionProblem(from, { kind: 'dispose' })).toBeUndefined();
  });
});

describe('planChange', () => {
  const current = new Map([state('4.0.0', 'Published'), state('4.1.0', 'Published'), state('4.1.1', 'Archived')]);

  it('changes every version and gives each a new revision', () => {
    const plan = planChange(current, { versions: ['4.0.0', '4.1.0'], versionRevisions: {}, operation: { kind: 'update', targetStatus: 'Archived' } }, rev);
    expect(plan.failedVersions).toEqual({});
    expect(Object.keys(plan.successfulVersions)).toEqual(['4.0.0', '4.1.0']);
    expect(plan.changes.map((c) => [c.version, c.before.status, c.after.status])).toEqual([
      ['4.0.0', 'Published', 'Archived'],
      ['4.1.0', 'Published', 'Archived'],
    ]);
    expect(plan.changes[0]!.after.revision).not.toBe('rev-4.0.0');
    expect(plan.successfulVersions['4.0.0']!.revision).toBe(plan.changes[0]!.after.revision);
  });

  it('is all or nothing: one failure skips the others', () => {
    const plan = planChange(current, { versions: ['4.0.0', '9.9.9'], versionRevisions: {}, operation: { kind: 'update', targetStatus: 'Unlisted' } }, rev);
    expect(plan.changes).toEqual([]);
    expect(plan.successfulVersions).toEqual({});
    expect(plan.failedVersions).toEqual({
      '4.0.0': { errorCode: 'SKIPPED', errorMessage: 'version 4.0.0 is skipped' },
      '9.9.9': { errorCode: 'NOT_FOUND', errorMessage: 'version 9.9.9 does not exist' },
    });
  });

  it('reports a mismatched revision with both revisions', () => {
    const plan = planChange(current, { versions: ['4.1.0'], versionRevisions: { '4.1.0': 'other' }, operation: { kind: 'dispose' } }, rev);
    expect(plan.failedVersions['4.1.0']).toEqual({ errorCode: 'MISMATCHED_REVISION', errorMessage: 'current revision: rev-4.1.0, expected revision: other' });
  });

  it('reports a mismatched expected status', () => {
    const plan = planChange(current, { versions: ['4.1.0'], versionRevisions: {}, expectedStatus: 'Unlisted', operation: { kind: 'update', targetStatus: 'Archived' } }, rev);
    expect(plan.failedVersions['4.1.0']).toEqual({ errorCode: 'MISMATCHED_STATUS', errorMessage: 'current status: Published, expected status: Unlisted' });
  });

  it('keeps the revision when the status does not change (an idempotent retry)', () => {
    const plan = planChange(current, { versions: ['4.1.1'], versionRevisions: {}, operation: { kind: 'update', targetStatus: 'Archived' } }, rev);
    expect(plan.successfulVersions['4.1.1']).toEqual({ revision: 'rev-4.1.1', status: 'Archived' });
    expect(plan.changes).toEqual([]);
  });

  it('treats a Deleted version as not found', () => {
    const plan = planChange(new Map([state('1.0.0', 'Deleted')]), { versions: ['1.0.0'], versionRevisions: {}, operation: { kind: 'dispose' } }, rev);
    expect(plan.failedVersions['1.0.0']!.errorCode).toBe('NOT_FOUND');
  });

  it('refuses to leave Disposed with NOT_ALLOWED', () => {
    const plan = planChange(new Map([state('1.0.0', 'Disposed')]), { versions: ['1.0.0'], versionRevisions: {}, operation: { kind: 'update', targetStatus: 'Published' } }, rev);
    expect(plan.failedVersions['1.0.0']!.errorCode).toBe('NOT_ALLOWED');
  });
});

describe('versions named like the properties every object has', () => {
  it('"__proto__" unknown fails the request as a failure of its own: nothing else is applied, and the answer says so', () => {
    const current = new Map([state('4.1.1', 'Published')]);
    const plan = planChange(current, { versions: ['__proto__', '4.1.1'], versionRevisions: {}, operation: { kind: 'update', targetStatus: 'Unlisted' } }, rev);
    expect(plan.changes).toEqual([]);
    expect(Object.keys(plan.failedVersions)).toEqual(['__proto__', '4.1.1']);
    expect(plan.failedVersions['__proto__']).toMatchObject({ errorCode: 'NOT_FOUND' });
    expect(JSON.parse(JSON.stringify(plan.failedVersions))).toMatchObject({ __proto__: { errorCode: 'NOT_FOUND' }, '4.1.1': { errorCode: 'SKIPPED' } });
  });

  it('"constructor" and "toString" change like any version: no revision is expected of them unless given', () => {
    const current = new Map([state('constructor', 'Published'), state('toString', 'Published'), state('__proto__', 'Published')]);
    const plan = planChange(current, { versions: ['constructor', 'toString', '__proto__'], versionRevisions: {}, operation: { kind: 'update', targetStatus: 'Unlisted' } }, rev);
    expect(plan.failedVersions).toEqual({});
    expect(Object.keys(plan.successfulVersions)).toEqual(['constructor', 'toString', '__proto__']);
    expect(plan.changes.map((c) => c.version)).toEqual(['constructor', 'toString', '__proto__']);
  });
});

