/**
 * POST /v1/audit/verify (the console's "Verify the chain") walks the whole log inside the gateway.
 * It must not hold the gateway while it does: on the real server, over a log of 60,000 records,
 * other requests are answered one after another while the walk is still under way. (Before, the
 * walk read and checked its batches without ever giving the event loop a turn: nothing was answered
 * until it was, and 200,000 records took 5.8 s.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditInput } from '../helpers/audit-input.ts';
import { rawRequest, realServer, type RealServer } from './real-server.ts';

const RECORDS = 60_000;

describe('a verify of a long audit log on the real server', () => {
  let s: RealServer;
  beforeAll(async () => {
    s = await realServer();
    for (let i = 0; i < RECORDS; i += 2000) {
      await s.gateway.store.appendAuditBatch(Array.from({ length: 2000 }, (_, k) => auditInput({ requestId: `fill-${i + k}`, resource: `arn:aws:codeartifact:us-east-1:111122223333:package/my_domain/my_repo/npm//pkg${k % 100}` })));
    }
  }, 120_000);
  afterAll(() => s.cleanup());

  it('answers other requests while it walks, then reports the whole chain intact', { timeout: 120_000 }, async () => {
    const token = await s.token('ada', ['auditors']);
    let verified = false;
    const verify = rawRequest(`${s.gateway.url}/v1/audit/verify`, { method: 'POST', headers: { authorization: `Bearer ${token}` } }).then((r) => {
      verified = true;
      return r;
    });
    for (let i = 0; i < 10; i++) expect((await rawRequest(`${s.gateway.url}/healthz`)).status).toBe(200);
    expect(verified).toBe(false);
    const res = await verify;
    expect(res.status, res.body).toBe(200);
    const body = JSON.parse(res.body) as { ok: boolean; records: number };
    expect(body.ok).toBe(true);
    expect(body.records).toBeGreaterThan(RECORDS);
  });
});
