/** VERSIONGATE_CONSOLE_CLIENT_ID: checked once at start, with a message naming the setting. */
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configParser } from '../helpers/parse-config.ts';

const { parse, configError } = configParser(() => resolve(import.meta.dirname, '../..'));

describe('VERSIONGATE_CONSOLE_CLIENT_ID', () => {
  it('is unset by default: sign-in by pasting a token only', () => {
    expect(parse().consoleClientId).toBeUndefined();
  });

  it('takes a client id with an https issuer, or http on loopback', () => {
    expect(parse({ env: { VERSIONGATE_CONSOLE_CLIENT_ID: 'console', VERSIONGATE_ISSUER: 'https://idp.example.com/realms/x' } }).consoleClientId).toBe('console');
    expect(parse({ flags: { 'console-client-id': 'console', issuer: 'http://127.0.0.1:9000' } }).consoleClientId).toBe('console');
  });

  it('refuses a client id without an issuer, with a plain-http issuer, or with spaces', () => {
    expect(configError({ env: { VERSIONGATE_CONSOLE_CLIENT_ID: 'console' } })).toBe(
      'VERSIONGATE_CONSOLE_CLIENT_ID (--console-client-id): needs VERSIONGATE_ISSUER, whose discovery document names the authorization and token endpoints',
    );
    expect(configError({ env: { VERSIONGATE_CONSOLE_CLIENT_ID: 'console', VERSIONGATE_ISSUER: 'http://idp.example.com' } })).toMatch(/must be an https:\/\/ URL/);
    expect(configError({ env: { VERSIONGATE_CONSOLE_CLIENT_ID: 'my console', VERSIONGATE_ISSUER: 'https://idp.example.com' } })).toMatch(/not a client id/);
    expect(configError({ env: { VERSIONGATE_CONSOLE_CLIENT_ID: 'console', VERSIONGATE_ISSUER: 'urn:versiongate:dev' } })).toMatch(/must be an https:\/\/ URL/);
  });
});
