/**
 * The chain head in the gateway's own logs: what an operator ships at every start and stop, and the
 * warning when a populated registry starts on an emptied audit log (which verifies "intact" alone).
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { verifyChain, parseHead } from '../../src/audit/verify-chain.ts';
import { systemClock } from '../../src/clock.ts';
import { parseConfig, type Config } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { DATABASE_FILE, startGateway } from '../../src/main.ts';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { REPO_POLICIES, seededTemplate } from '../helpers/gateway.ts';
import { LogCapture } from '../ops/ops-app.ts';

describe('the chain head in the start and stop lines', () => {
  let dir: string;
  let config: Config;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vg-anchor-'));
    cpSync(REPO_POLICIES, join(dir, 'policies'), { recursive: true });
    config = parseConfig({ env: {}, flags: { port: '0', 'data-dir': join(dir, 'data'), 'policy-dir': join(dir, 'policies') }, dev: true });
    // The seeded template's versions are synchronised: each sync left its record.
    cpSync(await seededTemplate(), config.dataDir, { recursive: true });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const runOnce = async () => {
    const log = new LogCapture();
    const gateway = await startGateway(config, { logger: createLogger({ level: 'info', destination: log }) });
    await gateway.close();
    return log.lines;
  };
  const line = (lines: Array<Record<string, unknown>>, msg: string) => lines.find((l) => l.msg === msg);
  const database = () => new Database(join(config.dataDir, DATABASE_FILE));

  it('logs the head at start and at stop; the stopped head then catches a log rewritten from the end', async () => {
    const lines = await runOnce();
    const started = line(lines, 'versiongate listening')?.auditHead as string;
    const stopped = line(lines, 'versiongate stopped')?.auditHead as string;
    expect(started).toMatch(/^\d+:[0-9a-f]{64}$/);
    expect(stopped).toMatch(/^\d+:[0-9a-f]{64}$/);
    expect(parseHead(stopped)!.seq).toBeGreaterThanOrEqual(parseHead(started)!.seq);

    const db = database();
    const last = parseHead(stopped)!.seq;
    db.prepare('DELETE FROM audit_versions WHERE seq = ?').run(last);
    db.prepare('DELETE FROM audit_log WHERE seq = ?').run(last);
    db.close();
    const store = openSqliteStore({ file: join(config.dataDir, DATABASE_FILE), clock: systemClock });
    try {
      expect((await verifyChain(store)).ok).toBe(true);
      expect(await verifyChain(store, { expectedHead: parseHead(stopped) })).toMatchObject({ ok: false });
    } finally {
      await store.close();
    }
  });

  it('warns when the registry has synchronised versions but the audit log is empty', async () => {
    const db = database();
    db.exec('DELETE FROM audit_versions; DELETE FROM audit_log;');
    db.close();
    const lines = await runOnce();
    const warning = lines.find((l) => l.level === 'warn' && String(l.msg).includes('audit log is empty'));
    expect(warning).toMatchObject({ completedSyncs: expect.any(Number) });
  });

  it('does not warn on a log that holds records', async () => {
    const lines = await runOnce();
    expect(lines.filter((l) => String(l.msg).includes('audit log is empty'))).toEqual([]);
  });
});
