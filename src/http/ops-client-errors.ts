/**
 * Requests Node's HTTP parser refuses before the app sees them: headers over maxHeaderSize (431),
 * headers or body arriving too slowly (408), malformed HTTP (400). Node would answer these with a
 * bare status line; here they get CodeArtifact's error envelope and an x-request-id like every
 * other response, a log line, and a metric. The connection is then closed, as Node does.
 */
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics/metrics.ts';

interface Refusal {
  status: number;
  reasonPhrase: string;
  type: string;
  message: string;
  reason: string;
}

function refusalFor(code: string | undefined, maxHeaderBytes: number): Refusal {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return {
        status: 431,
        reasonPhrase: 'Request Header Fields Too Large',
        type: 'ValidationException',
        message: `the request headers are larger than ${maxHeaderBytes} bytes`,
        reason: 'OTHER',
      };
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return { status: 413, reasonPhrase: 'Payload Too Large', type: 'ValidationException', message: 'the chunk extensions are too large', reason: 'OTHER' };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return {
        status: 408,
        reasonPhrase: 'Request Timeout',
        type: 'RequestTimeoutException',
        message: 'the request did not arrive in time (VERSIONGATE_HEADERS_TIMEOUT / VERSIONGATE_REQUEST_TIMEOUT)',
        reason: 'OTHER',
      };
    default:
      return { status: 400, reasonPhrase: 'Bad Request', type: 'ValidationException', message: 'the request is not valid HTTP/1.1', reason: 'CANNOT_PARSE' };
  }
}

/**
 * Closing a socket with unread bytes in it makes the kernel send a reset, and a reset can overtake
 * the answer just written: a client still sending its oversized headers would then see only
 * "connection reset". So, as a web server's lingering close does, this side stops writing (FIN after
 * the answer), reads and discards what the client is still sending, and destroys the socket once the
 * client is done, or after `maxMs` or `maxBytes`, whichever comes first: the refusal's cost stays bounded.
 */
const lingering = new WeakSet<Duplex>();

function lingeringClose(socket: Socket, limits: { maxMs: number; maxBytes: number }): void {
  lingering.add(socket);
  // Node's own reader would parse the discarded bytes again and report each failure as another
  // clientError; from here on they are only counted.
  socket.removeAllListeners('data');
  let discarded = 0;
  const timer = setTimeout(() => socket.destroy(), limits.maxMs);
  timer.unref();
  socket.on('data', (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded > limits.maxBytes) socket.destroy();
  });
  socket.once('close', () => clearTimeout(timer));
  socket.once('end', () => socket.destroy());
  socket.end();
  socket.resume();
}

const DEFAULT_DRAIN = { maxMs: 2_000, maxBytes: 1024 * 1024 };

export function answerClientErrors(server: Server, deps: { logger: Logger; metrics: Metrics; maxHeaderBytes: number; drain?: { maxMs: number; maxBytes: number } }): void {
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    // Already answered and being drained (lingeringClose): nothing more to say or do.
    if (lingering.has(socket)) return;
    const parseError = typeof err.code === 'string' && (err.code.startsWith('HPE_') || err.code === 'ERR_HTTP_REQUEST_TIMEOUT');
    // A response already under way, or a peer that is gone (ECONNRESET): nothing can be said any more.
    const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (!parseError || !socket.writable || inFlight?.headersSent) {
      socket.destroy();
      return;
    }
    const refusal = refusalFor(err.code, deps.maxHeaderBytes);
    const requestId = randomUUID();
    const body = JSON.stringify({ message: refusal.message, reason: refusal.reason });
    socket.write(
      [
        `HTTP/1.1 ${refusal.status} ${refusal.reasonPhrase}`,
        'content-type: application/json',
        `content-length: ${Buffer.byteLength(body)}`,
        `x-amzn-errortype: ${refusal.type}`,
        `x-amzn-requestid: ${requestId}`,
        `x-request-id: ${requestId}`,
        'connection: close',
        '',
        body,
      ].join('\r\n'),
    );
    lingeringClose(socket as Socket, deps.drain ?? DEFAULT_DRAIN);
    deps.metrics.httpParseErrors.inc({ status: String(refusal.status) });
    // The canonical line for a request that never reached the app; none of its bytes are logged.
    deps.logger.info('request', { requestId, status: refusal.status, reason: err.code, route: null, principal: null, action: null, resource: null, decision: null });
  });
}
