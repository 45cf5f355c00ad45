/** Loading the policy set at start is in the audit log, refused or not. */
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.ts';
import { parseConfig } from '../../src/config.ts';
import { silentLogger } from '../../src/log.ts';
import { DATABASE_FILE, startGateway } from '../../src/main.ts';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { REPO_POLICIES } from '../helpers/gateway.ts';

describe('policy loads in the audit log', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'vg-policy-load-'));
    cpSync(REPO_POLICIES, join(dir, 'policies'), { recursive: true });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const config = () => parseConfig({ env: {}, flags: { port: '0', 'data-dir': join(dir, 'data'), 'policy-dir': join(dir, 'policies') }, dev: true });

  it('records the live set loaded at start: its hash, files and size', async () => {
    const gateway = await startGateway(config(), { logger: silentLogger });
    try {
      const [record] = await gateway.store.listAudit({ limit: 1, filter: { action: 'LoadPolicySet' } });
      expect(record).toMatchObject({ decision: 'none', outcome: 'loaded', principal: null, errors: [] });
      expect(record!.policySetHash).toMatch(/^[0-9a-f]{64}$/);
      expect(record!.request).toMatchObject({ source: join(dir, 'policies') });
      expect((record!.request as { policies: number }).policies).toBeGreaterThan(7);
      expect((record!.request as { files: string[] }).files).toContain('prod-guard.cedar');
    } finally {
      await gateway.close();
    }
  });

  it('records a refused set with its diagnostics, and the gateway does not start', async () => {
    writeFileSync(join(dir, 'policies', 'broken.cedar'), 'permit (principal, action, resource) when { resource.nope == "x" };\n');
    await expect(startGateway(config(), { logger: silentLogger })).rejects.toMatchObject({ name: 'PolicySetError' });
    const store = openSqliteStore({ file: join(dir, 'data', DATABASE_FILE), clock: systemClock });
    try {
      const [record] = await store.listAudit({ limit: 1 });
      expect(record).toMatchObject({ action: 'LoadPolicySet', outcome: 'load_failed', policySetHash: null });
      expect(record!.errors.join('\n')).toContain('broken.cedar:1:');
    } finally {
      await store.close();
    }
  });
});
