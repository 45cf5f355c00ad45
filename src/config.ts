/**
 * Every setting, parsed and checked once. Nothing else reads process.env.
 * Each setting has an environment variable and a CLI flag; the flag wins.
 */
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseDuration } from './cli/duration.ts';
import { checkEnvironment, EnvironmentError, type EnvironmentCheck } from './config-environment.ts';
import { ConfigError } from './errors.ts';
import { DEFAULT_DECISION_CACHE_SIZE } from './policy/decision-cache.ts';
import type { LogLevel } from './log.ts';
import type { SyncSettings } from './sync/sync-worker.ts';

export const DEV_ISSUER = 'urn:versiongate:dev';
export const DEV_AUDIENCE = 'versiongate';

export type AuthConfig =
  | { mode: 'jwks-url'; url: URL; issuer: string; audience: string }
  | { mode: 'jwks-file'; file: string; issuer: string; audience: string }
  | { mode: 'dev'; issuer: string; audience: string };

/** Where GET /metrics is served: on the gateway's listener, nowhere, or on a listener of its own. */
export type MetricsConfig = { mode: 'on' } | { mode: 'off' } | { mode: 'listen'; host: string; port: number };

/** Limits on each connection and request (see the README's Operations section). */
export interface LimitsConfig {
  /**
   * The most connections held at once; past it a new connection is closed as it is accepted.
   * 'auto': from the process's open-file limit (http/connection-cap.ts).
   */
  maxConnections: number | 'auto';
  /** Node's maxHeaderSize: larger request headers are refused with 431. */
  maxHeaderBytes: number;
  /** Node's headersTimeout: the whole header block must arrive within this (408 otherwise). */
  headersTimeoutMs: number;
  /** Node's requestTimeout: the whole request, body included, must arrive within this (408 otherwise). */
  requestTimeoutMs: number;
  /** How long an idle keep-alive connection is kept open. */
  keepAliveTimeoutMs: number;
  /** A change not committing this long after its request arrived is not made (503). */
  requestDeadlineMs: number;
  /** The largest asset PublishPackageVersion accepts (413 beyond); streamed to disk, never held in memory. */
  maxAssetBytes: number;
  /**
   * After a response sent before its request's body was read (a refusal), how many more body bytes
   * are read and discarded so the client can read the answer before the connection closes.
   */
  refusalDrainBytes: number;
}

/** Verified tokens remembered by default; each entry holds its token (at most 8 KiB) and principal. */
export const DEFAULT_TOKEN_CACHE_SIZE = 10_000;
export const MAX_TOKEN_CACHE_SIZE = 1_000_000;
/** Each cached decision holds its key (the canonical Cedar call, about 1 KiB) and the decision. */
export const MAX_DECISION_CACHE_SIZE = 1_000_000;
export const MAX_MAX_TOKEN_AGE_SECONDS = 365 * 86_400;

/** 1 GiB by default; at most 5 GiB, CodeArtifact's own limit per asset. */
export const DEFAULT_MAX_ASSET_BYTES = 1024 ** 3;
/** The account that owns the domains CreateDomain creates, by default the demo's. */
export const DEFAULT_ACCOUNT_ID = '111122223333';
export const MAX_MAX_ASSET_BYTES = 5 * 1024 ** 3;
/** The longest request deadline a setting may give (an upload commits within it, or never: see BLOB_GRACE_MS). */
export const MAX_REQUEST_DEADLINE_SECONDS = 3600;
/** 1 MiB by default: what a client has usually sent before it reads a refusal; at most 64 MiB. */
export const DEFAULT_REFUSAL_DRAIN_BYTES = 1024 ** 2;
export const MAX_REFUSAL_DRAIN_BYTES = 64 * 1024 ** 2;

export interface Config {
  host: string;
  port: number;
  dataDir: string;
  policyDir: string;
  region: string;
  /** The 12-digit account that owns the domains CreateDomain creates (CodeArtifact's caller account). */
  accountId: string;
  groupsClaim: string;
  clockToleranceSeconds: number;
  /** Verified tokens remembered until they expire (an LRU); 0 turns the cache off. */
  tokenCacheSize: number;
  /** Cedar decisions remembered per policy set (decision-cache.ts, emptied by every reload); 0 turns the cache off. */
  decisionCacheSize: number;
  /** Tokens issued longer ago than this are refused; undefined: no bound. */
  maxTokenAgeSeconds: number | undefined;
  logLevel: LogLevel;
  /** Reload the policy set when files under the policy folder change (SIGHUP reloads either way). */
  policyWatch: boolean;
  auth: AuthConfig;
  metrics: MetricsConfig;
  limits: LimitsConfig;
  /** After SIGTERM/SIGINT, how long requests in flight may take before their connections are closed. */
  shutdownGraceMs: number;
  /** The sync worker pool (see src/sync/sync-worker.ts). */
  sync: SyncSettings;
  /** The most requests' writes one group commit makes durable together (1: a transaction each). */
  commitBatch: number;
  /** Make the database's writes on a thread of their own (VERSIONGATE_COMMIT_THREAD, on by default). */
  commitThread: boolean;
  /** Refused tokens are counted per window and recorded as one record per kind (VERSIONGATE_REJECTION_WINDOW); 0: each on its own. */
  rejectionWindowMs: number;
  /** The console's OAuth client id at the identity provider (VERSIONGATE_ISSUER); unset: sign-in by pasting a token only. */
  consoleClientId: string | undefined;
  /** The database: the embedded SQLite file in the data directory, or a PostgreSQL that several replicas share. */
  database: DatabaseConfig;
  /** Refused tokens one source address may cause per 10 s before it is answered 429 (VERSIONGATE_AUTH_FAILURE_LIMIT); 0: no cap. */
  authFailureLimit: number;
  /** What the environment held that is not a setting, or was not read as one: logged at start (config-environment.ts). */
  environmentNotices: string[];
}

export type DatabaseConfig = { kind: 'sqlite' } | { kind: 'postgres'; url: string; poolSize: number; timeoutMs: number };

/** How long a statement may go unanswered by PostgreSQL (VERSIONGATE_DATABASE_TIMEOUT's default). */
export const DEFAULT_DATABASE_TIMEOUT_SECONDS = 30;

/** One row per setting: the README's settings table is this list. */
export const SETTINGS = {
  host: { env: 'VERSIONGATE_HOST', flag: 'host', default: '127.0.0.1' },
  port: { env: 'VERSIONGATE_PORT', flag: 'port', default: '8080' },
  dataDir: { env: 'VERSIONGATE_DATA_DIR', flag: 'data-dir', default: './data' },
  policyDir: { env: 'VERSIONGATE_POLICY_DIR', flag: 'policy-dir', default: './policies' },
  jwksUrl: { env: 'VERSIONGATE_JWKS_URL', flag: 'jwks-url', default: undefined },
  jwksFile: { env: 'VERSIONGATE_JWKS_FILE', flag: 'jwks-file', default: undefined },
  issuer: { env: 'VERSIONGATE_ISSUER', flag: 'issuer', default: undefined },
  audience: { env: 'VERSIONGATE_AUDIENCE', flag: 'audience', default: undefined },
  groupsClaim: { env: 'VERSIONGATE_GROUPS_CLAIM', flag: 'groups-claim', default: 'groups' },
  region: { env: 'VERSIONGATE_REGION', flag: 'region', default: 'us-east-1' },
  accountId: { env: 'VERSIONGATE_ACCOUNT_ID', flag: 'account-id', default: DEFAULT_ACCOUNT_ID },
  clockTolerance: { env: 'VERSIONGATE_CLOCK_TOLERANCE', flag: 'clock-tolerance', default: '30' },
  tokenCacheSize: { env: 'VERSIONGATE_TOKEN_CACHE_SIZE', flag: 'token-cache-size', default: String(DEFAULT_TOKEN_CACHE_SIZE) },
  decisionCacheSize: { env: 'VERSIONGATE_DECISION_CACHE_SIZE', flag: 'decision-cache-size', default: String(DEFAULT_DECISION_CACHE_SIZE) },
  maxTokenAge: { env: 'VERSIONGATE_MAX_TOKEN_AGE', flag: 'max-token-age', default: undefined },
  logLevel: { env: 'VERSIONGATE_LOG_LEVEL', flag: 'log-level', default: 'info' },
  policyWatch: { env: 'VERSIONGATE_POLICY_WATCH', flag: 'policy-watch', default: 'on' },
  metrics: { env: 'VERSIONGATE_METRICS', flag: 'metrics', default: 'on' },
  shutdownGrace: { env: 'VERSIONGATE_SHUTDOWN_GRACE', flag: 'shutdown-grace', default: '10' },
  requestDeadline: { env: 'VERSIONGATE_REQUEST_DEADLINE', flag: 'request-deadline', default: '30' },
  requestTimeout: { env: 'VERSIONGATE_REQUEST_TIMEOUT', flag: 'request-timeout', default: '30' },
  headersTimeout: { env: 'VERSIONGATE_HEADERS_TIMEOUT', flag: 'headers-timeout', default: '10' },
  keepAliveTimeout: { env: 'VERSIONGATE_KEEP_ALIVE_TIMEOUT', flag: 'keep-alive-timeout', default: '5' },
  maxConnections: { env: 'VERSIONGATE_MAX_CONNECTIONS', flag: 'max-connections', default: 'auto' },
  maxHeaderSize: { env: 'VERSIONGATE_MAX_HEADER_SIZE', flag: 'max-header-size', default: '16384' },
  maxAssetSize: { env: 'VERSIONGATE_MAX_ASSET_SIZE', flag: 'max-asset-size', default: String(DEFAULT_MAX_ASSET_BYTES) },
  refusalDrain: { env: 'VERSIONGATE_REFUSAL_DRAIN', flag: 'refusal-drain', default: String(DEFAULT_REFUSAL_DRAIN_BYTES) },
  syncWorkers: { env: 'VERSIONGATE_SYNC_WORKERS', flag: 'sync-workers', default: '2' },
  syncAttempts: { env: 'VERSIONGATE_SYNC_ATTEMPTS', flag: 'sync-attempts', default: '3' },
  syncRetryDelay: { env: 'VERSIONGATE_SYNC_RETRY_DELAY', flag: 'sync-retry-delay', default: '5' },
  commitBatch: { env: 'VERSIONGATE_COMMIT_BATCH', flag: 'commit-batch', default: '256' },
  commitThread: { env: 'VERSIONGATE_COMMIT_THREAD', flag: 'commit-thread', default: 'on' },
  rejectionWindow: { env: 'VERSIONGATE_REJECTION_WINDOW', flag: 'rejection-window', default: '10' },
  consoleClientId: { env: 'VERSIONGATE_CONSOLE_CLIENT_ID', flag: 'console-client-id', default: undefined },
  databaseUrl: { env: 'VERSIONGATE_DATABASE_URL', flag: 'database-url', default: undefined },
  databasePoolSize: { env: 'VERSIONGATE_DATABASE_POOL_SIZE', flag: 'database-pool-size', default: '10' },
  databaseTimeout: { env: 'VERSIONGATE_DATABASE_TIMEOUT', flag: 'database-timeout', default: String(DEFAULT_DATABASE_TIMEOUT_SECONDS) },
  authFailureLimit: { env: 'VERSIONGATE_AUTH_FAILURE_LIMIT', flag: 'auth-failure-limit', default: '100' },
} as const;

export type SettingName = keyof typeof SETTINGS;
export type Flags = Partial<Record<string, string | boolean | undefined>>;

export interface ConfigInput {
  env: Record<string, string | undefined>;
  flags: Flags;
  /** `--dev`: with no identity provider configured, sign and verify with a local development key. */
  dev: boolean;
  cwd?: string;
  /** Commands that never read policies (token, seed) skip the policy folder check. */
  requirePolicyDir?: boolean;
}

export function parseConfig({ env, flags, dev, cwd = process.cwd(), requirePolicyDir = true }: ConfigInput): Config {
  let environment: EnvironmentCheck;
  try {
    environment = checkEnvironment(env, Object.values(SETTINGS).map((s) => s.env));
  } catch (err) {
    if (err instanceof EnvironmentError) throw new ConfigError(err.message);
    throw err;
  }
  const raw = (name: SettingName): string | undefined => {
    const s = SETTINGS[name];
    const fromFlag = flags[s.flag];
    if (typeof fromFlag === 'string') return fromFlag;
    const fromEnv = environment.ignored.has(s.env) ? undefined : env[s.env];
    if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
    return s.default;
  };
  const fail = (name: SettingName, why: string): never => {
    const s = SETTINGS[name];
    throw new ConfigError(`${s.env} (--${s.flag}): ${why}`);
  };

  const host = raw('host')!;
  if (!/^[A-Za-z0-9.:\-[\]]+$/.test(host)) fail('host', `not a host name or address: '${host}'`);

  const portText = raw('port')!;
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port < 0 || port > 65535) fail('port', `must be an integer from 0 to 65535, got '${portText}'`);

  const region = raw('region')!;
  if (!/^[a-z]{2}(-[a-z]+)+-\d{1,2}$/.test(region)) fail('region', `not an AWS region name such as us-east-1: '${region}'`);

  const accountId = raw('accountId')!;
  if (!/^[0-9]{12}$/.test(accountId)) fail('accountId', `not a 12-digit account id: '${accountId}'`);

  const groupsClaim = raw('groupsClaim')!;
  if (!/^[A-Za-z0-9_:./-]{1,128}$/.test(groupsClaim)) fail('groupsClaim', `not a claim name: '${groupsClaim}'`);

  const toleranceText = raw('clockTolerance')!;
  const clockToleranceSeconds = Number(toleranceText);
  if (!/^\d+$/.test(toleranceText) || clockToleranceSeconds > 300) {
    fail('clockTolerance', `must be a whole number of seconds from 0 to 300, got '${toleranceText}'`);
  }

  const logLevel = raw('logLevel')!;
  if (!['debug', 'info', 'warn', 'error', 'silent'].includes(logLevel)) {
    fail('logLevel', `must be one of debug, info, warn, error, silent; got '${logLevel}'`);
  }

  // Durations are whole seconds, like the clock tolerance.
  const seconds = (name: SettingName, min: number, max: number): number => {
    const text = raw(name)!;
    const value = Number(text);
    if (!/^\d+$/.test(text) || value < min || value > max) fail(name, `must be a whole number of seconds from ${min} to ${max}, got '${text}'`);
    return value;
  };
  const shutdownGraceMs = seconds('shutdownGrace', 0, 3600) * 1000;
  const requestDeadlineMs = seconds('requestDeadline', 1, MAX_REQUEST_DEADLINE_SECONDS) * 1000;
  const rejectionWindowMs = seconds('rejectionWindow', 0, 3600) * 1000;
  const requestTimeoutMs = seconds('requestTimeout', 1, 3600) * 1000;
  const headersTimeoutMs = seconds('headersTimeout', 1, 3600) * 1000;
  const keepAliveTimeoutMs = seconds('keepAliveTimeout', 1, 3600) * 1000;
  // Node refuses a headers timeout longer than the request timeout; say so in our terms.
  if (headersTimeoutMs > requestTimeoutMs) {
    fail('headersTimeout', `must not be longer than VERSIONGATE_REQUEST_TIMEOUT (${requestTimeoutMs / 1000} s), got ${headersTimeoutMs / 1000} s`);
  }
  const connectionsText = raw('maxConnections')!;
  const maxConnections = connectionsText === 'auto' ? 'auto' : Number(connectionsText);
  if (maxConnections !== 'auto' && (!/^\d+$/.test(connectionsText) || maxConnections < 1 || maxConnections > 1_000_000)) {
    fail('maxConnections', `must be auto or a number of connections from 1 to 1000000, got '${connectionsText}'`);
  }
  const headerText = raw('maxHeaderSize')!;
  const maxHeaderBytes = Number(headerText);
  if (!/^\d+$/.test(headerText) || maxHeaderBytes < 1024 || maxHeaderBytes > 1048576) {
    fail('maxHeaderSize', `must be a number of bytes from 1024 to 1048576, got '${headerText}'`);
  }

  const assetText = raw('maxAssetSize')!;
  const maxAssetBytes = Number(assetText);
  if (!/^\d+$/.test(assetText) || maxAssetBytes < 1 || maxAssetBytes > MAX_MAX_ASSET_BYTES) {
    fail('maxAssetSize', `must be a number of bytes from 1 to ${MAX_MAX_ASSET_BYTES}, got '${assetText}'`);
  }

  const drainText = raw('refusalDrain')!;
  const refusalDrainBytes = Number(drainText);
  if (!/^\d+$/.test(drainText) || refusalDrainBytes > MAX_REFUSAL_DRAIN_BYTES) {
    fail('refusalDrain', `must be a number of bytes from 0 to ${MAX_REFUSAL_DRAIN_BYTES}, got '${drainText}'`);
  }

  const metrics = parseMetrics(raw('metrics')!, fail);

  const whole = (name: SettingName, min: number, max: number, what: string): number => {
    const text = raw(name)!;
    const value = Number(text);
    if (!/^\d+$/.test(text) || value < min || value > max) fail(name, `must be a whole number of ${what} from ${min} to ${max}, got '${text}'`);
    return value;
  };
  const commitBatch = whole('commitBatch', 1, 10_000, 'writes');
  const authFailureLimit = whole('authFailureLimit', 0, 1_000_000, 'refused tokens');
  const sync: SyncSettings = {
    concurrency: whole('syncWorkers', 1, 64, 'workers'),
    maxAttempts: whole('syncAttempts', 1, 100, 'attempts'),
    retryBaseMs: seconds('syncRetryDelay', 0, 3600) * 1000,
    pollMs: 1000,
  };

  const tokenCacheSize = whole('tokenCacheSize', 0, MAX_TOKEN_CACHE_SIZE, 'entries');
  const decisionCacheSize = whole('decisionCacheSize', 0, MAX_DECISION_CACHE_SIZE, 'entries');
  // A duration like the token command's --ttl; unset means tokens may be of any age until they expire.
  const maxAgeText = raw('maxTokenAge');
  let maxTokenAgeSeconds: number | undefined;
  if (maxAgeText !== undefined) {
    maxTokenAgeSeconds = parseDuration(maxAgeText);
    if (!maxTokenAgeSeconds || maxTokenAgeSeconds > MAX_MAX_TOKEN_AGE_SECONDS) {
      fail('maxTokenAge', `must be a duration from 1s to 365d such as 1h or 12h, got '${maxAgeText}'`);
    }
  }

  const dataDir = resolve(cwd, raw('dataDir')!);
  const policyDir = resolve(cwd, raw('policyDir')!);
  if (requirePolicyDir && (!existsSync(policyDir) || !statSync(policyDir).isDirectory())) fail('policyDir', `no such directory: ${policyDir}`);

  return {
    host,
    port,
    dataDir,
    policyDir,
    region,
    accountId,
    groupsClaim,
    clockToleranceSeconds,
    tokenCacheSize,
    decisionCacheSize,
    maxTokenAgeSeconds,
    logLevel: logLevel as LogLevel,
    policyWatch: parseOnOff(raw('policyWatch')!, (why) => fail('policyWatch', why)),
    auth: parseAuth(raw, fail, dev, cwd),
    metrics,
    limits: { maxConnections, maxHeaderBytes, headersTimeoutMs, requestTimeoutMs, keepAliveTimeoutMs, requestDeadlineMs, maxAssetBytes, refusalDrainBytes },
    shutdownGraceMs,
    sync,
    commitBatch,
    rejectionWindowMs,
    authFailureLimit,
    commitThread: parseOnOff(raw('commitThread')!, (why) => fail('commitThread', why)),
    consoleClientId: parseConsoleClientId(raw, fail),
    environmentNotices: environment.notices,
    database: parseDatabase(raw('databaseUrl'), whole('databasePoolSize', 1, 1000, 'connections'), seconds('databaseTimeout', 1, 3600) * 1000, (why) => fail('databaseUrl', why)),
  };
}

/** Unset: the embedded SQLite file. Set: a postgres:// (or postgresql://) URL, refused otherwise. */
function parseDatabase(url: string | undefined, poolSize: number, timeoutMs: number, fail: (why: string) => never): DatabaseConfig {
  if (url === undefined || url === '') return { kind: 'sqlite' };
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return fail('must be a URL such as postgres://user:password@host:5432/versiongate');
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') return fail(`must be a postgres:// URL, got one of scheme '${parsed.protocol.slice(0, -1)}'`);
  return { kind: 'postgres', url, poolSize, timeoutMs };
}

/** `on`, `off`, or `HOST:PORT` (`[::1]:9464` for IPv6) for a listener that serves only /metrics. */
function parseMetrics(text: string, fail: (name: SettingName, why: string) => never): MetricsConfig {
  if (text === 'on' || text === 'off') return { mode: text };
  const match = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(text);
  const port = match ? Number(match[2]) : NaN;
  if (!match || port > 65535) return fail('metrics', `must be on, off, or HOST:PORT for a separate listener (such as 127.0.0.1:9464), got '${text}'`);
  // The bracketed IPv6 form is for the setting; the listener wants the bare address.
  const host = match[1]!.startsWith('[') ? match[1]!.slice(1, -1) : match[1]!;
  return { mode: 'listen', host, port };
}

function parseAuth(
  raw: (name: SettingName) => string | undefined,
  fail: (name: SettingName, why: string) => never,
  dev: boolean,
  cwd: string,
): AuthConfig {
  const jwksUrl = raw('jwksUrl');
  const jwksFile = raw('jwksFile');
  const issuer = raw('issuer');
  const audience = raw('audience');

  if (jwksUrl && jwksFile) fail('jwksFile', 'set either VERSIONGATE_JWKS_URL or VERSIONGATE_JWKS_FILE, not both');

  if (jwksUrl || jwksFile) {
    // With a real identity provider, a token is only as good as the checks on who issued it and
    // for whom: both are required rather than silently skipped.
    if (!issuer) fail('issuer', 'required with an identity provider (the `iss` your tokens carry)');
    if (!audience) fail('audience', 'required with an identity provider (the `aud` your tokens carry)');
    if (jwksUrl) {
      let url: URL;
      try {
        url = new URL(jwksUrl);
      } catch {
        return fail('jwksUrl', `not a URL: '${jwksUrl}'`);
      }
      const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
      if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
        fail('jwksUrl', 'must be https:// (plain http is accepted only for a loopback address)');
      }
      return { mode: 'jwks-url', url, issuer: issuer!, audience: audience! };
    }
    const file = resolve(cwd, jwksFile!);
    if (!existsSync(file)) fail('jwksFile', `no such file: ${file}`);
    return { mode: 'jwks-file', file, issuer: issuer!, audience: audience! };
  }

  if (!dev) {
    throw new ConfigError(
      'No identity provider is configured, so no token could be trusted. Set VERSIONGATE_JWKS_URL or ' +
        'VERSIONGATE_JWKS_FILE (with VERSIONGATE_ISSUER and VERSIONGATE_AUDIENCE), or start with --dev ' +
        '(`npm start`) to use a local development signing key.',
    );
  }
  return { mode: 'dev', issuer: issuer ?? DEV_ISSUER, audience: audience ?? DEV_AUDIENCE };
}

/** The console signs in at the identity provider only: a client id needs VERSIONGATE_ISSUER, and no development key. */
function parseConsoleClientId(raw: (name: SettingName) => string | undefined, fail: (name: SettingName, why: string) => never): string | undefined {
  const id = raw('consoleClientId');
  if (id === undefined) return undefined;
  if (!/^[\x21-\x7e]{1,256}$/.test(id)) fail('consoleClientId', `not a client id (printable ASCII, no spaces): '${id}'`);
  const issuer = raw('issuer');
  if (!issuer) fail('consoleClientId', 'needs VERSIONGATE_ISSUER, whose discovery document names the authorization and token endpoints');
  let url: URL | undefined;
  try {
    url = new URL(issuer!);
  } catch {
    fail('consoleClientId', `VERSIONGATE_ISSUER is not a URL: '${issuer}'`);
  }
  const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(url!.hostname);
  if (url!.protocol !== 'https:' && !(url!.protocol === 'http:' && loopback)) fail('consoleClientId', 'VERSIONGATE_ISSUER must be an https:// URL (plain http only on loopback) for the console to sign in there');
  return id;
}

function parseOnOff(text: string, fail: (why: string) => never): boolean {
  if (text === 'on') return true;
  if (text === 'off') return false;
  return fail(`must be on or off, got '${text}'`);
}
