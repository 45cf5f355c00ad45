/**
 * The PostgreSQL group commit's two ways of running a batch: single-statement writes sent together
 * without savepoints, and the careful way (a savepoint each, one at a time) that the whole batch falls
 * back to when one of them aborts the transaction. Whichever way a batch ran, every write that
 * succeeded is committed with its audit record, and every write that failed left nothing behind.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { verifyChain } from '../../src/audit/verify-chain.ts';
import { systemClock } from '../../src/clock.ts';
import { ServiceUnavailableError, WriteOutcomeUnknownError, type ApiError } from '../../src/errors.ts';
import { PartialWrite, PgGroupCommitter, type PgWork } from '../../src/store/postgres/pg-group-commit.ts';
import { migratePostgres, openPool, openPostgresStore } from '../../src/store/postgres/postgres-store.ts';
import { auditInput } from '../helpers/audit-input.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.ts';

let db: TestDatabase;
let pool: pg.Pool;
let batches: number[];
let group: PgGroupCommitter;

beforeAll(async () => {
  db = await createTestDatabase('vg_group');
  pool = openPool(db.url, 4);
  await migratePostgres(pool);
  await pool.query(`CREATE TABLE scratch (k text PRIMARY KEY)`);
  batches = [];
  group = new PgGroupCommitter(pool, { maxBatch: 64, maxQueued: 1000, onCommit: (size) => batches.push(size) });
});

afterAll(async () => {
  await group?.close();
  await pool?.end();
  await db?.drop();
});

/** A single-statement write: one row and one audit record (the record's requestId names the row). */
const insert =
  (k: string): PgWork<string> =>
  async (tx) => {
    await tx.query(`INSERT INTO scratch (k) VALUES ($1)`, [k]);
    tx.audit(auditInput({ requestId: k }));
    return () => k;
  };

async function keys(): Promise<string[]> {
  return (await pool.query<{ k: string }>(`SELECT k FROM scratch ORDER BY k`)).rows.map((r) => r.k);
}

async function recordedRequests(): Promise<string[]> {
  return (await pool.query<{ request_id: string }>(`SELECT request_id FROM audit_log ORDER BY seq`)).rows.map((r) => r.request_id);
}

describe('PgGroupCommitter', () => {
  it('commits single-statement writes sent together, each with its record, in one batch', async () => {
    const results = await Promise.all(['a1', 'a2', 'a3'].map((k) => group.submit(insert(k), undefined, { single: true })));
    expect(results).toEqual(['a1', 'a2', 'a3']);
    expect(batches.at(-1)).toBe(3);
    expect(await keys()).toEqual(['a1', 'a2', 'a3']);
    expect((await recordedRequests()).sort()).toEqual(['a1', 'a2', 'a3']);
  });

  it('a single-statement write that PostgreSQL refuses sends the batch round again, carefully: the others still commit', async () => {
    const before = batches.length;
    // b1 is inserted twice in one batch: sent together, the second one aborts the transaction.
    const outcomes = await Promise.allSettled([
      group.submit(insert('b1'), undefined, { single: true }),
      group.submit(insert('b1'), undefined, { single: true }),
      group.submit(insert('b2'), undefined, { single: true }),
      // A write with several statements, run in its savepoint beside them.
      group.submit(async (tx) => {
        await tx.query(`INSERT INTO scratch (k) VALUES ('b3')`);
        await tx.query(`INSERT INTO scratch (k) VALUES ('b4')`);
        tx.audit(auditInput({ requestId: 'b3+b4' }));
        return () => 'b3+b4';
      }),
    ]);
    expect(batches.length).toBe(before + 1);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect((outcomes[1] as PromiseRejectedResult).reason).toMatchObject({ code: '23505' });
    expect(await keys()).toEqual(['a1', 'a2', 'a3', 'b1', 'b2', 'b3', 'b4']);
    expect((await recordedRequests()).slice(3).sort()).toEqual(['b1', 'b2', 'b3+b4']);
  });

  it('a PartialWrite is undone alone: the batch runs again with a savepoint for it', async () => {
    const outcomes = await Promise.allSettled([
      group.submit(insert('c1'), undefined, { single: true }),
      group.submit(
        async (tx) => {
          await tx.query(`INSERT INTO scratch (k) VALUES ('c2')`);
          tx.audit(auditInput({ requestId: 'c2' }));
          throw new PartialWrite('changed more than it should have');
        },
        undefined,
        { single: true },
      ),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected']);
    expect((outcomes[1] as PromiseRejectedResult).reason).toBeInstanceOf(PartialWrite);
    expect(await keys()).not.toContain('c2');
    expect(await keys()).toContain('c1');
    expect(await recordedRequests()).not.toContain('c2');
  });

  it('a guard that does not hold fails its write alone, without sending the batch round again', async () => {
    const runs: string[] = [];
    const counted =
      (k: string): PgWork<string> =>
      async (tx) => {
        runs.push(k);
        return insert(k)(tx);
      };
    const stale: PgWork<string> = async (tx) => {
      runs.push('stale');
      const r = await tx.query(`UPDATE scratch SET k = 'never' WHERE k = 'no such row' RETURNING k`);
      if (r.rowCount === 0) throw new Error('stale');
      return () => 'unreachable';
    };
    const outcomes = await Promise.allSettled([group.submit(counted('d1'), undefined, { single: true }), group.submit(stale, undefined, { single: true })]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected']);
    // Each ran once: a failure that changed nothing needs no second round.
    expect(runs.sort()).toEqual(['d1', 'stale']);
  });

  it('a single-statement write that sends its statement after an await is not sent behind the head lock: the batch runs again, carefully, and commits it', async () => {
    const runs: string[] = [];
    const late: PgWork<string> = async (tx) => {
      runs.push('late');
      await Promise.resolve();
      return insert('e2')(tx);
    };
    const outcomes = await Promise.allSettled([group.submit(insert('e1'), undefined, { single: true }), group.submit(late, undefined, { single: true })]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled']);
    // Refused once (sent late), then run in a savepoint of its own.
    expect(runs).toEqual(['late', 'late']);
    expect(await keys()).toEqual(expect.arrayContaining(['e1', 'e2']));
    expect(await recordedRequests()).toEqual(expect.arrayContaining(['e1', 'e2']));
  });

  it('a batch whose records PostgreSQL refuses is not committed: COMMIT, sent behind them, answers ROLLBACK and every write fails', async () => {
    // The database refuses this one record (the records of a batch go in one statement).
    await pool.query(`CREATE FUNCTION refuse_f2() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.request_id = 'f2' THEN RAISE EXCEPTION 'audit row refused' USING ERRCODE = '23514'; END IF; RETURN NEW; END $$`);
    await pool.query(`CREATE TRIGGER refuse_f2 BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION refuse_f2()`);
    const headBefore = (await pool.query(`SELECT seq, hash FROM audit_head`)).rows[0];
    const clash: PgWork<string> = async (tx) => {
      await tx.query(`INSERT INTO scratch (k) VALUES ('f2')`);
      tx.audit(auditInput({ requestId: 'f2' }));
      return () => 'f2';
    };
    const outcomes = await Promise.allSettled([group.submit(insert('f1'), undefined, { single: true }), group.submit(clash, undefined, { single: true })]);
    await pool.query(`DROP TRIGGER refuse_f2 ON audit_log; DROP FUNCTION refuse_f2()`);
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected']);
    expect((outcomes[0] as PromiseRejectedResult).reason).toMatchObject({ code: '23514', message: 'audit row refused' });
    expect(await keys()).not.toContain('f1');
    expect(await keys()).not.toContain('f2');
    expect((await pool.query(`SELECT seq, hash FROM audit_head`)).rows[0]).toEqual(headBefore);
    // The connection is good for the next batch.
    expect(await group.submit(insert('f3'), undefined, { single: true })).toBe('f3');
  });

  it('records made together commit in one batch, without a savepoint each', async () => {
    const store = await openPostgresStore({ url: db.url, clock: systemClock });
    const sent: string[] = [];
    const originalQuery = pg.Client.prototype.query;
    const query = vi.spyOn(pg.Client.prototype, 'query').mockImplementation(function (this: pg.Client, ...args: unknown[]) {
      const first = args[0] as string | { text?: string };
      sent.push(typeof first === 'string' ? first : (first.text ?? ''));
      return (originalQuery as (...a: unknown[]) => unknown).apply(this, args);
    } as typeof originalQuery);
    try {
      const requests = ['g1', 'g2', 'g3', 'g4'];
      const seqs = await Promise.all(requests.map((k) => store.appendAudit(auditInput({ requestId: k }))));
      expect(new Set(seqs).size).toBe(4);
      expect(sent.filter((t) => t.startsWith('BEGIN'))).toHaveLength(1);
      expect(sent.filter((t) => t.includes('SAVEPOINT'))).toEqual([]);
      expect((await recordedRequests()).slice(-4)).toEqual(requests);
    } finally {
      query.mockRestore();
      await store.close();
    }
  });

  it('chains the records in the order the writes ran: a single-statement write submitted after a careful one runs, and is recorded, first', async () => {
    await pool.query(`INSERT INTO scratch (k) VALUES ('e-old')`);
    const seen: string[] = [];
    const outcomes = await Promise.all([
      // Careful (a savepoint, two statements): renames the row. Submitted first.
      group.submit(async (tx) => {
        await tx.query(`UPDATE scratch SET k = 'e-new' WHERE k = 'e-old'`);
        await tx.query(`SELECT 1`);
        tx.audit(auditInput({ requestId: 'e-renamed' }));
        return () => 'renamed';
      }),
      // Single-statement: reads the row as it is when its statement runs, and records what it saw.
      group.submit(
        async (tx) => {
          const row = await tx.query<{ k: string }>(`SELECT k FROM scratch WHERE k LIKE 'e-%'`);
          seen.push(row.rows[0]!.k);
          tx.audit(auditInput({ requestId: `e-saw-${row.rows[0]!.k}` }));
          return () => 'saw';
        },
        undefined,
        { single: true },
      ),
    ]);
    expect(outcomes).toEqual(['renamed', 'saw']);
    // It was sent with BEGIN, before the careful write ran: it saw the old row.
    expect(seen).toEqual(['e-old']);
    // So the chain must show it before the rename, or replaying the records in their order would not
    // explain what it saw.
    expect((await recordedRequests()).filter((r) => r.startsWith('e-'))).toEqual(['e-saw-e-old', 'e-renamed']);
  });

  describe('a connection lost under a batch', () => {
    /**
     * The next connection a batch takes breaks as soon as `statement` has left on it: its socket is
     * destroyed once the statement is written, as a network or a server going away would. PostgreSQL
     * still runs what had arrived (a COMMIT that arrived commits). `thenNoConnection`: the connections
     * asked for after that cannot be had, never or the first two times.
     */
    function breakAfter(statement: 'BEGIN' | 'COMMIT', thenNoConnection: 'never' | 'twice' | false = false): void {
      pool.once('acquire', (client: pg.PoolClient) => {
        const query = client.query.bind(client) as (...a: unknown[]) => unknown;
        let armed = true;
        (client as { query: unknown }).query = (...args: unknown[]) => {
          const result = query(...args);
          const text = typeof args[0] === 'string' ? args[0] : '';
          if (armed && text.startsWith(statement)) {
            armed = false;
            // After this tick the corked statements have been written to the socket.
            setImmediate(() => (client as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy());
            const refused = () => Promise.reject(new Error('Connection terminated due to connection timeout'));
            if (thenNoConnection === 'never') vi.spyOn(pool, 'connect').mockImplementation(refused);
            if (thenNoConnection === 'twice') vi.spyOn(pool, 'connect').mockImplementationOnce(refused).mockImplementationOnce(refused);
          }
          return result;
        };
      });
    }

    it('once COMMIT has left: the chain tells that the batch committed, and its writes are acknowledged', async () => {
      breakAfter('COMMIT');
      const results = await Promise.all(['h1', 'h2'].map((k) => group.submit(insert(k), undefined, { single: true })));
      expect(results).toEqual(['h1', 'h2']);
      expect(await keys()).toEqual(expect.arrayContaining(['h1', 'h2']));
      expect((await recordedRequests()).slice(-2)).toEqual(['h1', 'h2']);
      // The broken connection was not given back to the pool: the next batch commits.
      expect(await group.submit(insert('h3'), undefined, { single: true })).toBe('h3');
    });

    it('before COMMIT left: nothing committed, and every write of the batch is told it was not made (503)', async () => {
      breakAfter('BEGIN');
      const headBefore = (await pool.query(`SELECT seq, hash FROM audit_head`)).rows[0];
      const outcomes = await Promise.allSettled([
        group.submit(insert('i1'), undefined, { single: true }),
        group.submit(async (tx) => {
          await tx.query(`INSERT INTO scratch (k) VALUES ('i2')`);
          tx.audit(auditInput({ requestId: 'i2' }));
          return () => 'i2';
        }),
      ]);
      for (const o of outcomes) {
        expect(o.status).toBe('rejected');
        const reason = (o as PromiseRejectedResult).reason as ApiError;
        expect(reason).toBeInstanceOf(ServiceUnavailableError);
        expect(reason.message).toMatch(/^The connection to the database failed \(.+\) before the write committed: the write was not made; try again shortly\.$/);
      }
      expect(await keys()).not.toContain('i1');
      expect(await keys()).not.toContain('i2');
      expect((await pool.query(`SELECT seq, hash FROM audit_head`)).rows[0]).toEqual(headBefore);
      expect(await group.submit(insert('i3'), undefined, { single: true })).toBe('i3');
    });

    it('once COMMIT has left, and PostgreSQL cannot be reached to ask: a 503 that says the outcome is not known', async () => {
      // Asks for 300 ms, from pauses of 10 ms (the server asks for 16 s, from 250 ms).
      const asking = new PgGroupCommitter(pool, { maxBatch: 64, maxQueued: 1000 }, { forMs: 300, firstPauseMs: 10 });
      breakAfter('COMMIT', 'never');
      const outcome = await asking.submit(insert('j1'), undefined, { single: true }).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(vi.mocked(pool.connect).mock.calls.length).toBeGreaterThanOrEqual(3);
      expect(outcome).toBeInstanceOf(WriteOutcomeUnknownError);
      expect((outcome as Error).message).toMatch(/as the write committed, and whether it was made could not be checked: read it before trying again\.$/);
      // It had committed: "not made" would have been a lie.
      vi.restoreAllMocks();
      expect(await keys()).toContain('j1');
      expect(await asking.submit(insert('j2'), undefined, { single: true })).toBe('j2');
      await asking.close();
    });

    it('once COMMIT has left, and PostgreSQL is back on the third try (a restart): the batch is settled, and its writes acknowledged', async () => {
      const asking = new PgGroupCommitter(pool, { maxBatch: 64, maxQueued: 1000 }, { forMs: 5_000, firstPauseMs: 10 });
      breakAfter('COMMIT', 'twice');
      expect(await asking.submit(insert('j3'), undefined, { single: true })).toBe('j3');
      vi.restoreAllMocks();
      expect(await keys()).toContain('j3');
      await asking.close();
    });
  });

  it('a replica frozen while its batch holds the chain\'s head (a paused VM, a partition) does not stop another replica: PostgreSQL ends its idle transaction', async () => {
    const otherPool = openPool(db.url, 2);
    const other = new PgGroupCommitter(otherPool, { maxBatch: 64, maxQueued: 1000 });
    try {
      let headHeld!: () => void;
      const held = new Promise<void>((resolve) => (headHeld = resolve));
      // A single-statement write sends its statement with the batch's head lock, then stalls for 8 s
      // before its answer is looked at: the transaction sits idle, holding the head row.
      const frozen = group.submit(
        async (tx) => {
          const sent = tx.query(`INSERT INTO scratch (k) VALUES ('k1')`);
          tx.audit(auditInput({ requestId: 'k1' }));
          await sent;
          headHeld();
          await new Promise((resolve) => setTimeout(resolve, 8_000));
          return () => 'k1';
        },
        undefined,
        { single: true },
      );
      const frozenOutcome = frozen.then(
        () => undefined,
        (err: unknown) => err,
      );
      await held;
      const started = performance.now();
      // The other replica's write needs the head too: it waits, and commits once PostgreSQL has
      // ended the frozen transaction (its idle limit, 5 s), well within its own 15 s lock limit.
      expect(await other.submit(insert('k2'), undefined, { single: true })).toBe('k2');
      expect(performance.now() - started).toBeLessThan(15_000);
      expect(await keys()).toContain('k2');
      expect(await keys()).not.toContain('k1');
      // When the frozen replica wakes, its write is told the truth: not made.
      const err = await frozenOutcome;
      expect(err).toBeInstanceOf(ServiceUnavailableError);
      expect((err as Error).message).toMatch(/the write was not made/);
      expect(await group.submit(insert('k3'), undefined, { single: true })).toBe('k3');
    } finally {
      await other.close();
      await otherPool.end();
    }
  }, 60_000);

  it('a lock another writer holds past the batch\'s 15 s wait is a 503 that says the write was not made', async () => {
    const holder = await pool.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT 1 FROM audit_head WHERE id = 1 FOR UPDATE');
      const err = await group.submit(insert('l1'), undefined, { single: true }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ServiceUnavailableError);
      expect((err as Error).message).toBe('The database was busy: a lock another writer held was not granted in time, and the write was not made; try again shortly.');
    } finally {
      await holder.query('ROLLBACK');
      holder.release();
    }
    expect(await keys()).not.toContain('l1');
    expect(await group.submit(insert('l2'), undefined, { single: true })).toBe('l2');
  }, 60_000);

  it('leaves one unbroken chain', async () => {
    const store = await openPostgresStore({ url: db.url, clock: systemClock });
    try {
      const result = await verifyChain(store);
      expect(result.ok).toBe(true);
      expect(result.records).toBe((await recordedRequests()).length);
    } finally {
      await store.close();
    }
  });
});
