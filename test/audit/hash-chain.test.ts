/**
 * Tamper evidence: the chain links every record, and `verifyChain` finds the first break for each
 * kind of tampering, edited straight into the SQLite file the way an attacker with file access would.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { canonicalJson, GENESIS_HASH, recordHash } from '../../src/audit/audit-hash.ts';
import { parseHead, verifyChain } from '../../src/audit/verify-chain.ts';
import { CHALK, testGateway, UPDATE, type TestGateway } from '../helpers/gateway.ts';

describe('canonical encoding', () => {
  it('sorts keys at every depth, drops undefined members and adds no whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { z: null, y: 'é' }], c: undefined } })).toBe('{"a":{"d":[2,{"y":"é","z":null}]},"b":1}');
  });
  it('is independent of key order', () => {
    expect(canonicalJson({ x: 1, y: 2 })).toBe(canonicalJson({ y: 2, x: 1 }));
  });
});

describe('the audit hash chain', () => {
  let gw: TestGateway;
  let raw: Database.Database;
  /**
   * The records testGateway() writes before each test: the seed's (its domain, 3 repositories and 6
   * versions, seq 1–10), then the seeded versions' syncs (seq 11–16).
   */
  const SEED_RECORDS = 10;
  const SEEDED = SEED_RECORDS + 6;
  beforeEach(async () => {
    gw = await testGateway();
    expect((await gw.store.auditHead())?.seq).toBe(SEEDED);
    const rm = await gw.token('alice', ['release-managers']);
    for (const target of ['Unlisted', 'Archived', 'Published', 'Unlisted', 'Published']) {
      expect((await gw.post(`${UPDATE}?${CHALK}`, { versions: ['4.1.0'], targetStatus: target }, rm)).status).toBe(200);
    }
    expect((await gw.post(`${UPDATE}?${CHALK}`, { versions: ['4.1.0'], targetStatus: 'Archived' })).status).toBe(401);
    raw = new Database(join(gw.dataDir, 'data', 'versiongate.db'));
  });
  afterEach(async () => {
    raw.close();
    await gw.close();
  });

  it('links each record to the previous one, starting from the genesis hash', async () => {
    const records = await gw.store.readAuditRange(0, 100);
    expect(records.map((r) => r.seq)).toEqual(Array.from({ length: SEEDED + 6 }, (_, i) => i + 1));
    // The seed, its versions' syncs, then the five updates and the unauthenticated one above.
    expect(records.map((r) => r.action)).toEqual([
      ...Array(SEED_RECORDS).fill('SeedDemo'),
      ...Array(SEEDED - SEED_RECORDS).fill('SyncPackageVersion'),
      ...Array(6).fill('UpdatePackageVersionsStatus'),
    ]);
    expect(records[0]!.prevHash).toBe(GENESIS_HASH);
    for (let i = 1; i < records.length; i++) expect(records[i]!.prevHash).toBe(records[i - 1]!.hash);
    for (const r of records) expect(recordHash(r.seq, r.prevHash, r)).toBe(r.hash);
  });

  it('verifies an untouched log and reports its head', async () => {
    const result = await verifyChain(gw.store);
    const head = await gw.store.auditHead();
    expect(result).toEqual({ ok: true, records: SEEDED + 6, head });
    expect(await verifyChain(gw.store, { expectedHead: head! })).toMatchObject({ ok: true });
  });

  it('detects a changed byte', async () => {
    raw.prepare(`UPDATE audit_log SET principal_subject = 'mallory' WHERE seq = 3`).run();
    expect(await verifyChain(gw.store)).toMatchObject({ ok: false, records: 2, break: { seq: 3, problem: 'record 3 was changed: its contents do not match its hash' } });
  });

  it.each([
    ['an issuer set on a 401 record', `principal_issuer = 'https://evil.example'`, 'principal_subject IS NULL'],
    ['groups set on a 401 record', `principal_groups = '["security"]'`, 'principal_subject IS NULL'],
    ["a principal's issuer removed", 'principal_issuer = NULL', 'principal_subject IS NOT NULL'],
    ["a principal's groups removed", 'principal_groups = NULL', 'principal_subject IS NOT NULL'],
  ])('detects %s: every principal column is covered', async (_what, set, which) => {
    const seq = raw.prepare(`SELECT max(seq) FROM audit_log WHERE ${which}`).pluck().get() as number;
    expect(raw.prepare(`UPDATE audit_log SET ${set} WHERE seq = ?`).run(seq).changes).toBe(1);
    expect(await verifyChain(gw.store)).toMatchObject({ ok: false, break: { seq, problem: `record ${seq} was changed: its contents do not match its hash` } });
  });

  it('detects a changed value inside a JSON column', async () => {
    // The first update's changes (Published → Unlisted); the seeded syncs' changes name no Unlisted.
    const first = SEEDED + 1;
    expect(raw.prepare(`UPDATE audit_log SET changes = replace(changes, '"Unlisted"', '"Archived"') WHERE seq = ?`).run(first).changes).toBe(1);
    expect(raw.prepare(`SELECT changes FROM audit_log WHERE seq = ?`).pluck().get(first)).toContain('"Archived"');
    expect((await verifyChain(gw.store)).break?.seq).toBe(first);
  });

  it('detects a deleted record', async () => {
    raw.prepare(`DELETE FROM audit_versions WHERE seq = 4`).run();
    raw.prepare(`DELETE FROM audit_log WHERE seq = 4`).run();
    expect(await verifyChain(gw.store)).toMatchObject({ ok: false, break: { seq: 4, problem: 'record 4 missing: the log goes from seq 3 to seq 5' } });
  });

  it('detects reordered records', async () => {
    // Swap the whole contents of records 2 and 3, hashes included: each is intact on its own.
    const cols = (raw.prepare(`SELECT name FROM pragma_table_info('audit_log') WHERE name <> 'seq'`).all() as Array<{ name: string }>).map((c) => c.name);
    const two = raw.prepare(`SELECT * FROM audit_log WHERE seq = 2`).get() as Record<string, unknown>;
    const three = raw.prepare(`SELECT * FROM audit_log WHERE seq = 3`).get() as Record<string, unknown>;
    raw.prepare(`UPDATE audit_log SET decision_id = decision_id || '-moving' WHERE seq IN (2, 3)`).run();
    const set = raw.prepare(`UPDATE audit_log SET ${cols.map((c) => `${c} = @${c}`).join(', ')} WHERE seq = @seq`);
    set.run({ ...three, seq: 2 });
    set.run({ ...two, seq: 3 });
    const result = await verifyChain(gw.store);
    expect(result.ok).toBe(false);
    expect(result.break!.seq).toBe(2);
    expect(result.break!.problem).toContain('does not follow record 1');
  });

  it('detects an index column edited to hide a record from queries', async () => {
    raw.prepare(`UPDATE audit_log SET repository_arn = 'arn:aws:codeartifact:us-east-1:111122223333:repository/my_domain/elsewhere' WHERE seq = 2`).run();
    expect(await verifyChain(gw.store)).toMatchObject({ ok: false, break: { seq: 2 } });
    expect((await verifyChain(gw.store)).break!.problem).toContain('index columns');
  });

  it('detects a truncated tail given a saved head, which the chain alone cannot', async () => {
    const head = (await gw.store.auditHead())!;
    raw.prepare(`DELETE FROM audit_versions WHERE seq >= 5`).run();
    raw.prepare(`DELETE FROM audit_log WHERE seq >= 5`).run();
    expect((await verifyChain(gw.store)).ok).toBe(true);
    expect(await verifyChain(gw.store, { expectedHead: head })).toMatchObject({
      ok: false,
      break: { seq: 5, problem: `the log ends at seq 4, but the saved head is at seq ${head.seq}: records were removed from the end` },
    });
  });

  it('detects a log rewritten and re-hashed from some record on, given a saved head', async () => {
    const head = (await gw.store.auditHead())!;
    // An attacker with the code can recompute every hash after an edit; the saved head still differs.
    const rows = await gw.store.readAuditRange(0, 100);
    let prev = rows[2]!.hash;
    raw.prepare(`UPDATE audit_log SET request_id = 'rewritten' WHERE seq = 4`).run();
    for (const r of rows.slice(3)) {
      const record = { ...r, requestId: r.seq === 4 ? 'rewritten' : r.requestId };
      const hash = recordHash(r.seq, prev, record);
      raw.prepare(`UPDATE audit_log SET prev_hash = ?, hash = ? WHERE seq = ?`).run(prev, hash, r.seq);
      prev = hash;
    }
    expect((await verifyChain(gw.store)).ok).toBe(true);
    const result = await verifyChain(gw.store, { expectedHead: head });
    expect(result.ok).toBe(false);
    expect(result.break!.problem).toContain('the log was rewritten');
  });

  it('parses a saved head and refuses anything else', () => {
    expect(parseHead(`12:${'a'.repeat(64)}`)).toEqual({ seq: 12, hash: 'a'.repeat(64) });
    expect(parseHead('12:abc')).toBeUndefined();
    expect(parseHead('x')).toBeUndefined();
  });
});
