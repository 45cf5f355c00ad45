/**
 * Starts one real PostgreSQL (embedded-postgres.ts) for the whole test run and hands its address to
 * every test file (`inject('postgresAdminUrl')`). Each file that needs a database makes its own with
 * createTestDatabase() (postgres.ts). If it cannot start, the run fails here, loudly: never skipped.
 */
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres } from './embedded-postgres.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** postgres://… of the run's server, as its superuser, on the `postgres` database. */
    postgresAdminUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const pg = await startEmbeddedPostgres();
  project.provide('postgresAdminUrl', pg.adminUrl);
  return () => pg.stop();
}
