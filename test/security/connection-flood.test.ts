/**
 * A flood of idle connections, for real: the server (`versiongate serve`, a child process) runs with
 * an open-file limit of 512 (`ulimit -n`), and one client opens 600 connections and sends nothing.
 * With the default cap (from that limit: (512 − 256) / 2 = 128 connections), the server closes the
 * connections past it as it accepts them, logs and counts them, and keeps the descriptors its own work
 * needs: on a connection opened before the flood, an asset downloads whole, an upload is published and
 * a status change is made. Before the cap, the download answered 500 (EMFILE). With the cap set past
 * what the limit allows, the flood takes every descriptor, and the download is answered 503 "too many
 * files open", never a 500. Once the flood closes, new connections are served again. The metrics
 * listener (VERSIONGATE_METRICS=HOST:PORT) has a small cap of its own, so a flood of its port cannot
 * take the descriptors either. And a client that comes while the cap is held gets an answer, not a
 * reset: 503 with Retry-After on one of the few connections accepted past the cap.
 */
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import http from 'node:http';
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, expect, it } from 'vitest';
import { loadOrCreateDevKey, mintDevToken } from '../../src/auth/dev-key.ts';
import { systemClock } from '../../src/clock.ts';
import { DEV_AUDIENCE, DEV_ISSUER } from '../../src/config.ts';
import { CHALK_QUERY, seededDataDir, UPDATE_CHALK, type DataDir } from './security-fixtures.ts';
import { METRICS_MAX_CONNECTIONS } from '../../src/http/connection-cap.ts';
import { bounded, killAll, spawnServer, type SpawnedServer } from './spawned-server.ts';

const OPEN_FILE_LIMIT = 512;
const FLOOD = 600;
const CHALK_ASSET = `/v1/package/version/asset?${CHALK_QUERY}&version=4.1.1&asset=chalk-4.1.1.tgz`;

const dataDirs: DataDir[] = [];
const floods: Socket[][] = [];
afterAll(() => {
  for (const flood of floods) for (const s of flood) s.destroy();
  killAll();
  for (const d of dataDirs) d.remove();
});

interface Answer {
  status: number;
  body: Buffer;
}

/** Requests over one keep-alive connection, the one a client opened before the flood. */
function oneConnection(server: SpawnedServer, token: string) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const request = (method: string, path: string, body?: Buffer, headers: Record<string, string> = {}) =>
    bounded(
      new Promise<Answer>((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port: server.port, method, path, agent, headers: { authorization: `Bearer ${token}`, ...headers, ...(body ? { 'content-length': String(body.length) } : {}) } }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks) }));
          res.on('error', reject);
        });
        req.on('error', reject);
        req.end(body);
      }),
      `${method} ${path}: no answer`,
    );
  /** The seeded chalk asset, once the server has synced it (a fresh server syncs the seed as it starts). */
  const syncedAsset = () =>
    bounded(
      (async () => {
        for (;;) {
          const answer = await request('GET', CHALK_ASSET);
          if (answer.status !== 409) return answer;
          await sleep(100);
        }
      })(),
      'the seeded asset was not synced',
    );
  return { request, syncedAsset, close: () => agent.destroy() };
}

/** Opens `n` connections that send nothing; resolves once each has connected or been refused. */
async function flood(port: number, n: number): Promise<Socket[]> {
  const sockets: Socket[] = [];
  floods.push(sockets);
  await Promise.all(
    Array.from({ length: n }, () => {
      const s = connect(port, '127.0.0.1');
      sockets.push(s);
      return new Promise<void>((resolve) => {
        s.once('connect', () => resolve());
        s.once('error', () => resolve());
      });
    }),
  );
  return sockets;
}

/** The first line of the server's log holding `text`, parsed, once there is one. */
async function loggedLine(server: SpawnedServer, text: string, failure: string): Promise<Record<string, unknown>> {
  const find = () => server.output().split('\n').find((l) => l.includes(text));
  await bounded(
    (async () => {
      while (find() === undefined) await sleep(50);
    })(),
    `${failure}\n${server.output().slice(-2000)}`,
  );
  return JSON.parse(find()!) as Record<string, unknown>;
}

/** A GET on a new connection once the flood has closed; retried while the server has not yet seen every flood connection close. */
function getAfterFlood(url: string, headers: Record<string, string> = {}): Promise<Answer> {
  return bounded(
    (async () => {
      for (;;) {
        try {
          const res = await fetch(url, { headers });
          return { status: res.status, body: Buffer.from(await res.arrayBuffer()) };
        } catch {
          await sleep(100);
        }
      }
    })(),
    `no new connection was served after the flood: GET ${url}`,
  );
}

/**
 * Resolves once the server holds every descriptor its limit allows. A flood connection counts as
 * connected once the kernel has queued it, before the server accepts it: until the accepts catch up,
 * a file the server opens may still find a free descriptor.
 */
function descriptorsExhausted(server: SpawnedServer): Promise<void> {
  const held = () => readdirSync(`/proc/${server.child.pid}/fd`).length;
  return bounded(
    (async () => {
      while (held() < OPEN_FILE_LIMIT) await sleep(50);
    })(),
    `the server never held all ${OPEN_FILE_LIMIT} descriptors (it holds ${held()})`,
  );
}

async function start(env: Record<string, string> = {}) {
  const data = await seededDataDir('vg-flood-');
  dataDirs.push(data);
  const server = await spawnServer({ VERSIONGATE_DATA_DIR: data.dataDir, ...env }, { dev: true, openFileLimit: OPEN_FILE_LIMIT });
  const key = await loadOrCreateDevKey(data.dataDir);
  const token = await mintDevToken({ key, issuer: DEV_ISSUER, audience: DEV_AUDIENCE, subject: 'ci', groups: ['release-managers', 'publishers'], groupsClaim: 'groups', ttlSeconds: 600, clock: systemClock });
  return { server, token };
}

it('holds at most the cap its open-file limit leaves room for, and its own work goes on under a flood of idle connections', async () => {
  const { server, token } = await start();
  const client = oneConnection(server, token);
  const before = await client.syncedAsset();
  expect(before.status, before.body.toString()).toBe(200);

  const sockets = await flood(server.port, FLOOD);
  const refusedLine = await loggedLine(server, '"msg":"connections refused: the most the server holds at once are open"', 'no connection was refused');
  expect(refusedLine).toMatchObject({ level: 'warn', listener: 'gateway', maxConnections: (OPEN_FILE_LIMIT - 256) / 2, setting: 'VERSIONGATE_MAX_CONNECTIONS' });

  const download = await client.request('GET', CHALK_ASSET);
  expect(download.status, download.body.toString()).toBe(200);
  expect(download.body.equals(before.body)).toBe(true);
  const bytes = Buffer.alloc(64 * 1024, 9);
  const upload = await client.request(
    'POST',
    `/v1/package/version/publish?domain=my_domain&domain-owner=111122223333&repository=my_repo&format=generic&namespace=acme&package=flood&version=1.0.0&asset=flood.bin`,
    bytes,
    { 'content-type': 'application/octet-stream', 'x-amz-content-sha256': createHash('sha256').update(bytes).digest('hex') },
  );
  expect(upload.status, upload.body.toString()).toBe(200);
  const change = await client.request('POST', UPDATE_CHALK, Buffer.from(JSON.stringify({ versions: ['4.1.0'], targetStatus: 'Unlisted' })), { 'content-type': 'application/json' });
  expect(change.status, change.body.toString()).toBe(200);
  const scrape = await client.request('GET', '/metrics');
  const refused = Number(/^versiongate_http_connections_refused_total\{listener="gateway"\} (\d+)$/m.exec(scrape.body.toString())?.[1]);
  expect(refused).toBeGreaterThan(0);
  expect(scrape.body.toString()).not.toContain('versiongate_http_connections_refused_total{listener="metrics"}');
  expect(server.output()).not.toContain('EMFILE');

  for (const s of sockets) s.destroy();
  client.close();
  // A new client, on a new connection, once the flood is gone.
  const after = await getAfterFlood(`${server.url}${CHALK_ASSET}`, { authorization: `Bearer ${token}` });
  expect(after.status).toBe(200);
  expect(after.body.equals(before.body)).toBe(true);
  await server.stop();
});

it('answers 503 "too many files open", never a 500, when a cap set past the limit lets the flood take every descriptor', async () => {
  const { server, token } = await start({ VERSIONGATE_MAX_CONNECTIONS: '100000' });
  const client = oneConnection(server, token);
  expect((await client.syncedAsset()).status).toBe(200);
  const sockets = await flood(server.port, FLOOD);
  await descriptorsExhausted(server);
  const download = await client.request('GET', CHALK_ASSET);
  expect(download.status, download.body.toString()).toBe(503);
  expect(JSON.parse(download.body.toString())).toEqual({ message: 'The gateway has too many files open (EMFILE: too many open files): nothing was done; try again shortly.' });
  for (const s of sockets) s.destroy();
  client.close();
  await server.stop();
});

it('caps the metrics listener too: a flood of its port leaves the gateway its descriptors, and scrapes go on once it ends', async () => {
  const { server, token } = await start({ VERSIONGATE_METRICS: '127.0.0.1:0' });
  const listening = JSON.parse(server.output().split('\n').find((l) => l.includes('"versiongate listening"'))!) as { metricsUrl: string };
  const metricsPort = Number(new URL(listening.metricsUrl).port);
  const client = oneConnection(server, token);
  expect((await client.syncedAsset()).status).toBe(200);

  const sockets = await flood(metricsPort, FLOOD);
  const refusedLine = await loggedLine(server, '"listener":"metrics"', 'no connection to the metrics listener was refused');
  expect(refusedLine).toMatchObject({ level: 'warn', msg: 'connections refused: the most the server holds at once are open', maxConnections: METRICS_MAX_CONNECTIONS });
  expect(refusedLine).not.toHaveProperty('setting');
  // The gateway's own files: an asset still downloads on a connection opened before the flood.
  const download = await client.request('GET', CHALK_ASSET);
  expect(download.status, download.body.toString()).toBe(200);

  for (const s of sockets) s.destroy();
  client.close();
  const scrape = await getAfterFlood(`${listening.metricsUrl}/metrics`);
  expect(scrape.status).toBe(200);
  // Counted apart from the gateway's (how many depends on how many the listener accepted before the flood closed).
  expect(Number(/^versiongate_http_connections_refused_total\{listener="metrics"\} (\d+)$/m.exec(scrape.body.toString())?.[1])).toBeGreaterThan(0);
  expect(scrape.body.toString()).toMatch(/^versiongate_http_connections_refused_total\{listener="gateway"\} 0$/m);
  await server.stop();
});

/** A connection the server has accepted and answered once (GET /healthz), then held open, idle. */
async function heldConnection(port: number): Promise<Socket> {
  const s = connect(port, '127.0.0.1');
  floods.push([s]);
  await bounded(
    new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.once('data', () => resolve());
      s.write('GET /healthz HTTP/1.1\r\nHost: versiongate\r\n\r\n');
    }),
    'a held connection was not answered',
  );
  return s;
}

/** One request on a connection of its own; the answer with its headers. */
function onNewConnection(port: number, method: string, path: string, headers: Record<string, string> = {}) {
  return bounded(
    new Promise<Answer & { headers: http.IncomingHttpHeaders }>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, method, path, agent: false, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    }),
    `${method} ${path}: no answer`,
  );
}

it('answers a client past the cap 503 with Retry-After instead of resetting its connection, still serves probes, and serves it once a place is free', async () => {
  const cap = 16;
  const { server, token } = await start({ VERSIONGATE_MAX_CONNECTIONS: String(cap), VERSIONGATE_KEEP_ALIVE_TIMEOUT: '120' });
  const auth = { authorization: `Bearer ${token}` };
  const holders: Socket[] = [];
  for (let i = 0; i < cap; i++) holders.push(await heldConnection(server.port));

  const refused = await onNewConnection(server.port, 'POST', `/v1/package/versions?${CHALK_QUERY}`, auth);
  expect(refused.status, refused.body.toString()).toBe(503);
  expect(JSON.parse(refused.body.toString())).toEqual({ message: 'The gateway holds as many connections as it may: this one is closed after this answer; try again shortly.' });
  expect(refused.headers).toMatchObject({ 'x-amzn-errortype': 'ServiceUnavailableException', 'retry-after': '5', connection: 'close' });
  expect(refused.headers['x-amzn-requestid']).toMatch(/./);
  // An orchestrator's probe on a connection past the cap is served: a busy gateway is not a dead one.
  expect((await onNewConnection(server.port, 'GET', '/healthz')).status).toBe(200);
  const logged = await loggedLine(server, '"msg":"connections refused: the most the server holds at once are open"', 'the refusal was not logged');
  expect(logged).toMatchObject({ listener: 'gateway', maxConnections: cap, setting: 'VERSIONGATE_MAX_CONNECTIONS' });

  // A connection past the cap that sends nothing is closed soon, not held for the headers timeout.
  const idle = connect(server.port, '127.0.0.1');
  floods.push([idle]);
  const closedAfter = performance.now();
  await bounded(new Promise((resolve) => idle.once('close', resolve)), 'an idle connection past the cap was never closed');
  expect(performance.now() - closedAfter).toBeLessThan(9_000);

  // A place comes free: the next client is served (once the server has seen the holder go).
  holders.pop()!.destroy();
  const served = await bounded(
    (async () => {
      for (;;) {
        const answer = await onNewConnection(server.port, 'POST', `/v1/package/versions?${CHALK_QUERY}`, auth);
        if (answer.status !== 503) return answer;
        await sleep(50);
      }
    })(),
    'no client was served after a place came free',
  );
  expect(served.status, served.body.toString()).toBe(200);
  const scrape = await onNewConnection(server.port, 'GET', '/metrics');
  expect(Number(/^versiongate_http_connections_refused_total\{listener="gateway"\} (\d+)$/m.exec(scrape.body.toString())?.[1])).toBeGreaterThanOrEqual(1);
  for (const s of holders) s.destroy();
  await server.stop();
});
