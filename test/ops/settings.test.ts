/** The operations settings: defaults, env and flag forms, and a message naming the setting for bad values. */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, SETTINGS, type Config } from '../../src/config.ts';
import { ConfigError } from '../../src/errors.ts';

let cwd: string;
beforeAll(() => {
  cwd = mkdtempSync(join(tmpdir(), 'versiongate-ops-config-'));
  mkdirSync(join(cwd, 'policies'));
});
afterAll(() => rmSync(cwd, { recursive: true, force: true }));

const parse = (env: Record<string, string> = {}, flags: Record<string, string> = {}): Config => parseConfig({ env, flags, dev: true, cwd });
function failure(env: Record<string, string>, flags: Record<string, string> = {}): string {
  try {
    parse(env, flags);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('operations settings', () => {
  it('has documented defaults', () => {
    const cfg = parse();
    expect(cfg.metrics).toEqual({ mode: 'on' });
    expect(cfg.shutdownGraceMs).toBe(10_000);
    expect(cfg.limits).toEqual({ maxConnections: 'auto', maxHeaderBytes: 16384, headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, keepAliveTimeoutMs: 5_000, requestDeadlineMs: 30_000, maxAssetBytes: 1024 ** 3, refusalDrainBytes: 1024 ** 2 });
  });

  it('reads each from its environment variable, and the flag wins', () => {
    const cfg = parse(
      {
        VERSIONGATE_SHUTDOWN_GRACE: '3',
        VERSIONGATE_REQUEST_DEADLINE: '7',
        VERSIONGATE_REQUEST_TIMEOUT: '20',
        VERSIONGATE_HEADERS_TIMEOUT: '4',
        VERSIONGATE_KEEP_ALIVE_TIMEOUT: '61',
        VERSIONGATE_MAX_HEADER_SIZE: '8192',
        VERSIONGATE_METRICS: 'off',
        VERSIONGATE_REFUSAL_DRAIN: '65536',
        VERSIONGATE_MAX_CONNECTIONS: '2000',
      },
      { 'shutdown-grace': '0', metrics: '0.0.0.0:9464' },
    );
    expect(cfg.shutdownGraceMs).toBe(0);
    expect(cfg.metrics).toEqual({ mode: 'listen', host: '0.0.0.0', port: 9464 });
    expect(cfg.limits).toEqual({ maxConnections: 2000, maxHeaderBytes: 8192, headersTimeoutMs: 4_000, requestTimeoutMs: 20_000, keepAliveTimeoutMs: 61_000, requestDeadlineMs: 7_000, maxAssetBytes: 1024 ** 3, refusalDrainBytes: 65536 });
  });

  it('accepts a bracketed IPv6 metrics listener', () => {
    expect(parse({ VERSIONGATE_METRICS: '[::1]:9464' }).metrics).toEqual({ mode: 'listen', host: '::1', port: 9464 });
  });

  it('names the setting for a bad value', () => {
    expect(failure({ VERSIONGATE_SHUTDOWN_GRACE: '10s' })).toBe("VERSIONGATE_SHUTDOWN_GRACE (--shutdown-grace): must be a whole number of seconds from 0 to 3600, got '10s'");
    expect(failure({ VERSIONGATE_REQUEST_DEADLINE: '0' })).toBe("VERSIONGATE_REQUEST_DEADLINE (--request-deadline): must be a whole number of seconds from 1 to 3600, got '0'");
    expect(failure({}, { 'keep-alive-timeout': '-1' })).toBe("VERSIONGATE_KEEP_ALIVE_TIMEOUT (--keep-alive-timeout): must be a whole number of seconds from 1 to 3600, got '-1'");
    expect(failure({ VERSIONGATE_MAX_HEADER_SIZE: '100' })).toBe("VERSIONGATE_MAX_HEADER_SIZE (--max-header-size): must be a number of bytes from 1024 to 1048576, got '100'");
    expect(failure({ VERSIONGATE_REFUSAL_DRAIN: '1MiB' })).toBe("VERSIONGATE_REFUSAL_DRAIN (--refusal-drain): must be a number of bytes from 0 to 67108864, got '1MiB'");
    expect(failure({}, { 'refusal-drain': String(64 * 1024 ** 2 + 1) })).toBe("VERSIONGATE_REFUSAL_DRAIN (--refusal-drain): must be a number of bytes from 0 to 67108864, got '67108865'");
    for (const bad of ['0', 'none', '1e3', '1000001']) {
      expect(failure({ VERSIONGATE_MAX_CONNECTIONS: bad })).toBe(`VERSIONGATE_MAX_CONNECTIONS (--max-connections): must be auto or a number of connections from 1 to 1000000, got '${bad}'`);
    }
    expect(failure({ VERSIONGATE_HEADERS_TIMEOUT: '60' })).toBe('VERSIONGATE_HEADERS_TIMEOUT (--headers-timeout): must not be longer than VERSIONGATE_REQUEST_TIMEOUT (30 s), got 60 s');
    for (const bad of ['yes', '9464', 'localhost:99999', 'host:port']) {
      expect(failure({ VERSIONGATE_METRICS: bad })).toBe(`VERSIONGATE_METRICS (--metrics): must be on, off, or HOST:PORT for a separate listener (such as 127.0.0.1:9464), got '${bad}'`);
    }
  });

  it('has an environment variable and a flag for every setting', () => {
    for (const name of ['metrics', 'shutdownGrace', 'requestDeadline', 'requestTimeout', 'headersTimeout', 'keepAliveTimeout', 'maxHeaderSize', 'refusalDrain', 'maxConnections'] as const) {
      expect(SETTINGS[name].env).toMatch(/^VERSIONGATE_[A-Z_]+$/);
      expect(SETTINGS[name].flag).toMatch(/^[a-z-]+$/);
    }
  });
});
