/**
 * The start's check begun before the server loads (start-check.ts): the record of a set that passed
 * answers at once; otherwise the checks run in a worker thread, and PolicyManager.startChecked
 * judges the answer as start() judges its own: the same set passes, the same set is refused with
 * the same diagnostics, and a worker that fails refuses the start.
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.ts';
import { silentLogger } from '../../src/log.ts';
import { CHECKED_SET_FILE } from '../../src/policy/checked-set-cache.ts';
import { PolicySetError } from '../../src/policy/load-policies.ts';
import { PolicyManager, type PolicyManagerOptions, type ReloadOutcome } from '../../src/policy/policy-manager.ts';
import { readTestCases } from '../../src/policy/run-tests.ts';
import { beginStartCheck } from '../../src/policy/start-check.ts';
import { cliProcesses, envWithout } from '../helpers/cli-process.ts';
import { REPO_POLICIES } from '../helpers/gateway.ts';

/** A policy that names a context attribute the schema does not have (for one action: one diagnostic). */
const BROKEN = 'permit (principal, action == Action::"UpdatePackageVersionsStatus", resource)\nwhen { context.noSuchField == "a" };\n';

describe('the start check begun before the server loads', () => {
  let dir: string;
  let data: string;
  let record: string;
  let loads: ReloadOutcome[];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'versiongate-start-check-'));
    data = mkdtempSync(join(tmpdir(), 'versiongate-start-data-'));
    record = join(data, CHECKED_SET_FILE);
    cpSync(REPO_POLICIES, dir, { recursive: true });
    loads = [];
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(data, { recursive: true, force: true });
  });
  const options = (): PolicyManagerOptions => ({ dir, clock: systemClock, logger: silentLogger, checkedSetCache: record, onLoad: (o) => loads.push(o) });

  it('checks a fresh set in a worker, loads what start() loads, records it, and then answers from the record', async () => {
    const pending = beginStartCheck({ dir, checkedSetCache: record });
    // No record yet: the answer comes from the worker thread.
    expect(pending).toBeInstanceOf(Promise);
    const checked = PolicyManager.startChecked(options(), await pending, systemClock.now().toISOString());
    checked.close();
    expect(checked.startChecks).toBe('ran');
    expect(loads.map((l) => l.outcome)).toEqual(['loaded']);
    expect(existsSync(record)).toBe(true);
    const here = PolicyManager.start({ ...options(), checkedSetCache: undefined });
    here.close();
    // The same set, but for the heads: from the worker they come as text, consumed by the index (HeadParts).
    const { heads: _, ...inThread } = here.live.policySet;
    expect(checked.live.policySet.heads).toBeUndefined();
    expect(checked.live.policySet).toEqual(inThread);
    const cases = readTestCases(dir);
    const decide = (m: PolicyManager) => cases.map((c) => m.live.evaluate(c.call)).map(({ cached: _, ...d }) => d);
    expect(decide(checked)).toEqual(decide(here));

    const recorded = beginStartCheck({ dir, checkedSetCache: record });
    expect(recorded).not.toBeInstanceOf(Promise);
    const again = PolicyManager.startChecked(options(), await recorded, systemClock.now().toISOString());
    again.close();
    expect(again.startChecks).toBe('reused');
    expect(decide(again)).toEqual(decide(here));
  });

  it('refuses a set Cedar refuses with the diagnostics start() gives, and records nothing', async () => {
    writeFileSync(join(dir, 'broken.cedar'), BROKEN);
    let inThread: unknown;
    try {
      PolicyManager.start({ ...options(), checkedSetCache: undefined });
    } catch (err) {
      inThread = err;
    }
    expect(inThread).toBeInstanceOf(PolicySetError);
    loads = [];
    const answer = await beginStartCheck({ dir, checkedSetCache: record });
    let offThread: unknown;
    try {
      PolicyManager.startChecked(options(), answer, systemClock.now().toISOString());
    } catch (err) {
      offThread = err;
    }
    expect(offThread).toBeInstanceOf(PolicySetError);
    expect((offThread as PolicySetError).message).toBe((inThread as PolicySetError).message);
    expect((offThread as PolicySetError).message).toContain('broken.cedar:2:8: error: for policy `broken.cedar#0`, attribute `noSuchField`');
    expect(loads.map((l) => l.outcome)).toEqual(['refused']);
    expect(existsSync(record)).toBe(false);
  });

  it('refuses the start when the worker does not answer in time', async () => {
    const answer = await beginStartCheck({ dir, checkedSetCache: record, reloadTimeoutMs: 1 });
    expect(() => PolicyManager.startChecked(options(), answer, systemClock.now().toISOString())).toThrow(/the policy check failed in its worker thread: no answer after 1 ms/);
    expect(loads.map((l) => l.outcome)).toEqual(['refused']);
  });
});

describe('versiongate serve from the bundle (its check in a worker thread)', () => {
  const cli = cliProcesses();
  const dirs: string[] = [];
  afterAll(() => {
    cli.killAll();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('exits 3 with the diagnostics for a set that does not validate, listening never', async () => {
    const policyDir = mkdtempSync(join(tmpdir(), 'versiongate-start-policies-'));
    const dataDir = mkdtempSync(join(tmpdir(), 'versiongate-start-data-'));
    dirs.push(policyDir, dataDir);
    cpSync(join(REPO_POLICIES, 'schema.cedarschema'), join(policyDir, 'schema.cedarschema'));
    writeFileSync(join(policyDir, 'bad.cedar'), BROKEN);
    const env = { ...envWithout('VERSIONGATE_'), VERSIONGATE_DATA_DIR: dataDir, VERSIONGATE_POLICY_DIR: policyDir };
    const r = await cli.run(['serve', '--dev', '--port', '0'], env);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('versiongate: the policy set is not valid (1 error(s)):\n');
    expect(r.stderr).toContain('bad.cedar:2:8: error: for policy `bad.cedar#0`, attribute `noSuchField`');
    expect(r.stdout).not.toContain('listening');
    expect(existsSync(join(dataDir, CHECKED_SET_FILE))).toBe(false);
    expect(readFileSync(join(policyDir, 'bad.cedar'), 'utf8')).toBe(BROKEN);
  });
});
