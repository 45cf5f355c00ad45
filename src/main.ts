/**
 * The process entry: config → store → policies → app → serve, and a clean shutdown.
 * Also used by tests to run the real server on a free port.
 */
import { join } from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import { createApp } from './app.ts';
import { loadOrCreateDevKey, type DevKey } from './auth/dev-key.ts';
import { keySourceFor } from './auth/key-source.ts';
import { createTokenVerifier } from './auth/verify-token.ts';
import { systemClock, type Clock } from './clock.ts';
import type { Config } from './config.ts';
import { ConfigError } from './errors.ts';
import { createLogger, type Logger } from './log.ts';
import { removeBlobs } from './operations/change-versions.ts';
import { PolicyEngine } from './policy/engine.ts';
import { loadPolicyDir } from './policy/load-policies.ts';
import { openBlobStore } from './store/blob-store.ts';
import { openSqliteStore } from './store/sqlite/sqlite-store.ts';
import type { Store } from './store/store.ts';

export const DATABASE_FILE = 'versiongate.db';
export const BLOB_DIR = 'blobs';

export interface Gateway {
  url: string;
  port: number;
  store: Store;
  devKey?: DevKey;
  close(): Promise<void>;
}

export interface StartOptions {
  clock?: Clock;
  logger?: Logger;
}

export async function startGateway(config: Config, options: StartOptions = {}): Promise<Gateway> {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? createLogger(config.logLevel);

  // Policies first: a set that does not validate never serves a request (PolicySetError carries the diagnostics).
  const policySet = loadPolicyDir(config.policyDir);
  for (const w of policySet.warnings) logger.warn('policy warning', { ...w });
  const engine = new PolicyEngine(policySet);

  let devKey: DevKey | undefined;
  if (config.auth.mode === 'dev') devKey = await loadOrCreateDevKey(config.dataDir);
  const verifier = createTokenVerifier({
    keySource: keySourceFor(config.auth, devKey),
    issuer: config.auth.issuer,
    audience: config.auth.audience,
    groupsClaim: config.groupsClaim,
    clock,
    clockToleranceSeconds: config.clockToleranceSeconds,
  });

  const store = openSqliteStore({ file: join(config.dataDir, DATABASE_FILE), clock });
  const blobs = openBlobStore(join(config.dataDir, BLOB_DIR));
  // Bytes of versions disposed just before a crash: their records are gone, so the bytes go now.
  await removeBlobs({ store, blobs, logger }, await store.pendingBlobDeletions());

  const app = createApp({ store, blobs, authorizer: () => engine, clock, region: config.region, logger, verifier });
  let server: ServerType;
  try {
    server = await listen(app.fetch, config.host, config.port);
  } catch (err) {
    await store.close();
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'EADDRINUSE' ? 'the address is already in use' : code === 'EACCES' ? 'permission denied' : (err as Error).message;
    throw new ConfigError(`VERSIONGATE_HOST/VERSIONGATE_PORT (--host/--port): cannot listen on ${config.host}:${config.port}: ${why}`);
  }
  if (devKey) announceDevelopmentMode(devKey, config);
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  logger.info('versiongate listening', {
    url: `http://${host}:${port}`,
    policySetHash: policySet.hash,
    policies: Object.keys(policySet.policies).length,
    keySource: config.auth.mode,
    dataDir: config.dataDir,
  });

  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${port}`,
    port,
    store,
    ...(devKey ? { devKey } : {}),
    close: () =>
      (closing ??= (async () => {
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await store.close();
      })()),
  };
}

function listen(fetch: Parameters<typeof serve>[0]['fetch'], hostname: string, port: number): Promise<ServerType> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch, hostname, port }, () => resolve(server));
    server.once('error', reject);
  });
}

function announceDevelopmentMode(key: DevKey, config: Config): void {
  const line = '='.repeat(78);
  process.stderr.write(
    [
      line,
      ' DEVELOPMENT MODE: no identity provider is configured.',
      ` Tokens are verified with the local development key ${key.path}${key.created ? ' (just created)' : ''}.`,
      ` Issuer ${config.auth.issuer}, audience ${config.auth.audience}. Mint one with:`,
      '   npx versiongate token --sub alice --group release-managers',
      ' Never expose this gateway: configure VERSIONGATE_JWKS_URL or VERSIONGATE_JWKS_FILE for real use.',
      line,
      '',
    ].join('\n'),
  );
}
