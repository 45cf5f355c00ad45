/**
 * SQLite's refusals answered as what they are: another process holding the database file's write
 * lock (an operator's `sqlite3` shell mid-transaction, a backup, a second gateway on the same data
 * directory) past the busy timeout, a full disk, a file that cannot be written. Each is a 503 that
 * says nothing was changed, never a 500 "internal error"; reads go on while the lock is held; and
 * once it is released the same write commits, the chain holding exactly what committed. Every error
 * here is SQLite's own, provoked for real.
 */
import { copyFileSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { verifyChain } from '../../src/audit/verify-chain.ts';
import { systemClock } from '../../src/clock.ts';
import { ServiceUnavailableError } from '../../src/errors.ts';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { sqliteUnavailableAs } from '../../src/store/sqlite/sqlite-unavailable.ts';
import { openThreadedSqliteStore } from '../../src/store/sqlite/threaded-store.ts';
import type { Store } from '../../src/store/store.ts';
import { auditInput } from '../helpers/audit-input.ts';
import { holdWriteLock } from '../helpers/sqlite-lock.ts';
import { CHALK, UPDATE } from '../helpers/gateway.ts';
import { rawRequest, realServer, type RealServer } from '../ops/real-server.ts';

/** What a call threw (or rejected with); fails the test when it did not. */
async function failure(call: () => unknown): Promise<unknown> {
  try {
    await call();
  } catch (err) {
    return err;
  }
  throw new Error('expected the call to fail');
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'vg-sqlite-refusals-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('sqliteUnavailableAs', () => {
  it('a lock another connection holds: 503, "locked by another process", nothing changed, the cause kept', async () => {
    const file = join(dir, 'db.sqlite');
    const lock = await holdWriteLock(file);
    const impatient = new Database(file, { timeout: 0 });
    try {
      const busy = await failure(() => impatient.exec('BEGIN IMMEDIATE'));
      expect((busy as { code?: string }).code).toBe('SQLITE_BUSY');
      const answer = sqliteUnavailableAs(busy);
      expect(answer).toBeInstanceOf(ServiceUnavailableError);
      expect(answer!.message).toBe('The database file is locked by another process, which held it past the 5 s this gateway waits (database is locked): nothing was changed; try again shortly.');
      expect(answer!.cause).toBe(busy);
    } finally {
      impatient.close();
      await lock.release();
    }
  });

  it('a full disk and a file that cannot be written: 503s that say so', async () => {
    const file = join(dir, 'db.sqlite');
    const db = new Database(file);
    db.exec('CREATE TABLE t (b BLOB)');
    // The file may not grow past the pages it has: the next page it needs is a full disk to SQLite.
    db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true }) as number}`);
    const full = await failure(() => db.prepare('INSERT INTO t VALUES (?)').run(Buffer.alloc(64 * 1024)));
    db.close();
    expect((full as { code?: string }).code).toBe('SQLITE_FULL');
    expect(sqliteUnavailableAs(full)?.message).toBe("The database's disk is full (database or disk is full): nothing was changed; try again shortly.");

    const readOnly = new Database(file, { readonly: true });
    const refused = await failure(() => readOnly.prepare('INSERT INTO t VALUES (?)').run(Buffer.alloc(1)));
    readOnly.close();
    expect((refused as { code?: string }).code).toBe('SQLITE_READONLY');
    expect(sqliteUnavailableAs(refused)).toBeInstanceOf(ServiceUnavailableError);
    expect(sqliteUnavailableAs(refused)?.message).toMatch(/^The database file cannot be written \(.+\): nothing was changed; try again shortly\.$/);
  });

  it('leaves every other error as it is: a constraint, a missing table, a bug', async () => {
    const db = new Database(join(dir, 'db.sqlite'));
    db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY)');
    db.exec('INSERT INTO t VALUES (1)');
    const constraint = await failure(() => db.exec('INSERT INTO t VALUES (1)'));
    const missing = await failure(() => db.exec('SELECT * FROM nowhere'));
    db.close();
    expect((constraint as { code?: string }).code).toBe('SQLITE_CONSTRAINT_PRIMARYKEY');
    expect(sqliteUnavailableAs(constraint)).toBeUndefined();
    expect(sqliteUnavailableAs(missing)).toBeUndefined();
    expect(sqliteUnavailableAs(new TypeError('x is undefined'))).toBeUndefined();
  });
});

type Opener = (file: string) => Promise<Store>;
const stores: Array<[string, Opener]> = [
  ['in process', async (file) => openSqliteStore({ file, clock: systemClock })],
  ['on a writer thread', (file) => openThreadedSqliteStore({ file })],
];

describe.each(stores)('a store whose database file another process holds locked, %s', (_where, open) => {
  it('refuses the write with a 503 that says nothing was changed, goes on reading, and commits it once the lock is gone', async () => {
    const file = join(dir, 'db.sqlite');
    const store = await open(file);
    try {
      await store.appendAudit(auditInput({ requestId: 'before' }));
      const lock = await holdWriteLock(file);
      let refused: unknown;
      try {
        refused = await failure(() => store.appendAudit(auditInput({ requestId: 'locked-out' })));
        // WAL: readers never wait for the writer's lock.
        expect((await store.listAudit({ limit: 10 })).map((r) => r.requestId)).toEqual(['before']);
      } finally {
        await lock.release();
      }
      expect(refused).toBeInstanceOf(ServiceUnavailableError);
      expect((refused as Error).message).toMatch(/^The database file is locked by another process, .*: nothing was changed; try again shortly\.$/);

      await store.appendAudit(auditInput({ requestId: 'after' }));
      expect((await store.listAudit({ limit: 10 })).map((r) => r.requestId)).toEqual(['after', 'before']);
      expect((await verifyChain(store)).ok).toBe(true);
    } finally {
      await store.close();
    }
  });

  // A sync job's claim is a transaction of its own, not a group commit's: the two share the rule.
  const firstWrites: Array<[string, (store: Store) => Promise<unknown>]> = [
    ['a group commit', (store) => store.appendAudit(auditInput({ requestId: 'waited' }))],
    ["a sync job's claim", (store) => store.claimSyncJob()],
  ];
  it.each(firstWrites)('once one write (%s) has waited the whole busy timeout in vain, the next is refused at once, not made to wait as long again', async (_first, firstWrite) => {
    const file = join(dir, 'db.sqlite');
    const store = await open(file);
    // The holder lets go 6 s from now: after the first write's 5 s wait, within a second write's.
    const lock = await holdWriteLock(file, 6_000);
    try {
      expect(await failure(() => firstWrite(store))).toBeInstanceOf(ServiceUnavailableError);
      // Made to wait 5 s again, this one would get the lock and commit.
      expect(await failure(() => store.appendAudit(auditInput({ requestId: 'refused-at-once' })))).toBeInstanceOf(ServiceUnavailableError);
      await lock.release();
      await store.appendAudit(auditInput({ requestId: 'after' }));
      expect((await store.listAudit({ limit: 10 })).map((r) => r.requestId)).toEqual(['after']);
    } finally {
      await lock.release();
      await store.close();
    }
  });
});

describe.each(stores)('a store whose database file is taken from under it, %s', (_where, open) => {
  // Removing the data directory, or restoring a backup by moving it into place, while the gateway runs.
  const takeAway: Array<[string, (file: string) => void, string]> = [
    ['replaced', (file) => {
      copyFileSync(file, join(dir, 'backup.sqlite'));
      renameSync(join(dir, 'backup.sqlite'), file);
    }, 'replaced'],
    ['removed', (file) => rmSync(file), 'removed'],
  ];
  it.each(takeAway)('refuses every write once the file is %s, and its ping fails: nothing is acknowledged into a file nobody will open again', async (_how, take, word) => {
    const file = join(dir, 'db.sqlite');
    const store = await open(file);
    try {
      await store.appendAudit(auditInput({ requestId: 'before' }));
      take(file);
      const refused = await failure(() => store.appendAudit(auditInput({ requestId: 'into-the-old-file' })));
      expect(refused).toBeInstanceOf(ServiceUnavailableError);
      expect((refused as Error).message).toBe(`The database file was ${word} while versiongate ran: nothing was changed, and no change can be made until versiongate is restarted.`);
      expect(await failure(() => store.ping())).toBeInstanceOf(ServiceUnavailableError);
      // Nor is anything written on the side: a sync job's claim is refused the same way.
      expect(await failure(() => store.claimSyncJob())).toBeInstanceOf(ServiceUnavailableError);
    } finally {
      await store.close();
    }
  });
});

describe('the server, while another process holds its database file locked', () => {
  let s: RealServer;
  beforeAll(async () => {
    s = await realServer();
  });
  afterAll(() => s?.cleanup());

  it('answers a status change 503 ServiceUnavailableException with Retry-After, keeps answering meanwhile, and applies the retry once the lock is gone', async () => {
    const token = await s.token('alice', ['release-managers']);
    const update = () =>
      rawRequest(`${s.gateway.url}${UPDATE}?${CHALK}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ versions: ['4.0.0'], targetStatus: 'Unlisted' }),
      });
    const lock = await holdWriteLock(join(s.config.dataDir, 'versiongate.db'));
    let refused: Awaited<ReturnType<typeof update>>;
    try {
      const pending = update();
      // The writes wait on a thread of their own: the event loop goes on answering.
      expect((await rawRequest(`${s.gateway.url}/healthz`)).status).toBe(200);
      refused = await pending;
    } finally {
      await lock.release();
    }
    expect(refused.status).toBe(503);
    expect(refused.headers['x-amzn-errortype']).toBe('ServiceUnavailableException');
    expect(refused.headers['retry-after']).toBe('5');
    expect(JSON.parse(refused.body)).toEqual({ message: expect.stringMatching(/^The database file is locked by another process, .*: nothing was changed; try again shortly\.$/) });

    const retried = await update();
    expect(retried.status).toBe(200);
    expect(JSON.parse(retried.body)).toMatchObject({ successfulVersions: { '4.0.0': { status: 'Unlisted' } }, failedVersions: {} });
  });
});
