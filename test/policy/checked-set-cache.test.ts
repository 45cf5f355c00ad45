/**
 * The record of a checked policy set (checked-set-cache.ts): a start with the very inputs and code
 * that passed reuses the checks; any change, any doubt about the record, runs them again, and a set
 * that fails them is refused and never recorded.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.ts';
import { silentLogger } from '../../src/log.ts';
import { CHECKED_SET_FILE } from '../../src/policy/checked-set-cache.ts';
import { PolicySetError } from '../../src/policy/load-policies.ts';
import { PolicyManager, type PolicyManagerOptions } from '../../src/policy/policy-manager.ts';
import { readTestCases } from '../../src/policy/run-tests.ts';
import { REPO_POLICIES } from '../helpers/gateway.ts';

/** A shipped test expects release managers to archive in my_repo: this makes the policy name another group. */
const CURATE = 'principal in Group::"release-managers",\n  action == Action::"UpdatePackageVersionsStatus"';
const CURATE_BROKEN = 'principal in Group::"release-managerz",\n  action == Action::"UpdatePackageVersionsStatus"';

describe('the record of a checked policy set', () => {
  let dir: string;
  let data: string;
  let record: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'versiongate-checked-set-'));
    data = mkdtempSync(join(tmpdir(), 'versiongate-checked-data-'));
    record = join(data, CHECKED_SET_FILE);
    cpSync(REPO_POLICIES, dir, { recursive: true });
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(data, { recursive: true, force: true });
  });

  const start = (more: Partial<PolicyManagerOptions> = {}) => {
    const manager = PolicyManager.start({ dir, clock: systemClock, logger: silentLogger, reloadInWorker: false, checkedSetCache: record, ...more });
    manager.close();
    return manager;
  };
  const edit = (file: string, from: string, to: string) => {
    const path = join(dir, file);
    const text = readFileSync(path, 'utf8');
    expect(text).toContain(from);
    writeFileSync(path, text.replace(from, to));
  };

  it('checks in full at the first start, then reuses the checks for the same inputs, deciding alike', () => {
    const first = start();
    expect(first.startChecks).toBe('ran');
    const second = start();
    expect(second.startChecks).toBe('reused');
    expect(second.live.policySet).toEqual(first.live.policySet);
    // Every shipped test case, decided by the engine over the reused set as over the checked one.
    const cases = readTestCases(dir);
    expect(cases.length).toBeGreaterThan(10);
    const decide = (m: PolicyManager) => cases.map((c) => m.live.evaluate(c.call)).map(({ cached: _, ...d }) => d);
    const decisions = decide(first);
    expect(decisions.some((d) => d.decision === 'allow') && decisions.some((d) => d.decision === 'deny')).toBe(true);
    expect(decide(second)).toEqual(decisions);
  });

  it('runs the checks again when one byte of a policy changes, and refuses a set whose tests then fail', () => {
    expect(start().startChecks).toBe('ran');
    const passed = readFileSync(record, 'utf8');
    edit('release-managers.cedar', CURATE, CURATE_BROKEN);
    expect(() => start()).toThrow(PolicySetError);
    expect(() => start()).toThrow(/release-managers|FAIL/);
    // The refused set left the record of the last set that passed as it was.
    expect(readFileSync(record, 'utf8')).toBe(passed);
    edit('release-managers.cedar', CURATE_BROKEN, CURATE);
    expect(start().startChecks).toBe('reused');
  });

  it('runs the checks again for a change that keeps the set valid (a comment), then records it', () => {
    start();
    edit('release-managers.cedar', '// Release managers', '// Release  managers');
    expect(start().startChecks).toBe('ran');
    expect(start().startChecks).toBe('reused');
  });

  it('runs the checks again when a test file, a links file or the groups claim changes', () => {
    start();
    edit('tests/promotion.json', '"name"', ' "name"');
    expect(start().startChecks).toBe('ran');
    edit('links.json', '[', '[ ');
    expect(start().startChecks).toBe('ran');
    expect(start({ groupsClaim: 'roles' }).startChecks).toBe('ran');
    expect(start({ groupsClaim: 'roles' }).startChecks).toBe('reused');
  });

  it('runs the checks in full for a record that is missing, truncated, corrupted, unparsable or of another key', () => {
    start();
    const good = readFileSync(record, 'utf8');
    const header = good.slice(0, good.indexOf('\n'));
    const payload = good.slice(good.indexOf('\n') + 1);
    const variants = {
      missing: undefined,
      empty: '',
      truncated: good.slice(0, Math.floor(good.length / 2)),
      // One policy's text changed in the payload: its digest no longer matches.
      corrupted: `${header}\n${payload.replace('release-managers', 'release-managerz')}`,
      unparsable: `{${good}`,
      'another key': `${header.replace(/"key":"[0-9a-f]/, (m) => `${m.slice(0, -1)}${m.endsWith('0') ? '1' : '0'}`)}\n${payload}`,
    };
    for (const [what, text] of Object.entries(variants)) {
      if (text === undefined) rmSync(record);
      else writeFileSync(record, text);
      expect(start().startChecks, what).toBe('ran');
      // ...and the full check wrote a good record again.
      expect(readFileSync(record, 'utf8'), what).toBe(good);
    }
  });

  it('checks in full every time when no record is configured', () => {
    expect(start({ checkedSetCache: undefined }).startChecks).toBe('ran');
    expect(start({ checkedSetCache: undefined }).startChecks).toBe('ran');
  });
});
