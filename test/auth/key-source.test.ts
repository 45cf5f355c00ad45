/**
 * Where signing keys come from. A key source that cannot be reached is a 503 (retry later), never a
 * 401 and never a pass; a token naming a key the source does not have is a 401. A JWKS file with
 * private or symmetric key material stops the start with a ConfigError naming the setting.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { JWKS_BACKOFF_MS, KeySourceUnavailable, keySourceFor, readJwksFile } from '../../src/auth/key-source.ts';
import { createTokenVerifier, type TokenVerifier } from '../../src/auth/verify-token.ts';
import { fixedClock } from '../../src/clock.ts';
import { ConfigError, ServiceUnavailableError, UnauthenticatedError } from '../../src/errors.ts';
import { createApp } from '../../src/app.ts';
import { silentLogger } from '../../src/log.ts';
import { PolicyEngine } from '../../src/policy/engine.ts';
import { loadPolicyDir } from '../../src/policy/load-policies.ts';
import { openBlobStore } from '../../src/store/blob-store.ts';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import type { Store } from '../../src/store/store.ts';
import { seedDemo } from '../../src/cli/seed-demo.ts';
import { CHALK, REPO_POLICIES, UPDATE } from '../helpers/gateway.ts';
import { rejectionOf } from '../helpers/rejection.ts';

const ISSUER = 'https://idp.example.test/';
const AUDIENCE = 'versiongate-api';
const NOW_ISO = '2025-03-01T12:00:00.000Z';
const NOW = Math.floor(Date.parse(NOW_ISO) / 1000);
const KID = 'idp-key-1';


function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected the call to throw, but it returned');
}

let privateKey: CryptoKey;
let publicJwk: JWK;
let otherPublicJwk: JWK;

const signToken = (kid = KID, key: CryptoKey = privateKey) =>
  new SignJWT({ iss: ISSUER, aud: AUDIENCE, sub: 'alice', iat: NOW, exp: NOW + 600, groups: ['release-managers'] })
    .setProtectedHeader({ alg: 'ES256', kid, typ: 'JWT' })
    .sign(key);

beforeAll(async () => {
  const pair = await generateKeyPair('ES256');
  privateKey = pair.privateKey;
  publicJwk = { ...(await exportJWK(pair.publicKey)), kid: KID, alg: 'ES256', use: 'sig' };
  const other = await generateKeyPair('ES256');
  otherPublicJwk = { ...(await exportJWK(other.publicKey)), kid: 'idp-key-other', alg: 'ES256', use: 'sig' };
});

describe('readJwksFile', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'versiongate-keysource-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const write = (name: string, content: unknown): string => {
    const file = join(dir, name);
    writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
    return file;
  };

  const expectConfigError = (file: string, fragment: string): ConfigError => {
    const err = thrownBy(() => readJwksFile(file));
    expect(err).toBeInstanceOf(ConfigError);
    const e = err as ConfigError;
    expect(e.name).toBe('ConfigError');
    expect(e.message.startsWith('VERSIONGATE_JWKS_FILE (--jwks-file): ')).toBe(true);
    expect(e.message).toContain(file);
    expect(e.message).toContain(fragment);
    return e;
  };

  it('returns a set of public keys as it is', () => {
    const file = write('public.json', { keys: [publicJwk, otherPublicJwk] });
    expect(readJwksFile(file)).toEqual({ keys: [publicJwk, otherPublicJwk] });
  });

  it('refuses a set holding a private EC key ("d")', async () => {
    const { privateKey: pk } = await generateKeyPair('ES256', { extractable: true });
    const privateJwk = { ...(await exportJWK(pk)), kid: 'leaked-private' };
    expect(privateJwk.d).toEqual(expect.any(String));
    const file = write('private.json', { keys: [publicJwk, privateJwk] });
    const e = expectConfigError(file, 'private or symmetric key material (kid leaked-private)');
    // The private key itself is not repeated in the message.
    expect(e.message).not.toContain(privateJwk.d!);
  });

  it('refuses a set holding a private RSA key ("d")', async () => {
    const { privateKey: pk } = await generateKeyPair('RS256', { extractable: true });
    const privateJwk = { ...(await exportJWK(pk)), kid: 'rsa-private' };
    const file = write('private-rsa.json', { keys: [privateJwk] });
    expectConfigError(file, 'private or symmetric key material (kid rsa-private)');
  });

  it('refuses a set holding a shared secret (kty "oct")', () => {
    const file = write('oct.json', { keys: [publicJwk, { kty: 'oct', k: 'c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0', kid: 'hmac-1', alg: 'HS256' }] });
    const e = expectConfigError(file, 'private or symmetric key material (kid hmac-1)');
    expect(e.message).not.toContain('c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0');
  });

  it('refuses JSON that is not a JWK set', () => {
    expectConfigError(write('object.json', { kty: 'EC', crv: 'P-256', x: publicJwk.x, y: publicJwk.y }), 'is not a JWK set with at least one key');
    expectConfigError(write('keys-not-array.json', { keys: publicJwk }), 'is not a JWK set with at least one key');
    expectConfigError(write('array.json', [publicJwk]), 'is not a JWK set with at least one key');
  });

  it('refuses a file whose JSON is null, with a ConfigError (not a TypeError)', () => {
    expectConfigError(write('null.json', 'null'), 'is not a JWK set with at least one key');
  });

  it('refuses a set whose keys are not objects, with a ConfigError (not a TypeError)', () => {
    for (const [name, keys] of [['null-key.json', [null]], ['string-key.json', ['not-a-key']], ['number-key.json', [publicJwk, 7]]] as const) {
      const err = thrownBy(() => readJwksFile(write(name, { keys })));
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message.startsWith('VERSIONGATE_JWKS_FILE (--jwks-file): ')).toBe(true);
    }
  });

  it('refuses an empty key set', () => {
    expectConfigError(write('empty.json', { keys: [] }), 'is not a JWK set with at least one key');
  });

  it('refuses a file that is not JSON, and one that does not exist', () => {
    expectConfigError(write('not-json.json', 'keys: [nope]'), 'cannot read');
    expectConfigError(join(dir, 'missing.json'), 'cannot read');
  });

  it('keySourceFor jwks-file reads the file at once, so a bad file stops the start', () => {
    const file = write('private-again.json', { keys: [{ ...publicJwk, d: 'AAAA' }] });
    const err = thrownBy(() => keySourceFor({ mode: 'jwks-file', file, issuer: ISSUER, audience: AUDIENCE }));
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain('VERSIONGATE_JWKS_FILE');
  });
});

describe('keySourceFor dev', () => {
  it('needs the development key', () => {
    const err = thrownBy(() => keySourceFor({ mode: 'dev', issuer: ISSUER, audience: AUDIENCE }));
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toBe('development mode needs the development key');
  });
});

describe('keySourceFor jwks-url', () => {
  type Handler = (req: IncomingMessage, res: ServerResponse) => void;
  const servers: Server[] = [];
  const hits = new Map<Server, string[]>();

  async function serve(handler: Handler): Promise<{ url: URL; server: Server }> {
    const server = createServer((req, res) => {
      hits.get(server)!.push(req.url ?? '');
      handler(req, res);
    });
    hits.set(server, []);
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    return { url: new URL(`http://127.0.0.1:${port}/jwks.json`), server };
  }

  const verifierFor = (url: URL): TokenVerifier =>
    createTokenVerifier({
      keySource: keySourceFor({ mode: 'jwks-url', url, issuer: ISSUER, audience: AUDIENCE }),
      issuer: ISSUER,
      audience: AUDIENCE,
      groupsClaim: 'groups',
      clock: fixedClock(NOW_ISO),
      clockToleranceSeconds: 0,
    });

  const json = (body: unknown): Handler => (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };

  async function expectUnavailable(p: Promise<unknown>): Promise<ServiceUnavailableError> {
    const err = await rejectionOf(p);
    expect(err).not.toBeInstanceOf(UnauthenticatedError);
    expect(err).toBeInstanceOf(ServiceUnavailableError);
    const e = err as ServiceUnavailableError;
    expect(e.status).toBe(503);
    expect(e.type).toBe('ServiceUnavailableException');
    expect(e.headers()).toEqual({ 'retry-after': '5' });
    expect(e.message).toBe("The identity provider's signing keys cannot be fetched right now; try again later.");
    expect(e.cause).toBeInstanceOf(KeySourceUnavailable);
    return e;
  }

  afterAll(async () => {
    await Promise.all(
      servers.map(
        (s) =>
          new Promise<void>((resolve) => {
            s.closeAllConnections();
            s.close(() => resolve());
          }),
      ),
    );
  });

  it('a JWKS URL answering 500 is a 503 (ServiceUnavailableError), not a 401', async () => {
    const { url, server } = await serve((_req, res) => {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('internal error');
    });
    const e = await expectUnavailable(verifierFor(url).verify(await signToken()));
    expect((e.cause as Error).message).toBe(`cannot get signing keys from JWKS ${url.href}`);
    expect(hits.get(server)).toEqual(['/jwks.json']);
  });

  it('a JWKS URL answering 200 with something that is not a JWK set is a 503', async () => {
    const { url } = await serve(json({ keys: 'nope' }));
    await expectUnavailable(verifierFor(url).verify(await signToken()));
  });

  it('a JWKS URL answering 200 with a body that is not JSON is a 503', async () => {
    const { url } = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('<html>login page</html>');
    });
    await expectUnavailable(verifierFor(url).verify(await signToken()));
  });

  it('a JWKS URL where nothing listens is a 503', async () => {
    const { url, server } = await serve(json({ keys: [publicJwk] }));
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await expectUnavailable(verifierFor(url).verify(await signToken()));
  });

  it('a JWKS URL that drops the connection is a 503', async () => {
    const { url } = await serve((req) => req.socket.destroy());
    await expectUnavailable(verifierFor(url).verify(await signToken()));
  });

  it('a JWKS URL answering a valid key set verifies a good token', async () => {
    const { url, server } = await serve(json({ keys: [otherPublicJwk, publicJwk] }));
    const verifier = verifierFor(url);
    expect(await verifier.verify(await signToken())).toEqual({ issuer: ISSUER, subject: 'alice', groups: ['release-managers'] });
    expect(hits.get(server)).toEqual(['/jwks.json']);
    // The key set is cached: a second token does not fetch again.
    expect((await verifier.verify(await signToken())).subject).toBe('alice');
    expect(hits.get(server)).toEqual(['/jwks.json']);
  });

  it('a JWKS URL answering a set without the token kid: 401 ERR_JWKS_NO_MATCHING_KEY, not a 503', async () => {
    const { url } = await serve(json({ keys: [otherPublicJwk] }));
    const err = await rejectionOf(verifierFor(url).verify(await signToken()));
    expect(err).not.toBeInstanceOf(ServiceUnavailableError);
    expect(err).toBeInstanceOf(UnauthenticatedError);
    expect((err as UnauthenticatedError).code).toBe('ERR_JWKS_NO_MATCHING_KEY');
    expect((err as UnauthenticatedError).status).toBe(401);
  });

  it('a JWKS URL key set with the kid but another key: 401 ERR_JWS_SIGNATURE_VERIFICATION_FAILED', async () => {
    const { url } = await serve(json({ keys: [{ ...otherPublicJwk, kid: KID }] }));
    const err = await rejectionOf(verifierFor(url).verify(await signToken()));
    expect(err).toBeInstanceOf(UnauthenticatedError);
    expect((err as UnauthenticatedError).code).toBe('ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
  });

  it('after an outage the JWKS URL is fetched again: 503 first, then the token verifies', async () => {
    let up = false;
    const { url, server } = await serve((req, res) => {
      if (!up) {
        res.writeHead(503);
        res.end();
        return;
      }
      json({ keys: [publicJwk] })(req, res);
    });
    const verifier = verifierFor(url);
    const token = await signToken();
    await expectUnavailable(verifier.verify(token));
    up = true;
    // Within the backoff after a failed fetch, the URL is not asked again (JWKS_BACKOFF_MS).
    await expectUnavailable(verifier.verify(token));
    expect(hits.get(server)).toEqual(['/jwks.json']);
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(Date.now() + JWKS_BACKOFF_MS + 1);
      expect((await verifier.verify(token)).subject).toBe('alice');
    } finally {
      vi.useRealTimers();
    }
    expect(hits.get(server)).toEqual(['/jwks.json', '/jwks.json']);
  });

  it('a token refused before any key is needed does not reach the JWKS URL', async () => {
    const { url, server } = await serve(json({ keys: [publicJwk] }));
    const err = await rejectionOf(verifierFor(url).verify('x'.repeat(9000)));
    expect(err).toBeInstanceOf(UnauthenticatedError);
    expect((err as UnauthenticatedError).code).toBe('ERR_TOKEN_TOO_LARGE');
    expect(hits.get(server)).toEqual([]);
  });
});

describe('over HTTP: an unreachable JWKS URL', () => {
  let dataDir: string;
  let store: Store;
  let app: ReturnType<typeof createApp>;
  let server: Server;
  const clock = fixedClock(NOW_ISO);
  const CHALK_KEY = { domainOwner: '111122223333', domain: 'my_domain', repository: 'my_repo', format: 'npm' as const, namespace: '', name: 'chalk' };

  beforeAll(async () => {
    server = createServer((_req, res) => {
      res.writeHead(500);
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    dataDir = mkdtempSync(join(tmpdir(), 'versiongate-503-'));
    cpSync(REPO_POLICIES, join(dataDir, 'policies'), { recursive: true });
    const engine = new PolicyEngine(loadPolicyDir(join(dataDir, 'policies')));
    store = openSqliteStore({ file: join(dataDir, 'versiongate.db'), clock });
    const blobs = openBlobStore(join(dataDir, 'blobs'));
    await seedDemo(store, blobs);
    const url = new URL(`http://127.0.0.1:${port}/jwks.json`);
    const verifier = createTokenVerifier({
      keySource: keySourceFor({ mode: 'jwks-url', url, issuer: ISSUER, audience: AUDIENCE }),
      issuer: ISSUER,
      audience: AUDIENCE,
      groupsClaim: 'groups',
      clock,
      clockToleranceSeconds: 0,
    });
    app = createApp({ store, blobs, authorizer: () => engine, clock, region: 'us-east-1', logger: silentLogger, verifier });
  });
  afterAll(async () => {
    await store?.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('is a 503 ServiceUnavailableException with Retry-After, audited, and changes nothing', async () => {
    const token = await signToken();
    const res = await app.request(`${UPDATE}?${CHALK}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ versions: ['4.1.0'], targetStatus: 'Archived' }),
    });
    expect(res.status).toBe(503);
    expect(res.headers.get('x-amzn-errortype')).toBe('ServiceUnavailableException');
    expect(res.headers.get('retry-after')).toBe('5');
    expect(res.headers.get('www-authenticate')).toBeNull();
    expect(await res.json()).toEqual({ message: "The identity provider's signing keys cannot be fetched right now; try again later." });
    const [record] = await store.listAudit({ limit: 10 });
    expect(record!.decision).toBe('unauthenticated');
    expect(record!.reason).toBe('KEY_SOURCE_UNAVAILABLE');
    expect(record!.principal).toBeNull();
    expect(record!.httpStatus).toBe(503);
    expect(record!.resource).toBe('arn:aws:codeartifact:us-east-1:111122223333:package/my_domain/my_repo/npm//chalk');
    expect(JSON.stringify(record)).not.toContain(token.split('.')[2]!);
    const snapshot = await store.readPackage(CHALK_KEY, ['4.1.0']);
    expect(snapshot.versions.get('4.1.0')?.status).toBe('Published');
  });
});
