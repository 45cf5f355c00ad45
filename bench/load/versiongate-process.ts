/**
 * One versiongate under load: the real server (`versiongate serve --dev`, the same command as `npm
 * start`) in a process of its own, on a fresh temporary data directory and a copy of ./policies with
 * `generated` synthetic policies beside the shipped ones. Ready means: it announced its URL, /readyz
 * answers 200, and the sync jobs of the seeded versions are done (a sync gives its version a new
 * revision, which would race the load's first updates).
 */
import type { ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadOrCreateDevKey, mintDevToken, type DevKey } from '../../src/auth/dev-key.ts';
import { systemClock } from '../../src/clock.ts';
import { DEV_AUDIENCE, DEV_ISSUER } from '../../src/config.ts';
import { announcedUrl, watchOutput } from './child-output.ts';
import { spawnTracked, stopChild } from './cleanup.ts';
import { writeGeneratedPolicies } from './generated-policies.ts';
import { parsePrometheus, total, type Sample } from './prometheus.ts';
import { seedRegistry } from './seed-registry.ts';
import { ROOT } from './settings.ts';

/** Loading, validating and testing 10,000 policies takes seconds on a quiet machine; allow for a busy one. */
const START_TIMEOUT_MS = 300_000;
const SYNC_TIMEOUT_MS = 120_000;
const POLL_MS = 200;
/** One poll or scrape; a server too busy to answer within this is polled again. */
const FETCH_TIMEOUT_MS = 10_000;
/** Tokens outlive any run: a token expiring mid-run would turn the rest of it into 401s. */
const TOKEN_TTL_SECONDS = 24 * 3600;
/** Shorter than cleanup's wait before SIGKILL, so a stop is graceful unless the server hangs. */
const SHUTDOWN_GRACE_SECONDS = 3;

export const SERVER_NODE_ARGS = ['--no-turbo-inline-js-wasm-calls', 'bin/versiongate.js', 'serve', '--dev'];

export interface Versiongate {
  url: string;
  pid: number;
  /** The settings flags it was started with (for the report). */
  args: string[];
  /** A token signed by its development key, valid for the whole run. */
  token(subject: string, groups: string[]): Promise<string>;
  scrape(): Promise<Sample[]>;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** A PostgreSQL the server uses (--database-url) instead of its data directory's SQLite file. */
  databaseUrl?: string | undefined;
  /** Another replica on the same database: it is already seeded, and this one signs with its development key. */
  replicaOf?: string | undefined;
  /** Another checkout of versiongate to run (its bin/versiongate.js and policies/), for A/B runs; this one by default. */
  checkout?: string | undefined;
  /** Node's own flags for the server process (bench:profile's `--cpu-prof`), before the script. */
  nodeArgs?: string[] | undefined;
}

/** `extraArgs`: settings flags for this run (e.g. `--commit-batch 1`). */
export async function startVersiongate(dir: string, generated: number, extraArgs: string[] = [], options: StartOptions = {}): Promise<Versiongate> {
  const dataDir = join(dir, 'data');
  const policyDir = join(dir, 'policies');
  mkdirSync(dataDir, { recursive: true });
  // The whole folder: schema, policies, templates/, links.json and tests/ (the server runs the tests at load).
  const checkout = options.checkout ?? ROOT;
  cpSync(join(checkout, 'policies'), policyDir, { recursive: true });
  writeGeneratedPolicies(policyDir, generated);
  if (options.replicaOf) cpSync(join(options.replicaOf, 'data', 'dev-signing-key.json'), join(dataDir, 'dev-signing-key.json'));
  else await seedRegistry(dataDir, options.databaseUrl);
  // Created before the server starts, which then uses this key: the bench can mint tokens itself.
  const devKey = await loadOrCreateDevKey(dataDir);

  const args = [
    ...['--data-dir', dataDir, '--policy-dir', policyDir, '--host', '127.0.0.1', '--port', '0'],
    // No file watcher: nothing changes the policies during a run, and a reload would be noise.
    ...['--policy-watch', 'off', '--shutdown-grace', String(SHUTDOWN_GRACE_SECONDS)],
    // info is the default, and the URL is announced at info: the one log line per request it costs is
    // part of what a production gateway pays.
    ...['--log-level', 'info', '--metrics', 'on'],
    // The 401 flood comes from one address: with the shipped cap (100 refusals per 10 s per address)
    // nearly all of it would be answered 429 before its token is read. The flood measures what a
    // refusal costs, so the cap is off here.
    ...['--auth-failure-limit', '0'],
    ...(options.databaseUrl ? ['--database-url', options.databaseUrl] : []),
    ...extraArgs,
  ];
  const child = spawnTracked(process.execPath, [...(options.nodeArgs ?? []), ...SERVER_NODE_ARGS, ...args], { cwd: checkout, env: envWithoutSettings(), stdio: ['ignore', 'pipe', 'pipe'] });
  const output = watchOutput(child, 'versiongate');
  try {
    const deadline = Date.now() + START_TIMEOUT_MS;
    const url = await output.waitForLine(announcedUrl('versiongate listening'), START_TIMEOUT_MS, 'its "versiongate listening" line');
    await until(deadline, child, output.tail, 'GET /readyz to answer 200', async () => (await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) })).status === 200);
    const scrape = async () => parsePrometheus(await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) })).text());
    await until(Date.now() + SYNC_TIMEOUT_MS, child, output.tail, 'the seeded versions to be synchronised', async () => {
      const s = await scrape();
      return (total(s, 'versiongate_sync_jobs', { state: 'awaiting' }) ?? 0) === 0 && (total(s, 'versiongate_sync_jobs', { state: 'in_progress' }) ?? 0) === 0;
    });
    return {
      url,
      pid: child.pid!,
      args,
      token: (subject, groups) => mint(devKey, subject, groups),
      scrape,
      stop: () => stopChild(child),
    };
  } catch (err) {
    await stopChild(child);
    throw err;
  }
}

function mint(key: DevKey, subject: string, groups: string[]): Promise<string> {
  return mintDevToken({ key, issuer: DEV_ISSUER, audience: DEV_AUDIENCE, subject, groups, groupsClaim: 'groups', ttlSeconds: TOKEN_TTL_SECONDS, clock: systemClock });
}

/** The caller's environment without VERSIONGATE_* settings: the flags above are the whole configuration. */
function envWithoutSettings(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VERSIONGATE_')));
}

/** Polls `check` until it holds; fails at the deadline or when the server exits. */
async function until(deadline: number, child: ChildProcess, tail: () => string, what: string, check: () => Promise<boolean>): Promise<void> {
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`versiongate exited while waiting for ${what}\n${tail()}`);
    try {
      if (await check()) return;
    } catch {
      // Not answering yet: keep polling until the deadline.
    }
    if (Date.now() > deadline) throw new Error(`versiongate: gave up waiting for ${what}\n${tail()}`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}
