/**
 * The load driver, a process of its own (`node --import tsx bench/load/drive.ts`) so that its CPU
 * never counts against the server under test or the orchestrator. It reads a DriveSpec as JSON on
 * stdin, runs autocannon once, and prints autocannon's result as one line of JSON on stdout (the
 * last line; before it, {"event":"start"} marks the moment the load begins).
 */
import autocannon from 'autocannon';
import type { DriveSpec } from './drive-spec.ts';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const spec = JSON.parse(await readStdin()) as DriveSpec;
let nextConnection = 0;
const run = autocannon({
  url: spec.url,
  connections: spec.connections,
  duration: spec.seconds,
  pipelining: 1,
  // Each connection's requests are fixed when it is created. autocannon's per-request `context`
  // cannot carry state across requests here: it is reset to initialContext each time a connection
  // wraps around its request list, which with one request is every request (lib/requestIterator.js).
  setupClient(client) {
    const cycle = spec.cycles[nextConnection++ % spec.cycles.length]!;
    client.setRequests(cycle.map((r) => ({ method: spec.method, path: r.path, headers: spec.headers, ...(r.body === undefined ? {} : { body: r.body }) })));
  },
});
run.on('start', () => process.stdout.write(`${JSON.stringify({ event: 'start' })}\n`));
const result = await run;
process.stdout.write(JSON.stringify(result) + '\n');
