/**
 * A database of its own for a test file, on the run's PostgreSQL (postgres-global-setup.ts).
 * Dropped by the returned cleanup (and with the whole server at the end of the run in any case).
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

export async function createTestDatabase(prefix = 'vg'): Promise<TestDatabase> {
  const admin = inject('postgresAdminUrl');
  if (!admin) throw new Error('no PostgreSQL for the tests: vitest.config.ts must list test/helpers/postgres-global-setup.ts in globalSetup');
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: admin });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
