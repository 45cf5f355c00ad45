/**
 * The token settings: VERSIONGATE_TOKEN_CACHE_SIZE (--token-cache-size) and VERSIONGATE_MAX_TOKEN_AGE
 * (--max-token-age). Each reads from its variable, the flag wins, and a bad value stops the start
 * with a message naming the setting; `versiongate help` lists both.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { configParser } from '../helpers/parse-config.ts';

let cwd: string;
beforeAll(() => {
  cwd = mkdtempSync(join(tmpdir(), 'versiongate-token-settings-'));
  mkdirSync(join(cwd, 'policies'));
});
afterAll(() => rmSync(cwd, { recursive: true, force: true }));

const { parse, configError } = configParser(() => cwd);

describe('VERSIONGATE_TOKEN_CACHE_SIZE (--token-cache-size)', () => {
  it('is 10000 by default', () => {
    expect(parse().tokenCacheSize).toBe(10_000);
  });

  it('reads the variable; the flag wins; 0 turns the cache off', () => {
    expect(parse({ env: { VERSIONGATE_TOKEN_CACHE_SIZE: '500' } }).tokenCacheSize).toBe(500);
    expect(parse({ env: { VERSIONGATE_TOKEN_CACHE_SIZE: '500' }, flags: { 'token-cache-size': '0' } }).tokenCacheSize).toBe(0);
    expect(parse({ env: { VERSIONGATE_TOKEN_CACHE_SIZE: '' } }).tokenCacheSize).toBe(10_000);
    expect(parse({ flags: { 'token-cache-size': '1000000' } }).tokenCacheSize).toBe(1_000_000);
  });

  it.each(['-1', '1.5', '10k', 'off', '1000001', ' 5'])('refuses %j, naming the setting', (bad) => {
    expect(configError({ env: { VERSIONGATE_TOKEN_CACHE_SIZE: bad } })).toBe(
      `VERSIONGATE_TOKEN_CACHE_SIZE (--token-cache-size): must be a whole number of entries from 0 to 1000000, got '${bad}'`,
    );
  });
});

describe('VERSIONGATE_MAX_TOKEN_AGE (--max-token-age)', () => {
  it('is unset by default: no bound', () => {
    expect(parse().maxTokenAgeSeconds).toBeUndefined();
    expect(parse({ env: { VERSIONGATE_MAX_TOKEN_AGE: '' } }).maxTokenAgeSeconds).toBeUndefined();
  });

  it.each([
    ['1h', 3600],
    ['12h', 43_200],
    ['15m', 900],
    ['90s', 90],
    ['3600', 3600],
    ['7d', 604_800],
    ['365d', 31_536_000],
  ])('reads %s as %i seconds', (text, seconds) => {
    expect(parse({ env: { VERSIONGATE_MAX_TOKEN_AGE: text } }).maxTokenAgeSeconds).toBe(seconds);
  });

  it('the flag wins over the variable', () => {
    expect(parse({ env: { VERSIONGATE_MAX_TOKEN_AGE: '1h' }, flags: { 'max-token-age': '2h' } }).maxTokenAgeSeconds).toBe(7200);
  });

  it.each(['0', '0s', '1w', 'h', '-1h', '1.5h', '366d', 'forever'])('refuses %j, naming the setting', (bad) => {
    expect(configError({ flags: { 'max-token-age': bad } })).toBe(
      `VERSIONGATE_MAX_TOKEN_AGE (--max-token-age): must be a duration from 1s to 365d such as 1h or 12h, got '${bad}'`,
    );
  });
});

describe('versiongate help', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('lists both settings with their variables, and the cache size default', async () => {
    const { main } = await import('../../src/cli/main.ts');
    let out = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out += String(chunk);
      return true;
    });
    expect(await main(['help'])).toBe(0);
    expect(out).toContain('--token-cache-size   VERSIONGATE_TOKEN_CACHE_SIZE (default 10000)\n');
    expect(out).toContain('--max-token-age      VERSIONGATE_MAX_TOKEN_AGE\n');
  });
});
