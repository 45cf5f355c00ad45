import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEV_AUDIENCE, DEV_ISSUER, parseConfig } from '../src/config.ts';
import { configParser } from './helpers/parse-config.ts';

/** A working folder holding ./policies, so the default policy folder exists. */
let cwd: string;
let jwksFile: string;

beforeAll(() => {
  cwd = mkdtempSync(join(tmpdir(), 'versiongate-config-'));
  mkdirSync(join(cwd, 'policies'));
  jwksFile = join(cwd, 'jwks.json');
  writeFileSync(jwksFile, JSON.stringify({ keys: [] }));
});

afterAll(() => {
  rmSync(cwd, { recursive: true, force: true });
});

const { parse, configError } = configParser(() => cwd);

const IDP = { VERSIONGATE_ISSUER: 'https://idp.example.com/', VERSIONGATE_AUDIENCE: 'versiongate-api' };

describe('parseConfig defaults', () => {
  it('uses the documented defaults and resolves folders against cwd', () => {
    const cfg = parse();
    expect(cfg).toEqual({
      host: '127.0.0.1',
      port: 8080,
      dataDir: join(cwd, 'data'),
      policyDir: join(cwd, 'policies'),
      region: 'us-east-1',
      accountId: '111122223333',
      groupsClaim: 'groups',
      clockToleranceSeconds: 30,
      tokenCacheSize: 10_000,
      decisionCacheSize: 10_000,
      maxTokenAgeSeconds: undefined,
      logLevel: 'info',
      policyWatch: true,
      auth: { mode: 'dev', issuer: 'urn:versiongate:dev', audience: 'versiongate' },
      metrics: { mode: 'on' },
      limits: { maxHeaderBytes: 16384, headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, keepAliveTimeoutMs: 5_000, requestDeadlineMs: 30_000, maxAssetBytes: 1024 ** 3, refusalDrainBytes: 1024 ** 2, maxConnections: 'auto' },
      shutdownGraceMs: 10_000,
      sync: { concurrency: 2, maxAttempts: 3, retryBaseMs: 5_000, pollMs: 1_000 },
      commitBatch: 256,
      commitThread: true,
      rejectionWindowMs: 10_000,
      database: { kind: 'sqlite' },
      authFailureLimit: 100,
      environmentNotices: [],
    });
  });

  it('resolves a relative data dir from env or flag against cwd, and keeps an absolute one', () => {
    expect(parse({ env: { VERSIONGATE_DATA_DIR: 'state' } }).dataDir).toBe(join(cwd, 'state'));
    expect(parse({ flags: { 'data-dir': 'other/state' } }).dataDir).toBe(join(cwd, 'other', 'state'));
    expect(parse({ env: { VERSIONGATE_DATA_DIR: '/var/lib/versiongate' } }).dataDir).toBe('/var/lib/versiongate');
  });

  it('treats an empty environment variable as unset', () => {
    const cfg = parse({ env: { VERSIONGATE_PORT: '', VERSIONGATE_REGION: '' } });
    expect(cfg.port).toBe(8080);
    expect(cfg.region).toBe('us-east-1');
  });
});

describe('parseConfig precedence', () => {
  it('takes a setting from the environment', () => {
    const cfg = parse({
      env: { VERSIONGATE_PORT: '9090', VERSIONGATE_HOST: '0.0.0.0', VERSIONGATE_REGION: 'eu-west-2', VERSIONGATE_GROUPS_CLAIM: 'cognito:groups', VERSIONGATE_LOG_LEVEL: 'warn' },
    });
    expect(cfg.port).toBe(9090);
    expect(cfg.host).toBe('0.0.0.0');
    expect(cfg.region).toBe('eu-west-2');
    expect(cfg.groupsClaim).toBe('cognito:groups');
    expect(cfg.logLevel).toBe('warn');
  });

  it('lets the flag beat the environment variable', () => {
    const cfg = parse({
      env: { VERSIONGATE_PORT: '9090', VERSIONGATE_REGION: 'eu-west-2', VERSIONGATE_DATA_DIR: 'from-env' },
      flags: { port: '7070', region: 'ap-southeast-1', 'data-dir': 'from-flag' },
    });
    expect(cfg.port).toBe(7070);
    expect(cfg.region).toBe('ap-southeast-1');
    expect(cfg.dataDir).toBe(join(cwd, 'from-flag'));
  });

  it('accepts port 0 (pick a free port) and 65535', () => {
    expect(parse({ flags: { port: '0' } }).port).toBe(0);
    expect(parse({ flags: { port: '65535' } }).port).toBe(65535);
  });
});

describe('parseConfig refusals', () => {
  it.each(['abc', '70000', '-1', '80.5', '65536'])('refuses port %j naming VERSIONGATE_PORT', (port) => {
    const message = configError({ flags: { port } });
    expect(message).toBe(`VERSIONGATE_PORT (--port): must be an integer from 0 to 65535, got '${port}'`);
    expect(message.startsWith('VERSIONGATE_PORT (--port)')).toBe(true);
  });

  it('takes a decision cache size, 0 turning the cache off, and refuses one out of range', () => {
    expect(parse({ env: { VERSIONGATE_DECISION_CACHE_SIZE: '0' } }).decisionCacheSize).toBe(0);
    expect(configError({ flags: { 'decision-cache-size': '-1' } })).toBe(
      "VERSIONGATE_DECISION_CACHE_SIZE (--decision-cache-size): must be a whole number of entries from 0 to 1000000, got '-1'",
    );
  });

  it.each(['0', '10001', 'many', '1.5'])('refuses a commit batch of %j naming VERSIONGATE_COMMIT_BATCH', (n) => {
    expect(configError({ env: { VERSIONGATE_COMMIT_BATCH: n } })).toBe(`VERSIONGATE_COMMIT_BATCH (--commit-batch): must be a whole number of writes from 1 to 10000, got '${n}'`);
  });

  it('takes a commit batch of 1 (a transaction per request) from the flag', () => {
    expect(parse({ flags: { 'commit-batch': '1' } }).commitBatch).toBe(1);
  });

  it('keeps the writes on the event loop with --commit-thread off, and refuses anything but on or off', () => {
    expect(parse({ flags: { 'commit-thread': 'off' } }).commitThread).toBe(false);
    expect(configError({ env: { VERSIONGATE_COMMIT_THREAD: 'maybe' } })).toMatch(/^VERSIONGATE_COMMIT_THREAD \(--commit-thread\): /);
  });

  it('refuses a bad port from the environment too', () => {
    expect(configError({ env: { VERSIONGATE_PORT: 'abc' } })).toBe("VERSIONGATE_PORT (--port): must be an integer from 0 to 65535, got 'abc'");
  });

  it.each(['US-EAST-1', 'moon', 'us-east', 'us_east_1'])('refuses region %j naming VERSIONGATE_REGION', (region) => {
    expect(configError({ env: { VERSIONGATE_REGION: region } })).toBe(
      `VERSIONGATE_REGION (--region): not an AWS region name such as us-east-1: '${region}'`,
    );
  });

  it.each(['12345', '1111222233334', 'abcdefghijkl'])('refuses account id %j naming VERSIONGATE_ACCOUNT_ID', (account) => {
    expect(configError({ env: { VERSIONGATE_ACCOUNT_ID: account } })).toBe(`VERSIONGATE_ACCOUNT_ID (--account-id): not a 12-digit account id: '${account}'`);
  });

  it('refuses an unknown log level', () => {
    expect(configError({ flags: { 'log-level': 'verbose' } })).toBe(
      "VERSIONGATE_LOG_LEVEL (--log-level): must be one of debug, info, warn, error, silent; got 'verbose'",
    );
  });

  it('refuses a policy folder that does not exist, naming VERSIONGATE_POLICY_DIR', () => {
    const missing = join(cwd, 'no-such-policies');
    expect(configError({ env: { VERSIONGATE_POLICY_DIR: missing } })).toBe(`VERSIONGATE_POLICY_DIR (--policy-dir): no such directory: ${missing}`);
  });

  it('refuses a policy "folder" that is a file', () => {
    expect(configError({ flags: { 'policy-dir': 'jwks.json' } })).toBe(`VERSIONGATE_POLICY_DIR (--policy-dir): no such directory: ${jwksFile}`);
  });

  it('skips the policy folder check when requirePolicyDir is false', () => {
    const cfg = parse({ env: { VERSIONGATE_POLICY_DIR: 'no-such-policies' }, requirePolicyDir: false });
    expect(cfg.policyDir).toBe(join(cwd, 'no-such-policies'));
  });
});

describe('parseConfig identity provider', () => {
  it('refuses both a JWKS URL and a JWKS file, naming the setting', () => {
    const message = configError({ env: { ...IDP, VERSIONGATE_JWKS_URL: 'https://idp.example.com/jwks', VERSIONGATE_JWKS_FILE: jwksFile } });
    expect(message).toBe('VERSIONGATE_JWKS_FILE (--jwks-file): set either VERSIONGATE_JWKS_URL or VERSIONGATE_JWKS_FILE, not both');
  });

  it('requires VERSIONGATE_ISSUER with a JWKS URL', () => {
    const message = configError({ env: { VERSIONGATE_JWKS_URL: 'https://idp.example.com/jwks', VERSIONGATE_AUDIENCE: 'versiongate-api' } });
    expect(message).toBe('VERSIONGATE_ISSUER (--issuer): required with an identity provider (the `iss` your tokens carry)');
  });

  it('requires VERSIONGATE_AUDIENCE with a JWKS URL', () => {
    const message = configError({ env: { VERSIONGATE_JWKS_URL: 'https://idp.example.com/jwks', VERSIONGATE_ISSUER: 'https://idp.example.com/' } });
    expect(message).toBe('VERSIONGATE_AUDIENCE (--audience): required with an identity provider (the `aud` your tokens carry)');
  });

  it('requires issuer and audience with a JWKS file too, even with --dev', () => {
    expect(configError({ env: { VERSIONGATE_JWKS_FILE: jwksFile }, dev: true })).toMatch(/^VERSIONGATE_ISSUER \(--issuer\): /);
    expect(configError({ env: { VERSIONGATE_JWKS_FILE: jwksFile, VERSIONGATE_ISSUER: 'iss' }, dev: true })).toMatch(/^VERSIONGATE_AUDIENCE \(--audience\): /);
  });

  it('accepts an https JWKS URL', () => {
    const cfg = parse({ env: { ...IDP, VERSIONGATE_JWKS_URL: 'https://idp.example.com/.well-known/jwks.json' }, dev: false });
    expect(cfg.auth.mode).toBe('jwks-url');
    if (cfg.auth.mode !== 'jwks-url') throw new Error('unreachable');
    expect(cfg.auth.url.href).toBe('https://idp.example.com/.well-known/jwks.json');
    expect(cfg.auth.issuer).toBe('https://idp.example.com/');
    expect(cfg.auth.audience).toBe('versiongate-api');
  });

  it.each(['http://idp.example.com/jwks', 'http://10.0.0.5/jwks', 'ftp://127.0.0.1/jwks'])('refuses %j (plain http to a non-loopback host, or not http at all)', (url) => {
    expect(configError({ env: { ...IDP, VERSIONGATE_JWKS_URL: url }, dev: false })).toBe(
      'VERSIONGATE_JWKS_URL (--jwks-url): must be https:// (plain http is accepted only for a loopback address)',
    );
  });

  it.each(['http://127.0.0.1:9000/jwks', 'http://localhost:9000/jwks', 'http://[::1]:9000/jwks'])('accepts plain http to loopback %j', (url) => {
    const cfg = parse({ env: { ...IDP, VERSIONGATE_JWKS_URL: url }, dev: false });
    expect(cfg.auth.mode).toBe('jwks-url');
    if (cfg.auth.mode !== 'jwks-url') throw new Error('unreachable');
    expect(cfg.auth.url.href).toBe(url);
  });

  it('refuses a JWKS URL that is not a URL', () => {
    expect(configError({ env: { ...IDP, VERSIONGATE_JWKS_URL: 'not a url' } })).toBe("VERSIONGATE_JWKS_URL (--jwks-url): not a URL: 'not a url'");
  });

  it('accepts an existing JWKS file, resolved against cwd', () => {
    const cfg = parse({ env: IDP, flags: { 'jwks-file': 'jwks.json' }, dev: false });
    expect(cfg.auth).toEqual({ mode: 'jwks-file', file: jwksFile, issuer: IDP.VERSIONGATE_ISSUER, audience: IDP.VERSIONGATE_AUDIENCE });
  });

  it('refuses a JWKS file that does not exist, naming VERSIONGATE_JWKS_FILE', () => {
    expect(configError({ env: { ...IDP, VERSIONGATE_JWKS_FILE: 'missing.json' } })).toBe(
      `VERSIONGATE_JWKS_FILE (--jwks-file): no such file: ${join(cwd, 'missing.json')}`,
    );
  });

  it('refuses to start with no identity provider and no --dev, pointing at --dev', () => {
    const message = configError({ dev: false });
    expect(message).toBe(
      'No identity provider is configured, so no token could be trusted. Set VERSIONGATE_JWKS_URL or ' +
        'VERSIONGATE_JWKS_FILE (with VERSIONGATE_ISSUER and VERSIONGATE_AUDIENCE), or start with --dev ' +
        '(`npm start`) to use a local development signing key.',
    );
    expect(message).toContain('--dev');
  });

  it('uses the development key with --dev and no identity provider', () => {
    expect(parse({ dev: true }).auth).toEqual({ mode: 'dev', issuer: 'urn:versiongate:dev', audience: 'versiongate' });
    expect(DEV_ISSUER).toBe('urn:versiongate:dev');
    expect(DEV_AUDIENCE).toBe('versiongate');
  });

  it('prefers a configured identity provider over --dev', () => {
    const cfg = parse({ env: { ...IDP, VERSIONGATE_JWKS_URL: 'https://idp.example.com/jwks' }, dev: true });
    expect(cfg.auth.mode).toBe('jwks-url');
  });
});

describe('the database setting', () => {
  const parseWith = (env: Record<string, string>) => parseConfig({ env, flags: {}, dev: true, requirePolicyDir: false });
  it('keeps the embedded SQLite unless a postgres:// URL is given, with its pool size and statement time limit', () => {
    expect(parseWith({}).database).toEqual({ kind: 'sqlite' });
    expect(parseWith({ VERSIONGATE_DATABASE_URL: 'postgres://u:p@db:5432/vg', VERSIONGATE_DATABASE_POOL_SIZE: '4' }).database).toEqual({ kind: 'postgres', url: 'postgres://u:p@db:5432/vg', poolSize: 4, timeoutMs: 30_000 });
    expect(parseWith({ VERSIONGATE_DATABASE_URL: 'postgres://u:p@db:5432/vg', VERSIONGATE_DATABASE_TIMEOUT: '5' }).database).toMatchObject({ timeoutMs: 5_000 });
    expect(() => parseWith({ VERSIONGATE_DATABASE_TIMEOUT: '0' })).toThrow(/^VERSIONGATE_DATABASE_TIMEOUT \(--database-timeout\): must be a whole number of seconds from 1 to 3600, got '0'/);
  });
  it('refuses another scheme, and never repeats the URL (it may hold a password)', () => {
    expect(() => parseWith({ VERSIONGATE_DATABASE_URL: 'mysql://u:secret@db/vg' })).toThrow(/^VERSIONGATE_DATABASE_URL \(--database-url\): must be a postgres:\/\/ URL/);
    expect(() => parseWith({ VERSIONGATE_DATABASE_URL: 'mysql://u:secret@db/vg' })).not.toThrow(/secret/);
    expect(() => parseWith({ VERSIONGATE_DATABASE_POOL_SIZE: '0' })).toThrow(/VERSIONGATE_DATABASE_POOL_SIZE/);
  });
});

describe('VERSIONGATE_* variables that are not settings', () => {
  it('refuses one a letter or two from a setting, naming the setting (a misspelt bound is never silently off)', () => {
    expect(configError({ env: { VERSIONGATE_MAX_TOKEN_AG: '1h' } })).toBe("VERSIONGATE_MAX_TOKEN_AG is not a setting (did you mean 'VERSIONGATE_MAX_TOKEN_AGE'?). Rename it, or unset it.");
    expect(configError({ env: { VERSIONGATE_JWKS_FLIE: '/x', VERSIONGATE_POTR: '9' } })).toBe(
      "VERSIONGATE_JWKS_FLIE is not a setting (did you mean 'VERSIONGATE_JWKS_FILE'?); VERSIONGATE_POTR is not a setting (did you mean 'VERSIONGATE_PORT'?). Rename it, or unset it.",
    );
  });

  it('refuses the same words in another order, the start of a setting\'s name, and a setting in lower case', () => {
    expect(configError({ env: { VERSIONGATE_TOKEN_MAX_AGE: '1h' } })).toBe("VERSIONGATE_TOKEN_MAX_AGE is not a setting (did you mean 'VERSIONGATE_MAX_TOKEN_AGE'?). Rename it, or unset it.");
    expect(configError({ env: { VERSIONGATE_DATABASE: 'postgres://db/vg' } })).toBe(
      "VERSIONGATE_DATABASE is not a setting (did you mean 'VERSIONGATE_DATABASE_URL', 'VERSIONGATE_DATABASE_POOL_SIZE' or 'VERSIONGATE_DATABASE_TIMEOUT'?). Rename it, or unset it.",
    );
    expect(configError({ env: { VERSIONGATE_JWKS: 'https://idp/jwks' } })).toContain("(did you mean 'VERSIONGATE_JWKS_URL' or 'VERSIONGATE_JWKS_FILE'?)");
    expect(configError({ env: { versiongate_port: '9000' } })).toBe("versiongate_port is not a setting (did you mean 'VERSIONGATE_PORT'?). Rename it, or unset it.");
  });

  it('refuses a setting with its words shortened (a database URL given as VERSIONGATE_DB_URL left the gateway on SQLite)', () => {
    expect(configError({ env: { VERSIONGATE_DB_URL: 'postgres://db/vg' } })).toBe("VERSIONGATE_DB_URL is not a setting (did you mean 'VERSIONGATE_DATABASE_URL'?). Rename it, or unset it.");
    expect(configError({ env: { VERSIONGATE_MAX_CONNS: '100' } })).toContain("(did you mean 'VERSIONGATE_MAX_CONNECTIONS'?)");
    expect(configError({ env: { VERSIONGATE_MAX_TOK_AGE: '1h' } })).toContain("(did you mean 'VERSIONGATE_MAX_TOKEN_AGE'?)");
    expect(configError({ env: { versiongate_db_pool_size: '4' } })).toContain("(did you mean 'VERSIONGATE_DATABASE_POOL_SIZE'?)");
    // Words of one's own that merely share a first letter are no abbreviation: reported, not refused.
    expect(parse({ env: { VERSIONGATE_DEPLOY_UNIT: 'x' } }).environmentNotices).toEqual(['VERSIONGATE_DEPLOY_UNIT is not a setting versiongate reads: ignored']);
  });

  it('leaves alone the service links of a Service named versiongate-anything (versiongate-metrics, versiongate-x)', () => {
    const config = parse({
      env: {
        VERSIONGATE_METRICS_SERVICE_HOST: '10.96.0.13',
        VERSIONGATE_METRICS_SERVICE_PORT: '9464',
        VERSIONGATE_METRICS_PORT: 'tcp://10.96.0.13:9464',
        VERSIONGATE_METRICS_PORT_9464_TCP: 'tcp://10.96.0.13:9464',
        VERSIONGATE_METRICS_PORT_9464_TCP_ADDR: '10.96.0.13',
        VERSIONGATE_X_PORT: 'tcp://10.96.0.14:80',
        VERSIONGATE_X_SERVICE_HOST: '10.96.0.14',
      },
    });
    expect(config.environmentNotices).toEqual([]);
    // The same name with a value that is no link is what it looks like: a mistyped VERSIONGATE_PORT.
    expect(configError({ env: { VERSIONGATE_X_PORT: '9000' } })).toContain("VERSIONGATE_X_PORT is not a setting (did you mean 'VERSIONGATE_PORT'?)");
  });

  it('reports, and does not refuse, one that resembles no setting; the client commands\' variables are not reported', () => {
    const config = parse({ env: { VERSIONGATE_TEAM_NOTE: 'x', VERSIONGATE_ENDPOINT: 'http://127.0.0.1:8080', VERSIONGATE_TOKEN: 'ey…' } });
    expect(config.environmentNotices).toEqual(['VERSIONGATE_TEAM_NOTE is not a setting versiongate reads: ignored']);
  });

  it("starts beside a Kubernetes Service named versiongate: its service links are left alone, and VERSIONGATE_PORT's tcp:// link is not read as the port", () => {
    const config = parse({
      env: {
        VERSIONGATE_PORT: 'tcp://10.96.0.12:8080',
        VERSIONGATE_SERVICE_HOST: '10.96.0.12',
        VERSIONGATE_SERVICE_PORT: '8080',
        VERSIONGATE_SERVICE_PORT_HTTP: '8080',
        VERSIONGATE_PORT_8080_TCP: 'tcp://10.96.0.12:8080',
        VERSIONGATE_PORT_8080_TCP_PROTO: 'tcp',
        VERSIONGATE_PORT_8080_TCP_PORT: '8080',
        VERSIONGATE_PORT_8080_TCP_ADDR: '10.96.0.12',
      },
      flags: { port: '9000' },
    });
    expect(config.port).toBe(9000);
    expect(config.environmentNotices).toEqual([
      "VERSIONGATE_PORT holds 'tcp://10.96.0.12:8080', a Kubernetes service link (a Service named versiongate), not a port: ignored; give the port with --port, or set enableServiceLinks: false on the pod",
    ]);
    expect(parse({ env: { VERSIONGATE_PORT: 'tcp://10.96.0.12:8080' } }).port).toBe(8080);
    // Anything else that is not a port is still refused.
    expect(configError({ env: { VERSIONGATE_PORT: 'http://10.96.0.12:8080' } })).toContain('VERSIONGATE_PORT (--port): must be an integer');
  });
});
