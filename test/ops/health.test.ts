/**
 * GET /healthz and GET /readyz: ready only while serving with a store that answers, a policy set,
 * and a usable key source; 503 while starting, while stopping, and when a check fails.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { JWKS_BACKOFF_MS, keySourceFor, KeySourceUnavailable, type KeySource } from '../../src/auth/key-source.ts';
import { systemClock } from '../../src/clock.ts';
import { createLifecycle } from '../../src/lifecycle.ts';
import { silentLogger } from '../../src/log.ts';
import { createReadiness, KEY_CHECK_CACHE_MS } from '../../src/readiness.ts';
import { openPostgresStore } from '../../src/store/postgres/postgres-store.ts';
import { CHALK } from '../helpers/gateway.ts';
import { freezableProxy } from '../helpers/freezable-proxy.ts';
import { createTestDatabase } from '../helpers/postgres.ts';
import { opsApp, post, type OpsApp } from './ops-app.ts';

describe('GET /healthz and /readyz', () => {
  let gw: OpsApp;
  afterEach(() => gw.close());

  it('healthz answers while the process is up; readyz reports every check', async () => {
    gw = await opsApp({ keySource: 'dev' });
    const health = await gw.request('/healthz');
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });

    const ready = await gw.request('/readyz');
    expect(ready.status).toBe(200);
    expect(ready.headers.get('cache-control')).toBe('no-store');
    expect(await ready.json()).toEqual({ status: 'ready', checks: { lifecycle: 'serving', store: 'ok', policySet: 'ok', keySource: 'ok' } });
  });

  it('is not ready while starting, and refuses API requests then with a 503 envelope', async () => {
    const lifecycle = createLifecycle('starting');
    gw = await opsApp({ lifecycle });
    const ready = await gw.request('/readyz');
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ status: 'not_ready', checks: { lifecycle: 'starting', store: 'ok', policySet: 'ok' } });
    expect((await gw.request('/healthz')).status).toBe(200);

    const token = await gw.token('alice', ['release-managers']);
    const refused = await gw.request(`/v1/package/versions/update_status?${CHALK}`, post({ versions: ['4.1.0'], targetStatus: 'Archived' }, token));
    expect(refused.status).toBe(503);
    expect(refused.headers.get('x-amzn-errortype')).toBe('ServiceUnavailableException');
    expect(refused.headers.get('retry-after')).toBe('5');
    expect((await refused.json()).message).toMatch(/starting/);

    lifecycle.serving();
    expect((await gw.request('/readyz')).status).toBe(200);
  });

  it('is not ready while stopping, and never again ready after', async () => {
    const lifecycle = createLifecycle('serving');
    gw = await opsApp({ lifecycle });
    lifecycle.stopping();
    lifecycle.serving();
    const ready = await gw.request('/readyz');
    expect(ready.status).toBe(503);
    expect((await ready.json()).checks.lifecycle).toBe('stopping');
    // Requests still in flight or arriving on an open connection are served, and told to close it.
    const health = await gw.request('/healthz');
    expect(health.status).toBe(200);
    expect(health.headers.get('connection')).toBe('close');
  });

  it('is not ready when the store does not answer', async () => {
    gw = await opsApp();
    await gw.store.close();
    const ready = await gw.request('/readyz');
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({ status: 'not_ready', checks: { lifecycle: 'serving', store: 'failing', policySet: 'ok' } });
  });

  it('is not ready when the key source cannot give keys', async () => {
    const down: KeySource = {
      description: 'down',
      getKey: async () => {
        throw new KeySourceUnavailable('cannot get signing keys');
      },
    };
    gw = await opsApp({ keySource: down });
    const ready = await gw.request('/readyz');
    expect(ready.status).toBe(503);
    expect((await ready.json()).checks.keySource).toBe('failing');
  });
});

describe('the key source readiness check against a JWKS URL', () => {
  let idp: Server | undefined;
  afterEach(async () => {
    if (idp) await new Promise<void>((resolve) => idp!.close(() => resolve()));
    idp = undefined;
  });

  it('fails while the identity provider is down, passes once keys can be fetched, and caches the answer briefly', async () => {
    const { publicKey } = await generateKeyPair('ES256');
    const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' }] };
    let up = false;
    let fetches = 0;
    idp = createServer((_req, res) => {
      fetches++;
      if (!up) {
        res.writeHead(500).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwks));
    });
    await new Promise<void>((resolve) => idp!.listen(0, '127.0.0.1', resolve));
    const url = new URL(`http://127.0.0.1:${(idp.address() as AddressInfo).port}/jwks.json`);
    const keySource = keySourceFor({ mode: 'jwks-url', url, issuer: 'https://idp.example/', audience: 'versiongate' });

    let now = 0;
    const gw = await opsApp();
    try {
      const readiness = createReadiness({ lifecycle: createLifecycle('serving'), store: gw.store, authorizer: () => ({ policySet: { hash: 'h' } }) as never, keySource, logger: silentLogger, now: () => now });

      expect((await readiness()).checks.keySource).toBe('failing');
      expect(fetches).toBe(1);
      up = true;
      // Within the cache window the earlier answer stands and nothing is fetched.
      now += KEY_CHECK_CACHE_MS - 1;
      expect((await readiness()).checks.keySource).toBe('failing');
      expect(fetches).toBe(1);
      now += 1;
      // After a failed fetch the key source waits JWKS_BACKOFF_MS (wall clock) before fetching again.
      vi.useFakeTimers({ toFake: ['Date'] });
      vi.setSystemTime(Date.now() + JWKS_BACKOFF_MS + 1);
      const report = await readiness();
      vi.useRealTimers();
      expect(report).toEqual({ ready: true, checks: { lifecycle: 'serving', store: 'ok', policySet: 'ok', keySource: 'ok' } });
      expect(fetches).toBe(2);
    } finally {
      vi.useRealTimers();
      await gw.close();
    }
  });

  it('answers within its bound when PostgreSQL hangs, with one ping in flight however many probes come, and is ready again once it answers', async () => {
    const db = await createTestDatabase('vg_ready');
    const proxy = await freezableProxy(db.url);
    const store = await openPostgresStore({ url: proxy.url, clock: systemClock, poolSize: 2 });
    const pings = vi.spyOn(store, 'ping');
    try {
      const readiness = createReadiness({ lifecycle: createLifecycle('serving'), store, authorizer: () => ({ policySet: { hash: 'h' } }) as never, logger: silentLogger, storeTimeoutMs: 300 });
      expect((await readiness()).checks.store).toBe('ok');
      proxy.freeze();
      const started = performance.now();
      const reports = await Promise.all([readiness(), readiness(), readiness()]);
      expect(performance.now() - started).toBeLessThan(5_000);
      for (const r of reports) expect(r).toMatchObject({ ready: false, checks: { store: 'failing' } });
      // The first probe's ping still waits on the hung database; the others shared it.
      expect(pings).toHaveBeenCalledTimes(2);
      proxy.thaw();
      await vi.waitFor(async () => expect((await readiness()).checks.store).toBe('ok'), { timeout: 10_000 });
    } finally {
      proxy.thaw();
      await store.close();
      proxy.close();
      await db.drop();
    }
  });
});
