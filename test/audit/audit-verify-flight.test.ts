/**
 * POST /v1/audit/verify called many times at once (auditors' scripts, the console's "Verify the
 * chain"): one walk of the chain at a time, each caller still authorized and audited on its own.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { testGateway, type TestGateway } from '../helpers/gateway.ts';
import { walkCounter } from '../helpers/walk-counter.ts';

describe.each(['sqlite', 'postgres'] as const)('concurrent audit verifies (%s)', (engine) => {
  let gw: TestGateway;
  afterEach(() => gw.close());

  it('run one walk at a time: callers with the same head share it, another head waits its turn; each call is audited', async () => {
    const counter = walkCounter();
    gw = await testGateway({ engine, wrapStore: counter.wrap });
    const sec = await gw.token('sam', ['security']);
    const head = (await gw.store.auditHead())!;
    const before = head.seq;
    const verify = (body: unknown) => gw.post('/v1/audit/verify', body, sec);
    const answers = await Promise.all([verify({}), verify({}), verify({}), verify({ head: `${head.seq}:${head.hash}` }), verify({ head: `${head.seq}:${head.hash}` })]);
    const bodies = await Promise.all(answers.map((r) => r.json()));
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(bodies.map((b) => b.ok)).toEqual([true, true, true, true, true]);
    expect(counter.seen.most).toBe(1);
    expect(counter.seen.started).toBe(2);
    const records = await gw.store.readAuditRange(before, 100);
    expect(records.filter((r) => r.action === 'ReadAuditLog' && (r.request as { verify?: boolean }).verify)).toHaveLength(5);
  });
});
