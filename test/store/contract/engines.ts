/**
 * The engines every store contract test runs on: SQLite (a temporary file) and PostgreSQL (a database
 * of its own on the run's server). Each `open` gives a fresh, empty store on the same clock.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixedClock } from '../../../src/clock.ts';
import { openPostgresStore } from '../../../src/store/postgres/postgres-store.ts';
import { openSqliteStore } from '../../../src/store/sqlite/sqlite-store.ts';
import type { Store } from '../../../src/store/store.ts';
import { createTestDatabase } from '../../helpers/postgres.ts';

export type TestClock = ReturnType<typeof fixedClock>;

export interface Engine {
  name: 'sqlite' | 'postgres';
  /** A fresh empty store; `cleanup` closes it and removes its database. */
  open(clock: TestClock): Promise<{ store: Store; cleanup(): Promise<void> }>;
}

export const ENGINES: Engine[] = [
  {
    name: 'sqlite',
    async open(clock) {
      const dir = mkdtempSync(join(tmpdir(), 'vg-contract-'));
      const store = openSqliteStore({ file: join(dir, 'db.sqlite'), clock });
      return {
        store,
        cleanup: async () => {
          await store.close();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  },
  {
    name: 'postgres',
    async open(clock) {
      const db = await createTestDatabase('contract');
      const store = await openPostgresStore({ url: db.url, clock, poolSize: 8 });
      return {
        store,
        cleanup: async () => {
          await store.close();
          await db.drop();
        },
      };
    },
  },
];
