/** `versiongate audit query | export | verify` as an operator runs them, over a real database file. */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditRecordInput } from '../../src/audit/audit-record.ts';
import { fixedClock } from '../../src/clock.ts';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { runInProcess } from '../helpers/cli-process.ts';


const record = (i: number, subject: string, time: string): AuditRecordInput => ({
  decisionId: `d-${i}`,
  time,
  requestId: `r-${i}`,
  sourceIp: '127.0.0.1',
  principal: { issuer: 'urn:versiongate:dev', subject, groups: [] },
  action: 'UpdatePackageVersionsStatus',
  resource: 'arn:aws:codeartifact:us-east-1:111122223333:package/my_domain/my_repo/npm//chalk',
  decision: 'allow',
  reason: null,
  determiningPolicies: ['release-managers-curate-my-repo'],
  errors: [],
  policySetHash: 'f'.repeat(64),
  request: { versions: ['4.1.0'], targetStatus: 'Unlisted' },
  changes: [],
  outcome: 'applied',
  httpStatus: 200,
});

describe('versiongate audit', () => {
  let dir: string;
  // The CLI's main() in this process: the launcher's exit codes are tested in test/cli/.
  const cli = (...args: string[]) => runInProcess(['audit', ...args, '--data-dir', dir], { PATH: process.env.PATH });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vg-audit-cli-'));
    const store = openSqliteStore({ file: join(dir, 'versiongate.db'), clock: fixedClock('2026-11-01T00:00:00Z') });
    await store.appendAudit(record(1, 'alice', '2026-11-01T10:00:00.000Z'));
    await store.appendAudit(record(2, 'bob', '2026-11-02T10:00:00.000Z'));
    await store.appendAudit(record(3, 'alice', '2026-11-03T10:00:00.000Z'));
    await store.close();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('query prints matching records newest first as NDJSON', async () => {
    const { code, stdout } = await cli('query', '--principal', 'alice');
    expect(code).toBe(0);
    expect(stdout.trim().split('\n').map((l) => JSON.parse(l).requestId)).toEqual(['r-3', 'r-1']);
  });

  it('export prints the window oldest first with the chain fields', async () => {
    const { code, stdout } = await cli('export', '--since', '2026-11-02T00:00:00Z', '--until', '2026-11-03T00:00:00Z');
    expect(code).toBe(0);
    const lines = stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.seq)).toEqual([2]);
    expect(lines[0].prevHash).toMatch(/^[0-9a-f]{64}$/);
    expect(lines[0].hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('export needs --since, and bad filters are usage errors (exit 2)', async () => {
    expect((await cli('export')).code).toBe(2);
    const bad = await cli('query', '--since', 'yesterday');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--since');
  });

  it('a data dir with no database (a mistyped --data-dir) is an error, and nothing is created there', async () => {
    const typo = join(dir, 'typo');
    for (const sub of ['verify', 'query']) {
      const r = await runInProcess(['audit', sub, '--data-dir', typo], { PATH: process.env.PATH });
      expect(r.code, sub).toBe(1);
      expect(r.stderr).toBe(`versiongate: there is no database at ${join(typo, 'versiongate.db')}: no audit log to read (is --data-dir right?)\n`);
      expect(r.stdout).toBe('');
    }
    expect(existsSync(typo)).toBe(false);
  });

  it('verify reports an intact chain and its head, then the first break after tampering', async () => {
    const ok = await cli('verify');
    expect(ok.code).toBe(0);
    const head = /head (\d+:[0-9a-f]{64})/.exec(ok.stdout)![1]!;
    expect(ok.stdout).toContain('audit chain intact: 3 record(s)');
    expect((await cli('verify', '--head', head)).code).toBe(0);
    expect((await cli('verify', '--head', 'nonsense')).code).toBe(2);

    const raw = new Database(join(dir, 'versiongate.db'));
    raw.prepare(`DELETE FROM audit_versions WHERE seq = 3`).run();
    raw.prepare(`DELETE FROM audit_log WHERE seq = 3`).run();
    const truncated = await cli('verify', '--head', head);
    expect(truncated.code).toBe(1);
    expect(truncated.stderr).toContain('records were removed from the end');

    raw.prepare(`UPDATE audit_log SET outcome = 'rejected' WHERE seq = 1`).run();
    raw.close();
    const changed = await cli('verify');
    expect(changed.code).toBe(1);
    expect(changed.stderr).toContain('audit chain broken at record 1: record 1 was changed');
  });
});
