/**
 * The baseline: a bare node:http server, run as a process of its own (`node --import tsx
 * bench/load/bare-server.ts`). It does what any JSON API must do for a request (read the whole body
 * and parse it as JSON) and nothing else, then answers a constant small JSON. versiongate's rate
 * divided by this one's is the price of everything the gateway adds on the same machine and load.
 *
 * It announces itself on stdout as {"msg":"bare listening","url":…}, like versiongate's log line,
 * and exits when its stdin closes, so it cannot outlive a benchmark that was killed outright.
 */
import { createServer } from 'node:http';

const ANSWER = JSON.stringify({ ok: true });

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    if (chunks.length > 0) {
      try {
        JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ message: 'not JSON' }));
        return;
      }
    }
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(ANSWER) }).end(ANSWER);
  });
});
// The same idle keep-alive timeout as versiongate's default, so neither side drops connections the other keeps.
server.keepAliveTimeout = 5_000;

server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  process.stdout.write(JSON.stringify({ msg: 'bare listening', url: `http://127.0.0.1:${port}` }) + '\n');
});

process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
