import pg from 'pg';
import { expect, test } from 'vitest';
import { createTestDatabase } from '../../helpers/postgres.ts';

test('the run has a real PostgreSQL, with a database of this file', async () => {
  const db = await createTestDatabase();
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  const { rows } = await client.query<{ v: string }>('SELECT current_setting($$server_version$$) AS v');
  await client.end();
  await db.drop();
  expect(Number(rows[0]!.v.split('.')[0])).toBeGreaterThanOrEqual(16);
});
