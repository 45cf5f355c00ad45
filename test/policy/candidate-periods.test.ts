/**
 * When a candidate was being evaluated, read back from the LoadPolicySet records the gateway writes:
 * what `policy diff` relies on to tell "the candidate agreed" from "there was no candidate".
 */
import { describe, expect, it } from 'vitest';
import { policyLoadRecord, type PolicyLoadRecordInput } from '../../src/audit/build-record.ts';
import { fixedClock } from '../../src/clock.ts';
import { candidateEvent, candidatePeriods, type CandidateEvent } from '../../src/policy/candidate-periods.ts';

const clock = fixedClock('2026-11-20T09:00:00.000Z');
const LIVE = { hash: 'a'.repeat(64), files: ['prod-guard.cedar'], policies: 3 };
const CANDIDATE = { hash: 'c'.repeat(64), files: ['candidate/prod-guard.cedar'], policies: 3 };
const OTHER = { hash: 'd'.repeat(64), files: ['candidate/other.cedar'], policies: 1 };

/** The events of records written at these times, as the gateway writes them (policyLoadRecord). */
function events(...records: Array<[string, Omit<PolicyLoadRecordInput, 'clock' | 'source'>]>): CandidateEvent[] {
  return records.flatMap(([time, input]) => {
    clock.set(time);
    const e = candidateEvent(policyLoadRecord({ clock, source: '/srv/policies', ...input }));
    return e ? [e] : [];
  });
}

describe('candidate periods', () => {
  it('a restart that loads the same candidate again continues its period', () => {
    const periods = candidatePeriods(
      undefined,
      events(
        ['2026-11-20T09:00:00.000Z', { loaded: LIVE, trigger: 'start' }],
        ['2026-11-20T09:00:00.000Z', { loaded: CANDIDATE, trigger: 'start' }],
        ['2026-11-21T09:00:00.000Z', { loaded: LIVE, trigger: 'start' }],
        ['2026-11-21T09:00:00.000Z', { loaded: CANDIDATE, trigger: 'start' }],
      ),
    );
    expect(periods).toEqual([{ hash: CANDIDATE.hash, from: '2026-11-20T09:00:00.000Z' }]);
  });

  it('a restart without the candidate (its folder removed while the gateway was stopped) ends the period at the start', () => {
    const periods = candidatePeriods(
      undefined,
      events(
        ['2026-11-20T09:00:00.000Z', { loaded: LIVE, trigger: 'start' }],
        ['2026-11-20T09:00:00.000Z', { loaded: CANDIDATE, trigger: 'start' }],
        ['2026-11-21T09:00:00.000Z', { loaded: LIVE, trigger: 'start' }],
      ),
    );
    expect(periods).toEqual([{ hash: CANDIDATE.hash, from: '2026-11-20T09:00:00.000Z', to: '2026-11-21T09:00:00.000Z' }]);
  });

  it('a restart refused for its live set ends the period too (nothing was evaluated after it)', () => {
    const periods = candidatePeriods(
      undefined,
      events(['2026-11-20T09:00:00.000Z', { loaded: CANDIDATE, trigger: 'start' }], ['2026-11-21T09:00:00.000Z', { errors: ['prod-guard.cedar:1:1: error: unexpected token'], trigger: 'start' }]),
    );
    expect(periods).toEqual([{ hash: CANDIDATE.hash, from: '2026-11-20T09:00:00.000Z', to: '2026-11-21T09:00:00.000Z' }]);
  });

  it('the same candidate loaded by a later reload, after a start without it, is a new period', () => {
    const periods = candidatePeriods(
      undefined,
      events(
        ['2026-11-20T09:00:00.000Z', { loaded: CANDIDATE, trigger: 'start' }],
        ['2026-11-21T09:00:00.000Z', { loaded: LIVE, trigger: 'start' }],
        ['2026-11-22T09:00:00.000Z', { loaded: CANDIDATE, trigger: 'watch' }],
      ),
    );
    expect(periods).toEqual([
      { hash: CANDIDATE.hash, from: '2026-11-20T09:00:00.000Z', to: '2026-11-21T09:00:00.000Z' },
      { hash: CANDIDATE.hash, from: '2026-11-22T09:00:00.000Z' },
    ]);
  });

  it('removal and a failed load end the period; another candidate starts its own', () => {
    const periods = candidatePeriods(
      undefined,
      events(
        ['2026-11-20T09:00:00.000Z', { loaded: CANDIDATE, trigger: 'watch' }],
        ['2026-11-20T10:00:00.000Z', { unloaded: 'candidate', trigger: 'watch' }],
        ['2026-11-20T11:00:00.000Z', { loaded: OTHER, trigger: 'watch' }],
        ['2026-11-20T12:00:00.000Z', { errors: ['candidate/other.cedar:1:1: error: unexpected token'], trigger: 'watch' }],
      ),
    );
    expect(periods).toEqual([
      { hash: CANDIDATE.hash, from: '2026-11-20T09:00:00.000Z', to: '2026-11-20T10:00:00.000Z' },
      { hash: OTHER.hash, from: '2026-11-20T11:00:00.000Z', to: '2026-11-20T12:00:00.000Z' },
    ]);
  });

  it('records written before the trigger was recorded read as they did: a reload of the live set ends nothing', () => {
    const periods = candidatePeriods(undefined, events(['2026-11-20T09:00:00.000Z', { loaded: CANDIDATE }], ['2026-11-21T09:00:00.000Z', { loaded: LIVE }]));
    expect(periods).toEqual([{ hash: CANDIDATE.hash, from: '2026-11-20T09:00:00.000Z' }]);
  });
});
