/**
 * Limits on the real server: 431 for oversized headers, 413 for an oversized body, 408 for headers
 * that never finish, the keep-alive timeout advertised, each in CodeArtifact's envelope with an
 * x-request-id.
 */
import { Agent, get, type IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_JSON_BODY_BYTES } from '../../src/app.ts';
import { CHALK } from '../helpers/gateway.ts';
import { sample } from './ops-app.ts';
import { parseRaw, rawExchange, rawRequest, realServer, type RealServer } from './real-server.ts';

const UPDATE = `/v1/package/versions/update_status?${CHALK}`;

describe('request limits on the real server', () => {
  let s: RealServer;
  beforeAll(async () => {
    s = await realServer({ 'headers-timeout': '1', 'request-timeout': '2', 'keep-alive-timeout': '7' });
  });
  afterAll(() => s.cleanup());

  it('answers 431 in the envelope for a 20 KB header, and counts it', async () => {
    const res = await rawRequest(`${s.gateway.url}/healthz`, { headers: { 'x-padding': 'a'.repeat(20 * 1024) } });
    expect(res.status).toBe(431);
    expect(res.headers['x-amzn-errortype']).toBe('ValidationException');
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(JSON.parse(res.body)).toEqual({ message: 'the request headers are larger than 16384 bytes', reason: 'OTHER' });
    const line = s.log.requests().find((l) => l.requestId === res.headers['x-request-id']);
    expect(line).toMatchObject({ status: 431, reason: 'HPE_HEADER_OVERFLOW' });
    expect(JSON.stringify(line)).not.toContain('aaaa');
    const metrics = await rawRequest(`${s.gateway.url}/metrics`);
    expect(sample(metrics.body, 'versiongate_http_rejected_requests_total', { status: '431' })).toBeGreaterThanOrEqual(1);
  });

  it('still serves a request with ordinary headers', async () => {
    const res = await rawRequest(`${s.gateway.url}/healthz`, { headers: { 'x-padding': 'a'.repeat(4 * 1024) } });
    expect(res.status).toBe(200);
  });

  it('gives an answer, a refusal and a page that matched no route the request id (the client\'s, when it offers a safe one)', async () => {
    const headers = { 'content-type': 'application/json', 'x-request-id': 'ci-run-42.step-3' };
    const ok = await rawRequest(`${s.gateway.url}/v1/package/versions?${CHALK}`, { method: 'POST', headers: { ...headers, authorization: `Bearer ${await s.token('dev', ['developers'])}` } });
    expect(ok.status).toBe(200);
    expect(ok.headers['x-request-id']).toBe('ci-run-42.step-3');
    const denied = await rawRequest(`${s.gateway.url}${UPDATE}`, { method: 'POST', headers: { ...headers, authorization: 'Bearer not-a-token' }, body: JSON.stringify({ versions: ['4.1.0'], targetStatus: 'Archived' }) });
    expect(denied.status).toBe(401);
    expect(denied.headers['x-request-id']).toBe('ci-run-42.step-3');
    const missing = await rawRequest(`${s.gateway.url}/v1/no/such/operation`, { headers: { 'x-request-id': 'bad id with spaces' } });
    expect(missing.status).toBe(404);
    expect(missing.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers 413 in the envelope for a body over the limit', async () => {
    const token = await s.token('alice', ['release-managers']);
    const body = JSON.stringify({ versions: ['4.1.0'], targetStatus: 'Archived', padding: 'x'.repeat(MAX_JSON_BODY_BYTES) });
    const res = await rawRequest(`${s.gateway.url}${UPDATE}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body });
    expect(res.status).toBe(413);
    expect(res.headers['x-amzn-errortype']).toBe('ValidationException');
    expect(res.headers['x-request-id']).toBeTruthy();
    expect(JSON.parse(res.body)).toEqual({ message: `the request body is larger than ${MAX_JSON_BODY_BYTES} bytes`, reason: 'OTHER' });
  });

  it('answers 408 in the envelope and closes a connection whose headers never finish (headersTimeout)', async () => {
    // Half a request line and one header, then silence: the server must not wait forever.
    const raw = await rawExchange(s.gateway.port, 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    const res = parseRaw(raw);
    expect(res.status).toBe(408);
    expect(res.headers['x-amzn-errortype']).toBe('RequestTimeoutException');
    expect(res.headers['connection']).toBe('close');
    expect(JSON.parse(res.body).message).toMatch(/did not arrive in time/);
  });

  it('advertises the keep-alive timeout', async () => {
    const agent = new Agent({ keepAlive: true });
    try {
      const res = await new Promise<IncomingMessage>((resolve, reject) => get(`${s.gateway.url}/healthz`, { agent }, resolve).on('error', reject));
      res.resume();
      expect(res.statusCode).toBe(200);
      expect(res.headers['keep-alive']).toBe('timeout=7');
    } finally {
      agent.destroy();
    }
  });

  it('answers 400 in the envelope for a request that is not HTTP', async () => {
    const res = parseRaw(await rawExchange(s.gateway.port, 'NOT HTTP AT ALL\r\n\r\n'));
    expect(res.status).toBe(400);
    expect(res.headers['x-amzn-errortype']).toBe('ValidationException');
    expect(JSON.parse(res.body)).toEqual({ message: 'the request is not valid HTTP/1.1', reason: 'CANNOT_PARSE' });
  });
});
