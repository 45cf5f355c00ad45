/**
 * The reads that share a few pipelined connections (readPackage's): many at once stay on those few
 * connections and each gets its own answer; one read's SQL error is its own; a connection the server
 * ends is dropped and the next read takes another; a pool too small to spare connections leaves the
 * reads on the pool; closing gives the connections back.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgSharedReader, readerConnections } from '../../src/store/postgres/pg-shared-reader.ts';
import { openPool } from '../../src/store/postgres/postgres-store.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.ts';

let db: TestDatabase;
let pool: pg.Pool;

beforeAll(async () => {
  db = await createTestDatabase('vg_reader');
  pool = openPool(db.url, 6);
});

afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

const echo = (reader: PgSharedReader, n: number) => reader.query<{ n: number }>({ name: 'vg_test_echo', text: 'SELECT $1::int AS n, pg_backend_pid() AS pid', values: [n] });

describe('PgSharedReader', () => {
  it('answers many reads at once on at most its connections, each with its own rows', async () => {
    const reader = new PgSharedReader(pool, 2);
    try {
      const results = await Promise.all(Array.from({ length: 40 }, (_, i) => echo(reader, i)));
      expect(results.map((r) => r.rows[0]!.n)).toEqual(Array.from({ length: 40 }, (_, i) => i));
      const pids = new Set(results.map((r) => (r.rows[0] as unknown as { pid: number }).pid));
      expect(pids.size).toBeGreaterThanOrEqual(1);
      expect(pids.size).toBeLessThanOrEqual(2);
      // Held out of the pool while the reader is open; given back when it closes.
      expect(pool.totalCount - pool.idleCount).toBe(pids.size);
    } finally {
      await reader.close();
    }
    expect(pool.totalCount - pool.idleCount).toBe(0);
  });

  it('fails only the read whose statement failed, and keeps the connection for the others', async () => {
    const reader = new PgSharedReader(pool, 1);
    try {
      const [good1, bad, good2] = await Promise.allSettled([echo(reader, 1), reader.query({ text: 'SELECT 1/0' }), echo(reader, 2)]);
      expect(good1.status === 'fulfilled' && good1.value.rows[0]!.n).toBe(1);
      expect(bad.status === 'rejected' && (bad.reason as { code?: string }).code).toBe('22012');
      expect(good2.status === 'fulfilled' && good2.value.rows[0]!.n).toBe(2);
      expect((await echo(reader, 3)).rows[0]!.n).toBe(3);
    } finally {
      await reader.close();
    }
  });

  it('drops a connection the server ended, and the next read takes another', async () => {
    const reader = new PgSharedReader(pool, 1);
    try {
      const pid = ((await echo(reader, 1)).rows[0] as unknown as { pid: number }).pid;
      await pool.query('SELECT pg_terminate_backend($1)', [pid]);
      while ((await pool.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid])).rowCount) await new Promise((r) => setTimeout(r, 10));
      // The read sent on the ended connection (if it was still held) fails; it is then dropped.
      await echo(reader, 2).catch(() => undefined);
      const after = await echo(reader, 3);
      expect(after.rows[0]!.n).toBe(3);
      expect((after.rows[0] as unknown as { pid: number }).pid).not.toBe(pid);
    } finally {
      await reader.close();
    }
    expect(pool.totalCount - pool.idleCount).toBe(0);
  });

  it('leaves the reads on the pool when it has no connections of its own', async () => {
    const reader = new PgSharedReader(pool, 0);
    try {
      expect((await echo(reader, 7)).rows[0]!.n).toBe(7);
      expect(pool.totalCount - pool.idleCount).toBe(0);
    } finally {
      await reader.close();
    }
  });

  it('refuses reads once closed', async () => {
    const reader = new PgSharedReader(pool, 2);
    await echo(reader, 1);
    await reader.close();
    await expect(echo(reader, 2)).rejects.toThrow('the store is closed');
  });

  it('keeps connections only where the pool can spare them', () => {
    expect(readerConnections(1)).toBe(0);
    expect(readerConnections(4)).toBe(0);
    expect(readerConnections(10)).toBe(2);
  });
});
