/**
 * Refused tokens are audited without amplification: the first of a kind (source, action, reason,
 * status) in a window is recorded at once, the rest are counted into one record when the window
 * closes, and kinds beyond the limit fold into one overflow record. Still in the chain, still verified.
 */
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AuditRecordInput } from '../../src/audit/audit-record.ts';
import { OVERFLOW_ACTION, RejectionLog } from '../../src/audit/rejection-log.ts';
import { verifyChain } from '../../src/audit/verify-chain.ts';
import { systemClock } from '../../src/clock.ts';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { CHALK, testGateway, UPDATE, type TestGateway } from '../helpers/gateway.ts';
import { rawRequest, realServer } from '../ops/real-server.ts';

const CHALK_ARN = 'arn:aws:codeartifact:us-east-1:111122223333:package/my_domain/my_repo/npm//chalk';
const BODY = { versions: ['4.1.0'], targetStatus: 'Archived' };

describe('refused tokens in the audit log', () => {
  let gw: TestGateway;
  beforeEach(async () => {
    gw = await testGateway();
  });
  afterEach(async () => {
    await gw.close();
  });

  const refusals = async () => (await gw.store.listAudit({ limit: 1000, filter: { decision: 'unauthenticated' } })).reverse();
  const refuse = async (token = 'not-a-jwt') => {
    const res = await gw.post(`${UPDATE}?${CHALK}`, BODY, token);
    expect(res.status).toBe(401);
    return res.headers.get('x-request-id')!;
  };

  it('records the first refusal of a kind at once and the rest as one counted record when the window closes', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await refuse());
    let records = await refusals();
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ requestId: ids[0], action: 'UpdatePackageVersionsStatus', resource: CHALK_ARN, reason: 'ERR_JWS_INVALID', httpStatus: 401, outcome: 'unauthenticated' });

    await gw.rejections.flush();
    records = await refusals();
    expect(records).toHaveLength(2);
    expect(records[1]).toMatchObject({
      action: 'UpdatePackageVersionsStatus',
      resource: CHALK_ARN,
      reason: 'ERR_JWS_INVALID',
      decision: 'unauthenticated',
      requestId: ids[4],
      request: { rejected: 4, firstRequestId: ids[1], lastRequestId: ids[4], resources: [CHALK_ARN], resourcesOmitted: 0 },
    });
    expect((await verifyChain(gw.store)).ok).toBe(true);

    // A new window: its first refusal is recorded at once again.
    await refuse();
    expect(await refusals()).toHaveLength(3);
  });

  it('keeps kinds apart: another reason is recorded at once, and a window with nothing counted writes nothing', async () => {
    await refuse();
    await refuse('');
    const res = await gw.post(`${UPDATE}?${CHALK}`, BODY);
    expect(res.status).toBe(401);
    expect((await refusals()).map((r) => r.reason)).toEqual(['ERR_JWS_INVALID', 'ERR_TOKEN_MISSING']);
    await gw.rejections.flush();
    // Two missing tokens: the first recorded, the second counted.
    const records = await refusals();
    expect(records.map((r) => r.reason)).toEqual(['ERR_JWS_INVALID', 'ERR_TOKEN_MISSING', 'ERR_TOKEN_MISSING']);
    expect(records[2]!.request).toMatchObject({ rejected: 1 });
  });

  it('writes two records for a flood of 300 refusals, not 300', async () => {
    const before = (await gw.store.auditHead())!.seq;
    await Promise.all(Array.from({ length: 300 }, () => refuse()));
    await gw.rejections.flush();
    const records = await refusals();
    expect(records).toHaveLength(2);
    expect(records[1]!.request).toMatchObject({ rejected: 299 });
    expect((await gw.store.auditHead())!.seq - before).toBe(2);
  });

  it('records every refusal on its own with a window of 0', async () => {
    await gw.close();
    gw = await testGateway({ rejectionWindowMs: 0 });
    for (let i = 0; i < 3; i++) await refuse();
    expect(await refusals()).toHaveLength(3);
  });
});

describe('RejectionLog', () => {
  const meta = (sourceIp: string | null, requestId: string) => ({ requestId, sourceIp });
  const refusal = (sourceIp: string, requestId: string, resource: string | null = 'arn:r') => ({ clock: systemClock, meta: meta(sourceIp, requestId), action: 'DescribePackageVersion', resource, code: 'ERR_JWS_INVALID', httpStatus: 401 });

  it('folds kinds past the limit into one overflow record with no source and no action, bounded samples of resources', async () => {
    const written: AuditRecordInput[] = [];
    const log = new RejectionLog({ append: async (r) => written.push(r), windowMs: 60_000, maxKinds: 2 });
    await log.record(refusal('10.0.0.1', 'a'));
    await log.record(refusal('10.0.0.2', 'b'));
    for (let i = 0; i < 15; i++) await log.record(refusal(`10.0.1.${i}`, `c${i}`, `arn:r${i}`));
    expect(written.map((r) => r.requestId)).toEqual(['a', 'b']);
    await log.close();
    expect(written).toHaveLength(3);
    expect(written[2]).toMatchObject({ sourceIp: null, action: OVERFLOW_ACTION, reason: 'MANY_KINDS', resource: null, requestId: 'c14' });
    expect(written[2]!.request).toMatchObject({ rejected: 15, firstRequestId: 'c0', lastRequestId: 'c14', resourcesOmitted: 5 });
    expect(written[2]!.request.resources).toHaveLength(10);
  });

  it('writes a window out when it closes, without being asked', async () => {
    const written: AuditRecordInput[] = [];
    const log = new RejectionLog({ append: async (r) => written.push(r), windowMs: 20 });
    await log.record(refusal('10.0.0.1', 'a'));
    await log.record(refusal('10.0.0.1', 'b'));
    expect(written).toHaveLength(1);
    await vi.waitFor(() => expect(written).toHaveLength(2), { timeout: 10_000 });
    expect(written[1]!.request).toMatchObject({ rejected: 1, firstRequestId: 'b' });
  });

  it('records each refusal on its own once closed', async () => {
    const written: AuditRecordInput[] = [];
    const log = new RejectionLog({ append: async (r) => written.push(r), windowMs: 60_000 });
    await log.close();
    await log.record(refusal('10.0.0.1', 'a'));
    await log.record(refusal('10.0.0.1', 'b'));
    expect(written.map((r) => r.requestId)).toEqual(['a', 'b']);
  });
});

describe('refused tokens on the real server', () => {
  it('writes the counts of the open window when it shuts down', async () => {
    const s = await realServer();
    const url = `${s.gateway.url}${UPDATE}?${CHALK}`;
    const send = () => rawRequest(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer not-a-jwt' }, body: JSON.stringify(BODY) });
    for (let i = 0; i < 3; i++) expect((await send()).status).toBe(401);
    const file = join(s.config.dataDir, 'versiongate.db');
    await s.gateway.close();
    const store = openSqliteStore({ file, clock: systemClock });
    try {
      const records = (await store.listAudit({ limit: 10, filter: { decision: 'unauthenticated' } })).reverse();
      expect(records).toHaveLength(2);
      expect(records[0]).toMatchObject({ sourceIp: '127.0.0.1', reason: 'ERR_JWS_INVALID' });
      expect(records[1]).toMatchObject({ sourceIp: '127.0.0.1', request: { rejected: 2 } });
      expect((await verifyChain(store)).ok).toBe(true);
    } finally {
      await store.close();
      await s.cleanup();
    }
  });
});
