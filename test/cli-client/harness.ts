/**
 * Runs the real `versiongate` client commands (child processes of bin/versiongate.js) against the
 * real server started in this process on a free port, with a temporary data dir seeded with the
 * demo registry. Every wait is bounded; every child is killed at the end.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { mintDevToken } from '../../src/auth/dev-key.ts';
import { systemClock } from '../../src/clock.ts';
import { parseConfig } from '../../src/config.ts';
import { silentLogger } from '../../src/log.ts';
import { startGateway, type Gateway } from '../../src/main.ts';
import { REPO_POLICIES } from '../helpers/gateway.ts';
import { seedSynced } from '../helpers/seed-synced.ts';

export const ROOT = resolve(import.meta.dirname, '../..');
const NODE_ARGS = ['--no-turbo-inline-js-wasm-calls', 'bin/versiongate.js'];
/** Generous: a slow, busy machine must still pass. Never a duration assertion. */
export const RUN_LIMIT_MS = 60_000;
/** For a test that runs several commands one after another. */
export const SEVERAL = { timeout: 8 * RUN_LIMIT_MS };

/** The package coordinates of the seed documents' examples. */
export const CHALK = ['--domain', 'my_domain', '--domain-owner', '111122223333', '--repository', 'my_repo', '--format', 'npm', '--package', 'chalk'];

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface ClientHarness {
  gateway: Gateway;
  dataDir: string;
  /** A token for `sub` in these groups, signed by the gateway's development key. */
  token(sub: string, groups: string[]): Promise<string>;
  /** Runs `versiongate ARGS` with VERSIONGATE_ENDPOINT set to the gateway (and the token, if given). */
  vg(args: string[], options?: { token?: string; env?: Record<string, string | undefined> }): Promise<RunResult>;
  close(): Promise<void>;
}

/** `policies`: extra .cedar files (name → text) beside a copy of ./policies. */
export async function startClientHarness(options: { policies?: Record<string, string> } = {}): Promise<ClientHarness> {
  const dir = mkdtempSync(join(tmpdir(), 'vg-cli-client-'));
  cpSync(REPO_POLICIES, join(dir, 'policies'), { recursive: true });
  for (const [name, text] of Object.entries(options.policies ?? {})) writeFileSync(join(dir, 'policies', name), text);
  const dataDir = join(dir, 'data');
  const config = parseConfig({ env: {}, flags: { port: '0', 'data-dir': dataDir, 'policy-dir': join(dir, 'policies') }, dev: true });
  const gateway = await startGateway(config, { logger: silentLogger });
  await seedSynced(gateway, dataDir);
  const running = new Set<ChildProcess>();

  const token = (sub: string, groups: string[]) =>
    mintDevToken({ key: gateway.devKey!, issuer: config.auth.issuer, audience: config.auth.audience, subject: sub, groups, groupsClaim: 'groups', ttlSeconds: 3600, clock: systemClock });

  const vg: ClientHarness['vg'] = (args, options = {}) => {
    // Nothing of the test runner's own VERSIONGATE_* or AWS_* settings reaches the command.
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('VERSIONGATE_') && !k.startsWith('AWS_')) env[k] = v;
    env.VERSIONGATE_ENDPOINT = gateway.url;
    env.TZ = 'UTC';
    if (options.token !== undefined) env.VERSIONGATE_TOKEN = options.token;
    for (const [k, v] of Object.entries(options.env ?? {})) {
      if (v === undefined) delete env[k];
      else env[k] = v;
    }
    return new Promise((resolvePromise, reject) => {
      const child = spawn(process.execPath, [...NODE_ARGS, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
      running.add(child);
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`versiongate ${args.join(' ')} did not finish within ${RUN_LIMIT_MS} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
      }, RUN_LIMIT_MS);
      child.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      child.once('close', (code, signal) => {
        clearTimeout(timer);
        running.delete(child);
        resolvePromise({ code, signal, stdout, stderr });
      });
    });
  };

  return {
    gateway,
    dataDir,
    token,
    vg,
    async close() {
      for (const child of running) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await gateway.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** What the aws CLI prints for this value: 4-space indented JSON and a newline. */
export const awsJson = (value: unknown) => JSON.stringify(value, null, 4) + '\n';

/** A revision as versiongate makes them: 32 random bytes in base64. */
export const REVISION = /^[A-Za-z0-9+/]{43}=$/;
