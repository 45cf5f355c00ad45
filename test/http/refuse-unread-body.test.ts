/**
 * serveRefusalsReadably on a plain node:http server, where the server's side of each connection can
 * be watched: what it reads after a refusal, when it closes, and when 100 Continue goes out. The
 * time bound is set far above every wait, so whatever closes a connection here is a byte count, the
 * end of the body, or the client. Every wait is bounded; nothing measures time.
 */
import { Agent, createServer, request as httpRequest, type IncomingMessage, type RequestListener, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { serveRefusalsReadably } from '../../src/http/refuse-unread-body.ts';

const WAIT_MS = 30_000;
const DRAIN = { maxBytes: 256 * 1024, maxMs: 10 * WAIT_MS };

function within<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} within ${WAIT_MS} ms`)), WAIT_MS)));
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

const once = (emitter: Socket | IncomingMessage, event: string) => new Promise<void>((resolve) => emitter.once(event, () => resolve()));

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

/** A server answering every request with `listener`; resolves with its port and each request's server-side socket. */
async function start(listener: RequestListener, drain = DRAIN): Promise<{ port: number; sockets: Socket[] }> {
  const sockets: Socket[] = [];
  server = createServer();
  serveRefusalsReadably(
    server,
    (req, res) => {
      sockets.push(req.socket);
      listener(req, res);
    },
    drain,
  );
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', () => resolve()));
  return { port: (server!.address() as AddressInfo).port, sockets };
}

const refuse: RequestListener = (_req, res) => {
  res.writeHead(413, { 'content-type': 'application/json', 'content-length': '23' });
  res.end('{"message":"too large"}');
};

/** A client that sends headers only, waits for the answer and the server's FIN, and may write on. */
async function refusedClient(port: number, contentLength: number) {
  const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  const errors: string[] = [];
  socket.on('error', (err: NodeJS.ErrnoException) => errors.push(err.code ?? err.message));
  let received = '';
  socket.setEncoding('latin1');
  socket.on('data', (d: string) => (received += d));
  const ended = once(socket, 'end');
  socket.write(`POST /upload HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: ${contentLength}\r\n\r\n`);
  await within(ended, 'no answer and FIN');
  return { socket, errors, received: () => received };
}

describe('serveRefusalsReadably', () => {
  it('answers with Connection: close and FIN, then reads the rest of a body under the bound and closes when it ends', async () => {
    const { port, sockets } = await start(refuse);
    const client = await refusedClient(port, 128 * 1024);
    expect(client.received()).toMatch(/^HTTP\/1\.1 413 [^\r]*\r\n/);
    expect(client.received().toLowerCase()).toContain('\r\nconnection: close\r\n');
    expect(client.received().endsWith('{"message":"too large"}')).toBe(true);

    const serverSide = sockets[0]!;
    const serverClosed = once(serverSide, 'close');
    const headerBytes = serverSide.bytesRead;
    client.socket.write(Buffer.alloc(128 * 1024, 0x20));
    await within(serverClosed, 'the server did not close after the body ended');
    expect(serverSide.bytesRead - headerBytes).toBe(128 * 1024); // all of it read, none left to reset on
    client.socket.end();
    await within(once(client.socket, 'close'), 'the client did not close');
    expect(client.errors).toEqual([]);
  });

  it('stops reading once the client sends more than maxBytes after the answer, and closes at the time bound', async () => {
    // A time bound short enough to wait for; long enough for the client's writes to stall first.
    const { port, sockets } = await start(refuse, { maxBytes: DRAIN.maxBytes, maxMs: 1500 });
    const client = await refusedClient(port, 64 * 1024 * 1024);
    const serverSide = sockets[0]!;
    let closed = false;
    const serverClosed = once(serverSide, 'close').then(() => (closed = true));
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    // Writes on until the server is gone (it then resets the connection) or the whole body is sent.
    let sent = 0;
    const writing = (async () => {
      while (sent < 64 * 1024 * 1024 && !client.socket.destroyed) {
        await new Promise<void>((resolve) => client.socket.write(chunk, () => resolve()));
        sent += chunk.length;
      }
    })();
    // Past the bound the server reads no more (the client's writes stall in the sockets' buffers),
    // but it does not close yet: a reset now could reach a client that has not read its answer.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const readThen = serverSide.bytesRead;
    expect(readThen).toBeGreaterThan(DRAIN.maxBytes);
    expect(readThen).toBeLessThan(DRAIN.maxBytes + 1024 * 1024);
    expect(closed).toBe(false);
    await within(serverClosed, 'the server did not close at the time bound');
    expect(serverSide.bytesRead).toBeLessThan(DRAIN.maxBytes + 1024 * 1024);
    client.socket.destroy();
    await within(writing, 'the client did not stop writing');
  });

  it('closes when the refused client closes', async () => {
    const { port, sockets } = await start(refuse);
    const client = await refusedClient(port, 8 * 1024 * 1024);
    const serverClosed = once(sockets[0]!, 'close');
    client.socket.destroy();
    await within(serverClosed, 'the server did not close after the client');
  });

  it('keeps the connection alive when the body was read before the answer', async () => {
    const { port } = await start((req, res) => {
      req.resume();
      req.on('end', () => res.end('ok'));
    });
    const agent = new Agent({ keepAlive: true }); // agent: false would ask for Connection: close itself
    const status = await new Promise<{ status: number; connection: string | undefined }>((resolve, reject) => {
      const req = httpRequest({ port, host: '127.0.0.1', method: 'POST', path: '/', agent, headers: { 'content-length': '5' } }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode!, connection: res.headers['connection'] }));
      });
      req.on('error', reject);
      req.end('hello');
    }).finally(() => agent.destroy());
    expect(status).toEqual({ status: 200, connection: 'keep-alive' });
  });

  describe('Expect: 100-continue', () => {
    /** Posts with Expect, writing the body only on 'continue'. */
    const post = (port: number, body: Buffer) =>
      within(
        new Promise<{ status: number; continued: boolean; body: string }>((resolve, reject) => {
          let continued = false;
          const req = httpRequest({ port, host: '127.0.0.1', method: 'POST', path: '/', agent: false, headers: { 'content-length': String(body.length), expect: '100-continue' } });
          req.on('continue', () => {
            continued = true;
            req.end(body);
          });
          req.on('response', (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (d: string) => (text += d));
            res.on('end', () => {
              req.on('error', () => {});
              req.destroy();
              resolve({ status: res.statusCode!, continued, body: text });
            });
          });
          req.on('error', reject);
          req.flushHeaders();
        }),
        'no answer',
      );

    it('sends 100 Continue only when the app reads the body', async () => {
      const { port } = await start((req, res) => {
        // The decision takes a while (a token, Cedar, the store); then the body is read.
        setTimeout(() => {
          let n = 0;
          req.on('data', (d: Buffer) => (n += d.length));
          req.on('end', () => res.end(`read ${n}`));
        }, 20);
      });
      expect(await post(port, Buffer.alloc(4096, 1))).toEqual({ status: 200, continued: true, body: 'read 4096' });
    });

    it('answers a refusal without 100 Continue, and without the body', async () => {
      let bodyBytes = 0;
      const { port, sockets } = await start((req, res) => {
        req.on('data', (d: Buffer) => (bodyBytes += d.length)); // counted after the answer too
        req.pause();
        res.writeHead(403, { 'content-type': 'application/json', connection: 'keep-alive' });
        res.end('{"message":"denied"}');
      });
      const res = await post(port, Buffer.alloc(4096, 1));
      expect(res).toEqual({ status: 403, continued: false, body: '{"message":"denied"}' });
      await within(once(sockets[0]!, 'close'), 'the server did not close');
      expect(bodyBytes).toBe(0);
    });
  });
});
