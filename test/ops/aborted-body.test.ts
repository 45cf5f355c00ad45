/**
 * A client that hangs up halfway through a JSON body, on the real server: nothing is done, and the
 * gateway records a client's 400, not a 500 with an "internal error" and a stack trace (which would
 * alert an operator for every client that goes away). Both ways a JSON body arrives: with a
 * Content-Length (read by the input check) and chunked (counted against the 1 MiB bound first).
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHALK } from '../helpers/gateway.ts';
import { sample } from './ops-app.ts';
import { rawRequest, realServer, WAIT_MS, type RealServer } from './real-server.ts';

const UPDATE = `/v1/package/versions/update_status?${CHALK}`;

/** Sends the head and part of the body, then closes the connection without the rest. */
function hangUpMidBody(port: number, requestId: string, head: string, partialBody: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    socket.on('error', reject);
    socket.write(`${head}x-request-id: ${requestId}\r\n\r\n${partialBody}`, () => {
      socket.end();
      resolve();
    });
  });
}

/** The request's log line, once the server has written it (polled, bounded). */
async function requestLine(s: RealServer, requestId: string): Promise<Record<string, unknown>> {
  const until = Date.now() + WAIT_MS;
  for (;;) {
    const line = s.log.requests().find((l) => l.requestId === requestId);
    if (line) return line;
    if (Date.now() > until) throw new Error(`no request line for ${requestId} within ${WAIT_MS} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('a client that hangs up mid-body', () => {
  let s: RealServer;
  let token: string;
  beforeAll(async () => {
    s = await realServer();
    token = await s.token('alice', ['release-managers']);
  });
  afterAll(() => s.cleanup());

  const port = () => Number(new URL(s.gateway.url).port);
  const head = (framing: string) =>
    `POST ${UPDATE} HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer ${token}\r\ncontent-type: application/json\r\n${framing}\r\n`;

  it.each([
    ['Content-Length', 'content-length: 200', '{"versions":["4.1.0"],"tar'],
    ['chunked', 'transfer-encoding: chunked', '1a\r\n{"versions":["4.1.0"],"tar\r\n'],
  ])('with %s: a 400 in the request log, no internal error, nothing changed', async (_, framing, partial) => {
    const before = await s.gateway.store.readPackage({ domainOwner: '111122223333', domain: 'my_domain', repository: 'my_repo', format: 'npm', namespace: '', name: 'chalk' }, ['4.1.0']);
    const requestId = `hang-up-${framing.split(':')[0]}`;
    await hangUpMidBody(port(), requestId, head(framing), partial);

    const line = await requestLine(s, requestId);
    expect(line.status).toBe(400);
    const errors = s.log.lines.filter((l) => l.level === 'error' && l.requestId === requestId);
    expect(errors).toEqual([]);
    const after = await s.gateway.store.readPackage({ domainOwner: '111122223333', domain: 'my_domain', repository: 'my_repo', format: 'npm', namespace: '', name: 'chalk' }, ['4.1.0']);
    expect(after.versions.get('4.1.0')).toEqual(before.versions.get('4.1.0'));
  });

  it('counts no 500 for them, and serves the next request', async () => {
    const metrics = await rawRequest(`${s.gateway.url}/metrics`);
    expect(sample(metrics.body, 'versiongate_http_requests_total', { method: 'POST', route: '/v1/package/versions/update_status', status: '500' }) ?? 0).toBe(0);
    expect(sample(metrics.body, 'versiongate_http_requests_total', { method: 'POST', route: '/v1/package/versions/update_status', status: '400' })).toBe(2);
    const ok = await rawRequest(`${s.gateway.url}${UPDATE}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ versions: ['4.1.0'], targetStatus: 'Archived' }),
    });
    expect(ok.status, ok.body).toBe(200);
  });
});
