/**
 * The chain head in the gateway's own logs: what an operator ships at every start and stop, and the
 * warning when a populated registry starts on an emptied audit log (which verifies "intact" alone);
 * on PostgreSQL, the head the database keeps apart from the log.
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { recordHash } from '../../src/audit/audit-hash.ts';
import type { AuditHead } from '../../src/audit/audit-record.ts';
import { formatHead, verifyChain, parseHead } from '../../src/audit/verify-chain.ts';
import { systemClock } from '../../src/clock.ts';
import { parseConfig, type Config } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { BLOB_DIR, DATABASE_FILE, startGateway } from '../../src/main.ts';
import { DEMO_DOMAIN, DEMO_OWNER, seedDemo } from '../../src/cli/seed-demo.ts';
import { DEMO_VERSIONS } from '../../src/registry/demo-versions.ts';
import { openBlobStore } from '../../src/store/blob-store.ts';
import type { PackageKey, Store } from '../../src/store/store.ts';
import { auditInput } from '../helpers/audit-input.ts';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { REPO_POLICIES, seededTemplate, testGateway, type TestGateway } from '../helpers/gateway.ts';
import { sqlOnGateway } from '../helpers/raw-sql.ts';
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

  /** A data dir of its own in place of the template's: the store as `fill` leaves it, nothing synchronised. */
  const freshStore = async (fill: (store: Store) => Promise<void>) => {
    rmSync(config.dataDir, { recursive: true, force: true });
    mkdirSync(config.dataDir, { recursive: true });
    const store = openSqliteStore({ file: join(config.dataDir, DATABASE_FILE), clock: systemClock });
    try {
      await fill(store);
    } finally {
      await store.close();
    }
  };
  const emptiedWarnings = (lines: Array<Record<string, unknown>>) => lines.filter((l) => l.level === 'warn' && String(l.msg).includes('audit log is empty'));

  it('warns when the log is empty and a version was changed, though no sync completed: each change was committed with its record', async () => {
    await freshStore(async (store) => {
      await seedDemo(store, openBlobStore(join(config.dataDir, BLOB_DIR)));
      const chalk: PackageKey = { domainOwner: DEMO_OWNER, domain: DEMO_DOMAIN, repository: 'my_repo', format: 'npm', namespace: '', name: 'chalk' };
      const snap = await store.readPackage(chalk, ['4.1.0']);
      const v = snap.versions.get('4.1.0')!;
      const result = await store.commitVersionChanges({
        packageId: snap.packageId!,
        guards: [{ version: '4.1.0', revision: v.revision }],
        changes: [{ version: '4.1.0', before: { status: v.status, revision: v.revision }, after: { status: 'Unlisted', revision: 'r-unlisted' } }],
        disposeAssets: false,
        audit: auditInput(),
      });
      expect(result.ok).toBe(true);
      expect((await store.countSyncJobs()).completed).toBe(0);
    });
    const db = database();
    db.exec('DELETE FROM audit_versions; DELETE FROM audit_log;');
    db.close();
    expect(emptiedWarnings(await runOnce())).toMatchObject([{ completedSyncs: 0, version: 'my_domain/my_repo/npm//chalk@4.1.0' }]);
  });

  it('does not warn on the first start after an older `seed demo`, which created its versions with no record', async () => {
    // What `seed demo` wrote before it recorded anything: the rows alone, their syncs awaiting.
    await freshStore(async (store) => {
      await store.createDomain(DEMO_DOMAIN, DEMO_OWNER);
      for (const repository of ['my_repo', 'prod', 'staging']) await store.createRepository(DEMO_OWNER, DEMO_DOMAIN, repository);
      for (const v of DEMO_VERSIONS) {
        await store.addVersion({ key: { domainOwner: DEMO_OWNER, domain: DEMO_DOMAIN, ...v }, version: v.version, status: 'Published', revision: `old-seed-${v.version}`, assets: [] });
      }
      expect(await store.auditHead()).toBeNull();
    });
    const lines = await runOnce();
    expect(line(lines, 'versiongate listening')).toBeDefined();
    expect(emptiedWarnings(lines)).toEqual([]);
  });

  it('does not warn on a log that holds records', async () => {
    const lines = await runOnce();
    expect(lines.filter((l) => String(l.msg).includes('audit log is empty'))).toEqual([]);
  });
});

/**
 * PostgreSQL keeps the head apart from the log (audit_head, set with every append), so a log emptied
 * or cut short by someone with access to the database shows without a saved head: verify fails, and
 * the start warns, before the next record would leave a gap.
 */
describe("the database's own head on PostgreSQL", () => {
  let gw: TestGateway;
  let head: AuditHead;
  beforeEach(async () => {
    gw = await testGateway({ engine: 'postgres' });
    // A few records past the seed's, so the log has a tail to cut.
    const auditor = await gw.token('ada', ['auditors']);
    for (let i = 0; i < 3; i++) expect((await gw.get('/v1/audit?limit=1', auditor)).status).toBe(200);
    head = (await gw.store.auditHead())!;
    expect(head.seq).toBeGreaterThan(3);
  });
  afterEach(() => gw.close());

  const startOn = async (databaseUrl: string) => {
    const dir = mkdtempSync(join(tmpdir(), 'vg-kept-head-'));
    try {
      cpSync(REPO_POLICIES, join(dir, 'policies'), { recursive: true });
      const config = parseConfig({ env: {}, flags: { port: '0', 'data-dir': join(dir, 'data'), 'policy-dir': join(dir, 'policies'), 'database-url': databaseUrl }, dev: true });
      const log = new LogCapture();
      const gateway = await startGateway(config, { logger: createLogger({ level: 'info', destination: log }) });
      await gateway.close();
      return log.lines.filter((l) => l.level === 'warn' && String(l.msg).includes('audit_head'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };

  it('verifies a whole log, and the start does not warn', async () => {
    expect(await verifyChain(gw.store)).toMatchObject({ ok: true, head });
    expect(await startOn(gw.databaseUrl!)).toEqual([]);
  });

  it('fails verify on a log emptied with its head left behind, and the start warns', async () => {
    await sqlOnGateway(gw, ['DELETE FROM audit_versions', 'DELETE FROM audit_log']);
    expect(await verifyChain(gw.store)).toMatchObject({
      ok: false,
      break: { seq: 1, problem: `the log is empty, but the database's own head (audit_head) is at seq ${head.seq}: records were removed` },
    });
    expect(await startOn(gw.databaseUrl!)).toMatchObject([{ keptHead: formatHead(head), logHead: null }]);
  });

  it('fails verify on a log cut short at its end', async () => {
    await sqlOnGateway(gw, [`DELETE FROM audit_versions WHERE seq > 3`, `DELETE FROM audit_log WHERE seq > 3`]);
    expect(await verifyChain(gw.store)).toMatchObject({
      ok: false,
      break: { seq: 4, problem: `the log ends at seq 3, but the database's own head (audit_head) is at seq ${head.seq}: records were removed` },
    });
  });

  it('fails verify on a last record replaced under the head', async () => {
    const [last] = await gw.store.readAuditChain(head.seq - 1, 1);
    // Re-hashed as someone with the code would: the chain alone still verifies.
    const forged = recordHash(head.seq, last!.prevHash, { ...(await gw.store.readAuditRange(head.seq - 1, 1))[0]!, requestId: 'forged' });
    await sqlOnGateway(gw, [`UPDATE audit_log SET request_id = 'forged', hash = '${forged}' WHERE seq = ${head.seq}`]);
    expect(await verifyChain(gw.store)).toMatchObject({ ok: false, break: { seq: head.seq, problem: expect.stringContaining("the database's own head (audit_head) says") } });
  });
});
