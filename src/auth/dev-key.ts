/**
 * The local development signing key: generated on first use, kept in the data directory (mode 0600),
 * never committed. Only `serve --dev` with no identity provider trusts it.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, importJWK, SignJWT, type CryptoKey, type JWK } from 'jose';
import type { Clock } from '../clock.ts';

export const DEV_KEY_FILE = 'dev-signing-key.json';
const ALG = 'ES256';

export interface DevKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
  path: string;
  created: boolean;
}

export async function loadOrCreateDevKey(dataDir: string): Promise<DevKey> {
  const path = join(dataDir, DEV_KEY_FILE);
  let created = false;
  if (!existsSync(path)) {
    mkdirSync(dataDir, { recursive: true });
    const { privateKey } = await generateKeyPair(ALG, { extractable: true });
    const jwk = { ...(await exportJWK(privateKey)), kid: randomUUID(), alg: ALG, use: 'sig' };
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(jwk, null, 2) + '\n', { mode: 0o600 });
    renameSync(tmp, path);
    created = true;
  }
  const jwk = JSON.parse(readFileSync(path, 'utf8')) as JWK;
  if (!jwk.kid || !jwk.d) throw new Error(`${path} is not a private JWK with a kid; delete it to generate a new one`);
  const privateKey = (await importJWK(jwk, ALG)) as CryptoKey;
  const { d: _private, ...publicJwk } = jwk;
  return { kid: jwk.kid, privateKey, publicJwk, path, created };
}

export interface MintOptions {
  key: DevKey;
  issuer: string;
  audience: string;
  subject: string;
  groups: string[];
  groupsClaim: string;
  ttlSeconds: number;
  clock: Clock;
}

export async function mintDevToken(o: MintOptions): Promise<string> {
  const now = Math.floor(o.clock.now().getTime() / 1000);
  return new SignJWT({ [o.groupsClaim]: o.groups })
    .setProtectedHeader({ alg: ALG, kid: o.key.kid, typ: 'JWT' })
    .setIssuer(o.issuer)
    .setAudience(o.audience)
    .setSubject(o.subject)
    .setIssuedAt(now)
    .setNotBefore(now)
    .setExpirationTime(now + o.ttlSeconds)
    .setJti(randomUUID())
    .sign(o.key.privateKey);
}
