/**
 * What an auditor meets when the audit tables were edited by hand, on both stores: rows planted in
 * audit_versions fail verify; a corrupt JSON column neither breaks GET /v1/audit nor stops an export;
 * a seq-0 head is refused; a broken chain never answers a head to save. And the query's validation:
 * impossible dates and odd limits are refused.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../src/audit/audit-record.ts';
import { parseHead, verifyChain } from '../../src/audit/verify-chain.ts';
import { auditExport } from '../../src/cli/audit-commands.ts';
import { CHALK, testGateway, UPDATE, type TestGateway } from '../helpers/gateway.ts';
import { runInProcess } from '../helpers/cli-process.ts';
import { sqlOnGateway } from '../helpers/raw-sql.ts';

/** Runs SQL straight on the gateway's database, as someone with access to it would (constraints off). */
const tamper = (gw: TestGateway, statements: string[]) => sqlOnGateway(gw, statements, { constraintsOff: true });

describe.each(['sqlite', 'postgres'] as const)('reading and verifying an edited audit log (%s)', (engine) => {
  let gw: TestGateway;
  let auditor: string;
  let head: { seq: number; hash: string };
  beforeEach(async () => {
    gw = await testGateway({ engine });
    auditor = await gw.token('ada', ['auditors']);
    const rm = await gw.token('alice', ['release-managers']);
    for (const target of ['Unlisted', 'Published']) expect((await gw.post(`${UPDATE}?${CHALK}`, { versions: ['4.1.0'], targetStatus: target }, rm)).status).toBe(200);
    head = (await gw.store.auditHead())!;
  });
  afterEach(() => gw.close());

  it('verify fails on an audit_versions row past the head, naming it', async () => {
    await tamper(gw, [`INSERT INTO audit_versions (seq, version) VALUES (${head.seq + 1}, '4.1.1')`]);
    expect(await verifyChain(gw.store)).toMatchObject({ ok: false, head: null, break: { seq: head.seq + 1, problem: expect.stringContaining('audit_versions') } });
  });

  it('verify fails on an audit_versions row for seq 0', async () => {
    await tamper(gw, [`INSERT INTO audit_versions (seq, version) VALUES (0, '4.1.1')`]);
    expect(await verifyChain(gw.store)).toMatchObject({ ok: false, break: { seq: 0 } });
  });

  it('a corrupt JSON column: GET /v1/audit still answers, naming the record; verify reports it', async () => {
    const seq = head.seq - 1;
    await tamper(gw, [`UPDATE audit_log SET request = '{bad' WHERE seq = ${seq}`]);
    const res = await gw.get(`/v1/audit?limit=500`, auditor);
    expect(res.status).toBe(200);
    const records = (await res.json()).records as AuditRecord[];
    const corrupt = records.find((r) => r.seq === seq)!;
    expect(corrupt.unreadable).toEqual({ fields: { request: '{bad' }, problem: expect.stringContaining('audit verify') });
    expect(corrupt.request).toEqual({});
    expect(records.find((r) => r.seq === seq + 1)!.unreadable).toBeUndefined();
    expect(await verifyChain(gw.store)).toMatchObject({ ok: false, break: { seq } });
  });

  it('export goes past a corrupt record, writes every record, and ends non-zero naming it', async () => {
    const seq = head.seq - 1;
    await tamper(gw, [`UPDATE audit_log SET changes = '[bad' WHERE seq = ${seq}`]);
    const lines: string[] = [];
    const errors: string[] = [];
    const code = await auditExport(gw.store, { since: '2000-01-01T00:00:00Z' }, (l) => lines.push(l), (l) => errors.push(l));
    expect(code).toBe(1);
    expect(lines.map((l) => JSON.parse(l).seq)).toEqual(Array.from({ length: head.seq }, (_, i) => i + 1));
    expect(JSON.parse(lines[seq - 1]!).unreadable.fields).toEqual({ changes: '[bad' });
    expect(errors).toEqual([expect.stringMatching(new RegExp(`^versiongate: audit export: record\\(s\\) ${seq} hold`))]);
  });

  it('on a break, verify answers no head (what a script would save) but the record it verified through', async () => {
    await tamper(gw, [`UPDATE audit_log SET outcome = 'read' WHERE seq = 3`]);
    const sec = await gw.token('sam', ['security']);
    const body = await (await gw.post('/v1/audit/verify', {}, sec)).json();
    expect(body).toMatchObject({ ok: false, head: null, verifiedThrough: expect.stringMatching(/^2:[0-9a-f]{64}$/), break: { seq: 3 } });
  });

  it('refuses a head at seq 0, which named no record and verified any log', async () => {
    const sec = await gw.token('sam', ['security']);
    const res = await gw.post('/v1/audit/verify', { head: `0:${'a'.repeat(64)}` }, sec);
    expect(res.status).toBe(400);
    expect(parseHead(`0:${'0'.repeat(64)}`)).toBeUndefined();
  });
});

describe('GET /v1/audit validation', () => {
  let gw: TestGateway;
  beforeEach(async () => {
    gw = await testGateway();
  });
  afterEach(() => gw.close());

  it('refuses impossible dates and limits that are not plain whole numbers, with a clear 400', async () => {
    const auditor = await gw.token('ada', ['auditors']);
    for (const params of ['since=2026-02-30T00:00:00Z', 'until=2026-04-31', 'since=2026-01-01T24:00:00Z', 'since=2026-13-01T00:00:00Z']) {
      const res = await gw.get(`/v1/audit?${params}`, auditor);
      expect(res.status, params).toBe(400);
      expect(res.headers.get('x-amzn-errortype'), params).toBe('ValidationException');
      expect(JSON.stringify(await res.json()), params).toContain('real date');
    }
    for (const limit of ['0x10', '1e2', '+3', '%205', '00003', '', '0', '501', '2.5']) {
      const res = await gw.get(`/v1/audit?limit=${limit}`, auditor);
      expect(res.status, limit).toBe(400);
      expect(JSON.stringify(await res.json()), limit).toContain('limit must be a whole number from 1 to 500');
    }
    expect((await gw.get('/v1/audit?limit=500&since=2024-02-29T00:00:00Z', auditor)).status).toBe(200);
    expect((await gw.get('/v1/audit', auditor)).status).toBe(200);
  });
});

describe('versiongate audit query options', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'vg-audit-opts-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const cli = (...args: string[]) => runInProcess(['audit', ...args, '--data-dir', dir], { PATH: process.env.PATH });

  it('refuses impossible dates and odd limits as usage errors', async () => {
    for (const args of [['--since', '2026-02-30T00:00:00Z'], ['--limit', '0x10'], ['--limit', '1e2'], ['--limit', '00003'], ['--limit', ' 5']]) {
      const r = await cli('query', ...args);
      expect(r.code, args.join(' ')).toBe(2);
    }
    const head0 = await cli('verify', '--head', `0:${'a'.repeat(64)}`);
    expect(head0.code).toBe(2);
  });
});
