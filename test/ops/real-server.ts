/**
 * The real server (startGateway on port 0) on a temporary, seeded data directory, and a raw HTTP
 * client for what fetch() cannot do: oversized headers, a request held open mid-body, a socket that
 * sends half its headers. Every wait is bounded; nothing measures time.
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mintDevToken } from '../../src/auth/dev-key.ts';
import { systemClock } from '../../src/clock.ts';
import { parseConfig, type Config } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { startGateway, type Gateway } from '../../src/main.ts';
import { REPO_POLICIES, seededTemplate } from '../helpers/gateway.ts';
import { LogCapture } from './ops-app.ts';

export const WAIT_MS = 30_000;

export interface RealServer {
  gateway: Gateway;
  config: Config;
  log: LogCapture;
  token(sub: string, groups?: string[]): Promise<string>;
  cleanup(): Promise<void>;
}

export async function realServer(flags: Record<string, string> = {}): Promise<RealServer> {
  const dir = mkdtempSync(join(tmpdir(), 'versiongate-ops-server-'));
  cpSync(REPO_POLICIES, join(dir, 'policies'), { recursive: true });
  const config = parseConfig({ env: {}, flags: { port: '0', 'data-dir': join(dir, 'data'), 'policy-dir': join(dir, 'policies'), ...flags }, dev: true });
  const log = new LogCapture();
  // The data dir starts as a copy of the worker's seeded, synchronised template: the state seeding
  // the running server and waiting for its syncs would reach.
  cpSync(await seededTemplate(), config.dataDir, { recursive: true });
  const gateway = await startGateway(config, { logger: createLogger({ level: 'info', destination: log }) });
  return {
    gateway,
    config,
    log,
    token: (sub, groups = []) =>
      mintDevToken({ key: gateway.devKey!, issuer: config.auth.issuer, audience: config.auth.audience, subject: sub, groups, groupsClaim: 'groups', ttlSeconds: 600, clock: systemClock }),
    cleanup: async () => {
      await gateway.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface RawResponse {
  status: number;
  headers: IncomingMessage['headers'];
  body: string;
}

/** Reads a whole response, bounded. */
export function readResponse(res: IncomingMessage): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (d: string) => (body += d));
    res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    res.on('error', reject);
  });
}

/** One request with node:http (no keep-alive), bounded. */
export function rawRequest(url: string, options: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: options.method ?? 'GET', headers: options.headers, agent: false, timeout: WAIT_MS }, (res) => readResponse(res).then(resolve, reject));
    req.on('timeout', () => req.destroy(new Error(`no response from ${url} within ${WAIT_MS} ms`)));
    req.on('error', reject);
    req.end(options.body);
  });
}

/**
 * A POST whose headers the server has parsed and whose body is held back until `send()`. The server
 * answers 100 Continue when the app first reads the body (refuse-unread-body.ts), so once this
 * resolves the request is in flight in the app.
 */
export function heldRequest(url: string, headers: Record<string, string>): Promise<{ send(body: string): Promise<RawResponse>; response: Promise<RawResponse>; abandon(): void }> {
  return new Promise((resolve, reject) => {
    let settle!: { resolve: (r: RawResponse) => void; reject: (e: Error) => void };
    const response = new Promise<RawResponse>((res, rej) => (settle = { resolve: res, reject: rej }));
    response.catch(() => {}); // observed by the test through send() or response
    const req = httpRequest(url, { method: 'POST', headers: { ...headers, expect: '100-continue' }, agent: false }, (res) => readResponse(res).then(settle.resolve, settle.reject));
    const timer = setTimeout(() => reject(new Error(`no 100 Continue from ${url} within ${WAIT_MS} ms`)), WAIT_MS);
    req.on('error', (err) => {
      clearTimeout(timer);
      settle.reject(err);
      reject(err);
    });
    req.on('continue', () => {
      clearTimeout(timer);
      resolve({
        send: (body) => {
          req.end(body);
          return response;
        },
        response,
        abandon: () => req.destroy(),
      });
    });
    req.flushHeaders();
  });
}

/** Writes raw bytes on a fresh connection and collects everything until the server closes it. */
export function rawExchange(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server did not close the connection within ${WAIT_MS} ms; got: ${received}`));
    }, WAIT_MS);
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (received += d));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(received);
    });
    socket.on('error', () => {}); // a reset after the answer still ends in 'close'
    socket.write(bytes);
  });
}

/** Splits a raw HTTP/1.1 response into status, lower-cased headers and body. */
export function parseRaw(text: string): RawResponse {
  const [head = '', body = ''] = text.split('\r\n\r\n', 2);
  const [statusLine = '', ...lines] = head.split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const i = line.indexOf(':');
    headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return { status: Number(statusLine.split(' ')[1]), headers, body };
}
