import { describe, expect, it } from 'vitest';
import type { VersionState } from '../../src/registry/plan-change.ts';
import { planCopy } from '../../src/registry/plan-copy.ts';
import type { VersionStatus } from '../../src/registry/statuses.ts';

const states = (entries: Array<[string, VersionStatus]>) => new Map<string, VersionState>(entries.map(([version, status]) => [version, { version, status, revision: `rev-${version}-${status}` }]));
let n = 0;
const rev = () => `new-${++n}`;
const plan = (src: Array<[string, VersionStatus]>, dst: Array<[string, VersionStatus]>, versions: string[], allowOverwrite = false) =>
  planCopy({ repository: 'staging', versions: states(src) }, { repository: 'prod', versions: states(dst) }, { versions, versionRevisions: {}, allowOverwrite }, rev);

describe('planCopy', () => {
  it('a copy keeps the source status (Published or Unlisted) with a new revision, and records where it came from', () => {
    const p = plan([['1.0.0', 'Published'], ['1.1.0', 'Unlisted']], [], ['1.0.0', '1.1.0']);
    expect(p.failedVersions).toEqual({});
    expect(p.successfulVersions['1.1.0']!.status).toBe('Unlisted');
    expect(p.copies[0]).toEqual({
      version: '1.0.0',
      source: { repository: 'staging', status: 'Published', revision: 'rev-1.0.0-Published' },
      before: { status: 'Deleted', revision: '' },
      after: { status: 'Published', revision: p.successfulVersions['1.0.0']!.revision },
    });
  });

  it('a version the destination deleted is free again: copied without allowOverwrite, recorded as coming from Deleted', () => {
    const p = plan([['1.0.0', 'Published']], [['1.0.0', 'Deleted']], ['1.0.0']);
    expect(p.failedVersions).toEqual({});
    expect(p.copies[0]!.before).toEqual({ status: 'Deleted', revision: 'rev-1.0.0-Deleted' });
  });

  it('allowOverwrite replaces any version the destination has, and records what it replaced', () => {
    const p = plan([['1.0.0', 'Published']], [['1.0.0', 'Archived']], ['1.0.0'], true);
    expect(p.copies[0]!.before).toEqual({ status: 'Archived', revision: 'rev-1.0.0-Archived' });
    expect(plan([['1.0.0', 'Published']], [['1.0.0', 'Archived']], ['1.0.0']).failedVersions['1.0.0']!.errorCode).toBe('ALREADY_EXISTS');
  });

  it('the source is checked before the destination: an Archived version that prod also has is NOT_ALLOWED, not ALREADY_EXISTS', () => {
    expect(plan([['1.0.0', 'Archived']], [['1.0.0', 'Published']], ['1.0.0']).failedVersions['1.0.0']!.errorCode).toBe('NOT_ALLOWED');
  });
});
