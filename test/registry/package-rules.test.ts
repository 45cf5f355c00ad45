/** The registry's rules for the rest of the version API: delete, downloads, listings, publishing. */
import { describe, expect, it } from 'vitest';
import { planChange, type VersionState } from '../../src/registry/plan-change.ts';
import { MAX_ASSETS_PER_VERSION, planPublish, publishFormatProblem, type PublishState } from '../../src/registry/plan-publish.ts';
import { downloadProblem, exists, listedStatuses, transitionProblem, VERSION_STATUSES, type VersionStatus } from '../../src/registry/statuses.ts';

let n = 0;
const rev = () => `new-${++n}`;

describe('delete', () => {
  it('takes every status that exists to Deleted, Unfinished and Disposed included', () => {
    for (const from of ['Published', 'Unfinished', 'Unlisted', 'Archived', 'Disposed'] as const) expect(transitionProblem(from, { kind: 'delete' })).toBeUndefined();
  });

  it('reports a deleted version as NOT_FOUND, so deleting twice fails and skips the rest', () => {
    const current = new Map<string, VersionState>([
      ['1.0.0', { version: '1.0.0', status: 'Deleted', revision: 'r0' }],
      ['2.0.0', { version: '2.0.0', status: 'Disposed', revision: 'r2' }],
    ]);
    const plan = planChange(current, { versions: ['1.0.0', '2.0.0'], versionRevisions: {}, operation: { kind: 'delete' } }, rev);
    expect(plan.failedVersions).toEqual({
      '1.0.0': { errorCode: 'NOT_FOUND', errorMessage: 'version 1.0.0 does not exist' },
      '2.0.0': { errorCode: 'SKIPPED', errorMessage: 'version 2.0.0 is skipped' },
    });
    expect(plan.changes).toEqual([]);
  });

  it('plans Deleted with a new revision', () => {
    const current = new Map<string, VersionState>([['2.0.0', { version: '2.0.0', status: 'Archived', revision: 'r2' }]]);
    const plan = planChange(current, { versions: ['2.0.0'], versionRevisions: {}, expectedStatus: 'Archived', operation: { kind: 'delete' } }, () => 'gone');
    expect(plan.successfulVersions).toEqual({ '2.0.0': { revision: 'gone', status: 'Deleted' } });
    expect(plan.changes).toEqual([{ version: '2.0.0', before: { status: 'Archived', revision: 'r2' }, after: { status: 'Deleted', revision: 'gone' } }]);
  });
});

describe('downloads and listings', () => {
  it('downloads Published and Unlisted versions only', () => {
    const downloadable = VERSION_STATUSES.filter((s) => downloadProblem(s) === undefined);
    expect(downloadable).toEqual(['Published', 'Unlisted']);
    expect(downloadProblem('Archived')).toMatch(/Archived/);
    expect(downloadProblem('Disposed')).toMatch(/deleted for good/);
    expect(downloadProblem('Unfinished')).toMatch(/Unfinished/);
  });

  it('lists every existing status but Unlisted by default, and exactly the status asked for', () => {
    expect(listedStatuses(undefined)).toEqual(['Published', 'Unfinished', 'Archived', 'Disposed']);
    expect(listedStatuses('Unlisted')).toEqual(['Unlisted']);
    expect(listedStatuses('Archived')).toEqual(['Archived']);
    expect(listedStatuses('Deleted')).toEqual([]);
  });

  it('treats Deleted versions as absent', () => {
    expect(VERSION_STATUSES.filter((s) => !exists(s))).toEqual(['Deleted']);
  });
});

describe('planPublish', () => {
  const req = { version: '1.0.0', assetName: 'a.bin', sha256: 'aa'.repeat(32), unfinished: false };
  const at = (status: VersionStatus, asset: string | null = null, assetCount = 1): PublishState => ({
    version: { status, revision: 'cur', assetCount },
    asset: asset === null ? null : { sha256: asset },
  });

  it('only generic packages are published', () => {
    expect(publishFormatProblem('generic')).toBeUndefined();
    expect(publishFormatProblem('npm')).toMatch(/only generic packages/);
  });

  it('creates a version that never existed, recorded as coming from Deleted with no revision', () => {
    const plan = planPublish({ version: null, asset: null }, req, () => 'R1');
    expect(plan).toEqual({
      ok: true,
      status: 'Published',
      revision: 'R1',
      addAsset: true,
      fresh: true,
      change: { version: '1.0.0', before: { status: 'Deleted', revision: '' }, after: { status: 'Published', revision: 'R1' } },
    });
    expect(planPublish({ version: null, asset: null }, { ...req, unfinished: true }, () => 'R1')).toMatchObject({ ok: true, status: 'Unfinished' });
  });

  it('revives a deleted version as new, guarded by its last revision', () => {
    const plan = planPublish({ version: { status: 'Deleted', revision: 'del', assetCount: 0 }, asset: null }, req, () => 'R2');
    expect(plan).toMatchObject({ ok: true, status: 'Published', fresh: true, addAsset: true, change: { before: { status: 'Deleted', revision: 'del' } } });
  });

  it('adds assets to an Unfinished version, which stays Unfinished until a call omits unfinished', () => {
    expect(planPublish(at('Unfinished'), { ...req, unfinished: true }, () => 'R3')).toMatchObject({ ok: true, status: 'Unfinished', revision: 'R3', addAsset: true, fresh: false });
    expect(planPublish(at('Unfinished'), req, () => 'R4')).toMatchObject({
      ok: true,
      status: 'Published',
      addAsset: true,
      change: { before: { status: 'Unfinished', revision: 'cur' }, after: { status: 'Published', revision: 'R4' } },
    });
  });

  it('treats the same asset with the same bytes as a retry: nothing changes, or only the finishing', () => {
    expect(planPublish(at('Unfinished', req.sha256), { ...req, unfinished: true }, rev)).toEqual({ ok: true, status: 'Unfinished', revision: 'cur', addAsset: false, change: null, fresh: false });
    expect(planPublish(at('Unfinished', req.sha256), req, () => 'R5')).toMatchObject({ ok: true, status: 'Published', addAsset: false, revision: 'R5' });
    expect(planPublish(at('Published', req.sha256), req, rev)).toEqual({ ok: true, status: 'Published', revision: 'cur', addAsset: false, change: null, fresh: false });
  });

  it('refuses other bytes under an existing asset name', () => {
    expect(planPublish(at('Unfinished', 'bb'.repeat(32)), req, rev)).toMatchObject({ ok: false, reason: 'asset-conflict', message: expect.stringContaining('different content') });
  });

  it('refuses assets for a finished or disposed version, and a finished version going back to Unfinished', () => {
    for (const status of ['Published', 'Unlisted', 'Archived'] as const) {
      expect(planPublish(at(status), req, rev)).toMatchObject({ ok: false, reason: 'version-conflict', message: expect.stringContaining('only while a version is Unfinished') });
      expect(planPublish(at(status, req.sha256), { ...req, unfinished: true }, rev)).toMatchObject({ ok: false, reason: 'version-conflict', message: expect.stringContaining('cannot become Unfinished') });
    }
    expect(planPublish(at('Disposed', null, 0), req, rev)).toMatchObject({ ok: false, reason: 'version-conflict', message: expect.stringContaining('Disposed') });
  });

  it(`refuses the ${MAX_ASSETS_PER_VERSION + 1}st asset, but not a retry of an existing one`, () => {
    expect(planPublish(at('Unfinished', null, MAX_ASSETS_PER_VERSION), req, rev)).toMatchObject({ ok: false, reason: 'quota' });
    expect(planPublish(at('Unfinished', null, MAX_ASSETS_PER_VERSION - 1), req, rev)).toMatchObject({ ok: true });
    expect(planPublish(at('Unfinished', req.sha256, MAX_ASSETS_PER_VERSION), req, rev)).toMatchObject({ ok: true, addAsset: false });
  });
});
