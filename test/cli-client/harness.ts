/**
 * Runs the real `versiongate` client commands (in this process, or as child processes of bin/versiongate.js) against the
 * real server started in this process on a free port, with a temporary data dir seeded with the
 * demo registry. Every wait is bounded; every child is killed at the end.
 */
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mintDevToken } from '../../src/auth/dev-key.ts';
import { systemClock } from '../../src/clock.ts';
import { parseConfig } from '../../src/config.ts';
import { silentLogger } from '../../src/log.ts';
import { startGateway, type Gateway } from '../../src/main.ts';
import { REPO_POLICIES } from '../helpers/gateway.ts';
import { seedSynced } from '../helpers/seed-synced.ts';
import { cliProcesses, envWithout, runInProcess, RUN_LIMIT_MS, type RunResult } from '../helpers/cli-process.ts';

/** For a test that runs several commands one after another. */
export const SEVERAL = { timeout: 8 * RUN_LIMIT_MS };

/** The package coordinates of the seed documents' examples. */
export const CHALK = ['--domain', 'my_domain', '--domain-owner', '111122223333', '--repository', 'my_repo', '--format', 'npm', '--package', 'chalk'];

export interface ClientHarness {
  gateway: Gateway;
  dataDir: string;
  /** A token for `sub` in these groups, signed by the gateway's development key. */
  token(sub: string, groups: string[]): Promise<string>;
  /**
   * Runs `versiongate ARGS` with VERSIONGATE_ENDPOINT set to the gateway (and the token, if given):
   * in this process (main()), or as a child process of bin/versiongate.js with `process: true`.
   */
  vg(args: string[], options?: { token?: string; env?: Record<string, string | undefined>; process?: boolean }): Promise<RunResult>;
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
  const cli = cliProcesses();

  const token = (sub: string, groups: string[]) =>
    mintDevToken({ key: gateway.devKey!, issuer: config.auth.issuer, audience: config.auth.audience, subject: sub, groups, groupsClaim: 'groups', ttlSeconds: 3600, clock: systemClock });

  const vg: ClientHarness['vg'] = (args, options = {}) => {
    // Nothing of the test runner's own VERSIONGATE_* or AWS_* settings reaches the command.
    const env = envWithout('VERSIONGATE_', 'AWS_');
    env.VERSIONGATE_ENDPOINT = gateway.url;
    env.TZ = 'UTC';
    if (options.token !== undefined) env.VERSIONGATE_TOKEN = options.token;
    for (const [k, v] of Object.entries(options.env ?? {})) {
      if (v === undefined) delete env[k];
      else env[k] = v;
    }
    if (options.process) return cli.run(args, env);
    // Timestamps are printed in the local zone, as the aws CLI prints them: UTC here, as in the child;
    // the runner's own zone is put back afterwards, since the next test files run in this process.
    return withTimeZone(env.TZ, () => runInProcess(args, env));
  };

  return {
    gateway,
    dataDir,
    token,
    vg,
    async close() {
      cli.killAll();
      await gateway.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function withTimeZone<T>(zone: string | undefined, run: () => Promise<T>): Promise<T> {
  const before = process.env.TZ;
  if (zone === undefined) delete process.env.TZ;
  else process.env.TZ = zone;
  try {
    return await run();
  } finally {
    if (before === undefined) delete process.env.TZ;
    else process.env.TZ = before;
  }
}

/** What the aws CLI prints for this value: 4-space indented JSON and a newline. */
export const awsJson = (value: unknown) => JSON.stringify(value, null, 4) + '\n';

/** A revision as versiongate makes them: 32 random bytes in base64. */
export const REVISION = /^[A-Za-z0-9+/]{43}=$/;
