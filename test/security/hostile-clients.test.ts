/**
 * Slow and hostile clients against the real server (startGateway on a real socket), with short
 * limits (VERSIONGATE_HEADERS_TIMEOUT 2 s, VERSIONGATE_REQUEST_TIMEOUT 3 s, VERSIONGATE_KEEP_ALIVE_TIMEOUT 1 s):
 * slowloris (headers a byte at a time), a body that never ends, 1,000 idle connections, a client that
 * disconnects mid-response. While each goes on, an ordinary request is answered; afterwards the server
 * has closed every hostile connection itself (the client never closes them), so nothing is held.
 * Waits are bounded; nothing measures time.
 */
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawRequest, realServer, WAIT_MS, type RealServer } from '../ops/real-server.ts';

let s: RealServer;
beforeAll(async () => {
  s = await realServer({ 'headers-timeout': '2', 'request-timeout': '3', 'keep-alive-timeout': '1' });
});
afterAll(() => s?.cleanup());

const port = () => new URL(s.gateway.url).port;

/** A connection whose closing by the server the test can await; its received bytes are kept. */
function open(): Promise<{ socket: Socket; closed: Promise<string> }> {
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port()), '127.0.0.1');
    let received = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (received += d));
    socket.on('error', () => {});
    const closed = new Promise<string>((res) => socket.on('close', () => res(received)));
    socket.once('connect', () => resolve({ socket, closed }));
    socket.once('error', reject);
  });
}

function within<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([p, new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${WAIT_MS} ms`)), WAIT_MS)))]).finally(() => clearTimeout(timer));
}

const healthy = async () => (await rawRequest(`${s.gateway.url}/healthz`)).status;

describe('slow and hostile clients', () => {
  it('slowloris: headers a byte at a time are cut off (408), and others are served meanwhile', async () => {
    const { socket, closed } = await open();
    const head = 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ' + 'a'.repeat(200);
    let i = 0;
    const drip = setInterval(() => {
      if (i < head.length && !socket.destroyed) socket.write(head[i++]!);
    }, 50);
    try {
      expect(await healthy()).toBe(200);
      const received = await within(closed, 'the server closing a slowloris connection');
      expect(received).toMatch(/^HTTP\/1\.1 408 /);
      expect(i).toBeLessThan(head.length); // cut off before it finished
    } finally {
      clearInterval(drip);
    }
  });

  it('a body that never ends is cut off (408 or a close), and others are served meanwhile', async () => {
    const { socket, closed } = await open();
    socket.write('POST /v1/package/versions/update_status?domain=d HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000000\r\n\r\n{');
    const drip = setInterval(() => {
      if (!socket.destroyed) socket.write(' ');
    }, 50);
    try {
      expect(await healthy()).toBe(200);
      const received = await within(closed, 'the server closing a never-ending body');
      // Either the app refused it (the body is never read without a token) or the request timeout did.
      if (received) expect(received).toMatch(/^HTTP\/1\.1 (4\d\d) /);
    } finally {
      clearInterval(drip);
    }
  });

  it('1,000 idle connections: others are served, and the server closes every one of them', async () => {
    const idle = await Promise.all(Array.from({ length: 1000 }, () => open()));
    try {
      expect(await healthy()).toBe(200);
      const results = await within(Promise.all(idle.map((c) => c.closed)), 'the server closing 1,000 idle connections');
      expect(results).toHaveLength(1000);
      expect(await healthy()).toBe(200);
    } finally {
      for (const c of idle) c.socket.destroy();
    }
  }, 120_000);

  it('a client that disconnects mid-response leaves the server answering', async () => {
    for (let i = 0; i < 20; i++) {
      const { socket, closed } = await open();
      socket.write('GET /openapi.json HTTP/1.1\r\nHost: x\r\n\r\n');
      await within(new Promise<void>((resolve) => socket.once('data', () => resolve())), 'the first bytes of a response');
      socket.destroy();
      await closed;
    }
    expect(await healthy()).toBe(200);
    const metrics = await rawRequest(`${s.gateway.url}/metrics`);
    expect(metrics.status).toBe(200);
  });
});
