/** Shadow disagreements grouped once, for `policy diff` and the console's playground alike. */
import { describe, expect, it } from 'vitest';
import { addDisagreement, sortedDisagreements, type DisagreementRecord, type DisagreementRow } from '../../src/policy/disagreements.ts';

const record = (time: string, resource: string, over: Partial<DisagreementRecord> = {}): DisagreementRecord => ({
  outcome: 'shadow_disagreement',
  action: 'DisposePackageVersions',
  decision: 'allow',
  determiningPolicies: ['candidate-permits'],
  reason: null,
  resource,
  time,
  request: { live: { decision: 'deny', determiningPolicies: [] } },
  ...over,
});

describe('grouping shadow disagreements', () => {
  it('groups by action and both answers, counts them, and spans their times in any order', () => {
    const rows = new Map<string, DisagreementRow>();
    // Newest first, as GET /v1/audit pages come; `policy diff` reads oldest first.
    for (const r of [record('2026-12-02T10:03:00Z', 'arn:b'), record('2026-12-02T10:01:00Z', 'arn:a'), record('2026-12-02T10:02:00Z', 'arn:a')]) addDisagreement(rows, r);
    addDisagreement(rows, record('2026-12-02T10:00:00Z', 'arn:c', { decision: 'deny', determiningPolicies: ['candidate-forbids'] }));
    addDisagreement(rows, record('2026-12-02T09:00:00Z', 'arn:d', { outcome: 'applied' }));
    const sorted = sortedDisagreements(rows);
    expect(sorted.map((r) => [r.count, r.live, r.candidate])).toEqual([
      [3, 'deny', 'allow (candidate-permits)'],
      [1, 'deny', 'deny (candidate-forbids)'],
    ]);
    expect(sorted[0]).toMatchObject({ first: '2026-12-02T10:01:00Z', last: '2026-12-02T10:03:00Z', resources: new Set(['arn:b', 'arn:a']) });
  });
});
