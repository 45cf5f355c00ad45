/**
 * The sync worker pool in the real server (startGateway): a resync scheduled over HTTP is run by the
 * pool, and a job left in progress by a process that died is awaiting again at the next start and
 * then completes. Waits poll the status endpoint with a bound; nothing measures time.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { syncRecord } from '../../src/audit/build-record.ts';
import { systemClock } from '../../src/clock.ts';
import { createLogger } from '../../src/log.ts';
import { DATABASE_FILE, startGateway, type Gateway } from '../../src/main.ts';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import type { PackageKey } from '../../src/store/store.ts';
import { LogCapture } from './ops-app.ts';
import { realServer, WAIT_MS, type RealServer } from './real-server.ts';

const chalk: PackageKey = { domainOwner: '111122223333', domain: 'my_domain', repository: 'my_repo', format: 'npm', namespace: '', name: 'chalk' };

async function statusOf(url: string, token: string, identifier: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${url}/v1/packages/my_domain/my_repo/${identifier}/status/`, { headers: { authorization: `Bearer ${token}` } });
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, unknown>;
}

/** Polls until the sync is no longer in flight, within WAIT_MS. */
async function settled(url: string, token: string, identifier: string): Promise<Record<string, unknown>> {
  const until = Date.now() + WAIT_MS;
  for (;;) {
    const s = await statusOf(url, token, identifier);
    if (s.is_sync_in_flight === false || Date.now() > until) return s;
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('the sync worker pool in the server', () => {
  let s: RealServer | undefined;
  let second: Gateway | undefined;
  afterEach(async () => {
    await second?.close();
    second = undefined;
    await s?.cleanup();
    s = undefined;
  });

  it('runs a resync scheduled over HTTP to completion', async () => {
    s = await realServer();
    const token = await s.token('mia', ['maintainers']);
    const identifier = (await s.gateway.store.readVersion(chalk, '4.1.0')).version!.identifier;
    const res = await fetch(`${s.gateway.url}/v1/packages/my_domain/my_repo/${identifier}/resync/`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    expect(await settled(s.gateway.url, token, identifier)).toMatchObject({ is_sync_completed: true, sync_progress: 100, status_reason: null });
  });

  it('a job in progress when the process died is awaiting again at the next start, and completes', async () => {
    s = await realServer();
    const config = s.config;
    const identifier = (await s.gateway.store.readVersion(chalk, '4.0.0')).version!.identifier;
    await s.gateway.close();
    // What a process that died mid-job leaves behind: the job claimed, in progress, never finished.
    const store = openSqliteStore({ file: join(config.dataDir, DATABASE_FILE), clock: systemClock });
    const versionId = (await store.readVersion(chalk, '4.0.0')).version!.id;
    await store.scheduleSync([versionId], syncRecord({ clock: systemClock, resource: 'arn:test', version: '4.0.0', jobId: 0, attempt: 0 }));
    expect(await store.claimSyncJob()).toMatchObject({ version: '4.0.0', state: 'in_progress', attempts: 1 });
    await store.close();

    const log = new LogCapture();
    second = await startGateway(config, { logger: createLogger({ level: 'info', destination: log }) });
    const token = await s.token('mia', ['maintainers']);
    expect(await settled(second.url, token, identifier)).toMatchObject({ is_sync_completed: true, status_reason: null });
    expect((await second.store.readSyncJob(versionId))!.attempts).toBe(2);
    expect(log.lines.some((l) => l.msg === 'sync jobs interrupted by the last stop are awaiting again' && l.recovered === 1)).toBe(true);
  });
});
