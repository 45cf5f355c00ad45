/**
 * The per-source cap on refused tokens (VERSIONGATE_AUTH_FAILURE_LIMIT), on the real server: one
 * address (127.0.0.2) sends tokens that each cost a signature check (the development key's kid,
 * another key's signature); past the cap it is answered 429 ThrottlingException with Retry-After and
 * its tokens are no longer verified (the verification-failure counter stops), while another address
 * (127.0.0.1) keeps being served, interleaved with the flood, and a refused token from it is still a 401.
 * A token verified before goes on from a capped address: it costs no signature check.
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { DEV_AUDIENCE, DEV_ISSUER } from '../../src/config.ts';
import { CHALK } from '../helpers/gateway.ts';
import { sample } from '../ops/ops-app.ts';
import { readResponse, realServer, type RawResponse, type RealServer } from '../ops/real-server.ts';

const LIMIT = 20;
const LIST = `/v1/package/versions?${CHALK}`;

function from(localAddress: string, url: string, token: string): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', localAddress, agent: false, headers: { authorization: `Bearer ${token}` } }, (res) => readResponse(res).then(resolve, reject));
    req.on('error', reject);
    req.end();
  });
}

describe('the cap on refused tokens per source address', () => {
  let s: RealServer;
  let forger: CryptoKey;
  beforeAll(async () => {
    s = await realServer({ 'auth-failure-limit': String(LIMIT) });
    forger = (await generateKeyPair('ES256')).privateKey;
  });
  afterAll(() => s?.cleanup());

  const forged = (i: number) =>
    new SignJWT({ iss: DEV_ISSUER, aud: DEV_AUDIENCE, sub: `mallory-${i}`, iat: Math.floor(Date.now() / 1000), exp: Math.floor(Date.now() / 1000) + 600 })
      .setProtectedHeader({ alg: 'ES256', kid: s.gateway.devKey!.kid, typ: 'JWT' })
      .sign(forger);

  it('answers one address 429 past the cap without verifying, and keeps serving another', async () => {
    const url = `${s.gateway.url}${LIST}`;
    const good = await s.token('alice', ['release-managers']);
    const flood: number[] = [];
    const others: number[] = [];
    for (let i = 0; i < 100; i++) {
      const res = await from('127.0.0.2', url, await forged(i));
      flood.push(res.status);
      if (res.status === 429) {
        expect(res.headers['x-amzn-errortype']).toBe('ThrottlingException');
        expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
        expect(JSON.parse(res.body)).toEqual({ message: expect.any(String), retryAfterSeconds: Number(res.headers['retry-after']) });
      }
      if (i % 10 === 0) others.push((await from('127.0.0.1', url, good)).status);
    }
    expect(flood.slice(0, LIMIT)).toEqual(Array(LIMIT).fill(401));
    expect(flood.slice(LIMIT)).toEqual(Array(100 - LIMIT).fill(429));
    expect(others).toEqual(Array(10).fill(200));
    // The other address's own refused token is still refused as such, not throttled.
    expect((await from('127.0.0.1', url, await forged(1000))).status).toBe(401);
    // Only the tokens before the cap (and the one just above) cost a signature check.
    const metrics = await new Promise<RawResponse>((resolve, reject) => request(`${s.gateway.url}/metrics`, (res) => readResponse(res).then(resolve, reject)).on('error', reject).end());
    expect(sample(metrics.body, 'versiongate_token_verification_failures_total', { reason: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' })).toBe(LIMIT + 1);
  });

  it('past the cap, a token the gateway verified before still goes on from that address: behind a load balancer one client cannot lock out the others', async () => {
    const url = `${s.gateway.url}${LIST}`;
    // A pipeline behind the same address as the flood (127.0.0.3), its token verified before the flood.
    const pipeline = await s.token('ci-pipeline', ['developers']);
    expect((await from('127.0.0.3', url, pipeline)).status).toBe(200);
    for (let i = 0; i < LIMIT; i++) expect((await from('127.0.0.3', url, await forged(2000 + i))).status).toBe(401);
    expect((await from('127.0.0.3', url, await forged(3000))).status).toBe(429);
    expect((await from('127.0.0.3', url, pipeline)).status).toBe(200);
    // A token never verified here is not checked while the address is capped: 429, not a signature check.
    expect((await from('127.0.0.3', url, await s.token('newcomer', ['developers']))).status).toBe(429);
  });
});
