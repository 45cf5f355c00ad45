/**
 * The policy bench's worker threads (candidate-off-thread.ts): their answers, their cap, and what a
 * worker that does not answer in time becomes. Real worker threads, real Cedar.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ServiceUnavailableError } from '../../src/errors.ts';
import type { CandidateSources } from '../../src/policy/candidate-job.ts';
import { createCandidateRunner } from '../../src/policy/candidate-off-thread.ts';
import { silentLogger } from '../../src/log.ts';
import { auditLogResource, principalEntities, userUid } from '../../src/policy/entities.ts';
import { REPO_POLICIES } from '../helpers/gateway.ts';

const schema = readFileSync(join(REPO_POLICIES, 'schema.cedarschema'), 'utf8');
const WAIT_MS = 120_000;

function setOf(n: number): CandidateSources {
  let text = '';
  for (let i = 0; i < n; i++) text += `@id("p${i}")\npermit (principal == User::"user${i}", action == Action::"ReadAuditLog", resource);\n`;
  return { schema, files: [{ file: 'set.cedar', text }], templates: [], links: [] };
}

/** ReadAuditLog by `user`, as the gateway hands such a request to Cedar. */
function call(user: string) {
  const principal = { issuer: 'urn:test', subject: user, groups: [] };
  const resource = auditLogResource();
  return { principal: userUid(principal), action: { type: 'Action', id: 'ReadAuditLog' }, resource: resource.uid, context: {}, entities: [...principalEntities(principal), ...resource.entities] };
}

describe('the candidate runner', () => {
  it('decides by a supplied set in a worker: the determining policy, its file and line', { timeout: WAIT_MS }, async () => {
    const answer = await createCandidateRunner(silentLogger).run({ kind: 'decide', set: setOf(12), call: call('user11') }, WAIT_MS);
    expect(answer).toMatchObject({ kind: 'decide', explanation: { decision: 'allow', because: 'permit', determiningPolicies: [{ id: 'p11', file: 'set.cedar', line: 23 }] } });
  });

  it('reports a set that does not compile as invalid, and checks one with its diagnostics', { timeout: WAIT_MS }, async () => {
    const runner = createCandidateRunner(silentLogger);
    const bad: CandidateSources = { ...setOf(0), files: [{ file: 'bad.cedar', text: 'permit (principal, action, resource' }] };
    expect(await runner.run({ kind: 'decide', set: bad, call: call('x') }, WAIT_MS)).toMatchObject({ kind: 'invalid', message: expect.stringContaining('the supplied policy set is not valid: bad.cedar:1:') });
    const checked = await runner.run({ kind: 'check', set: bad, groupsClaim: 'groups' }, WAIT_MS);
    expect(checked).toMatchObject({ kind: 'check', report: { valid: false, diagnostics: [{ file: 'bad.cedar', line: 1, severity: 'error' }] } });
  });

  it('runs at most its cap at once: one more is refused at once (503), and runs once a place is free', { timeout: WAIT_MS }, async () => {
    const runner = createCandidateRunner(silentLogger, 1);
    const first = runner.run({ kind: 'check', set: setOf(2000), groupsClaim: 'groups' }, WAIT_MS);
    expect(runner.running()).toBe(1);
    await expect(runner.run({ kind: 'check', set: setOf(1), groupsClaim: 'groups' }, WAIT_MS)).rejects.toThrow(ServiceUnavailableError);
    expect((await first).kind).toBe('check');
    expect(runner.running()).toBe(0);
    expect(await runner.run({ kind: 'check', set: setOf(1), groupsClaim: 'groups' }, WAIT_MS)).toMatchObject({ kind: 'check', report: { valid: true } });
  });

  it('a worker with no answer by the deadline is a 503 that says so, and its place is given back', { timeout: WAIT_MS }, async () => {
    const runner = createCandidateRunner(silentLogger, 1);
    const late = runner.run({ kind: 'check', set: setOf(2000), groupsClaim: 'groups' }, 0);
    await expect(late).rejects.toThrow(/could not run in its worker thread \(no answer within the request's 0 ms\)/);
    expect(runner.running()).toBe(0);
  });

  it('a worker that fails is a 503 that says only that, and what it said goes to the log', { timeout: WAIT_MS }, async () => {
    const logged: Array<{ msg: string; fields: Record<string, unknown> | undefined }> = [];
    const logger = { ...silentLogger, error: (msg: string, fields?: Record<string, unknown>) => void logged.push({ msg, fields }) };
    // Not a set at all: compiling it throws inside the worker.
    const broken = { kind: 'check', set: { schema, files: null, templates: [], links: [] }, groupsClaim: 'groups' } as unknown as Parameters<ReturnType<typeof createCandidateRunner>['run']>[0];
    const failed = createCandidateRunner(logger).run(broken, WAIT_MS);
    await expect(failed).rejects.toThrow(ServiceUnavailableError);
    await expect(failed).rejects.toThrow(/^The policy check could not run in its worker thread \(it failed\): nothing was changed; try again shortly\.$/);
    expect(logged).toEqual([{ msg: 'a policy check worker failed', fields: { err: expect.any(Error) } }]);
  });
});
