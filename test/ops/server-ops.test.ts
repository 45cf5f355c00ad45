/**
 * The operations endpoints on the real server: readiness with a JWKS URL, process metrics, and
 * VERSIONGATE_METRICS off or on a listener of its own.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { sample } from './ops-app.ts';
import { rawRequest, realServer, type RealServer } from './real-server.ts';

describe('operations endpoints on the real server', () => {
  let s: RealServer | undefined;
  let idp: Server | undefined;
  afterEach(async () => {
    await s?.cleanup();
    s = undefined;
    if (idp) await new Promise<void>((resolve) => idp!.close(() => resolve()));
    idp = undefined;
  });

  it('is ready with a JWKS URL whose keys can be fetched', async () => {
    const { publicKey } = await generateKeyPair('ES256');
    const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' }] });
    idp = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(jwks));
    await new Promise<void>((resolve) => idp!.listen(0, '127.0.0.1', resolve));
    s = await realServer({
      'jwks-url': `http://127.0.0.1:${(idp.address() as AddressInfo).port}/jwks.json`,
      issuer: 'https://idp.example/',
      audience: 'versiongate',
    });
    const res = await rawRequest(`${s.gateway.url}/readyz`);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ status: 'ready', checks: { lifecycle: 'serving', store: 'ok', policySet: 'ok', keySource: 'ok' } });
  });

  it('serves process metrics and the policy load at start', async () => {
    s = await realServer();
    const { body } = await rawRequest(`${s.gateway.url}/metrics`);
    expect(sample(body, 'versiongate_policy_loads_total', { trigger: 'start', result: 'success' })).toBe(1);
    expect(sample(body, 'versiongate_policy_loads_total', { trigger: 'reload', result: 'failure' })).toBe(0);
    expect(body).toMatch(/^versiongate_process_cpu_user_seconds_total /m);
    expect(body).toMatch(/^versiongate_nodejs_eventloop_lag_seconds /m);
  });

  it('serves /metrics on a listener of its own with VERSIONGATE_METRICS=HOST:PORT, and not on the gateway', async () => {
    s = await realServer({ metrics: '127.0.0.1:0' });
    expect(s.gateway.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(s.gateway.metricsUrl).not.toBe(s.gateway.url);
    await rawRequest(`${s.gateway.url}/healthz`);
    const scraped = await rawRequest(`${s.gateway.metricsUrl}/metrics`);
    expect(scraped.status).toBe(200);
    expect(sample(scraped.body, 'versiongate_http_requests_total', { method: 'GET', route: '/healthz', status: '200' })).toBe(1);
    expect((await rawRequest(`${s.gateway.url}/metrics`)).status).toBe(404);
    expect((await rawRequest(`${s.gateway.metricsUrl}/healthz`)).status).toBe(404);
    const doc = JSON.parse((await rawRequest(`${s.gateway.url}/openapi.json`)).body) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).not.toContain('/metrics');
  });

  it('serves no /metrics with VERSIONGATE_METRICS=off', async () => {
    s = await realServer({ metrics: 'off' });
    expect(s.gateway.metricsUrl).toBeUndefined();
    expect((await rawRequest(`${s.gateway.url}/metrics`)).status).toBe(404);
  });
});
