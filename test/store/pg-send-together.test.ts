/**
 * Statements sent together (sendTogether) leave in one write to the socket, and each still gets its
 * own answer, an error included.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { holdWrites, sendTogether } from '../../src/store/postgres/pg-send-together.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.ts';

let db: TestDatabase;
let client: pg.Client;

beforeAll(async () => {
  db = await createTestDatabase('vg_together');
  // Pipelined, as the store's connections are: statements are sent without waiting for the answers before them.
  client = new pg.Client({ connectionString: db.url, pipeline: true });
  await client.connect();
});

afterAll(async () => {
  await client?.end();
  await db?.drop();
});

/** Counts the writes that reach the client's socket (each one a system call) while `fn` runs. */
async function socketWrites<T>(fn: () => Promise<T>): Promise<{ writes: number; value: T }> {
  const socket = client.connection.stream as unknown as { _write: (...a: unknown[]) => void; _writev: (...a: unknown[]) => void };
  const { _write, _writev } = socket;
  let writes = 0;
  socket._write = (...a) => (writes++, _write.apply(socket, a));
  socket._writev = (...a) => (writes++, _writev.apply(socket, a));
  try {
    const value = await fn();
    return { writes, value };
  } finally {
    socket._write = _write;
    socket._writev = _writev;
  }
}

const echo = (n: number) => client.query<{ n: number }>({ text: 'SELECT $1::int AS n', values: [n] });

describe('sendTogether', () => {
  it('sends three statements in one write, and each gets its own rows', async () => {
    const { writes, value } = await socketWrites(() => Promise.all(sendTogether(client, () => [echo(1), echo(2), echo(3)])));
    expect(value.map((r) => r.rows[0]!.n)).toEqual([1, 2, 3]);
    expect(writes).toBe(1);
  });

  it('takes more than one write for the same statements sent one by one (what it saves)', async () => {
    const { writes } = await socketWrites(() => Promise.all([echo(1), echo(2), echo(3)]));
    expect(writes).toBeGreaterThan(1);
  });

  it('gives a failing statement its error and the others their rows', async () => {
    const [a, bad, c] = await Promise.allSettled(sendTogether(client, () => [echo(1), client.query('SELECT 1/0'), echo(3)]));
    expect(a.status === 'fulfilled' && a.value.rows[0]!.n).toBe(1);
    expect(bad.status === 'rejected' && (bad.reason as { code?: string }).code).toBe('22012');
    expect(c.status === 'fulfilled' && c.value.rows[0]!.n).toBe(3);
  });

  it('holds writes until released, once however often release is called', async () => {
    const { writes, value } = await socketWrites(async () => {
      const release = holdWrites(client);
      const first = echo(1);
      await new Promise((r) => setImmediate(r));
      const second = echo(2);
      release();
      release();
      return Promise.all([first, second]);
    });
    expect(value.map((r) => r.rows[0]!.n)).toEqual([1, 2]);
    expect(writes).toBe(1);
    // Released for good: a later statement is not held.
    expect((await echo(4)).rows[0]!.n).toBe(4);
  });
});
