/**
 * The token attack matrix, as data: every way of presenting a token an attacker might try, each with
 * what the gateway must answer. Each case builds the Authorization header line(s) of one request;
 * the suite (token-attacks.test.ts) sends it to the real server, with the keys in a JWKS file and
 * again at a JWKS URL.
 *
 * Every token here is signed for real (WebCrypto), by the identity provider's own keys where the
 * attack needs a genuine signature (crit, typ, claims) and by an attacker's keys otherwise. A case's
 * claims are valid — right issuer, audience, a group that may change versions — except for the one
 * thing the case is about, so a wrongly accepted token would make a write the suite then finds.
 */
import { exportJWK, exportSPKI, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import { webcrypto } from 'node:crypto';

export const ISSUER = 'https://idp.security.test/';
export const AUDIENCE = 'versiongate-security';
/** VERSIONGATE_MAX_TOKEN_AGE for the suite, in seconds. */
export const MAX_TOKEN_AGE_SECONDS = 3600;

export interface Keys {
  /** In the set: the identity provider's ES256 and RS256 keys. */
  ec: { kid: string; privateKey: CryptoKey; publicKey: CryptoKey; jwk: JWK };
  rsa: { kid: string; privateKey: CryptoKey; publicKey: CryptoKey; jwk: JWK; pem: string };
  /** Not in the set. */
  attacker: { kid: string; privateKey: CryptoKey; jwk: JWK };
  attackerRsa: { privateKey: CryptoKey };
}

export async function makeKeys(): Promise<Keys> {
  const ec = await generateKeyPair('ES256');
  const rsa = await generateKeyPair('RS256');
  const attacker = await generateKeyPair('ES256');
  const attackerRsa = await generateKeyPair('RS256');
  return {
    ec: { kid: 'idp-ec-1', ...ec, jwk: { ...(await exportJWK(ec.publicKey)), kid: 'idp-ec-1', alg: 'ES256', use: 'sig' } },
    rsa: { kid: 'idp-rsa-1', ...rsa, jwk: { ...(await exportJWK(rsa.publicKey)), kid: 'idp-rsa-1', alg: 'RS256', use: 'sig' }, pem: await exportSPKI(rsa.publicKey) },
    attacker: { kid: 'attacker-1', privateKey: attacker.privateKey, jwk: { ...(await exportJWK(attacker.publicKey)), kid: 'attacker-1', alg: 'ES256' } },
    attackerRsa: { privateKey: attackerRsa.privateKey },
  };
}

export const b64 = (data: string | Uint8Array): string => Buffer.from(data).toString('base64url');

/** Signs `b64(header).b64(payload)` exactly as given (duplicate keys, odd numbers and all). */
export async function signText(headerText: string, payloadText: string, key: CryptoKey): Promise<string> {
  const input = `${b64(headerText)}.${b64(payloadText)}`;
  const algorithm =
    key.algorithm.name === 'ECDSA' ? { name: 'ECDSA', hash: 'SHA-256' } : key.algorithm.name === 'HMAC' ? { name: 'HMAC' } : { name: 'RSASSA-PKCS1-v1_5' };
  const signature = new Uint8Array(await webcrypto.subtle.sign(algorithm, key as webcrypto.CryptoKey, Buffer.from(input)));
  return `${input}.${b64(signature)}`;
}

async function hmacKey(secret: string | Uint8Array, hash: 'SHA-256' | 'SHA-512'): Promise<CryptoKey> {
  return (await webcrypto.subtle.importKey('raw', Buffer.from(secret), { name: 'HMAC', hash }, false, ['sign'])) as CryptoKey;
}

export interface Context {
  keys: Keys;
  /** A URL the test serves and counts hits on: a jku/x5u there must never be fetched. */
  hostileUrl: string;
  /** Seconds since the epoch, now. */
  now: number;
}

export interface Expect {
  status: number;
  /** The audit record's reason (the refusal code); undefined when the request never reaches the app. */
  code?: string;
}

export interface AttackCase {
  name: string;
  /** The Authorization header line(s) to send (none: the header is absent). */
  headers(ctx: Context): Promise<string[]>;
  expect: Expect;
}

/** Valid claims, overridden by `claims` (undefined drops one). */
export function claims(ctx: Context, over: Record<string, unknown> = {}): Record<string, unknown> {
  const base: Record<string, unknown> = { iss: ISSUER, aud: AUDIENCE, sub: 'mallory', iat: ctx.now, exp: ctx.now + 600, groups: ['release-managers'] };
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) delete base[k];
    else base[k] = v;
  }
  return base;
}

const ecHeader = (ctx: Context, over: Record<string, unknown> = {}) => JSON.stringify({ alg: 'ES256', kid: ctx.keys.ec.kid, typ: 'JWT', ...over });

/** A genuine token from the identity provider's EC key, header and claims as given. */
export const genuine = (ctx: Context, claimOver: Record<string, unknown> = {}, headerOver: Record<string, unknown> = {}): Promise<string> =>
  signText(ecHeader(ctx, headerOver), JSON.stringify(claims(ctx, claimOver)), ctx.keys.ec.privateKey);

const bearer = (token: string) => [`Authorization: Bearer ${token}`];
const unsigned = (ctx: Context, alg: string, signature = '') => `${b64(JSON.stringify({ alg, typ: 'JWT' }))}.${b64(JSON.stringify(claims(ctx)))}.${signature}`;

const ALG_NOT_ALLOWED: Expect = { status: 401, code: 'ERR_JOSE_ALG_NOT_ALLOWED' };
const NO_KEY: Expect = { status: 401, code: 'ERR_JWKS_NO_MATCHING_KEY' };
const BAD_SIGNATURE: Expect = { status: 401, code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' };
const CLAIM: Expect = { status: 401, code: 'ERR_JWT_CLAIM_VALIDATION_FAILED' };
const EXPIRED: Expect = { status: 401, code: 'ERR_JWT_EXPIRED' };
const JWS_INVALID: Expect = { status: 401, code: 'ERR_JWS_INVALID' };
const JWT_INVALID: Expect = { status: 401, code: 'ERR_JWT_INVALID' };
const SCHEME: Expect = { status: 401, code: 'ERR_TOKEN_SCHEME' };
const TOO_LARGE: Expect = { status: 401, code: 'ERR_TOKEN_TOO_LARGE' };
const DUPLICATE: Expect = { status: 401, code: 'ERR_JWT_DUPLICATE_KEY' };

/** Re-signs until the token's payload segment has a length base64 would pad (2 or 3 mod 4). */
async function genuineNeedingPadding(ctx: Context): Promise<string> {
  for (let pad = ''; ; pad += 'x') {
    const token = await genuine(ctx, { pad });
    if ([2, 3].includes(token.split('.')[1]!.length % 4)) return token;
  }
}

/** A genuine token whose signature, in the standard alphabet, differs from its base64url spelling. */
async function genuineWithUrlOnlyCharacters(ctx: Context): Promise<string> {
  for (let i = 0; ; i++) {
    const token = await genuine(ctx, { jti: `alphabet-${i}` });
    if (/[-_]/.test(token.split('.')[2]!)) return token;
  }
}

export const ATTACKS: AttackCase[] = [
  // Algorithms: none in any spelling, a MAC keyed with public material, an algorithm the key is not for.
  { name: 'alg none, no signature', headers: async (ctx) => bearer(unsigned(ctx, 'none')), expect: ALG_NOT_ALLOWED },
  { name: 'alg NONE', headers: async (ctx) => bearer(unsigned(ctx, 'NONE')), expect: ALG_NOT_ALLOWED },
  { name: 'alg nOnE', headers: async (ctx) => bearer(unsigned(ctx, 'nOnE')), expect: ALG_NOT_ALLOWED },
  { name: 'alg none with a signature copied from a genuine token', headers: async (ctx) => bearer(unsigned(ctx, 'none', (await genuine(ctx)).split('.')[2])), expect: ALG_NOT_ALLOWED },
  {
    name: 'HS256 keyed with the RSA public key (PEM) as the secret',
    headers: async (ctx) => bearer(await signText(JSON.stringify({ alg: 'HS256', kid: ctx.keys.rsa.kid, typ: 'JWT' }), JSON.stringify(claims(ctx)), await hmacKey(ctx.keys.rsa.pem, 'SHA-256'))),
    expect: ALG_NOT_ALLOWED,
  },
  {
    name: 'HS256 keyed with the EC public JWK (JSON) as the secret',
    headers: async (ctx) => bearer(await signText(JSON.stringify({ alg: 'HS256', kid: ctx.keys.ec.kid, typ: 'JWT' }), JSON.stringify(claims(ctx)), await hmacKey(JSON.stringify(ctx.keys.ec.jwk), 'SHA-256'))),
    expect: ALG_NOT_ALLOWED,
  },
  {
    name: 'HS512 without a kid',
    headers: async (ctx) => bearer(await signText(JSON.stringify({ alg: 'HS512', typ: 'JWT' }), JSON.stringify(claims(ctx)), await hmacKey('secret', 'SHA-512'))),
    expect: ALG_NOT_ALLOWED,
  },
  {
    name: 'RS256 by an attacker key, naming the EC key\'s kid',
    headers: async (ctx) => bearer(await signText(JSON.stringify({ alg: 'RS256', kid: ctx.keys.ec.kid, typ: 'JWT' }), JSON.stringify(claims(ctx)), ctx.keys.attackerRsa.privateKey)),
    expect: NO_KEY,
  },
  { name: 'ES384 header naming the ES256 key', headers: async (ctx) => bearer(await genuine(ctx, {}, { alg: 'ES384' })), expect: NO_KEY },

  // Keys: not in the set, and kids meant to reach something other than the set.
  { name: 'a key not in the set, naming the set\'s kid', headers: async (ctx) => bearer(await signText(ecHeader(ctx), JSON.stringify(claims(ctx)), ctx.keys.attacker.privateKey)), expect: BAD_SIGNATURE },
  { name: 'a key not in the set, under its own kid', headers: async (ctx) => bearer(await signText(ecHeader(ctx, { kid: ctx.keys.attacker.kid }), JSON.stringify(claims(ctx)), ctx.keys.attacker.privateKey)), expect: NO_KEY },
  { name: 'a key not in the set, no kid', headers: async (ctx) => bearer(await signText(JSON.stringify({ alg: 'ES256', typ: 'JWT' }), JSON.stringify(claims(ctx)), ctx.keys.attacker.privateKey)), expect: BAD_SIGNATURE },
  { name: 'kid of a missing key', headers: async (ctx) => bearer(await genuine(ctx, {}, { kid: 'idp-ec-999' })), expect: NO_KEY },
  { name: 'path-like kid ../../x', headers: async (ctx) => bearer(await genuine(ctx, {}, { kid: '../../x' })), expect: NO_KEY },
  { name: 'path-like kid /etc/passwd', headers: async (ctx) => bearer(await genuine(ctx, {}, { kid: '/etc/passwd' })), expect: NO_KEY },
  { name: "SQL-like kid ' OR '1'='1", headers: async (ctx) => bearer(await genuine(ctx, {}, { kid: "' OR '1'='1' --" })), expect: NO_KEY },
  { name: 'kid that is a number', headers: async (ctx) => bearer(await signText(ecHeader(ctx, { kid: 1 }), JSON.stringify(claims(ctx)), ctx.keys.attacker.privateKey)), expect: NO_KEY },

  // Headers that name keys elsewhere: never fetched, never trusted.
  { name: 'jku at a URL serving the attacker\'s key', headers: async (ctx) => bearer(await signText(ecHeader(ctx, { kid: ctx.keys.attacker.kid, jku: `${ctx.hostileUrl}/jwks.json` }), JSON.stringify(claims(ctx)), ctx.keys.attacker.privateKey)), expect: NO_KEY },
  { name: 'x5u at a URL serving a certificate', headers: async (ctx) => bearer(await signText(ecHeader(ctx, { kid: ctx.keys.attacker.kid, x5u: `${ctx.hostileUrl}/cert.pem` }), JSON.stringify(claims(ctx)), ctx.keys.attacker.privateKey)), expect: NO_KEY },
  { name: 'jwk header carrying the attacker\'s key under its kid', headers: async (ctx) => bearer(await signText(ecHeader(ctx, { kid: ctx.keys.attacker.kid, jwk: ctx.keys.attacker.jwk }), JSON.stringify(claims(ctx)), ctx.keys.attacker.privateKey)), expect: NO_KEY },
  { name: 'jwk header carrying the attacker\'s key under the set\'s kid', headers: async (ctx) => bearer(await signText(ecHeader(ctx, { jwk: ctx.keys.attacker.jwk }), JSON.stringify(claims(ctx)), ctx.keys.attacker.privateKey)), expect: BAD_SIGNATURE },

  // crit and typ, on genuinely signed tokens.
  { name: 'crit naming an unknown extension', headers: async (ctx) => bearer(await genuine(ctx, {}, { crit: ['x-versiongate-unknown'], 'x-versiongate-unknown': true })), expect: { status: 401, code: 'ERR_JOSE_NOT_SUPPORTED' } },
  { name: 'crit empty', headers: async (ctx) => bearer(await genuine(ctx, {}, { crit: [] })), expect: JWS_INVALID },
  { name: 'crit naming a registered header (alg)', headers: async (ctx) => bearer(await genuine(ctx, {}, { crit: ['alg'] })), expect: { status: 401, code: 'ERR_JOSE_NOT_SUPPORTED' } },
  { name: 'typ dpop+jwt (a DPoP proof, not an access token)', headers: async (ctx) => bearer(await genuine(ctx, {}, { typ: 'dpop+jwt' })), expect: CLAIM },
  { name: 'typ secevent+jwt', headers: async (ctx) => bearer(await genuine(ctx, {}, { typ: 'application/secevent+jwt' })), expect: CLAIM },
  { name: 'typ that is a number', headers: async (ctx) => bearer(await genuine(ctx, {}, { typ: 7 })), expect: CLAIM },

  // exp.
  { name: 'exp missing', headers: async (ctx) => bearer(await genuine(ctx, { exp: undefined })), expect: CLAIM },
  { name: 'exp in the past', headers: async (ctx) => bearer(await genuine(ctx, { iat: ctx.now - 1200, exp: ctx.now - 600 })), expect: EXPIRED },
  { name: 'exp a numeric string', headers: async (ctx) => bearer(await genuine(ctx, { exp: String(ctx.now + 600) })), expect: CLAIM },
  { name: 'exp null', headers: async (ctx) => bearer(await genuine(ctx, { exp: null })), expect: CLAIM },
  { name: 'exp 1e400 (parses to Infinity)', headers: async (ctx) => bearer(await signText(ecHeader(ctx), JSON.stringify(claims(ctx, { exp: 0 })).replace('"exp":0', '"exp":1e400'), ctx.keys.ec.privateKey)), expect: CLAIM },
  { name: 'exp 1e20 (past the year 9999)', headers: async (ctx) => bearer(await genuine(ctx, { exp: 1e20 })), expect: CLAIM },

  // nbf and iat.
  { name: 'nbf an hour ahead', headers: async (ctx) => bearer(await genuine(ctx, { nbf: ctx.now + 3600, exp: ctx.now + 7200 })), expect: CLAIM },
  { name: 'iat an hour ahead', headers: async (ctx) => bearer(await genuine(ctx, { iat: ctx.now + 3600, exp: ctx.now + 7200 })), expect: CLAIM },
  { name: 'iat older than the maximum token age', headers: async (ctx) => bearer(await genuine(ctx, { iat: ctx.now - MAX_TOKEN_AGE_SECONDS - 600 })), expect: EXPIRED },
  { name: 'iat missing while a maximum token age is set', headers: async (ctx) => bearer(await genuine(ctx, { iat: undefined })), expect: CLAIM },
  { name: 'iat a string', headers: async (ctx) => bearer(await genuine(ctx, { iat: 'now' })), expect: CLAIM },

  // iss and aud.
  { name: 'wrong iss', headers: async (ctx) => bearer(await genuine(ctx, { iss: 'https://evil.example/' })), expect: CLAIM },
  { name: 'iss missing', headers: async (ctx) => bearer(await genuine(ctx, { iss: undefined })), expect: CLAIM },
  { name: 'iss differing by a trailing character', headers: async (ctx) => bearer(await genuine(ctx, { iss: `${ISSUER}x` })), expect: CLAIM },
  { name: 'wrong aud', headers: async (ctx) => bearer(await genuine(ctx, { aud: 'another-api' })), expect: CLAIM },
  { name: 'aud array without ours', headers: async (ctx) => bearer(await genuine(ctx, { aud: ['another-api', `${AUDIENCE}-x`] })), expect: CLAIM },
  { name: 'aud missing', headers: async (ctx) => bearer(await genuine(ctx, { aud: undefined })), expect: CLAIM },

  // sub.
  { name: 'sub missing', headers: async (ctx) => bearer(await genuine(ctx, { sub: undefined })), expect: CLAIM },
  { name: 'sub empty', headers: async (ctx) => bearer(await genuine(ctx, { sub: '' })), expect: CLAIM },
  { name: 'sub a number', headers: async (ctx) => bearer(await genuine(ctx, { sub: 42 })), expect: CLAIM },
  { name: 'sub an object', headers: async (ctx) => bearer(await genuine(ctx, { sub: { admin: true } })), expect: CLAIM },
  { name: 'sub of 300 characters', headers: async (ctx) => bearer(await genuine(ctx, { sub: 'a'.repeat(300) })), expect: CLAIM },
  // "\ud800" is valid JSON and a valid JavaScript string, but not a name: Cedar's JSON reader refuses
  // it (which, reaching the engine, would deny every later request), and UTF-8 storage replaces it.
  { name: 'sub with a lone UTF-16 surrogate', headers: async (ctx) => bearer(await genuine(ctx, { sub: 'mallory\ud800' })), expect: CLAIM },
  { name: 'sub with a NUL character', headers: async (ctx) => bearer(await genuine(ctx, { sub: 'mallory\u0000' })), expect: CLAIM },
  { name: 'groups with a lone UTF-16 surrogate', headers: async (ctx) => bearer(await genuine(ctx, { groups: ['release-managers\udc00'] })), expect: CLAIM },
  { name: 'sub of 10 KB', headers: async (ctx) => bearer(await genuine(ctx, { sub: 'a'.repeat(10 * 1024) })), expect: TOO_LARGE },

  // groups.
  { name: 'groups a string', headers: async (ctx) => bearer(await genuine(ctx, { groups: 'release-managers' })), expect: CLAIM },
  { name: 'groups an object', headers: async (ctx) => bearer(await genuine(ctx, { groups: { 0: 'release-managers' } })), expect: CLAIM },
  { name: 'groups with non-strings', headers: async (ctx) => bearer(await genuine(ctx, { groups: ['release-managers', 1, null] })), expect: CLAIM },
  { name: 'groups with a control character', headers: async (ctx) => bearer(await genuine(ctx, { groups: ['release-managers\n'] })), expect: CLAIM },
  { name: 'groups of 300 entries', headers: async (ctx) => bearer(await genuine(ctx, { groups: Array.from({ length: 300 }, (_, i) => `g${i}`) })), expect: CLAIM },
  { name: 'groups of 1,500 entries', headers: async (ctx) => bearer(await genuine(ctx, { groups: Array.from({ length: 1_500 }, (_, i) => `g${i}`) })), expect: TOO_LARGE },
  // Past 16 KB of headers (VERSIONGATE_MAX_HEADER_SIZE), Node refuses it before the app: 431, in the envelope.
  { name: 'groups of 10,000 entries', headers: async (ctx) => bearer(await genuine(ctx, { groups: Array.from({ length: 10_000 }, (_, i) => `g${i}`) })), expect: { status: 431 } },

  // JSON that two parsers could read differently, or that is not a claims object.
  { name: 'duplicate claim key (sub twice)', headers: async (ctx) => bearer(await signText(ecHeader(ctx), JSON.stringify(claims(ctx)).replace('"sub":"mallory"', '"sub":"mallory","sub":"admin"'), ctx.keys.ec.privateKey)), expect: DUPLICATE },
  { name: 'duplicate header key (alg twice)', headers: async (ctx) => bearer(await signText(ecHeader(ctx).replace('"alg":"ES256"', '"alg":"none","alg":"ES256"'), JSON.stringify(claims(ctx)), ctx.keys.ec.privateKey)), expect: DUPLICATE },
  { name: 'payload not JSON', headers: async (ctx) => bearer(await signText(ecHeader(ctx), 'sub=admin', ctx.keys.ec.privateKey)), expect: JWT_INVALID },
  { name: 'payload a JSON array', headers: async (ctx) => bearer(await signText(ecHeader(ctx), JSON.stringify([claims(ctx)]), ctx.keys.ec.privateKey)), expect: JWT_INVALID },
  { name: 'unencoded payload (b64: false)', headers: async (ctx) => bearer(await genuine(ctx, {}, { b64: false, crit: ['b64'] })), expect: JWT_INVALID },

  // Size and the header's form.
  // A 2.6 MB header never reaches the app: Node refuses it (VERSIONGATE_MAX_HEADER_SIZE) with a 431 in the envelope.
  { name: 'a 2.6 MB token', headers: async (ctx) => bearer(await genuine(ctx, { pad: 'x'.repeat(2_600_000) })), expect: { status: 431 } },
  { name: 'a 10 KB token', headers: async (ctx) => bearer(await genuine(ctx, { pad: 'x'.repeat(10 * 1024) })), expect: TOO_LARGE },
  { name: 'whitespace inside the token', headers: async (ctx) => { const t = await genuine(ctx); return bearer(`${t.slice(0, 20)} ${t.slice(20)}`); }, expect: SCHEME },
  { name: 'a tab between scheme and token', headers: async (ctx) => [`Authorization: Bearer\t${await genuine(ctx)}`], expect: SCHEME },
  { name: 'a second token after the first', headers: async (ctx) => bearer(`${await genuine(ctx)} ${await genuine(ctx, { sub: 'admin' })}`), expect: SCHEME },
  { name: 'a second bearer credential after a comma', headers: async (ctx) => bearer(`${await genuine(ctx)}, Bearer ${await genuine(ctx, { sub: 'admin' })}`), expect: SCHEME },
  { name: 'two tokens joined by a comma', headers: async (ctx) => bearer(`${await genuine(ctx)},${await genuine(ctx)}`), expect: JWS_INVALID },
  // The scheme name is case-insensitive (RFC 7235 §2.1), so lowercase `bearer` is read as Bearer: the
  // token itself must still verify, and a forged one is refused the same way.
  { name: 'lowercase bearer with a forged token', headers: async (ctx) => [`Authorization: bearer ${await signText(ecHeader(ctx), JSON.stringify(claims(ctx)), ctx.keys.attacker.privateKey)}`], expect: BAD_SIGNATURE },
  { name: 'two Authorization headers, the genuine one first', headers: async (ctx) => [`Authorization: Bearer ${await genuine(ctx)}`, 'Authorization: Bearer garbage'], expect: SCHEME },
  { name: 'two Authorization headers, the genuine one second', headers: async (ctx) => ['Authorization: Bearer garbage', `Authorization: Bearer ${await genuine(ctx)}`], expect: SCHEME },
  { name: 'two Authorization headers, both genuine', headers: async (ctx) => [`Authorization: Bearer ${await genuine(ctx)}`, `Authorization: Bearer ${await genuine(ctx, { sub: 'other' })}`], expect: SCHEME },
  { name: 'Basic credentials', headers: async () => [`Authorization: Basic ${Buffer.from('admin:admin').toString('base64')}`], expect: SCHEME },
  { name: 'no Authorization header', headers: async () => [], expect: { status: 401, code: 'ERR_TOKEN_MISSING' } },

  // Signatures taken from elsewhere, cut, or spelled another way.
  { name: 'the signature of another genuine token', headers: async (ctx) => { const [h, p] = (await genuine(ctx, { sub: 'admin' })).split('.'); const s = (await genuine(ctx)).split('.')[2]; return bearer(`${h}.${p}.${s}`); }, expect: BAD_SIGNATURE },
  { name: 'a truncated signature', headers: async (ctx) => bearer((await genuine(ctx)).slice(0, -10)), expect: BAD_SIGNATURE },
  { name: 'an empty signature', headers: async (ctx) => { const [h, p] = (await genuine(ctx)).split('.'); return bearer(`${h}.${p}.`); }, expect: BAD_SIGNATURE },
  { name: 'base64 padding on the signature', headers: async (ctx) => bearer(`${await genuine(ctx)}==`), expect: JWS_INVALID },
  { name: 'base64 padding on the payload', headers: async (ctx) => { const [h, p, s] = (await genuineNeedingPadding(ctx)).split('.'); return bearer(`${h}.${p}${'='.repeat(4 - (p!.length % 4))}.${s}`); }, expect: JWS_INVALID },
  { name: 'the signature in the standard (non-url) base64 alphabet', headers: async (ctx) => { const t = await genuineWithUrlOnlyCharacters(ctx); const [h, p, s] = t.split('.'); return bearer(`${h}.${p}.${s!.replace(/-/g, '+').replace(/_/g, '/')}`); }, expect: JWS_INVALID },
  { name: 'five segments (a JWE shape)', headers: async (ctx) => bearer(`${await genuine(ctx)}.AAAA.BBBB`), expect: JWS_INVALID },
];
