/**
 * Refusals a client can read. A response sent while its request's body had not been fully read (a
 * 413 by Content-Length, a 401, 403, 404 or 415 on an upload) used to go out as keep-alive, so the
 * client sent its next request on that connection. But the body was never read: hono's request-body
 * adapter holds the request paused once its queue is full, so @hono/node-server's drain after the
 * response made no progress, gave up after 500 ms and closed the socket with the client's bytes
 * unread, which TCP turns into a reset. The client's next request on that connection failed
 * (UND_ERR_SOCKET, ECONNRESET, EPIPE), and an SDK retries that as a network error.
 *
 * Here such a response is sent with `Connection: close`; once it is written the server half-closes
 * (FIN after the answer), reads and discards what the client still sends, up to a byte bound and a
 * time bound, and closes only when the body has ended, the client has closed, or a bound is reached.
 *
 * `Expect: 100-continue` is answered here too, not by Node: the request goes to the app at once, and
 * `100 Continue` is sent on the body's first read. The app reads an upload only after the token,
 * Cedar and the plan have accepted it, so a refusal goes out as the final answer with no byte of the
 * body requested, and the connection then closes as above.
 */
import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export interface RefusalDrain {
  /** Body bytes read and discarded after a refusal before the connection is closed anyway. */
  maxBytes: number;
  /** How long the server waits for the client to finish or close before closing anyway. */
  maxMs: number;
}

/** How long a refused client gets to stop sending or close: reading a short answer takes far less. */
export const REFUSAL_DRAIN_MS = 2_000;

/** Serves `listener` on `server` ('request' and 'checkContinue'), refusing unread bodies readably. */
export function serveRefusalsReadably(server: Server, listener: RequestListener, drain: RefusalDrain): void {
  if (!Number.isInteger(drain.maxBytes) || drain.maxBytes < 0 || !(drain.maxMs > 0)) throw new Error('serveRefusalsReadably: maxBytes >= 0 and maxMs > 0 are required');
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    guard(req, res, drain, false);
    listener(req, res);
  });
  // With a listener here, Node no longer answers 100 Continue by itself before the app has run.
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    guard(req, res, drain, true);
    listener(req, res);
  });
}

function declaresBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

function guard(req: IncomingMessage, res: ServerResponse, drain: RefusalDrain, expectsContinue: boolean): void {
  if (expectsContinue) continueOnFirstRead(req, res);
  if (!expectsContinue && !declaresBody(req)) return;

  // Every path to the status line goes through writeHead (end() and flushHeaders() call it too).
  const writeHead = res.writeHead;
  res.writeHead = function writeHeadClosingIfUnread(this: ServerResponse, ...args: unknown[]) {
    const unread = !req.complete;
    if (unread) this.setHeader('connection', 'close'); // merged with the headers writeHead is given
    const out = (writeHead as (...a: unknown[]) => ServerResponse).apply(this, args);
    // req.socket: a pipelined response has no socket of its own until the ones before it are done.
    if (unread && req.socket) closeReadably(req, req.socket, drain);
    return out;
  } as ServerResponse['writeHead'];
}

/** `100 Continue` goes out when the app first asks for a byte of the body, never after the answer. */
function continueOnFirstRead(req: IncomingMessage, res: ServerResponse): void {
  const read = req._read;
  req._read = function readAfterContinue(this: IncomingMessage, size: number) {
    req._read = read;
    if (!res.headersSent && !res.writableEnded) res.writeContinue();
    return read.call(this, size);
  };
}

/**
 * With `Connection: close`, Node calls socket.destroySoon() once the answer is written (and
 * @hono/node-server does when its own drain gives up): on this socket that becomes a half-close
 * and a bounded drain. Body bytes are counted from the status line on: a listener of our own also
 * keeps Node from dumping the request, which would discard the bytes uncounted.
 *
 * Past the byte bound the server stops reading but still waits out the time bound before it closes:
 * closing with the client's bytes unread sends a reset, and a reset that reaches a client still busy
 * writing its upload makes its kernel drop the answer it had not yet read. An AWS SDK uploading 5 MB
 * or more then saw `write EPIPE` in place of its 413, and sent the whole upload again. Not read, the
 * client's writes stall within its socket buffers, and it reads the answer meanwhile.
 */
function closeReadably(req: IncomingMessage, socket: Socket, drain: RefusalDrain): void {
  let received = 0;
  let started = false;
  let timer: NodeJS.Timeout | undefined;
  const close = () => {
    clearTimeout(timer);
    req.off('data', count);
    // A reset now reaches a client that has had its answer for as long as the time bound.
    if (socket.writableFinished) socket.destroy();
    else socket.once('finish', () => socket.destroy());
  };
  const count = (chunk: Buffer) => {
    received += chunk.length;
    if (started && received > drain.maxBytes) req.pause();
  };
  req.on('data', count);
  socket.destroySoon = function drainThenClose() {
    if (started) return;
    started = true;
    socket.end(); // FIN after the answer: the client reads it, then end of stream
    if (req.complete) return close();
    timer = setTimeout(close, drain.maxMs);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
    req.once('end', close);
    // The app is done with the body; hono's adapter would pause the request again when its queue is full.
    for (const listener of req.listeners('data')) if (listener !== count) req.off('data', listener as (chunk: Buffer) => void);
    if (received <= drain.maxBytes) req.resume();
    else req.pause();
  };
}
