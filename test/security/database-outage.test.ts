/**
 * The database failing under load: the server (`versiongate serve`, a child process, on a database of
 * its own) takes the life cycle lanes of kill-under-load.test.ts from several connections at once,
 * while PostgreSQL fails it in one of two ways:
 * - every few hundred milliseconds all of its sessions are ended from outside (pg_terminate_backend:
 *   what a restart, a failover or an administrator does to them), 12 times in `npm test`, 150 under
 *   `npm run test:deep`;
 * - it hangs for a second or two at a time (the server reaches it through a proxy that stops passing
 *   bytes, as a stopped server or a network dropping packets would), with a statement limit of 1 s
 *   (VERSIONGATE_DATABASE_TIMEOUT), 4 times, or 30.
 * And on SQLite, another process holds the database file's write lock for 5.5–7.5 s at a time (past
 * the 5 s a write waits), 2 times, or 12.
 *
 * The server must stay up and answer every request: a 200, or a 503 (ServiceUnavailableException,
 * Retry-After) that says whether the write was made, never a 500 and never a dropped connection. A
 * lane retries a 503's step. Afterwards: every acknowledged change has its applied record, no write
 * a 503 said was not made has one, each lane's version is where its acknowledged steps left it (or
 * one step further, after a 503 that could not say), the chain verifies, and once PostgreSQL is left
 * alone every lane moves on again.
 */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, expect, it } from 'vitest';
import { loadOrCreateDevKey, mintDevToken } from '../../src/auth/dev-key.ts';
import { systemClock } from '../../src/clock.ts';
import { DEV_AUDIENCE, DEV_ISSUER } from '../../src/config.ts';
import { freezableProxy, type FreezableProxy } from '../helpers/freezable-proxy.ts';
import { holdWriteLock } from '../helpers/sqlite-lock.ts';
import { createTestDatabase } from '../helpers/postgres.ts';
import { acknowledge, lanes as makeLanes, lanesWhereTheyShouldBe, loaderPolicyDir, nextStep, postgresRows, sqliteRows, step, type Lane } from './lifecycle-lanes.ts';
import { lookAtStore, seededDataDir, seedPostgres } from './security-fixtures.ts';
import { killAll, spawnServer, type SpawnedServer } from './spawned-server.ts';

const DEEP = process.env.VERSIONGATE_DEEP === '1';
const OUTAGES = DEEP ? 150 : 12;
const HANGS = DEEP ? 30 : 4;
const LOCKOUTS = DEEP ? 12 : 2;
const CONNECTIONS = 6;
/** Steps each lane must get acknowledged once the sessions are left alone. */
const AFTERWARDS = 3;

const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  killAll();
  for (const c of cleanups) await c();
});

interface Refusals {
  /** Request ids of writes a 503 said were not made. */
  notMade: string[];
  /** 503s of writes whose outcome could not be checked. */
  unknown: number;
  /** 503s of a read, or an upload's bytes, before any write of the request. */
  before: number;
}

/** Drives a lane until `stop` says so, retrying each step a 503 refused; anything but a 200 or a 503 fails. */
async function drive(server: SpawnedServer, token: string, lane: Lane, refusals: Refusals, says: RegExp, stop: () => boolean): Promise<void> {
  while (!stop()) {
    const s = nextStep(lane);
    let res: Response;
    let text: string;
    try {
      res = await step(server.url, token, lane, s);
      text = await res.text();
    } catch (err) {
      throw new Error(`${s} of ${lane.name}: no answer (${(err as Error).message}); the server ${server.child.exitCode === null && server.child.signalCode === null ? 'is running' : 'exited'}\n${server.output().slice(-3000)}`);
    }
    if (res.status !== 503) {
      try {
        acknowledge(lane, s, res, text);
      } catch (err) {
        const logged = server.output().split('\n').filter((l) => /"level":"(error|warn)"/.test(l));
        throw new Error(`${(err as Error).message}\nthe server's warnings and errors:\n${logged.slice(-20).join('\n')}`);
      }
      continue;
    }
    expect(res.headers.get('x-amzn-errortype'), text).toBe('ServiceUnavailableException');
    expect(res.headers.get('retry-after'), text).toMatch(/^\d+$/);
    const { message } = JSON.parse(text) as { message: string };
    expect(message).toMatch(says);
    if (/the write was not made|nothing was changed/.test(message)) refusals.notMade.push(res.headers.get('x-amzn-requestid')!);
    else {
      if (/could not be checked/.test(message)) refusals.unknown++;
      else refusals.before++;
      lane.uncertain = true;
    }
    await sleep(20);
  }
}

interface Outcome {
  lanes: Lane[];
  refusals: Refusals;
  /** Everything the server wrote, up to its stop. */
  output: string;
}

/** What a 503 says while PostgreSQL fails. */
const CONNECTION_FAILED = /^The connection to the database failed/;

/**
 * Runs the lanes against a server on a database of its own (on PostgreSQL, through `databaseUrl`'s
 * rewrite if given; with `sqlite`, the data directory's file, whose path `disturb` is given) while
 * `disturb` does its worst, then until every lane has moved on `AFTERWARDS` steps; stops the server
 * and checks what the database holds against what the clients were told.
 */
async function underLoad(
  name: string,
  disturb: (database: string, failed: Promise<void>) => Promise<void>,
  o: { serverUrl?: (databaseUrl: string) => Promise<string>; env?: Record<string, string>; sqlite?: boolean; says?: RegExp } = {},
): Promise<Outcome> {
  const data = await seededDataDir(`vg-db-${name}-`);
  const database = o.sqlite ? undefined : await createTestDatabase(name);
  cleanups.push(async () => {
    data.remove();
    await database?.drop();
  });
  if (database) await seedPostgres(database.url);
  const sqliteFile = join(data.dataDir, 'versiongate.db');
  const devKey = await loadOrCreateDevKey(data.dataDir);
  const token = await mintDevToken({ key: devKey, issuer: DEV_ISSUER, audience: DEV_AUDIENCE, subject: 'loader', groups: ['kill-loaders'], groupsClaim: 'groups', ttlSeconds: 4 * 3600, clock: systemClock });
  const server = await spawnServer(
    {
      VERSIONGATE_DATA_DIR: data.dataDir,
      VERSIONGATE_POLICY_DIR: loaderPolicyDir(data.dir),
      VERSIONGATE_SYNC_WORKERS: '1',
      ...(database ? { VERSIONGATE_DATABASE_URL: o.serverUrl ? await o.serverUrl(database.url) : database.url } : {}),
      ...o.env,
    },
    { dev: true },
  );
  const lanes = makeLanes(CONNECTIONS);
  const refusals: Refusals = { notMade: [], unknown: 0, before: 0 };
  const ackedAtCalm: number[] = [];
  let calm = false;
  const loads = lanes.map((lane, i) => drive(server, token, lane, refusals, o.says ?? CONNECTION_FAILED, () => calm && lane.requestIds.length >= ackedAtCalm[i]! + AFTERWARDS));
  const failed = Promise.all(loads).then(() => undefined);
  await disturb(database?.url ?? sqliteFile, failed);
  lanes.forEach((lane, i) => (ackedAtCalm[i] = lane.requestIds.length));
  calm = true;
  await failed;
  expect(server.child.exitCode, 'the server is still running').toBeNull();
  const output = server.output();
  await server.stop();

  const look = await lookAtStore(data.dataDir, database?.url);
  expect(look.chainOk, look.chainReport).toBe(true);
  const applied = new Set(look.records.filter((r) => r.outcome === 'applied').map((r) => r.requestId));
  expect(refusals.notMade.filter((id) => applied.has(id)), 'writes a 503 said were not made, applied').toEqual([]);
  const db = database ? await postgresRows(database.url) : sqliteRows(sqliteFile);
  try {
    expect(await lanesWhereTheyShouldBe(db, lanes, applied)).toEqual([]);
  } finally {
    await db.close();
  }
  return { lanes, refusals, output };
}

/** The figures line docs/SECURITY.md quotes from the deep run. */
function figures({ lanes, refusals }: Outcome): string {
  const answered = lanes.reduce((n, l) => n + l.answered, 0) + refusals.notMade.length + refusals.unknown + refusals.before;
  return (
    `${answered} requests answered (500s: 0, unanswered: 0), ${lanes.reduce((n, l) => n + l.requestIds.length, 0)} acknowledged changes, all recorded; ` +
    `503s: ${refusals.notMade.length} not made (none applied), ${refusals.unknown} made or not (not checkable), ${refusals.before} before any write`
  );
}

it(`keeps serving while PostgreSQL ends its sessions ${OUTAGES} times under load, and every answer tells the truth`, async () => {
  let ended = 0;
  const outcome = await underLoad('outage', async (databaseUrl, failed) => {
    // The sessions are ended from a connection of the same role (a role may end its own sessions).
    const admin = new pg.Client({ connectionString: databaseUrl });
    await admin.connect();
    try {
      for (let outage = 0; outage < OUTAGES; outage++) {
        await Promise.race([sleep(100 + Math.floor(Math.random() * 300)), failed]);
        const { rows } = await admin.query<{ n: string }>(
          `SELECT count(*) AS n FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()) ended`,
        );
        ended += Number(rows[0]!.n);
      }
    } finally {
      await admin.end();
    }
  });
  expect(ended, 'sessions ended').toBeGreaterThan(0);
  // The operator is told why the 503s: a warning per connection lost.
  expect(outcome.output).toMatch(/"level":"warn".*"msg":"lost a connection to PostgreSQL; the next statement opens another"/);
  console.log(`database outage: ${OUTAGES} outages (${ended} sessions ended), ${figures(outcome)}`);
}, DEEP ? 3_600_000 : 600_000);

it(`keeps serving while PostgreSQL hangs ${HANGS} times under load (a statement limit of 1 s), and every answer tells the truth`, async () => {
  let proxy: FreezableProxy | undefined;
  let hung = 0;
  const outcome = await underLoad(
    'hang',
    async (_databaseUrl, failed) => {
      for (let hang = 0; hang < HANGS; hang++) {
        await Promise.race([sleep(300 + Math.floor(Math.random() * 500)), failed]);
        proxy!.freeze();
        const ms = 1_200 + Math.floor(Math.random() * 1_500);
        hung += ms;
        await Promise.race([sleep(ms), failed]);
        proxy!.thaw();
      }
    },
    {
      // The server reaches PostgreSQL through a proxy that can stop passing bytes, as a stopped
      // server or a network dropping packets would.
      serverUrl: async (databaseUrl) => {
        const p = await freezableProxy(databaseUrl);
        cleanups.push(async () => p.close());
        proxy = p;
        return p.url;
      },
      env: { VERSIONGATE_DATABASE_TIMEOUT: '1' },
    },
  );
  console.log(`database hang: ${HANGS} hangs (${(hung / 1000).toFixed(1)} s in all), ${figures(outcome)}`);
}, DEEP ? 3_600_000 : 600_000);

it(`keeps serving while another process holds its SQLite file's write lock ${LOCKOUTS} times under load, and every answer tells the truth`, async () => {
  let held = 0;
  const outcome = await underLoad(
    'lockout',
    async (file, failed) => {
      for (let lockout = 0; lockout < LOCKOUTS; lockout++) {
        await Promise.race([sleep(300 + Math.floor(Math.random() * 500)), failed]);
        // Longer than the 5 s a write waits, so that writes are refused, and sometimes much longer.
        const ms = 5_500 + Math.floor(Math.random() * 2_000);
        held += ms;
        const lock = await holdWriteLock(file, ms);
        await Promise.race([lock.released, failed]);
        await lock.release();
      }
    },
    { sqlite: true, says: /^The database file is locked by another process, .*: nothing was changed; try again shortly\.$/ },
  );
  expect(outcome.refusals.notMade.length, 'writes refused while the lock was held').toBeGreaterThan(0);
  console.log(`database lock-out: ${LOCKOUTS} lock-outs (${(held / 1000).toFixed(1)} s in all), ${figures(outcome)}`);
}, DEEP ? 3_600_000 : 600_000);
