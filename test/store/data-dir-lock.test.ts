/**
 * One `serve` per SQLite data dir: a second start on the folder is refused with a message naming it,
 * the lock goes with the server's close, and with its process however it dies (kill -9), so a
 * restart after a crash is never refused.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.ts';
import { lockDataDir } from '../../src/store/sqlite/data-dir-lock.ts';
import { rejectionOf } from '../helpers/rejection.ts';
import { realServer, type RealServer } from '../ops/real-server.ts';
import { startGateway } from '../../src/main.ts';
import { createLogger } from '../../src/log.ts';

const IN_USE = /^VERSIONGATE_DATA_DIR \(--data-dir\): .+ is in use by another versiongate serve; one server serves a data dir \(run several replicas on PostgreSQL: VERSIONGATE_DATABASE_URL\)$/;

describe('the data dir lock', () => {
  const dirs: string[] = [];
  let server: RealServer | undefined;
  afterEach(async () => {
    await server?.cleanup();
    server = undefined;
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('a second serve on a data dir in use is refused, naming the folder, and nothing of the first is touched; after a close the folder serves again', async () => {
    server = await realServer();
    const quiet = createLogger({ level: 'error', destination: { write: () => true } });
    const second = await rejectionOf(startGateway(server.config, { logger: quiet }));
    expect(second).toBeInstanceOf(ConfigError);
    expect((second as Error).message).toMatch(IN_USE);
    expect((second as Error).message).toContain(server.config.dataDir);
    // The first goes on serving.
    const res = await fetch(`${server.gateway.url}/readyz`);
    expect(res.status).toBe(200);
    await server.gateway.close();
    const again = await startGateway(server.config, { logger: quiet });
    await again.close();
  });

  it('the lock goes with its process, however it ends: after kill -9 the folder can be locked at once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'versiongate-lock-'));
    dirs.push(dir);
    const holder = spawn(process.execPath, ['--import', 'tsx', '-e', `import { lockDataDir } from './src/store/sqlite/data-dir-lock.ts'; lockDataDir(${JSON.stringify(dir)}); console.log('locked'); setInterval(() => {}, 1000);`], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise((resolve) => holder.on('exit', resolve));
    await new Promise<void>((resolve, reject) => {
      holder.stdout.on('data', (d: Buffer) => d.toString().includes('locked') && resolve());
      holder.on('exit', (code) => reject(new Error(`the holder exited (${code}) before locking`)));
    });
    expect(() => lockDataDir(dir)).toThrow(IN_USE);
    holder.kill('SIGKILL');
    await exited;
    const lock = lockDataDir(dir);
    lock.release();
  });
});
