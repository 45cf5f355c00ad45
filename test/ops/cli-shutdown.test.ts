/**
 * `versiongate serve` as a process: SIGTERM lets a request in flight finish and exits 0; a second
 * signal exits at once. Real child processes of bin/versiongate.js; every wait is bounded and every
 * child is killed at the end.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { loadOrCreateDevKey, mintDevToken } from '../../src/auth/dev-key.ts';
import { systemClock } from '../../src/clock.ts';
import { DEV_AUDIENCE, DEV_ISSUER } from '../../src/config.ts';
import { CHALK } from '../helpers/gateway.ts';
import { heldRequest } from './real-server.ts';
import Database from 'better-sqlite3';
import { createServer, type AddressInfo } from 'node:net';

const ROOT = resolve(import.meta.dirname, '../..');
const LIMIT_MS = 60_000;
const ARCHIVE = JSON.stringify({ versions: ['4.1.0'], targetStatus: 'Archived' });

const dirs: string[] = [];
const children = new Set<ChildProcess>();
afterEach(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  children.clear();
});
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

interface Running {
  child: ChildProcess;
  out: { stdout: string; stderr: string };
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves when stdout has a JSON log line with this msg; rejects on exit or after LIMIT_MS. */
  logLine(msg: string): Promise<Record<string, unknown>>;
}

function versiongate(args: string[], dataDir: string): Running {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('VERSIONGATE_')) env[k] = v;
  env.VERSIONGATE_DATA_DIR = dataDir;
  const child = spawn(process.execPath, ['--no-turbo-inline-js-wasm-calls', 'bin/versiongate.js', ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  const out = { stdout: '', stderr: '' };
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out.stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (out.stderr += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => child.once('exit', (code, signal) => res({ code, signal })));
  const logLine = (msg: string) =>
    new Promise<Record<string, unknown>>((res, rej) => {
      const find = () => {
        for (const line of out.stdout.split('\n')) {
          if (!line.startsWith('{')) continue;
          const entry = JSON.parse(line) as Record<string, unknown>;
          if (entry.msg === msg) return entry;
        }
        return undefined;
      };
      const timer = setTimeout(() => done(new Error(`no '${msg}' log line within ${LIMIT_MS} ms\nstdout: ${out.stdout}\nstderr: ${out.stderr}`)), LIMIT_MS);
      const look = () => {
        const entry = find();
        if (entry) done(undefined, entry);
      };
      const done = (err?: Error, entry?: Record<string, unknown>) => {
        clearTimeout(timer);
        child.stdout!.off('data', look);
        if (err) rej(err);
        else res(entry!);
      };
      child.stdout!.on('data', look);
      void exited.then((e) => done(new Error(`exited (${e.code ?? e.signal}) before '${msg}'\nstdout: ${out.stdout}\nstderr: ${out.stderr}`)));
      look();
    });
  return { child, out, exited, logLine };
}

/** A port nothing listens on now. */
function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolvePort(port));
    });
  });
}

function bounded<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} within ${LIMIT_MS} ms`)), LIMIT_MS)))]).finally(() => clearTimeout(timer));
}

/** Seeds a data dir, starts `serve --dev`, and holds an archive request in flight (headers parsed, body withheld). */
async function serveWithRequestInFlight(extra: string[] = []) {
  const dataDir = mkdtempSync(join(tmpdir(), 'versiongate-ops-cli-'));
  dirs.push(dataDir);
  const seeded = versiongate(['seed', 'demo'], dataDir);
  expect(await bounded(seeded.exited, 'seed did not finish')).toEqual({ code: 0, signal: null });

  const server = versiongate(['serve', '--dev', '--port', '0', ...extra], dataDir);
  const { url } = (await server.logLine('versiongate listening')) as { url: string };
  const key = await loadOrCreateDevKey(dataDir);
  const token = await mintDevToken({ key, issuer: DEV_ISSUER, audience: DEV_AUDIENCE, subject: 'alice', groups: ['release-managers'], groupsClaim: 'groups', ttlSeconds: 600, clock: systemClock });
  const held = await heldRequest(`${url}/v1/package/versions/update_status?${CHALK}`, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(ARCHIVE)),
    authorization: `Bearer ${token}`,
  });
  return { server, held };
}

describe('versiongate serve and signals', () => {
  it('on SIGTERM lets the request in flight finish, then exits 0', { timeout: 4 * LIMIT_MS }, async () => {
    const { server, held } = await serveWithRequestInFlight();
    expect(server.child.kill('SIGTERM')).toBe(true);
    await server.logLine('versiongate stopping');

    const res = await bounded(held.send(ARCHIVE), 'the request in flight did not finish');
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body).successfulVersions['4.1.0'].status).toBe('Archived');

    expect(await bounded(server.exited, 'the server did not exit')).toEqual({ code: 0, signal: null });
    expect(await server.logLine('signal received: closing')).toMatchObject({ level: 'info', signal: 'SIGTERM' });
    expect(server.out.stdout).toContain('"msg":"versiongate stopped"');
  });

  it('a SIGHUP while it starts reloads once started, and does not kill it; then SIGTERM closes it', { timeout: 4 * LIMIT_MS }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'versiongate-ops-cli-'));
    dirs.push(dataDir);
    const seeded = versiongate(['seed', 'demo'], dataDir);
    expect(await bounded(seeded.exited, 'seed did not finish')).toEqual({ code: 0, signal: null });
    // A crash's leftovers to remove: the start goes on past 'listening' until they are gone.
    const db = new Database(join(dataDir, 'versiongate.db'));
    const queue = db.prepare('INSERT INTO blob_deletions (blob_key, queued_at) VALUES (?, ?)');
    db.transaction(() => {
      for (let i = 0; i < 60_000; i++) queue.run(i.toString(16).padStart(32, '0'), '2026-01-01T00:00:00.000Z');
    })();
    db.close();
    const port = await freePort();
    const server = versiongate(['serve', '--dev', '--port', String(port)], dataDir);
    // Listening, but still starting (readyz says so): the moment a deploy's SIGHUP may come.
    let starting = false;
    for (let i = 0; i < LIMIT_MS / 20 && !starting && server.child.exitCode === null; i++) {
      const res = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
      starting = res?.status === 503 && (await res.text()).includes('starting');
      if (!starting) await new Promise((r) => setTimeout(r, 20));
    }
    expect(starting).toBe(true);
    expect(server.child.kill('SIGHUP')).toBe(true);
    await server.logLine('versiongate listening');
    const reloaded = await server.logLine('policy reload on SIGHUP');
    expect(server.child.exitCode).toBeNull();
    expect(['unchanged', 'loaded']).toContain(reloaded.outcome);
    expect(server.child.kill('SIGTERM')).toBe(true);
    expect(await bounded(server.exited, 'the server did not exit')).toEqual({ code: 0, signal: null });
  });

  it('on a second signal exits at once, without waiting for the grace', { timeout: 4 * LIMIT_MS }, async () => {
    const { server, held } = await serveWithRequestInFlight(['--shutdown-grace', '3600']);
    expect(server.child.kill('SIGINT')).toBe(true);
    await server.logLine('versiongate stopping');
    expect(server.child.kill('SIGINT')).toBe(true);

    expect(await bounded(server.exited, 'the server did not exit on the second signal')).toEqual({ code: 1, signal: null });
    expect(await server.logLine('signal received: closing')).toMatchObject({ signal: 'SIGINT' });
    // A warning, so on stderr, as one JSON line like every other.
    expect(server.out.stderr).toMatch(/^\{"level":"warn",.*"signal":"SIGINT","msg":"signal received again: exiting now"\}$/m);
    held.abandon();
  });
});
