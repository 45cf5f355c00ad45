/**
 * Token verification as a user of the gateway meets it: which tokens become a principal, which are
 * refused with which stable code, and what a refused request looks like over HTTP (status, headers,
 * body, audit record, unchanged data).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CompactSign, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import { loadOrCreateDevKey, type DevKey } from '../../src/auth/dev-key.ts';
import { keySourceFor, type KeySource } from '../../src/auth/key-source.ts';
import { createTokenVerifier, MAX_TOKEN_LENGTH, type TokenVerifier } from '../../src/auth/verify-token.ts';
import { fixedClock } from '../../src/clock.ts';
import { DEV_AUDIENCE, DEV_ISSUER } from '../../src/config.ts';
import { UnauthenticatedError } from '../../src/errors.ts';
import { CHALK, testGateway, UPDATE, type TestGateway } from '../helpers/gateway.ts';
import { rejectionOf } from '../helpers/rejection.ts';

const ISSUER = 'https://idp.example.test/';
const AUDIENCE = 'versiongate-api';
const NOW_ISO = '2025-03-01T12:00:00.000Z';
const NOW = Math.floor(Date.parse(NOW_ISO) / 1000);

const b64url = (text: string): string => Buffer.from(text, 'utf8').toString('base64url');


/** Asserts a 401 with exactly this code and returns the error. */
async function expectUnauthenticated(p: Promise<unknown>, code: string): Promise<UnauthenticatedError> {
  const err = await rejectionOf(p);
  expect(err).toBeInstanceOf(UnauthenticatedError);
  const e = err as UnauthenticatedError;
  expect(e.code).toBe(code);
  expect(e.status).toBe(401);
  expect(e.type).toBe('UnauthorizedException');
  return e;
}

interface SignOptions {
  key?: CryptoKey;
  kid?: string;
  /** Claims to drop from the defaults (iss, aud, sub, iat, exp). */
  omit?: Array<'iss' | 'aud' | 'sub' | 'iat' | 'exp'>;
}

/** Raw ES256 over header.payload as given, so the JSON texts can be anything (duplicate keys...). */
async function signRawEs256(headerJson: string, payloadJson: string, key: CryptoKey): Promise<string> {
  const input = `${b64url(headerJson)}.${b64url(payloadJson)}`;
  const sig = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, key, new TextEncoder().encode(input));
  return `${input}.${Buffer.from(sig).toString('base64url')}`;
}

// Every case runs without and with the verified-token cache: no answer may depend on it.
describe.each([0, 100])('createTokenVerifier with the development key source (token cache of %i)', (cacheSize) => {
  let dir: string;
  let devKey: DevKey;
  let keySource: KeySource;
  let verifier: TokenVerifier;
  const clock = fixedClock(NOW_ISO);

  const verifierWith = (o: { groupsClaim?: string; clockToleranceSeconds?: number } = {}): TokenVerifier =>
    createTokenVerifier({
      keySource,
      issuer: ISSUER,
      audience: AUDIENCE,
      groupsClaim: o.groupsClaim ?? 'groups',
      clock,
      clockToleranceSeconds: o.clockToleranceSeconds ?? 0,
      cacheSize,
    });

  /** A token with every claim under the test's control; defaults make it valid. */
  async function sign(claims: JWTPayload = {}, o: SignOptions = {}): Promise<string> {
    const base: JWTPayload = { iss: ISSUER, aud: AUDIENCE, sub: 'alice', iat: NOW, exp: NOW + 600 };
    for (const name of o.omit ?? []) delete base[name];
    return new SignJWT({ ...base, ...claims })
      .setProtectedHeader({ alg: 'ES256', kid: o.kid ?? devKey.kid, typ: 'JWT' })
      .sign(o.key ?? devKey.privateKey);
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'versiongate-verify-'));
    devKey = await loadOrCreateDevKey(dir);
    keySource = keySourceFor({ mode: 'dev', issuer: ISSUER, audience: AUDIENCE }, devKey);
    verifier = verifierWith();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  describe('accepts', () => {
    it('a good token and returns issuer, subject and deduplicated groups', async () => {
      const token = await sign({ groups: ['release-managers', 'devs', 'release-managers', 'devs'] });
      expect(await verifier.verify(token)).toEqual({ issuer: ISSUER, subject: 'alice', groups: ['release-managers', 'devs'] });
    });

    it('a token without a groups claim as a principal with no groups', async () => {
      expect(await verifier.verify(await sign({ sub: 'bob' }))).toEqual({ issuer: ISSUER, subject: 'bob', groups: [] });
    });

    it('a token whose aud is an array containing the audience', async () => {
      const token = await sign({ aud: ['other-api', AUDIENCE] });
      expect(await verifier.verify(token)).toEqual({ issuer: ISSUER, subject: 'alice', groups: [] });
    });

    it('the configured groups claim name and ignores "groups" then', async () => {
      const custom = verifierWith({ groupsClaim: 'cognito:groups' });
      const token = await sign({ 'cognito:groups': ['admins', 'admins'], groups: ['release-managers'] });
      expect(await custom.verify(token)).toEqual({ issuer: ISSUER, subject: 'alice', groups: ['admins'] });
      // The default verifier reads "groups" from the same token.
      expect(await verifier.verify(token)).toEqual({ issuer: ISSUER, subject: 'alice', groups: ['release-managers'] });
    });

    it('a token of exactly the maximum length', async () => {
      const probe = await sign({ pad: '' });
      // Each 3 bytes of JSON are 4 base64url characters: grow the padding until the token is exactly at the limit.
      let pad = 'x'.repeat(Math.floor(((MAX_TOKEN_LENGTH - probe.length) * 3) / 4));
      let token = await sign({ pad });
      while (token.length < MAX_TOKEN_LENGTH) token = await sign({ pad: (pad += 'x') });
      while (token.length > MAX_TOKEN_LENGTH) token = await sign({ pad: (pad = pad.slice(1)) });
      expect(token.length).toBe(MAX_TOKEN_LENGTH);
      expect((await verifier.verify(token)).subject).toBe('alice');
    });
  });

  describe('refuses, with the code saying why', () => {
    it('an expired token: ERR_JWT_EXPIRED', async () => {
      const e = await expectUnauthenticated(verifier.verify(await sign({ exp: NOW - 1 })), 'ERR_JWT_EXPIRED');
      expect(e.message).toBe('the token has expired');
    });

    it('a token whose exp is exactly now: ERR_JWT_EXPIRED', async () => {
      await expectUnauthenticated(verifier.verify(await sign({ exp: NOW })), 'ERR_JWT_EXPIRED');
    });

    it('a token not yet valid (nbf in the future): ERR_JWT_CLAIM_VALIDATION_FAILED', async () => {
      await expectUnauthenticated(verifier.verify(await sign({ nbf: NOW + 60 })), 'ERR_JWT_CLAIM_VALIDATION_FAILED');
    });

    it('a token without exp: ERR_JWT_CLAIM_VALIDATION_FAILED', async () => {
      const e = await expectUnauthenticated(verifier.verify(await sign({}, { omit: ['exp'] })), 'ERR_JWT_CLAIM_VALIDATION_FAILED');
      expect(e.message).toContain('"exp"');
    });

    it('a token without sub: ERR_JWT_CLAIM_VALIDATION_FAILED', async () => {
      const e = await expectUnauthenticated(verifier.verify(await sign({}, { omit: ['sub'] })), 'ERR_JWT_CLAIM_VALIDATION_FAILED');
      expect(e.message).toContain('"sub"');
    });

    it('a token with an empty sub: ERR_JWT_CLAIM_VALIDATION_FAILED', async () => {
      await expectUnauthenticated(verifier.verify(await sign({ sub: '' })), 'ERR_JWT_CLAIM_VALIDATION_FAILED');
    });

    it('a token with a sub longer than 256 characters: ERR_JWT_CLAIM_VALIDATION_FAILED', async () => {
      await expectUnauthenticated(verifier.verify(await sign({ sub: 's'.repeat(257) })), 'ERR_JWT_CLAIM_VALIDATION_FAILED');
      // 256 is still fine.
      expect((await verifier.verify(await sign({ sub: 's'.repeat(256) }))).subject).toBe('s'.repeat(256));
    });

    it('a token without iss: ERR_JWT_CLAIM_VALIDATION_FAILED', async () => {
      await expectUnauthenticated(verifier.verify(await sign({}, { omit: ['iss'] })), 'ERR_JWT_CLAIM_VALIDATION_FAILED');
    });

    it('a token from another issuer: ERR_JWT_CLAIM_VALIDATION_FAILED', async () => {
      const e = await expectUnauthenticated(verifier.verify(await sign({ iss: 'https://evil.example.test/' })), 'ERR_JWT_CLAIM_VALIDATION_FAILED');
      expect(e.message).toContain('"iss"');
    });

    it('a token for another audience: ERR_JWT_CLAIM_VALIDATION_FAILED', async () => {
      const e = await expectUnauthenticated(verifier.verify(await sign({ aud: 'some-other-api' })), 'ERR_JWT_CLAIM_VALIDATION_FAILED');
      expect(e.message).toContain('"aud"');
    });

    it('a token without aud: ERR_JWT_CLAIM_VALIDATION_FAILED', async () => {
      await expectUnauthenticated(verifier.verify(await sign({}, { omit: ['aud'] })), 'ERR_JWT_CLAIM_VALIDATION_FAILED');
    });

    it('an unsecured token (alg "none"): ERR_JOSE_ALG_NOT_ALLOWED', async () => {
      const payload = { iss: ISSUER, aud: AUDIENCE, sub: 'alice', iat: NOW, exp: NOW + 600, groups: ['release-managers'] };
      const token = `${b64url(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${b64url(JSON.stringify(payload))}.`;
      const e = await expectUnauthenticated(verifier.verify(token), 'ERR_JOSE_ALG_NOT_ALLOWED');
      expect(e.message).toBe('the token is signed with an algorithm that is not allowed');
    });

    it('an HS256 token signed with a shared secret: ERR_JOSE_ALG_NOT_ALLOWED', async () => {
      const secret = new TextEncoder().encode('a-shared-secret-that-is-at-least-32-bytes-long!');
      const token = await new SignJWT({ iss: ISSUER, aud: AUDIENCE, sub: 'alice', iat: NOW, exp: NOW + 600 })
        .setProtectedHeader({ alg: 'HS256', kid: devKey.kid, typ: 'JWT' })
        .sign(secret);
      await expectUnauthenticated(verifier.verify(token), 'ERR_JOSE_ALG_NOT_ALLOWED');
    });

    it('an HS256 token "signed" with the public key as the HMAC secret: ERR_JOSE_ALG_NOT_ALLOWED', async () => {
      // The classic key-confusion attack: the public JWK's bytes used as a shared secret.
      const secret = new TextEncoder().encode(JSON.stringify(devKey.publicJwk));
      const token = await new SignJWT({ iss: ISSUER, aud: AUDIENCE, sub: 'alice', iat: NOW, exp: NOW + 600 })
        .setProtectedHeader({ alg: 'HS256', kid: devKey.kid, typ: 'JWT' })
        .sign(secret);
      await expectUnauthenticated(verifier.verify(token), 'ERR_JOSE_ALG_NOT_ALLOWED');
    });

    it('a token signed by a key whose kid is not in the set: ERR_JWKS_NO_MATCHING_KEY', async () => {
      const { privateKey } = await generateKeyPair('ES256');
      const e = await expectUnauthenticated(verifier.verify(await sign({}, { key: privateKey, kid: 'not-a-known-kid' })), 'ERR_JWKS_NO_MATCHING_KEY');
      expect(e.message).toBe('the token is not signed by a known key');
    });

    it('a token signed by another key that claims the known kid: ERR_JWS_SIGNATURE_VERIFICATION_FAILED', async () => {
      const { privateKey } = await generateKeyPair('ES256');
      const e = await expectUnauthenticated(verifier.verify(await sign({}, { key: privateKey, kid: devKey.kid })), 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
      expect(e.message).toBe('the token signature is not valid');
    });

    it('a good token whose payload was altered after signing: ERR_JWS_SIGNATURE_VERIFICATION_FAILED', async () => {
      const [h, , s] = (await sign({ groups: ['devs'] })).split('.');
      const forged = b64url(JSON.stringify({ iss: ISSUER, aud: AUDIENCE, sub: 'alice', iat: NOW, exp: NOW + 600, groups: ['release-managers'] }));
      await expectUnauthenticated(verifier.verify(`${h}.${forged}.${s}`), 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
    });

    it('garbage: "abc", "a.b.c" and "" are ERR_JWS_INVALID', async () => {
      for (const garbage of ['abc', 'a.b.c', '']) {
        await expectUnauthenticated(verifier.verify(garbage), 'ERR_JWS_INVALID');
      }
    });

    it('a token longer than the limit (even if validly signed): ERR_TOKEN_TOO_LARGE', async () => {
      const token = await sign({ pad: 'x'.repeat(MAX_TOKEN_LENGTH) });
      expect(token.length).toBeGreaterThan(MAX_TOKEN_LENGTH);
      const e = await expectUnauthenticated(verifier.verify(token), 'ERR_TOKEN_TOO_LARGE');
      expect(e.message).toBe(`the token is longer than ${MAX_TOKEN_LENGTH} characters`);
      await expectUnauthenticated(verifier.verify('a'.repeat(MAX_TOKEN_LENGTH + 1)), 'ERR_TOKEN_TOO_LARGE');
    });

    it('a validly signed payload that repeats "sub": ERR_JWT_DUPLICATE_KEY', async () => {
      const payload = `{"iss":"${ISSUER}","aud":"${AUDIENCE}","sub":"alice","exp":${NOW + 600},"sub":"root"}`;
      const token = await new CompactSign(new TextEncoder().encode(payload))
        .setProtectedHeader({ alg: 'ES256', kid: devKey.kid, typ: 'JWT' })
        .sign(devKey.privateKey);
      const e = await expectUnauthenticated(verifier.verify(token), 'ERR_JWT_DUPLICATE_KEY');
      expect(e.message).toBe('the token\'s payload repeats the key "sub"');
    });

    it('a payload that repeats a key spelled with a JSON escape ("s\\u0075b"): ERR_JWT_DUPLICATE_KEY', async () => {
      const payload = `{"iss":"${ISSUER}","aud":"${AUDIENCE}","sub":"alice","exp":${NOW + 600},"s\\u0075b":"root"}`;
      expect((JSON.parse(payload) as { sub: string }).sub).toBe('root'); // what a last-wins parser would read
      const token = await new CompactSign(new TextEncoder().encode(payload))
        .setProtectedHeader({ alg: 'ES256', kid: devKey.kid, typ: 'JWT' })
        .sign(devKey.privateKey);
      await expectUnauthenticated(verifier.verify(token), 'ERR_JWT_DUPLICATE_KEY');
    });

    it('a payload with a duplicated key inside a nested object: ERR_JWT_DUPLICATE_KEY', async () => {
      const payload = `{"iss":"${ISSUER}","aud":"${AUDIENCE}","sub":"alice","exp":${NOW + 600},"ctx":{"role":"dev","role":"admin"}}`;
      const token = await signRawEs256(JSON.stringify({ alg: 'ES256', kid: devKey.kid, typ: 'JWT' }), payload, devKey.privateKey);
      await expectUnauthenticated(verifier.verify(token), 'ERR_JWT_DUPLICATE_KEY');
    });

    it('the same key in sibling objects is not a duplicate', async () => {
      const payload = `{"iss":"${ISSUER}","aud":"${AUDIENCE}","sub":"alice","exp":${NOW + 600},"a":{"x":1},"b":{"x":2},"groups":["g"]}`;
      const token = await signRawEs256(JSON.stringify({ alg: 'ES256', kid: devKey.kid, typ: 'JWT' }), payload, devKey.privateKey);
      expect(await verifier.verify(token)).toEqual({ issuer: ISSUER, subject: 'alice', groups: ['g'] });
    });

    it('a validly signed header that repeats "alg": ERR_JWT_DUPLICATE_KEY', async () => {
      const header = `{"alg":"none","kid":"${devKey.kid}","alg":"ES256"}`;
      const payload = JSON.stringify({ iss: ISSUER, aud: AUDIENCE, sub: 'alice', exp: NOW + 600 });
      const token = await signRawEs256(header, payload, devKey.privateKey);
      const e = await expectUnauthenticated(verifier.verify(token), 'ERR_JWT_DUPLICATE_KEY');
      expect(e.message).toBe('the token\'s header repeats the key "alg"');
    });

    it('a groups claim that is a string: ERR_JWT_CLAIM_VALIDATION_FAILED', async () => {
      const e = await expectUnauthenticated(verifier.verify(await sign({ groups: 'release-managers' })), 'ERR_JWT_CLAIM_VALIDATION_FAILED');
      expect(e.message).toBe('the token\'s "groups" claim must be an array of at most 256 group names');
    });

    it('a groups claim that holds a non-string: ERR_JWT_CLAIM_VALIDATION_FAILED', async () => {
      await expectUnauthenticated(verifier.verify(await sign({ groups: ['release-managers', 42] })), 'ERR_JWT_CLAIM_VALIDATION_FAILED');
      await expectUnauthenticated(verifier.verify(await sign({ groups: ['release-managers', null] })), 'ERR_JWT_CLAIM_VALIDATION_FAILED');
      await expectUnauthenticated(verifier.verify(await sign({ groups: [['release-managers']] })), 'ERR_JWT_CLAIM_VALIDATION_FAILED');
    });

    it('a groups claim that is an object or null: ERR_JWT_CLAIM_VALIDATION_FAILED', async () => {
      await expectUnauthenticated(verifier.verify(await sign({ groups: { 0: 'release-managers' } })), 'ERR_JWT_CLAIM_VALIDATION_FAILED');
      await expectUnauthenticated(verifier.verify(await sign({ groups: null })), 'ERR_JWT_CLAIM_VALIDATION_FAILED');
    });

    it('a groups claim with an empty name or a control character: ERR_JWT_CLAIM_VALIDATION_FAILED', async () => {
      await expectUnauthenticated(verifier.verify(await sign({ groups: [''] })), 'ERR_JWT_CLAIM_VALIDATION_FAILED');
      await expectUnauthenticated(verifier.verify(await sign({ groups: ['release-managers\n'] })), 'ERR_JWT_CLAIM_VALIDATION_FAILED');
    });

    it('more than 256 groups: ERR_JWT_CLAIM_VALIDATION_FAILED (256 is fine)', async () => {
      const many = Array.from({ length: 257 }, (_, i) => `g${i}`);
      await expectUnauthenticated(verifier.verify(await sign({ groups: many })), 'ERR_JWT_CLAIM_VALIDATION_FAILED');
      expect((await verifier.verify(await sign({ groups: many.slice(0, 256) }))).groups).toHaveLength(256);
    });

    it('a malformed custom groups claim, naming that claim', async () => {
      const custom = verifierWith({ groupsClaim: 'roles' });
      const e = await expectUnauthenticated(custom.verify(await sign({ roles: 'admin' })), 'ERR_JWT_CLAIM_VALIDATION_FAILED');
      expect(e.message).toBe('the token\'s "roles" claim must be an array of at most 256 group names');
    });
  });

  describe('clock tolerance', () => {
    it('with 30 s tolerance, a token expired 10 s ago passes and one expired 60 s ago fails', async () => {
      const tolerant = verifierWith({ clockToleranceSeconds: 30 });
      expect(await tolerant.verify(await sign({ exp: NOW - 10 }))).toEqual({ issuer: ISSUER, subject: 'alice', groups: [] });
      await expectUnauthenticated(tolerant.verify(await sign({ exp: NOW - 60 })), 'ERR_JWT_EXPIRED');
      // Without tolerance the first one fails too.
      await expectUnauthenticated(verifier.verify(await sign({ exp: NOW - 10 })), 'ERR_JWT_EXPIRED');
    });

    it('with 30 s tolerance, nbf 10 s ahead passes and 60 s ahead fails', async () => {
      const tolerant = verifierWith({ clockToleranceSeconds: 30 });
      expect((await tolerant.verify(await sign({ nbf: NOW + 10 }))).subject).toBe('alice');
      await expectUnauthenticated(tolerant.verify(await sign({ nbf: NOW + 60 })), 'ERR_JWT_CLAIM_VALIDATION_FAILED');
    });

    it('follows the injected clock, not the wall clock', async () => {
      const c = fixedClock(NOW_ISO);
      const v = createTokenVerifier({ keySource, issuer: ISSUER, audience: AUDIENCE, groupsClaim: 'groups', clock: c, clockToleranceSeconds: 0, cacheSize });
      const token = await sign({ exp: NOW + 60 });
      expect((await v.verify(token)).subject).toBe('alice');
      c.advance(59_999);
      expect((await v.verify(token)).subject).toBe('alice');
      c.advance(1);
      await expectUnauthenticated(v.verify(token), 'ERR_JWT_EXPIRED');
      c.advance(1000);
      await expectUnauthenticated(v.verify(token), 'ERR_JWT_EXPIRED');
    });
  });
});

describe('createTokenVerifier with a JWKS file', () => {
  let dir: string;
  let privateKey: CryptoKey;
  let verifier: TokenVerifier;
  const clock = fixedClock(NOW_ISO);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'versiongate-jwks-file-'));
    const pair = await generateKeyPair('ES256');
    privateKey = pair.privateKey;
    const publicJwk: JWK = { ...(await exportJWK(pair.publicKey)), kid: 'file-key-1', alg: 'ES256', use: 'sig' };
    const file = join(dir, 'jwks.json');
    writeFileSync(file, JSON.stringify({ keys: [publicJwk] }));
    verifier = createTokenVerifier({
      keySource: keySourceFor({ mode: 'jwks-file', file, issuer: ISSUER, audience: AUDIENCE }),
      issuer: ISSUER,
      audience: AUDIENCE,
      groupsClaim: 'groups',
      clock,
      clockToleranceSeconds: 0,
    });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const signWith = (kid: string, key: CryptoKey = privateKey) =>
    new SignJWT({ iss: ISSUER, aud: AUDIENCE, sub: 'carol', iat: NOW, exp: NOW + 600, groups: ['ops'] })
      .setProtectedHeader({ alg: 'ES256', kid, typ: 'JWT' })
      .sign(key);

  it('accepts a token signed by the key in the file', async () => {
    expect(await verifier.verify(await signWith('file-key-1'))).toEqual({ issuer: ISSUER, subject: 'carol', groups: ['ops'] });
  });

  it('refuses a kid the file does not have: ERR_JWKS_NO_MATCHING_KEY (a 401, not a 503)', async () => {
    await expectUnauthenticated(verifier.verify(await signWith('file-key-2')), 'ERR_JWKS_NO_MATCHING_KEY');
  });

  it('refuses another key claiming the file key kid: ERR_JWS_SIGNATURE_VERIFICATION_FAILED', async () => {
    const other = await generateKeyPair('ES256');
    await expectUnauthenticated(verifier.verify(await signWith('file-key-1', other.privateKey)), 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
  });

  it('refuses an RS256 token naming the EC key kid: ERR_JWKS_NO_MATCHING_KEY', async () => {
    // An RS256 token naming the file's (EC) kid: no key of that type in the set.
    const rsa = await generateKeyPair('RS256');
    const token = await new SignJWT({ iss: ISSUER, aud: AUDIENCE, sub: 'carol', iat: NOW, exp: NOW + 600 })
      .setProtectedHeader({ alg: 'RS256', kid: 'file-key-1', typ: 'JWT' })
      .sign(rsa.privateKey);
    await expectUnauthenticated(verifier.verify(token), 'ERR_JWKS_NO_MATCHING_KEY');
  });
});

describe('over HTTP: a refused token is a 401, audited, and changes nothing', () => {
  let gw: TestGateway;
  const clock = fixedClock(NOW_ISO);
  const CHALK_ARN = 'arn:aws:codeartifact:us-east-1:111122223333:package/my_domain/my_repo/npm//chalk';
  const CHALK_KEY = { domainOwner: '111122223333', domain: 'my_domain', repository: 'my_repo', format: 'npm' as const, namespace: '', name: 'chalk' };
  const BODY = { versions: ['4.1.0'], targetStatus: 'Archived' };

  beforeAll(async () => {
    // Every refusal recorded on its own: this suite checks each one's record (rejection-log.test.ts checks the windows).
    gw = await testGateway({ clock, rejectionWindowMs: 0 });
  });
  afterAll(async () => {
    await gw?.close();
  });

  /** A dev-key token with full control of exp. */
  const devToken = (exp: number, groups: string[] = ['release-managers']) =>
    new SignJWT({ groups })
      .setProtectedHeader({ alg: 'ES256', kid: gw.devKey.kid, typ: 'JWT' })
      .setIssuer(DEV_ISSUER)
      .setAudience(DEV_AUDIENCE)
      .setSubject('alice')
      .setIssuedAt(NOW - 3600)
      .setExpirationTime(exp)
      .sign(gw.devKey.privateKey);

  async function expectAudited401(res: Response, code: string, secret?: string): Promise<void> {
    expect(res.status).toBe(401);
    const [record] = await gw.store.listAudit({ limit: 10 });
    expect(record).toBeDefined();
    expect(record!.decision).toBe('unauthenticated');
    expect(record!.outcome).toBe('unauthenticated');
    expect(record!.reason).toBe(code);
    expect(record!.principal).toBeNull();
    expect(record!.action).toBe('UpdatePackageVersionsStatus');
    expect(record!.resource).toBe(CHALK_ARN);
    expect(record!.httpStatus).toBe(401);
    expect(record!.changes).toEqual([]);
    expect(record!.time).toBe(NOW_ISO);
    expect(record!.requestId).toBe(res.headers.get('x-amzn-requestid'));
    if (secret) expect(JSON.stringify(record)).not.toContain(secret);
    const snapshot = await gw.store.readPackage(CHALK_KEY, ['4.1.0']);
    expect(snapshot.versions.get('4.1.0')?.status).toBe('Published');
  }

  it('no Authorization header: 401 UnauthorizedException, a bare Bearer challenge, {message}', async () => {
    const res = await gw.post(`${UPDATE}?${CHALK}`, BODY);
    expect(res.status).toBe(401);
    expect(res.headers.get('x-amzn-errortype')).toBe('UnauthorizedException');
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="versiongate"');
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await res.json()).toEqual({ message: 'a bearer token is required (Authorization: Bearer <JWT>)' });
    await expectAudited401(res, 'ERR_TOKEN_MISSING');
  });

  it('an expired token: 401 with error="invalid_token"', async () => {
    const token = await devToken(NOW - 10);
    const res = await gw.post(`${UPDATE}?${CHALK}`, BODY, token);
    expect(res.status).toBe(401);
    expect(res.headers.get('x-amzn-errortype')).toBe('UnauthorizedException');
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="versiongate", error="invalid_token", error_description="the token has expired"');
    expect(await res.json()).toEqual({ message: 'the token has expired' });
    await expectAudited401(res, 'ERR_JWT_EXPIRED', token);
    // Neither the signature nor the payload part leaks into the audit record.
    const [record] = await gw.store.listAudit({ limit: 1 });
    const [, payload, signature] = token.split('.');
    expect(JSON.stringify(record)).not.toContain(payload!);
    expect(JSON.stringify(record)).not.toContain(signature!);
  });

  it('an AWS SigV4 Authorization header: 401 ERR_TOKEN_SCHEME', async () => {
    const sigv4 =
      'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20250301/us-east-1/codeartifact/aws4_request, ' +
      'SignedHeaders=host;x-amz-date, Signature=fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024';
    const res = await gw.post(`${UPDATE}?${CHALK}`, BODY, undefined, { authorization: sigv4 });
    expect(res.status).toBe(401);
    expect(res.headers.get('x-amzn-errortype')).toBe('UnauthorizedException');
    expect(res.headers.get('www-authenticate')).toContain('error="invalid_token"');
    const body = (await res.json()) as { message: string };
    expect(Object.keys(body)).toEqual(['message']);
    expect(body.message).toContain('SigV4');
    await expectAudited401(res, 'ERR_TOKEN_SCHEME', 'fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024');
  });

  it('an alg "none" token: 401 ERR_JOSE_ALG_NOT_ALLOWED', async () => {
    const payload = { iss: DEV_ISSUER, aud: DEV_AUDIENCE, sub: 'alice', iat: NOW, exp: NOW + 600, groups: ['release-managers'] };
    const token = `${b64url(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${b64url(JSON.stringify(payload))}.`;
    const res = await gw.post(`${UPDATE}?${CHALK}`, BODY, token);
    expect(res.headers.get('www-authenticate')).toContain('error="invalid_token"');
    await expectAudited401(res, 'ERR_JOSE_ALG_NOT_ALLOWED', b64url(JSON.stringify(payload)));
  });

  // jose reports an unknown "crit" parameter by name before any signature check, so the name is text
  // anyone can choose; it must not break the 401 (status, challenge header, audit).
  it.each([
    ['plain text', 'x-custom'],
    ['CR LF', 'x\r\nset-cookie: session=stolen'],
    ['non-Latin-1 characters', 'caf\u00e9\u20ac'],
    ['a NUL', 'nul\u0000byte'],
  ])('an unsigned token whose "crit" names an unknown parameter (%s): 401 ERR_JOSE_NOT_SUPPORTED with a well-formed challenge', async (_label, name) => {
    const header = b64url(JSON.stringify({ alg: 'ES256', kid: gw.devKey.kid, crit: [name] }));
    const payload = b64url(JSON.stringify({ iss: DEV_ISSUER, aud: DEV_AUDIENCE, sub: 'alice', exp: NOW + 600 }));
    const res = await gw.post(`${UPDATE}?${CHALK}`, BODY, `${header}.${payload}.AAAA`);
    expect(res.status).toBe(401);
    expect(res.headers.get('x-amzn-errortype')).toBe('UnauthorizedException');
    const challenge = res.headers.get('www-authenticate') ?? '';
    expect(challenge.startsWith('Bearer realm="versiongate", error="invalid_token", error_description="')).toBe(true);
    expect(challenge).not.toMatch(/[\r\n\u0000]/);
    expect(res.headers.get('set-cookie')).toBeNull();
    await expectAudited401(res, 'ERR_JOSE_NOT_SUPPORTED', payload);
  });

  it('each refusal adds exactly one audit record', async () => {
    const before = await gw.store.listAudit({ limit: 100 });
    await gw.post(`${UPDATE}?${CHALK}`, BODY, 'abc');
    const after = await gw.store.listAudit({ limit: 100 });
    expect(after.length).toBe(before.length + 1);
    expect(after[0]!.reason).toBe('ERR_JWS_INVALID');
    expect(after[0]!.seq).toBeGreaterThan(before[0]!.seq);
  });

  it('control: the same hand-signed token with a future exp is accepted (the 401s above are about the token)', async () => {
    const res = await gw.post(`${UPDATE}?${CHALK}`, BODY, await devToken(NOW + 600));
    expect(res.status).toBe(200);
    const body = (await res.json()) as { successfulVersions: Record<string, { status: string }> };
    expect(body.successfulVersions['4.1.0']!.status).toBe('Archived');
    const [record] = await gw.store.listAudit({ limit: 1 });
    expect(record!.decision).toBe('allow');
    expect(record!.principal).toEqual({ issuer: DEV_ISSUER, subject: 'alice', groups: ['release-managers'] });
  });
});
