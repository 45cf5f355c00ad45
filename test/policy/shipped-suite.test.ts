/**
 * The shipped policy suite (policies/tests/*.json) against the shipped policies, through the same
 * runner as `versiongate policy test` and the gateway's reload: this is how `npm test` runs it.
 * A failure lists every failing case as the command prints it.
 */
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPolicyDir } from '../../src/policy/load-policies.ts';
import { formatFailure, readTestCases, runPolicyTests } from '../../src/policy/run-tests.ts';

const POLICY_DIR = resolve(import.meta.dirname, '../../policies');

describe('the shipped policy suite', () => {
  it('passes every case in policies/tests', () => {
    const set = loadPolicyDir(POLICY_DIR);
    const cases = readTestCases(POLICY_DIR);
    expect(cases.length, 'policies/tests holds no cases').toBeGreaterThan(0);

    const report = runPolicyTests(set, cases);

    const failures = report.failures.map(formatFailure).join('\n');
    expect(report.failed, `${report.failed} of ${cases.length} case(s) failed:\n${failures}`).toBe(0);
    expect(report.passed).toBe(cases.length);
  });
});
