/**
 * Builds the real app (createApp) for the operations tests, like test/helpers/gateway.ts but with the
 * operations seams exposed: a captured log destination, the metrics registry, the lifecycle, the key
 * source, the request deadline, and an optional store decorator (e.g. a slow read).
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createApp } from '../../src/app.ts';
import { loadOrCreateDevKey, mintDevToken, type DevKey } from '../../src/auth/dev-key.ts';
import { keySourceFor, type KeySource } from '../../src/auth/key-source.ts';
import { createTokenVerifier } from '../../src/auth/verify-token.ts';
import { systemClock, type Clock } from '../../src/clock.ts';
import { seedDemo } from '../../src/cli/seed-demo.ts';
import { DEV_AUDIENCE, DEV_ISSUER } from '../../src/config.ts';
import { createLifecycle, type Lifecycle } from '../../src/lifecycle.ts';
import { createLogger, type LogLevel } from '../../src/log.ts';
import { createMetrics, type Metrics } from '../../src/metrics/metrics.ts';
import { PolicyEngine } from '../../src/policy/engine.ts';
import { openBlobStore } from '../../src/store/blob-store.ts';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import type { PackageKey, Store } from '../../src/store/store.ts';
import { compiledOnce, REPO_POLICIES } from '../helpers/gateway.ts';

export const CHALK_KEY: PackageKey = { domainOwner: '111122223333', domain: 'my_domain', repository: 'my_repo', format: 'npm', namespace: '', name: 'chalk' };
export const CHALK_ARN = 'arn:aws:codeartifact:us-east-1:111122223333:package/my_domain/my_repo/npm//chalk';

/** Every line a logger wrote, parsed. */
export class LogCapture extends Writable {
  readonly raw: string[] = [];
  override _write(chunk: Buffer | string, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    this.raw.push(...String(chunk).split('\n').filter((l) => l.length > 0));
    done();
  }
  get lines(): Array<Record<string, unknown>> {
    return this.raw.map((l) => JSON.parse(l) as Record<string, unknown>);
  }
  requests(): Array<Record<string, unknown>> {
    return this.lines.filter((l) => l.msg === 'request');
  }
}

export interface OpsAppOptions {
  lifecycle?: Lifecycle;
  keySource?: KeySource | 'dev';
  requestDeadlineMs?: number;
  serveMetrics?: boolean;
  decorateStore?: (store: Store) => Store;
  logLevel?: LogLevel;
  clock?: Clock;
}

export interface OpsApp {
  app: ReturnType<typeof createApp>;
  store: Store;
  metrics: Metrics;
  lifecycle: Lifecycle;
  log: LogCapture;
  devKey: DevKey;
  token(sub: string, groups?: string[], ttlSeconds?: number): Promise<string>;
  request(path: string, init?: RequestInit): Promise<Response>;
  close(): Promise<void>;
}

export async function opsApp(options: OpsAppOptions = {}): Promise<OpsApp> {
  const clock = options.clock ?? systemClock;
  const dir = mkdtempSync(join(tmpdir(), 'versiongate-ops-'));
  const policyDir = join(dir, 'policies');
  cpSync(REPO_POLICIES, policyDir, { recursive: true });
  // The shipped set, compiled once per worker (the copy in policyDir is what tests read).
  const engine = new PolicyEngine(compiledOnce(policyDir));
  const devKey = await loadOrCreateDevKey(join(dir, 'data'));
  const devSource = keySourceFor({ mode: 'dev', issuer: DEV_ISSUER, audience: DEV_AUDIENCE }, devKey);
  const verifier = createTokenVerifier({ keySource: devSource, issuer: DEV_ISSUER, audience: DEV_AUDIENCE, groupsClaim: 'groups', clock, clockToleranceSeconds: 0 });
  const store = openSqliteStore({ file: join(dir, 'data', 'versiongate.db'), clock });
  const blobs = openBlobStore(join(dir, 'data', 'blobs'));
  await seedDemo(store, blobs);
  const log = new LogCapture();
  const logger = createLogger({ level: options.logLevel ?? 'info', destination: log });
  const lifecycle = options.lifecycle ?? createLifecycle('serving');
  const metrics = createMetrics({ livePolicySet: () => engine.policySet, syncJobCounts: () => store.countSyncJobs() });
  const app = createApp({
    store: options.decorateStore ? options.decorateStore(store) : store,
    blobs,
    authorizer: () => engine,
    clock,
    region: 'us-east-1',
    logger,
    verifier,
    metrics,
    lifecycle,
    keySource: options.keySource === 'dev' ? devSource : options.keySource,
    requestDeadlineMs: options.requestDeadlineMs,
    serveMetrics: options.serveMetrics,
  });
  return {
    app,
    store,
    metrics,
    lifecycle,
    log,
    devKey,
    token: (sub, groups = [], ttlSeconds = 3600) =>
      mintDevToken({ key: devKey, issuer: DEV_ISSUER, audience: DEV_AUDIENCE, subject: sub, groups, groupsClaim: 'groups', ttlSeconds, clock }),
    request: async (path, init) => app.request(path, init),
    close: async () => {
      try {
        await store.close();
      } catch {
        // a test may have closed it already
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A JSON POST with a bearer token. */
export function post(body: unknown, token?: string, headers: Record<string, string> = {}): RequestInit {
  return {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    body: JSON.stringify(body),
  };
}

/**
 * The value of one sample in a Prometheus text exposition, or undefined when there is none.
 * Labels must match exactly (all of them, any order).
 */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (.+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const found: Record<string, string> = {};
    for (const part of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) found[part[1]!] = part[2]!;
    const keys = Object.keys(labels);
    if (Object.keys(found).length === keys.length && keys.every((k) => found[k] === labels[k])) return Number(m[3]);
  }
  return undefined;
}
