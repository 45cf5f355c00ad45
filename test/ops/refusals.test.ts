/**
 * Refusals a client can read, on the real server with real clients: Node's fetch (undici) and the
 * AWS SDK on keep-alive connections, node:http and curl with Expect: 100-continue. Every refusal sent
 * before the body is read must arrive as a whole answer in the envelope, never as a reset, and a
 * client that asked for 100 Continue must be told no before it sends a byte it would waste.
 * Tries are bounded, every wait is bounded, nothing measures time.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PublishPackageVersionCommand, UpdatePackageVersionsStatusCommand } from '@aws-sdk/client-codeartifact';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_JSON_BODY_BYTES } from '../../src/app.ts';
import { CHALK, UPDATE } from '../helpers/gateway.ts';
import { parseRaw, rawRequest, readResponse, realServer, WAIT_MS, type RawResponse, type RealServer } from './real-server.ts';
import { sdkClient } from '../helpers/sdk-client.ts';

const TRIES = 200;
const ASSET_LIMIT = 64 * 1024;
const BIG_ASSET = Buffer.alloc(1024 * 1024, 7); // 16 times the limit
const SMALL_ASSET = Buffer.alloc(8 * 1024, 3); // over curl's 1 KiB Expect threshold, under the limit
const BIG_JSON = JSON.stringify({ versions: ['4.1.0'], targetStatus: 'Archived', padding: 'x'.repeat(2 * 1024 * 1024) });
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const publishPath = (pkg: string, version: string) =>
  `/v1/package/version/publish?domain=my_domain&domain-owner=111122223333&repository=my_repo&format=generic&namespace=refusals&package=${pkg}&version=${version}&asset=asset.bin`;
const ASSET_TOO_LARGE = `the asset is larger than ${ASSET_LIMIT} bytes, the most this gateway accepts (VERSIONGATE_MAX_ASSET_SIZE)`;

interface Tally {
  answers: Record<string, number>;
  errors: string[];
}

/** One client, one request after another (so keep-alive connections are reused), bounded. */
async function tally(tries: number, one: (i: number) => Promise<string>): Promise<Tally> {
  const t: Tally = { answers: {}, errors: [] };
  for (let i = 0; i < tries; i++) {
    try {
      const answer = await one(i);
      t.answers[answer] = (t.answers[answer] ?? 0) + 1;
    } catch (err) {
      const e = err as Error & { code?: string; cause?: { code?: string } };
      t.errors.push(`${e.name}: ${e.cause?.code ?? e.code ?? e.message}`);
    }
  }
  return t;
}

/** A fetch answer, summed up as status, x-amzn-errortype, Connection and the envelope's message. */
async function describeFetch(res: Response): Promise<string> {
  const body = (await res.json()) as { message?: string };
  return `${res.status} ${res.headers.get('x-amzn-errortype')} ${res.headers.get('connection')} ${body.message}`;
}

interface ExpectOutcome extends RawResponse {
  /** The server sent 100 Continue. */
  continued: boolean;
  /** Bytes the client wrote on the connection: the headers, plus the body only if it was sent. */
  bytesWritten: number;
}

/** A POST with Expect: 100-continue whose body is written only on 'continue', as the RFC asks. */
function postExpectingContinue(url: string, headers: Record<string, string>, body: Buffer): Promise<ExpectOutcome> {
  return new Promise((resolve, reject) => {
    let continued = false;
    const req = httpRequest(url, { method: 'POST', headers: { ...headers, 'content-length': String(body.length), expect: '100-continue' }, agent: false, timeout: WAIT_MS });
    req.on('continue', () => {
      continued = true;
      req.end(body);
    });
    req.on('response', (res) => {
      readResponse(res).then((r) => {
        const bytesWritten = req.socket?.bytesWritten ?? 0;
        req.on('error', () => {}); // the connection ends with the answer; nothing more to report
        req.destroy();
        resolve({ ...r, continued, bytesWritten });
      }, reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url} within ${WAIT_MS} ms`)));
    req.on('error', reject);
    req.flushHeaders();
  });
}

/** Resolves when `socket` emits `event`, or rejects after WAIT_MS. */
function eventOf(socket: Socket, event: 'end' | 'close'): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no '${event}' within ${WAIT_MS} ms`)), WAIT_MS);
    socket.once(event, () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Writes `bytes` and resolves once they are handed to the kernel, or rejects with the write's error. */
function write(socket: Socket, bytes: Buffer): Promise<void> {
  return new Promise((resolve, reject) => socket.write(bytes, (err) => (err ? reject(err) : resolve())));
}

function curl(args: string[]): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) =>
    execFile('/usr/bin/curl', args, { timeout: WAIT_MS }, (err, stdout, stderr) => (err ? reject(new Error(`curl failed: ${err.message}\n${stderr}`)) : resolve({ stdout, stderr }))),
  );
}

/** An SDK refusal, summed up as the status, the exception's name and its message. */
async function sdkRefusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'resolved';
  } catch (err) {
    const e = err as Error & { $metadata?: { httpStatusCode?: number }; $fault?: string };
    // A network error has no HTTP status: rethrown, it is counted as an error by tally().
    if (e.$metadata?.httpStatusCode === undefined) throw err;
    return `${e.$metadata.httpStatusCode} ${e.name} ${e.message}`;
  }
}

/** The same generic version, 1.0.0 of refusals/sdk, with this asset. */
const publishCommand = (content: Uint8Array) =>
  new PublishPackageVersionCommand({
    domain: 'my_domain',
    domainOwner: '111122223333',
    repository: 'my_repo',
    format: 'generic',
    namespace: 'refusals',
    package: 'sdk',
    packageVersion: '1.0.0',
    assetName: 'asset.bin',
    assetContent: content,
    assetSHA256: sha256(content),
  });

describe('refusals a client can read, on the real server', () => {
  let s: RealServer;
  let dir: string;
  let curator: string;
  let publisher: string;
  let reader: string;
  beforeAll(async () => {
    s = await realServer({ 'max-asset-size': String(ASSET_LIMIT) });
    dir = mkdtempSync(join(tmpdir(), 'versiongate-refusals-'));
    curator = await s.token('alice', ['release-managers']);
    publisher = await s.token('ci-pipeline', ['publishers']);
    reader = await s.token('dev', ['developers']);
  });
  afterAll(async () => {
    await s.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  /** After the refusals, a fresh connection is served as usual. */
  const stillServes = async () => {
    const res = await rawRequest(`${s.gateway.url}/v1/package/versions?${CHALK}`, { method: 'POST', headers: { authorization: `Bearer ${reader}` } });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body).versions.length).toBeGreaterThan(0);
  };

  it(`fetch: ${TRIES} JSON bodies of 2 MB on keep-alive connections each get their 413, never a reset`, async () => {
    const t = await tally(TRIES, async () =>
      describeFetch(await fetch(`${s.gateway.url}${UPDATE}?${CHALK}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${curator}` }, body: BIG_JSON })),
    );
    expect(t.errors).toEqual([]);
    expect(t.answers).toEqual({ [`413 ValidationException close the request body is larger than ${MAX_JSON_BODY_BYTES} bytes`]: TRIES });
    await stillServes();
  });

  it(`fetch: ${TRIES} assets over VERSIONGATE_MAX_ASSET_SIZE, by Content-Length, each get their 413`, async () => {
    const t = await tally(TRIES, async () =>
      describeFetch(
        await fetch(`${s.gateway.url}${publishPath('big', '1.0.0')}`, {
          method: 'POST',
          headers: { 'content-type': 'application/octet-stream', 'x-amz-content-sha256': sha256(BIG_ASSET), authorization: `Bearer ${publisher}` },
          body: BIG_ASSET,
        }),
      ),
    );
    expect(t.errors).toEqual([]);
    expect(t.answers).toEqual({ [`413 ValidationException close ${ASSET_TOO_LARGE}`]: TRIES });
    await stillServes();
  });

  it('a client still writing an upload far past what a refusal drains (24 MiB against 1 MiB), and not yet reading, still gets its 413: no reset while it writes', async () => {
    // As a client in another process, or across a network, may be: busy writing when the answer
    // comes. A reset that reaches it then (the server closing with its bytes unread) fails its
    // writes with EPIPE and loses the answer with the connection; the AWS SDK uploaded again.
    const url = new URL(`${s.gateway.url}${publishPath('huge', '1.0.0')}`);
    const total = 24 * 1024 * 1024;
    const socket = connect(Number(url.port), url.hostname);
    socket.pause();
    const received: Buffer[] = [];
    let writeError: string | undefined;
    socket.on('error', (err: NodeJS.ErrnoException) => (writeError ??= err.code ?? err.message));
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    socket.write(
      `POST ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: Bearer ${publisher}\r\nContent-Type: application/octet-stream\r\n` +
        `x-amz-content-sha256: ${'0'.repeat(64)}\r\nContent-Length: ${total}\r\n\r\n`,
    );
    const chunk = Buffer.alloc(64 * 1024, 1);
    let written = 0;
    // Writes as fast as the connection takes them, without reading, for a second or until done.
    const writing = (async () => {
      const until = Date.now() + 1000;
      while (written < total && Date.now() < until && !socket.destroyed) {
        written += chunk.length;
        if (!socket.write(chunk)) await Promise.race([new Promise((r) => socket.once('drain', r)), new Promise((r) => setTimeout(r, 50))]);
      }
    })();
    await writing;
    socket.on('data', (d: Buffer) => received.push(d));
    socket.resume();
    await Promise.race([eventOf(socket, 'close'), new Promise((r) => setTimeout(r, 5000))]);
    socket.destroy();
    const answer = Buffer.concat(received).toString('latin1');
    expect({ head: answer.split('\r\n')[0], writeError: answer ? undefined : writeError }).toEqual({ head: 'HTTP/1.1 413 Payload Too Large', writeError: undefined });
    expect(answer).toContain(ASSET_TOO_LARGE);
    await stillServes();
  });

  it('fetch: chunked assets over the bound are refused as they cross it (413 by counting), never a reset', async () => {
    const chunk = Buffer.alloc(16 * 1024, 5);
    const t = await tally(TRIES / 4, async () =>
      describeFetch(
        await fetch(`${s.gateway.url}${publishPath('chunked', '1.0.0')}`, {
          method: 'POST',
          headers: { 'content-type': 'application/octet-stream', 'x-amz-content-sha256': sha256(BIG_ASSET), authorization: `Bearer ${publisher}` },
          // 1 MiB in 64 pieces of unknown total length: Transfer-Encoding: chunked
          body: new ReadableStream<Uint8Array>({
            start(controller) {
              for (let i = 0; i < BIG_ASSET.length / chunk.length; i++) controller.enqueue(chunk);
              controller.close();
            },
          }),
          duplex: 'half',
        } as RequestInit),
      ),
    );
    expect(t.errors).toEqual([]);
    expect(t.answers).toEqual({ [`413 ValidationException close ${ASSET_TOO_LARGE}`]: TRIES / 4 });
    await stillServes();
  });

  it('after a refusal the server half-closes: the answer and FIN arrive before any of the body is sent, and the rest is taken without a reset', async () => {
    const socket = connect({ port: s.gateway.port, host: '127.0.0.1', allowHalfOpen: true }); // may write after the server's FIN
    const errors: string[] = [];
    socket.on('error', (err: NodeJS.ErrnoException) => errors.push(err.code ?? err.message));
    let received = '';
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => (received += d));
    const ended = eventOf(socket, 'end');
    const closed = eventOf(socket, 'close');
    const rest = Buffer.alloc(256 * 1024, 0x20); // under VERSIONGATE_REFUSAL_DRAIN's 1 MiB
    await write(socket, Buffer.from(`POST ${UPDATE}?${CHALK} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\nauthorization: Bearer ${curator}\r\ncontent-length: ${MAX_JSON_BODY_BYTES + 1}\r\n\r\n`));

    await ended; // the whole answer, then FIN: the server will send nothing more
    const res = parseRaw(received);
    expect(res.status).toBe(413);
    expect(res.headers['connection']).toBe('close');
    expect(JSON.parse(res.body)).toEqual({ message: `the request body is larger than ${MAX_JSON_BODY_BYTES} bytes`, reason: 'OTHER' });

    await write(socket, rest);
    socket.end();
    await closed;
    expect(errors).toEqual([]);
    expect(received.endsWith(res.body)).toBe(true); // nothing arrived after the answer
  });

  describe('the AWS SDK (maxAttempts 1, so a reset would show as an error, not a retry)', () => {
    it(`PublishPackageVersion: ${TRIES} assets over the bound each get ValidationException (413); the next publish succeeds`, async () => {
      const client = sdkClient(s.gateway.url, publisher);
      try {
        const t = await tally(TRIES, () =>
          sdkRefusal(
            client.send(publishCommand(BIG_ASSET)),
          ),
        );
        expect(t.errors).toEqual([]);
        expect(t.answers).toEqual({ [`413 ValidationException ${ASSET_TOO_LARGE}`]: TRIES });
        const ok = await client.send(publishCommand(SMALL_ASSET));
        expect(ok.status).toBe('Published');
      } finally {
        client.destroy();
      }
    });

    it(`UpdatePackageVersionsStatus: ${TRIES} JSON bodies over 1 MiB each get ValidationException (413)`, async () => {
      const client = sdkClient(s.gateway.url, curator);
      // 40,000 version strings of 30 characters: about 1.3 MB of JSON.
      const versions = Array.from({ length: 40_000 }, (_, i) => `1.0.${String(i).padStart(24, '0')}`);
      try {
        const t = await tally(TRIES, () =>
          sdkRefusal(client.send(new UpdatePackageVersionsStatusCommand({ domain: 'my_domain', domainOwner: '111122223333', repository: 'my_repo', format: 'npm', package: 'chalk', versions, targetStatus: 'Archived' }))),
        );
        expect(t.errors).toEqual([]);
        expect(t.answers).toEqual({ [`413 ValidationException the request body is larger than ${MAX_JSON_BODY_BYTES} bytes`]: TRIES });
      } finally {
        client.destroy();
      }
      await stillServes();
    });
  });

  describe('Expect: 100-continue is answered by versiongate, after the token and Cedar', () => {
    const publishHeaders = (token: string | undefined, bytes: Buffer) => ({
      'content-type': 'application/octet-stream',
      'x-amz-content-sha256': sha256(bytes),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    });

    it('a publish the token may not make: 403 at once, no 100, no byte of the body sent, the connection closed', async () => {
      const res = await postExpectingContinue(`${s.gateway.url}${publishPath('denied', '1.0.0')}`, publishHeaders(reader, SMALL_ASSET), SMALL_ASSET);
      expect(res.status).toBe(403);
      expect(res.headers['x-amzn-errortype']).toBe('AccessDeniedException');
      expect(res.headers['connection']).toBe('close');
      expect(res.continued).toBe(false);
      expect(res.bytesWritten).toBeLessThan(SMALL_ASSET.length);
    });

    it('no token: 401 without 100; a declared asset over the bound: 413 without 100', async () => {
      const anonymous = await postExpectingContinue(`${s.gateway.url}${publishPath('anon', '1.0.0')}`, publishHeaders(undefined, SMALL_ASSET), SMALL_ASSET);
      expect(anonymous.status).toBe(401);
      expect(anonymous.continued).toBe(false);
      expect(anonymous.bytesWritten).toBeLessThan(SMALL_ASSET.length);

      const big = await postExpectingContinue(`${s.gateway.url}${publishPath('big', '1.0.0')}`, publishHeaders(publisher, BIG_ASSET), BIG_ASSET);
      expect(big.status).toBe(413);
      expect(JSON.parse(big.body).message).toBe(ASSET_TOO_LARGE);
      expect(big.continued).toBe(false);
      expect(big.bytesWritten).toBeLessThan(SMALL_ASSET.length);
    });

    it('a JSON body declared over 1 MiB: 413 without 100', async () => {
      const body = Buffer.from(BIG_JSON);
      const res = await postExpectingContinue(`${s.gateway.url}${UPDATE}?${CHALK}`, { 'content-type': 'application/json', authorization: `Bearer ${curator}` }, body);
      expect(res.status).toBe(413);
      expect(res.continued).toBe(false);
      expect(res.bytesWritten).toBeLessThan(64 * 1024);
    });

    it('an allowed publish: 100 Continue, the body, 200; a JSON request within the limit: 100, 200', async () => {
      const res = await postExpectingContinue(`${s.gateway.url}${publishPath('allowed', '1.0.0')}`, publishHeaders(publisher, SMALL_ASSET), SMALL_ASSET);
      expect(res.status).toBe(200);
      expect(res.continued).toBe(true);
      expect(JSON.parse(res.body)).toMatchObject({ package: 'allowed', version: '1.0.0', status: 'Published', asset: { name: 'asset.bin', size: SMALL_ASSET.length } });

      const list = await postExpectingContinue(`${s.gateway.url}/v1/package/versions?${CHALK}`, { authorization: `Bearer ${reader}` }, Buffer.alloc(0));
      expect(list.status).toBe(200);
    });

    it('curl -T: a denied publish gets 403 and uploads nothing; an allowed one gets 100 Continue and 200', async () => {
      const file = join(dir, 'asset.bin');
      writeFileSync(file, SMALL_ASSET);
      // curl waits 1 s for 100 Continue and then sends anyway; a busy machine must not make it send.
      const upload = (token: string, pkg: string) => [
        '-sS', '-v', '-o', '-', '-w', '\n%{http_code} %{size_upload}',
        '-X', 'POST', '-T', file, '--expect100-timeout', String(WAIT_MS / 1000),
        '-H', 'Expect: 100-continue', '-H', 'content-type: application/octet-stream', '-H', `x-amz-content-sha256: ${sha256(SMALL_ASSET)}`, '-H', `authorization: Bearer ${token}`,
        `${s.gateway.url}${publishPath(pkg, '1.0.0')}`,
      ];

      const denied = await curl(upload(reader, 'curl-denied'));
      expect(denied.stdout.trim().split('\n').at(-1)).toBe('403 0'); // the status, and 0 bytes uploaded
      expect(denied.stderr).not.toMatch(/HTTP\/1\.1 100 Continue/);
      expect(denied.stderr).toMatch(/< connection: close/i);

      const allowed = await curl(upload(publisher, 'curl-allowed'));
      expect(allowed.stdout.trim().split('\n').at(-1)).toBe(`200 ${SMALL_ASSET.length}`);
      expect(allowed.stderr).toMatch(/HTTP\/1\.1 100 Continue/);
    });
  });
});
