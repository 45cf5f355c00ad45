/**
 * The gateway's Prometheus metrics, on a registry of its own per app instance: tests build several
 * apps in one process, and prom-client's global default registry would mix (and reject) them.
 * Label values come from closed sets (route patterns, actions, decisions, stable error codes,
 * store method names): never a raw path, a principal or a package name, which would grow without bound.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { CompiledPolicySet } from '../policy/load-policies.ts';
import type { SyncJobCounts } from '../store/store.ts';

const SYNC_STATES: ReadonlyArray<keyof SyncJobCounts> = ['awaiting', 'in_progress', 'completed', 'failed', 'waiting_for_assets'];

export interface MetricsOptions {
  /** The live policy set, read at each scrape (a reload swaps it). */
  livePolicySet?: () => CompiledPolicySet | undefined;
  /** Sync jobs by state, counted at each scrape (in the database: every instance sharing it sees the same). */
  syncJobCounts?: () => Promise<SyncJobCounts>;
}

export type PolicyLoadTrigger = 'start' | 'reload';

export interface Metrics {
  readonly registry: Registry;
  readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>;
  readonly httpParseErrors: Counter<'status'>;
  readonly connectionsRefused: Counter<'listener'>;
  readonly decisions: Counter<'action' | 'decision'>;
  readonly tokenFailures: Counter<'reason'>;
  readonly policyLoads: Counter<'trigger' | 'result'>;
  readonly auditRecords: Counter;
  readonly storeDuration: Histogram<'operation' | 'result'>;
  readonly syncJobs: Gauge<'state'>;
  readonly syncQueueDepth: Gauge;
  readonly storeCommits: Counter;
  readonly storeCommitBatch: Histogram;
  /** Count one group commit: how many requests' writes it made durable with one fsync. */
  committed(batchSize: number): void;
  /** Count one attempt to load a policy set: at start, or (once it exists) a reload. */
  policyLoaded(trigger: PolicyLoadTrigger, ok: boolean): void;
}

/** Request latency: from sub-millisecond reads to the fsync of a commit and a slow identity provider. */
const HTTP_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Store calls: a read is tens of microseconds; a commit with synchronous=FULL pays an fsync. */
const STORE_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5];

export function createMetrics(options: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  const registers = [registry];

  const httpRequests = new Counter({
    name: 'versiongate_http_requests_total',
    help: 'HTTP requests answered, by method, route pattern (unmatched for unknown paths) and status.',
    labelNames: ['method', 'route', 'status'] as const,
    registers,
  });
  const httpDuration = new Histogram({
    name: 'versiongate_http_request_duration_seconds',
    help: 'Time from the start of handling to the response, by method, route pattern and status.',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: HTTP_BUCKETS,
    registers,
  });
  const httpParseErrors = new Counter({
    name: 'versiongate_http_rejected_requests_total',
    help: 'Requests the HTTP server refused before routing (431 headers too large, 408 too slow, 400 malformed).',
    labelNames: ['status'] as const,
    registers,
  });
  const connectionsRefused = new Counter({
    name: 'versiongate_http_connections_refused_total',
    help: 'Connections refused, by listener, because the most it holds at once were open (VERSIONGATE_MAX_CONNECTIONS on the gateway, 32 on a metrics listener of its own): answered 503, or closed as they were accepted.',
    labelNames: ['listener'] as const,
    registers,
  });
  // Zero series up front for the gateway (a metrics listener's appears with its first refusal, if it has one).
  connectionsRefused.inc({ listener: 'gateway' }, 0);
  const decisions = new Counter({
    name: 'versiongate_authorization_decisions_total',
    help: 'Cedar authorization decisions, by action and decision (allow or deny).',
    labelNames: ['action', 'decision'] as const,
    registers,
  });
  const tokenFailures = new Counter({
    name: 'versiongate_token_verification_failures_total',
    help: 'Bearer tokens that failed verification, by stable reason code (e.g. ERR_JWT_EXPIRED, KEY_SOURCE_UNAVAILABLE).',
    labelNames: ['reason'] as const,
    registers,
  });
  const policyLoads = new Counter({
    name: 'versiongate_policy_loads_total',
    help: 'Attempts to load a policy set, by trigger (start or reload) and result (success or failure).',
    labelNames: ['trigger', 'result'] as const,
    registers,
  });
  // Zero series up front, so an alert on increase(...{result="failure"}) works before the first failure.
  for (const trigger of ['start', 'reload'] as const) for (const result of ['success', 'failure']) policyLoads.inc({ trigger, result }, 0);
  new Gauge({
    name: 'versiongate_policy_set_policies',
    help: 'Number of policies in the live policy set.',
    registers,
    collect() {
      const set = options.livePolicySet?.();
      if (set) this.set(Object.keys(set.policies).length);
    },
  });
  new Gauge({
    name: 'versiongate_policy_set_info',
    help: 'The live policy set, identified by its hash (always 1).',
    labelNames: ['policy_set_hash'] as const,
    registers,
    collect() {
      const set = options.livePolicySet?.();
      this.reset();
      if (set) this.set({ policy_set_hash: set.hash }, 1);
    },
  });
  const auditRecords = new Counter({
    name: 'versiongate_audit_records_total',
    help: 'Audit records written (each committed with its change, or alone for a denial, 401 or read).',
    registers,
  });
  const storeDuration = new Histogram({
    name: 'versiongate_store_transaction_duration_seconds',
    help: 'Time spent in each store call (one transaction or read), by store operation and result (ok or error).',
    labelNames: ['operation', 'result'] as const,
    buckets: STORE_BUCKETS,
    registers,
  });
  const storeCommits = new Counter({
    name: 'versiongate_store_commits_total',
    help: 'Write transactions of the group commit (each one fsync), however many requests each held.',
    registers,
  });
  const storeCommitBatch = new Histogram({
    name: 'versiongate_store_commit_batch_size',
    help: 'Requests whose writes one group commit made durable together (one transaction, one fsync).',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
    registers,
  });
  // One count serves both gauges; a scrape reads it once, not once per gauge.
  let counting: Promise<SyncJobCounts | undefined> | undefined;
  const countSyncJobs = () =>
    (counting ??= (options.syncJobCounts?.() ?? Promise.resolve(undefined)).finally(() => {
      counting = undefined;
    }));
  const syncJobs = new Gauge({
    name: 'versiongate_sync_jobs',
    help: 'Sync jobs (publishes and resyncs) by state: awaiting, in_progress, completed, failed, and waiting_for_assets (Unfinished versions).',
    labelNames: ['state'] as const,
    registers,
    async collect() {
      const counts = await countSyncJobs();
      if (counts) for (const state of SYNC_STATES) this.set({ state }, counts[state]);
    },
  });
  const syncQueueDepth = new Gauge({
    name: 'versiongate_sync_queue_depth',
    help: 'Sync jobs awaiting a worker (new, or waiting out the backoff before a retry); not those of Unfinished versions.',
    registers,
    async collect() {
      const counts = await countSyncJobs();
      this.set(counts?.awaiting ?? 0);
    },
  });

  return {
    registry,
    httpRequests,
    httpDuration,
    httpParseErrors,
    connectionsRefused,
    decisions,
    tokenFailures,
    policyLoads,
    auditRecords,
    storeDuration,
    syncJobs,
    syncQueueDepth,
    storeCommits,
    storeCommitBatch,
    committed(batchSize) {
      storeCommits.inc();
      storeCommitBatch.observe(batchSize);
    },
    policyLoaded(trigger, ok) {
      policyLoads.inc({ trigger, result: ok ? 'success' : 'failure' });
    },
  };
}
