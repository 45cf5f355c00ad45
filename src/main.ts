/**
 * The process entry: config → store → policies → app → serve, and a graceful shutdown.
 * Also used by tests to run the real server on a free port.
 */
import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { auditHeadText, emptiedLogEvidence, removedRecordsEvidence } from './audit/chain-anchor.ts';
import type { DevKey } from './auth/dev-key.ts';
import { systemClock, type Clock } from './clock.ts';
import type { Config, LimitsConfig } from './config.ts';
import { ConfigError } from './errors.ts';
import { capConnections, connectionCapFor, METRICS_MAX_CONNECTIONS, MIN_CONNECTIONS, openFileLimit, RESERVED_FILES, UNCAPPED, type ConnectionRoom } from './http/connection-cap.ts';
import { createLifecycle, type Lifecycle } from './lifecycle.ts';
import { createLogger, type Logger } from './log.ts';
import type { Metrics } from './metrics/metrics.ts';
import { CHECKED_SET_FILE } from './policy/checked-set-file.ts';
import type { CompiledPolicySet } from './policy/load-policies.ts';
import type { PolicyManager, PolicyManagerOptions, ReloadOutcome } from './policy/policy-manager.ts';
import { DEFAULT_GROUP_COMMIT } from './store/sqlite/group-commit.ts';
import { openStores } from './store/open-store.ts';
import { lockDataDir, releasedOnClose } from './store/sqlite/data-dir-lock.ts';
import type { Store } from './store/store.ts';
import type { SyncWorker } from './sync/sync-worker.ts';
import { within } from './within.ts';

type ServerModules = typeof import('./server-modules.ts');

export { BLOB_DIR, DATABASE_FILE } from './store/open-store.ts';
/**
 * How often Node looks for connections past headersTimeout/requestTimeout (its default is 30 s,
 * which would let a slow client hold a connection up to 30 s past either limit).
 */
const CONNECTIONS_CHECK_MS = 1_000;
/**
 * How long closing waits, once the connections are gone, for handlers still running before it closes
 * the store. Their deadlines have expired by then (or their clients have gone), so they end in
 * milliseconds; the bound is for one stuck on an unanswering database.
 */
const HANDLERS_END_MS = 5_000;

export interface Gateway {
  url: string;
  port: number;
  /** Set when VERSIONGATE_METRICS names a listener of its own. */
  metricsUrl?: string;
  store: Store;
  /** The sync worker pool, started with the gateway and stopped at a safe point by close(). */
  syncWorker: SyncWorker;
  metrics: Metrics;
  lifecycle: Lifecycle;
  devKey?: DevKey;
  /** Re-reads the policy folder now (what SIGHUP does): swapped in only if valid and its tests pass. */
  reloadPolicies(): Promise<ReloadOutcome>;
  /**
   * Graceful: not ready, stop accepting, let requests in flight finish within the shutdown grace,
   * then expire every deadline and close the remaining connections, then close the database.
   */
  close(): Promise<void>;
}

export interface StartOptions {
  clock?: Clock;
  logger?: Logger;
  /**
   * Check the policy set at start in a worker thread, beside this thread's loading of the server
   * (default: when running from the bundle in dist/). From the sources a worker must first load
   * TypeScript through tsx, which costs more than it saves, so the tests check on this thread unless
   * they ask. The checks are the same either way.
   */
  checkPoliciesOffThread?: boolean;
  /** How often the running gateway sweeps orphaned asset bytes (blob-sweep.ts's interval unless given): a test's seam, not a setting. */
  blobSweepIntervalMs?: number;
}

export async function startGateway(config: Config, options: StartOptions = {}): Promise<Gateway> {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? createLogger(config.logLevel);
  for (const notice of config.environmentNotices) logger.warn(notice);
  const lifecycle = createLifecycle('starting');
  let policies: PolicyManager | undefined;
  let metrics: Metrics | undefined;
  const groupCommit = { ...DEFAULT_GROUP_COMMIT, maxBatch: config.commitBatch, onCommit: (batchSize: number) => metrics?.committed(batchSize) };
  // The writer thread keeps the system clock: a caller that brings a clock of its own (a test) keeps
  // the writes on this thread, where that clock stamps them.
  // On SQLite, one server per data dir (data-dir-lock.ts), taken before anything in it is touched.
  const lock = config.database.kind === 'sqlite' ? lockDataDir(config.dataDir) : undefined;
  // On PostgreSQL the data dir holds only this replica's files (the checked set's record, a
  // development key); nothing else creates it.
  if (!lock) {
    try {
      mkdirSync(config.dataDir, { recursive: true });
    } catch {
      // Writing them says why, once each (a start is not refused for them).
    }
  }
  const opened = openStores({
    database: config.database,
    dataDir: config.dataDir,
    clock,
    groupCommit,
    writerThread: config.commitThread && clock === systemClock,
    // The requests that needed a lost connection are answered 503 and logged with it; this says why.
    onConnectionLost: (err) => logger.warn('lost a connection to PostgreSQL; the next statement opens another', { reason: err.message }),
    onWriterLost: (err, replaced) =>
      replaced
        ? logger.error("the store's writer thread stopped; a new one takes its place", { err: err.message })
        : logger.error("the store's writer thread stopped again and again; every write is refused until versiongate is restarted", { err: err.message }),
  });
  const opening = lock
    ? opened.then(
        (s) => ({ ...s, store: releasedOnClose(s.store, lock) }),
        (err: unknown) => {
          lock.release();
          throw err;
        },
      )
    : opened;
  // Its failure is awaited below; until then it must not count as an unhandled rejection.
  opening.catch(() => undefined);
  // The policy set's check (the record that this set passed it, or validation and the set's tests in
  // a worker thread, on the other core while this one loads the server: start-check.ts) begins
  // before anything else. Nothing is served until it answers, and its answer is judged below.
  const checkedSetCache = join(config.dataDir, CHECKED_SET_FILE);
  const checkStartedAt = clock.now().toISOString();
  const checking =
    (options.checkPoliciesOffThread ?? !import.meta.url.endsWith('.ts'))
      ? (await import('./policy/start-check.ts')).beginStartCheck({ dir: config.policyDir, groupsClaim: config.groupsClaim, checkedSetCache })
      : undefined;
  // The rest of the server is loaded while the store's writer thread boots (server-modules.ts).
  const loading = import('./server-modules.ts');
  let m: ServerModules;
  try {
    m = await loading;
  } catch (err) {
    await opening.then((s) => s.store.close()).catch(() => undefined);
    throw err;
  }
  const { PolicyManager, shadowRecord, createMetrics, collectDefaultMetrics, policyLoadRecord, loadOrCreateDevKey, keySourceFor, createTokenVerifier } = m;
  const { createSyncWorker, instrumentStore, RejectionLog, createApp, AuthFailureLimiter, AUTH_FAILURE_WINDOW_MS, answerClientErrors, createMetricsApp, removeBlobs, startBlobSweep } = m;
  // Meanwhile the policy set is checked (in the worker begun above, or here): the store's writer
  // thread starts on another core. The load, refused or not, is recorded once the store is open,
  // before anything else.
  // A set that does not validate, or whose tests fail, never serves a request (PolicySetError
  // carries the diagnostics).
  let recordLoad: ((o: ReloadOutcome, set?: CompiledPolicySet) => Promise<unknown>) | undefined;
  // Shadow disagreements come from requests, so only once the store is open.
  let auditStore: Store | undefined;
  const loadsBeforeStore: Array<[ReloadOutcome, CompiledPolicySet | undefined]> = [];
  let refused: unknown;
  // A PostgreSQL store is opened over sockets whose timers (connect, pool) would expire while the
  // check below holds this thread: it is opened first, and only the SQLite writer thread overlaps.
  if (config.database.kind === 'postgres') await opening.catch(() => undefined);
  const managerOptions: PolicyManagerOptions = {
    dir: config.policyDir,
    decisionCacheSize: config.decisionCacheSize,
    clock,
    logger,
    groupsClaim: config.groupsClaim,
    checkedSetCache,
    onLoad: (o, set) => (recordLoad ? void recordLoad(o, set) : loadsBeforeStore.push([o, set])),
    onDisagreement: (d) =>
      void auditStore
        ?.appendAudit(shadowRecord({ clock, meta: d.request.meta, principal: d.request.principal, action: d.request.action, resource: d.request.resource.uid.id, live: d.live, candidate: d.candidate }))
        .catch((err: unknown) => logger.error('could not record a shadow disagreement', { err })),
  };
  try {
    policies = checking ? PolicyManager.startChecked(managerOptions, await checking, checkStartedAt) : PolicyManager.start(managerOptions);
  } catch (err) {
    refused = err;
  }
  // A store that cannot open fails the start first, whatever became of the policy set.
  const { store, blobs } = await opening;
  auditStore = store;
  // Before this start's own records (the policy load) make the log non-empty.
  const emptied = await emptiedLogEvidence(store).catch(() => undefined);
  if (emptied) {
    logger.warn('the audit log is empty, but the registry holds versions or syncs committed with their records: the log was emptied (verify against a saved head)', emptied);
  }
  const removed = await removedRecordsEvidence(store).catch(() => undefined);
  if (removed) logger.warn("the audit log ends before the database's own head (audit_head): records were removed from it", removed);
  metrics = createMetrics({ livePolicySet: () => policies?.live.policySet, syncJobCounts: () => store.countSyncJobs() });
  // Process metrics (CPU, memory, event loop lag, GC) belong to the process, so only the server has them.
  collectDefaultMetrics({ register: metrics.registry, prefix: 'versiongate_' });

  // Every load, at start or later, refused or not, is counted and audited.
  recordLoad = (o: ReloadOutcome, set?: CompiledPolicySet) => {
    // A removal is neither a load nor a refusal: audited, not counted.
    if (o.outcome !== 'removed') metrics.policyLoaded(o.trigger === 'start' ? 'start' : 'reload', o.outcome === 'loaded');
    const loaded = set ? { hash: set.hash, files: set.files, policies: Object.keys(set.policies).length + set.links.length } : undefined;
    const unloaded = o.outcome === 'removed' ? o.set : undefined;
    return store
      .appendAudit(policyLoadRecord({ clock, source: config.policyDir, loaded, errors: o.errors, trigger: o.trigger, unloaded }))
      .catch((err: unknown) => logger.error('could not record a policy load', { err }));
  };
  await Promise.all(loadsBeforeStore.map(([o, set]) => recordLoad!(o, set)));
  // PolicyManager.start returned a manager or threw (`refused`).
  if (!policies) {
    await store.close();
    throw refused;
  }
  const policyManager = policies;
  for (const w of policyManager.live.policySet.warnings) logger.warn('policy warning', { ...w });

  let devKey: DevKey | undefined;
  if (config.auth.mode === 'dev') devKey = await loadOrCreateDevKey(config.dataDir);
  const keySource = keySourceFor(config.auth, devKey, logger);
  const verifier = createTokenVerifier({
    keySource,
    issuer: config.auth.issuer,
    audience: config.auth.audience,
    groupsClaim: config.groupsClaim,
    clock,
    clockToleranceSeconds: config.clockToleranceSeconds,
    maxTokenAgeSeconds: config.maxTokenAgeSeconds,
    cacheSize: config.tokenCacheSize,
  });

  // Created here so publishes and resyncs can wake it; it starts once the server is up.
  const syncWorker = createSyncWorker({ store, blobs, clock, log: logger, settings: config.sync, region: config.region });
  // Through the metrics' decorator, as every other audit write: refusals' records are counted too.
  const audited = instrumentStore(store, metrics);
  const rejections = new RejectionLog({
    append: (r) => audited.appendAudit(r),
    windowMs: config.rejectionWindowMs,
    onError: (err) => logger.error('could not record refused tokens', { err }),
  });
  // The listener is made after the app: the app asks its cap through this, once it is set.
  let room: ConnectionRoom = UNCAPPED;
  const app = createApp({
    rejections,
    authFailures: new AuthFailureLimiter({ maxFailures: config.authFailureLimit, windowMs: AUTH_FAILURE_WINDOW_MS }),
    store,
    blobs,
    authorizer: () => policyManager.authorizer(),
    groupsClaim: config.groupsClaim,
    policyStatus: () => policyManager.status(),
    clock,
    region: config.region,
    logger,
    verifier,
    metrics,
    lifecycle,
    keySource,
    requestDeadlineMs: config.limits.requestDeadlineMs,
    serveMetrics: config.metrics.mode === 'on',
    maxAssetBytes: config.limits.maxAssetBytes,
    accountId: config.accountId,
    syncScheduled: () => syncWorker.nudge(),
    policyDir: config.policyDir,
    console: { devMode: config.auth.mode === 'dev', oidc: config.consoleClientId ? { issuer: config.auth.issuer, clientId: config.consoleClientId, scope: 'openid' } : undefined },
    connectionRoom: (socket) => room.refuses(socket),
  });

  const servers: Server[] = [];
  const abandonStart = async (err: unknown): Promise<never> => {
    for (const s of servers) s.closeAllConnections();
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    await store.close();
    throw err;
  };
  let server: Server;
  try {
    server = await listen(m, app.fetch, config.host, config.port, config.limits);
  } catch (err) {
    return abandonStart(listenError('VERSIONGATE_HOST/VERSIONGATE_PORT (--host/--port)', config.host, config.port, err));
  }
  servers.push(server);
  answerClientErrors(server, { logger, metrics, maxHeaderBytes: config.limits.maxHeaderBytes });
  room = capConnections(server, connectionCap(config.limits.maxConnections, logger), {
    logger,
    listener: 'gateway',
    setting: 'VERSIONGATE_MAX_CONNECTIONS',
    overflow: true,
    onRefuse: () => metrics.connectionsRefused.inc({ listener: 'gateway' }),
  });

  let metricsUrl: string | undefined;
  if (config.metrics.mode === 'listen') {
    const { host: mHost, port: mPort } = config.metrics;
    let metricsServer: Server;
    try {
      metricsServer = await listen(m, createMetricsApp(metrics).fetch, mHost, mPort, config.limits);
    } catch (err) {
      return abandonStart(listenError('VERSIONGATE_METRICS (--metrics)', mHost, mPort, err));
    }
    servers.push(metricsServer);
    answerClientErrors(metricsServer, { logger, metrics, maxHeaderBytes: config.limits.maxHeaderBytes });
    capConnections(metricsServer, METRICS_MAX_CONNECTIONS, { logger, listener: 'metrics', onRefuse: () => metrics.connectionsRefused.inc({ listener: 'metrics' }) });
    metricsUrl = urlOf(mHost, metricsServer, mPort);
  }

  try {
    // Bytes of versions disposed just before a crash: their records are gone, so the bytes go now.
    // The listener is up (healthz answers, readyz says starting) but API requests wait for this.
    await removeBlobs({ store, blobs, logger }, await store.pendingBlobDeletions());
  } catch (err) {
    return abandonStart(err);
  }
  // What a start leaves (on PostgreSQL, removals younger than the grace) goes while the gateway serves.
  const blobSweep = startBlobSweep({ store, blobs, logger, clock }, options.blobSweepIntervalMs === undefined ? {} : { intervalMs: options.blobSweepIntervalMs });
  // Jobs in progress when the last process stopped go back to awaiting; then the pool starts.
  try {
    await syncWorker.start();
  } catch (err) {
    await blobSweep.stop();
    return abandonStart(err);
  }
  lifecycle.serving();
  // Hot reload: a change under policies/ (or SIGHUP, or reloadPolicies()) loads the new set,
  // validated and tested, and swaps it in only if both pass.
  if (config.policyWatch) policyManager.watch();

  if (devKey) announceDevelopmentMode(devKey, config);
  const url = urlOf(config.host, server, config.port);
  logger.info('versiongate listening', {
    url,
    ...(metricsUrl ? { metricsUrl } : {}),
    policySetHash: policyManager.live.policySet.hash,
    policies: Object.keys(policyManager.live.policySet.policies).length,
    links: policyManager.live.policySet.links.length,
    policyChecks: policyManager.startChecks,
    shadow: policyManager.status().candidate !== null,
    keySource: config.auth.mode,
    dataDir: config.dataDir,
    // Shipped with the logs, it anchors the chain: `audit verify --head` catches a later rewrite.
    auditHead: await auditHeadText(store).catch(() => null),
  });

  let closing: Promise<void> | undefined;
  const close = async () => {
    lifecycle.stopping();
    policyManager.close();
    logger.info('versiongate stopping', { graceMs: config.shutdownGraceMs });
    // close() stops accepting and closes idle keep-alive connections; busy ones close after their
    // response (the app sends Connection: close while stopping). It calls back when all are gone.
    const drained = servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve())));
    const all = Promise.all(drained);
    const inTime = (await within(config.shutdownGraceMs, all.then(() => true))) ?? false;
    if (!inTime) {
      // Expire every deadline first: a request that has not started committing now never will, so
      // cutting its connection cannot hide a change from a client that saw the connection fail.
      lifecycle.abortInFlight();
      logger.warn('shutdown grace is over; closing the remaining connections', { graceMs: config.shutdownGraceMs });
      for (const s of servers) s.closeAllConnections();
      await all;
    }
    // A connection can be gone while its handler still runs: a cut upload records its refusal, a
    // commit in flight is answered. They end promptly once the deadlines have expired; the store
    // closes after them, so none of them meets a closed store and goes unrecorded.
    if (!((await within(HANDLERS_END_MS, lifecycle.idle().then(() => true))) ?? false)) {
      logger.warn('requests still running as the store closes', { requests: lifecycle.handling, waitedMs: HANDLERS_END_MS });
    }
    // The refusals counted in the open window, written while the store is still open.
    await rejections.close().catch((err: unknown) => logger.error('could not record refused tokens', { err }));
    await blobSweep.stop();
    // The safe point: no new job is claimed and the running ones finish before the database closes.
    await syncWorker.stop();
    // Read after the last write (the refusals' counts, the syncs), so it covers every record.
    const auditHead = await auditHeadText(store).catch(() => null);
    await store.close();
    logger.info('versiongate stopped', { auditHead });
  };
  return {
    url,
    port: portOf(server, config.port),
    ...(metricsUrl ? { metricsUrl } : {}),
    store,
    syncWorker,
    metrics,
    lifecycle,
    ...(devKey ? { devKey } : {}),
    reloadPolicies: () => policyManager.reload('signal'),
    close: () => (closing ??= close()),
  };
}

function listen(
  { getRequestListener, serveRefusalsReadably, REFUSAL_DRAIN_MS }: Pick<ServerModules, 'getRequestListener' | 'serveRefusalsReadably' | 'REFUSAL_DRAIN_MS'>,
  fetch: Parameters<ServerModules['getRequestListener']>[0],
  hostname: string,
  port: number,
  limits: LimitsConfig,
): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer({
      maxHeaderSize: limits.maxHeaderBytes,
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      connectionsCheckingInterval: CONNECTIONS_CHECK_MS,
    });
    // What @hono/node-server's serve() does, plus answers sent before a body is read (refusals and
    // Expect: 100-continue) that the client can always read: see refuse-unread-body.ts.
    serveRefusalsReadably(server, getRequestListener(fetch, { hostname }), { maxBytes: limits.refusalDrainBytes, maxMs: REFUSAL_DRAIN_MS });
    server.once('error', reject);
    server.listen(port, hostname, () => resolve(server));
  });
}

/** The cap the setting names, or the one the open-file limit leaves room for (said when it is too low to serve with). */
function connectionCap(setting: number | 'auto', logger: Logger): number | undefined {
  if (setting !== 'auto') return setting;
  const fileLimit = openFileLimit();
  const cap = connectionCapFor(fileLimit);
  if (fileLimit !== undefined && fileLimit - RESERVED_FILES < 2 * MIN_CONNECTIONS) {
    logger.warn('the open-file limit leaves room for few connections: raise it (ulimit -n, LimitNOFILE)', { openFileLimit: fileLimit, maxConnections: cap });
  }
  return cap;
}

function listenError(setting: string, host: string, port: number, err: unknown): ConfigError {
  const code = (err as NodeJS.ErrnoException).code;
  const why = code === 'EADDRINUSE' ? 'the address is already in use' : code === 'EACCES' ? 'permission denied' : (err as Error).message;
  return new ConfigError(`${setting}: cannot listen on ${host}:${port}: ${why}`);
}

function portOf(server: Server, fallback: number): number {
  const address = server.address();
  return typeof address === 'object' && address ? address.port : fallback;
}

function urlOf(host: string, server: Server, fallbackPort: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${portOf(server, fallbackPort)}`;
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
