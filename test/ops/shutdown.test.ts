/**
 * Graceful shutdown of the real server (startGateway): not ready, no new connections, requests in
 * flight finish and are applied, then the database closes; past the grace, deadlines expire and
 * the remaining connections are cut without anything being committed.
 */
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.ts';
import { DATABASE_FILE } from '../../src/main.ts';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { CHALK } from '../helpers/gateway.ts';
import { rejectionOf } from '../helpers/rejection.ts';
import { CHALK_KEY } from './ops-app.ts';
import { heldRequest, rawRequest, realServer, WAIT_MS, type RealServer } from './real-server.ts';

const UPDATE = `/v1/package/versions/update_status?${CHALK}`;
const ARCHIVE = JSON.stringify({ versions: ['4.1.0'], targetStatus: 'Archived' });

function bounded<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} within ${WAIT_MS} ms`)), WAIT_MS)))]).finally(() =>
    clearTimeout(timer),
  );
}

async function statusOnDisk(s: RealServer, version: string): Promise<string | undefined> {
  const store = openSqliteStore({ file: join(s.config.dataDir, DATABASE_FILE), clock: systemClock });
  try {
    return (await store.readPackage(CHALK_KEY, [version])).versions.get(version)?.status;
  } finally {
    await store.close();
  }
}

describe('graceful shutdown of the real server', () => {
  let s: RealServer | undefined;
  afterEach(async () => {
    await s?.cleanup();
    s = undefined;
  });

  it('lets a request in flight finish and apply, refuses new connections, then closes the database', async () => {
    s = await realServer({ 'shutdown-grace': '60' });
    const token = await s.token('alice', ['release-managers']);
    const held = await heldRequest(`${s.gateway.url}${UPDATE}`, {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(ARCHIVE)),
      authorization: `Bearer ${token}`,
    });

    const closing = s.gateway.close();
    expect(s.gateway.lifecycle.state).toBe('stopping');
    const refused = (await rejectionOf(rawRequest(`${s.gateway.url}/healthz`))) as NodeJS.ErrnoException;
    expect(refused.code).toBe('ECONNREFUSED');

    const res = await bounded(held.send(ARCHIVE), 'the request in flight did not finish');
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body).successfulVersions['4.1.0'].status).toBe('Archived');
    expect(res.headers['connection']).toBe('close');

    await bounded(closing, 'close() did not resolve');
    expect(s.gateway.lifecycle.hardStop.aborted).toBe(false);
    expect(await rejectionOf(s.gateway.store.listDomains())).toBeInstanceOf(Error); // closed
    expect(await statusOnDisk(s, '4.1.0')).toBe('Archived');
    const lines = s.log.lines.map((l) => l.msg);
    expect(lines).toContain('versiongate stopping');
    expect(lines.at(-1)).toBe('versiongate stopped');
  });

  it('after the grace, expires every deadline and cuts the remaining connections; nothing is committed', async () => {
    s = await realServer({ 'shutdown-grace': '0' });
    const token = await s.token('alice', ['release-managers']);
    const held = await heldRequest(`${s.gateway.url}${UPDATE}`, {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(ARCHIVE)),
      authorization: `Bearer ${token}`,
    });

    await bounded(s.gateway.close(), 'close() did not resolve');
    expect(s.gateway.lifecycle.hardStop.aborted).toBe(true);
    const cut = (await rejectionOf(bounded(held.response, 'the cut connection did not fail'))) as NodeJS.ErrnoException;
    expect(['ECONNRESET', 'EPIPE']).toContain(cut.code);
    expect(await statusOnDisk(s, '4.1.0')).toBe('Published');
    expect(s.log.lines.map((l) => l.msg)).toContain('shutdown grace is over; closing the remaining connections');
  });

  it('an upload cut at the end of the grace still has its audit record: the store closes after the handlers, not only the connections', async () => {
    s = await realServer({ 'shutdown-grace': '0' });
    const token = await s.token('ci-pipeline', ['publishers']);
    const path = '/v1/package/version/publish?domain=my_domain&domain-owner=111122223333&repository=my_repo&format=generic&namespace=shutdown&package=tool&version=1.0.0&asset=tool.bin';
    const req = httpRequest(`${s.gateway.url}${path}`, {
      method: 'POST',
      agent: false,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream', 'x-amz-content-sha256': '0'.repeat(64), 'content-length': String(1024 * 1024), expect: '100-continue' },
    });
    const cut = new Promise<Error>((resolve) => req.on('error', resolve));
    // The first read of the body sends 100 Continue: the handler is ingesting when part of it arrives.
    await bounded(new Promise<void>((resolve) => req.on('continue', () => resolve())), 'no 100 Continue');
    req.write(Buffer.alloc(64 * 1024, 1));
    req.flushHeaders();
    await new Promise((resolve) => setTimeout(resolve, 100));

    await bounded(s.gateway.close(), 'close() did not resolve');
    expect(['ECONNRESET', 'EPIPE']).toContain(((await cut) as NodeJS.ErrnoException).code);
    const store = openSqliteStore({ file: join(s.config.dataDir, DATABASE_FILE), clock: systemClock });
    try {
      const [last] = await store.listAudit({ limit: 1 });
      expect(last).toMatchObject({ action: 'PublishPackageVersion', principal: { subject: 'ci-pipeline' }, decision: 'allow', outcome: 'rejected' });
    } finally {
      await store.close();
    }
    const messages = s.log.lines.map((l) => l.msg);
    expect(messages).not.toContain('internal error');
    expect(messages.at(-1)).toBe('versiongate stopped');
  });

  it('closes at once when nothing is in flight', async () => {
    s = await realServer();
    expect((await rawRequest(`${s.gateway.url}/readyz`)).status).toBe(200);
    await bounded(s.gateway.close(), 'close() did not resolve');
    expect(s.gateway.lifecycle.hardStop.aborted).toBe(false);
  });
});
