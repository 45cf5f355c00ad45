/**
 * Which failures mean PostgreSQL could not be reached, provoked for real on the run's PostgreSQL (the
 * driver's own errors are matched by their words: a driver that words them differently fails here),
 * and what a store call that failed so answers: a 503 to retry, while every other error passes
 * through unchanged.
 */
import { createHash } from 'node:crypto';
import { createServer } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { verifyChain } from '../../src/audit/verify-chain.ts';
import { systemClock } from '../../src/clock.ts';
import { NotFoundError, ServiceUnavailableError } from '../../src/errors.ts';
import { openPostgresBlobStore } from '../../src/store/postgres/pg-blob-store.ts';
import { answeringUnavailable } from '../../src/store/answering-unavailable.ts';
import { connectionLost, databaseUnreachable, isSqlError, pgUnavailableAs } from '../../src/store/postgres/pg-unavailable.ts';
import { openPostgresStore } from '../../src/store/postgres/postgres-store.ts';
import type { Store } from '../../src/store/store.ts';
import { auditInput } from '../helpers/audit-input.ts';
import { freezableProxy } from '../helpers/freezable-proxy.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.ts';

let db: TestDatabase;
let admin: pg.Client;

beforeAll(async () => {
  db = await createTestDatabase('vg_unavailable');
  admin = new pg.Client({ connectionString: db.url });
  await admin.connect();
});

afterAll(async () => {
  await admin?.end();
  await db?.drop();
});

async function connected(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: db.url });
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

/** A port nothing listens on: taken, then let go. */
function closedPort(): Promise<number> {
  return new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

const failure = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected a failure');
    },
    (err: unknown) => err,
  );

describe('databaseUnreachable', () => {
  it('a session PostgreSQL ended (an administrator, a restart), and every query on that client after it', async () => {
    const client = await connected();
    const gone = new Promise((resolve) => client.once('end', resolve));
    const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    await admin.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
    // PostgreSQL's FATAL 57P01, or the socket's reset, whichever the client reads first.
    const ended = await failure(client.query('SELECT 1'));
    expect(databaseUnreachable(ended), String(ended)).toBe(true);
    await gone;
    const after = await failure(client.query('SELECT 1'));
    expect((after as Error).message).toMatch(/not queryable/);
    expect(databaseUnreachable(after)).toBe(true);
  });

  it('a connection whose socket went away', async () => {
    const client = await connected();
    const running = failure(client.query('SELECT pg_sleep(5)'));
    (client as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
    const lost = await running;
    expect((lost as Error).message).toBe('Connection terminated unexpectedly');
    expect(databaseUnreachable(lost)).toBe(true);
  });

  it('a client closed, a server that refuses connections, and a pool that cannot get one in time', async () => {
    const closed = await connected();
    await closed.end();
    expect(databaseUnreachable(await failure(closed.query('SELECT 1')))).toBe(true);

    const refused = await failure(new pg.Client({ host: '127.0.0.1', port: await closedPort(), user: 'x', database: 'x' }).connect());
    expect((refused as { code?: string }).code).toBe('ECONNREFUSED');
    expect(databaseUnreachable(refused)).toBe(true);

    // Long enough for the first connection on a busy machine; the second waits for a free one, in vain.
    const pool = new pg.Pool({ connectionString: db.url, max: 1, connectionTimeoutMillis: 2_000 });
    const held = await pool.connect();
    try {
      const timedOut = await failure(pool.connect());
      expect((timedOut as Error).message).toMatch(/^timeout exceeded when trying to connect/);
      expect(databaseUnreachable(timedOut)).toBe(true);
    } finally {
      held.release();
      await pool.end();
    }
  });

  it('not an error PostgreSQL answered on a good session, nor a cancelled statement, nor the gateway’s own errors', async () => {
    const client = await connected();
    try {
      expect(databaseUnreachable(await failure(client.query('SELEC 1')))).toBe(false); // 42601
      expect(databaseUnreachable(await failure(client.query(`SELECT 1/0`)))).toBe(false); // 22012
      await client.query(`SET statement_timeout = '10ms'`);
      const cancelled = await failure(client.query('SELECT pg_sleep(1)'));
      expect((cancelled as { code?: string }).code).toBe('57014');
      expect(databaseUnreachable(cancelled)).toBe(false);
      await client.query('SELECT 1'); // the session goes on
    } finally {
      await client.end();
    }
    // A socket's EPIPE has a five-character code too, and is the connection's, not PostgreSQL's.
    const epipe = Object.assign(new Error('write EPIPE'), { code: 'EPIPE', errno: -32, syscall: 'write' });
    expect(isSqlError(epipe)).toBe(false);
    expect(connectionLost(epipe)).toBe(true);
    expect(databaseUnreachable(epipe)).toBe(true);
    expect(databaseUnreachable(new NotFoundError('no such version', 'package-version', '1.0.0'))).toBe(false);
    expect(databaseUnreachable(new TypeError('x is undefined'))).toBe(false);
    expect(databaseUnreachable('Connection terminated')).toBe(false);
  });
});

describe('answeringUnavailable', () => {
  it('answers a store call that lost its database with a 503, its cause kept, and passes every other outcome through', async () => {
    const client = await connected();
    await client.end();
    const lost = await failure(client.query('SELECT 1'));
    const notFound = new NotFoundError('no such version', 'package-version', '1.0.0');
    const store = answeringUnavailable({
      readVersion: async () => {
        throw lost;
      },
      readPackage: async () => {
        throw notFound;
      },
      countSyncJobs: async () => ({ awaiting: 1 }),
    } as unknown as Store, pgUnavailableAs);
    const refused = await failure(store.readVersion({} as never, '1.0.0', {} as never));
    expect(refused).toBeInstanceOf(ServiceUnavailableError);
    expect((refused as Error).message).toBe('The connection to the database failed (Client was closed and is not queryable): try again shortly.');
    expect((refused as Error).cause).toBe(lost);
    expect(await failure(store.readPackage({} as never, []))).toBe(notFound);
    expect(await store.countSyncJobs()).toEqual({ awaiting: 1 });
  });

  it('the blob store too: an upload or a download whose database cannot be reached is a 503', async () => {
    const refusing = new pg.Pool({ host: '127.0.0.1', port: await closedPort(), user: 'x', database: 'x' });
    const blobs = openPostgresBlobStore(refusing);
    try {
      const upload = await failure(blobs.ingest('b.bin', blobs.newKey(), new Blob(['more bytes']).stream(), { maxBytes: 1024, expectedSha256: createHash('sha256').update('more bytes').digest('hex') }));
      expect(upload).toBeInstanceOf(ServiceUnavailableError);
      // The code, never the socket's message: that names the database's host and port.
      expect((upload as Error).message).toBe('The connection to the database failed (ECONNREFUSED): try again shortly.');
      expect(await failure(blobs.open('0123456789abcdef0123456789abcdef'))).toBeInstanceOf(ServiceUnavailableError);
    } finally {
      await refusing.end();
    }
  });
});

describe('a PostgreSQL that hangs', () => {
  it('answers a read and a write with a 503 once a statement has gone unanswered past the limit, says the write was not made, and goes on once it answers again', async () => {
    const proxy = await freezableProxy(db.url);
    const store = await openPostgresStore({ url: proxy.url, clock: systemClock, poolSize: 2, queryTimeoutMs: 500 });
    try {
      await store.appendAudit(auditInput({ requestId: 'before' }));
      proxy.freeze();
      const started = performance.now();
      const [read, write] = await Promise.all([failure(store.listAudit({ limit: 10 })), failure(store.appendAudit(auditInput({ requestId: 'frozen' })))]);
      expect(performance.now() - started).toBeLessThan(10_000);
      expect(read).toBeInstanceOf(ServiceUnavailableError);
      expect((read as Error).message).toBe('The connection to the database failed (Query read timeout): try again shortly.');
      expect(write).toBeInstanceOf(ServiceUnavailableError);
      expect((write as Error).message).toMatch(/before the write committed: the write was not made; try again shortly\.$/);
      proxy.thaw();
      await vi.waitFor(() => store.ping(), { timeout: 10_000, interval: 100 });
      await store.appendAudit(auditInput({ requestId: 'after' }));
      // What the frozen batch had sent reached PostgreSQL after all, without its COMMIT: nothing of it stayed.
      expect((await store.listAudit({ limit: 10 })).map((r) => r.requestId).sort()).toEqual(['after', 'before']);
      expect((await verifyChain(store)).ok).toBe(true);
    } finally {
      proxy.thaw();
      await store.close();
      proxy.close();
    }
  }, 60_000);
});

describe('a PostgreSQL that takes no writes', () => {
  it('answers a write 503 "takes no writes … not made" while reads go on, and writes again once it does', async () => {
    const own = await createTestDatabase('vg_read_only');
    const name = new URL(own.url).pathname.slice(1);
    /** Ends the store's sessions: its pool connects again, under the database's new defaults. */
    const endStoreSessions = () => admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1`, [name]);
    const store = await openPostgresStore({ url: own.url, clock: systemClock, poolSize: 2 });
    try {
      await store.appendAudit(auditInput({ requestId: 'before' }));
      // As a maintenance window does, or as a failover that left the replica on a standby looks.
      await admin.query(`ALTER DATABASE "${name}" SET default_transaction_read_only = on`);
      await endStoreSessions();
      let refused: unknown;
      await vi.waitFor(
        async () => {
          // The first tries may meet the ended sessions (503s of their own); then every one is refused read-only.
          refused = await failure(store.appendAudit(auditInput({ requestId: 'refused' })));
          expect(refused).toBeInstanceOf(ServiceUnavailableError);
          expect((refused as Error).message).toMatch(/^The database takes no writes now \(cannot execute .* in a read-only transaction\): the write was not made; try again shortly\.$/);
        },
        { timeout: 20_000, interval: 100 },
      );
      expect(((refused as Error).cause as pg.DatabaseError).code).toBe('25006');
      expect((await store.listAudit({ limit: 10 })).map((r) => r.requestId)).toEqual(['before']);

      await admin.query(`ALTER DATABASE "${name}" RESET default_transaction_read_only`);
      await endStoreSessions();
      await vi.waitFor(() => store.appendAudit(auditInput({ requestId: 'after' })), { timeout: 20_000, interval: 100 });
      expect((await store.listAudit({ limit: 10 })).map((r) => r.requestId)).toEqual(['after', 'before']);
      expect((await verifyChain(store)).ok).toBe(true);
    } finally {
      await store.close();
      await own.drop();
    }
  }, 60_000);
});
