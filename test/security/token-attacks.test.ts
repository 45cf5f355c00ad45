/**
 * The token attack matrix (token-attacks.ts) against the real server, spawned as a user runs it,
 * over real sockets: once with the identity provider's keys in a JWKS file, once at a JWKS URL the
 * test serves. Every case aims a status change at chalk 4.1.0 and must be refused with its status
 * and code; afterwards (the server stopped) chalk is exactly as seeded, every record the attacks
 * left is a refusal with the case's code, the chain verifies, and the jku/x5u URL was never fetched.
 * A genuine token is accepted first (one change, one record), so the keys are right and the
 * refusals mean something. Refusals are recorded one by one here (VERSIONGATE_REJECTION_WINDOW=0)
 * so each case's code can be read back; aggregation is rejection-log.test.ts's subject.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ATTACKS, AUDIENCE, genuine, ISSUER, makeKeys, MAX_TOKEN_AGE_SECONDS, type Context, type Keys } from './token-attacks.ts';
import { lookAtStore, seededDataDir, testHttpServer, UPDATE_CHALK, type DataDir, type TestHttpServer } from './security-fixtures.ts';
import { killAll, rawHttp, spawnServer, type SpawnedServer } from './spawned-server.ts';

let keys: Keys;
let hostile: TestHttpServer;
let idp: TestHttpServer;

beforeAll(async () => {
  keys = await makeKeys();
  hostile = await testHttpServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: [keys.attacker.jwk] }));
  });
  idp = await testHttpServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: [keys.ec.jwk, keys.rsa.jwk] }));
  });
});
afterAll(async () => {
  killAll();
  await hostile?.close();
  await idp?.close();
});

it('has at least 45 cases, each named once', () => {
  expect(ATTACKS.length).toBeGreaterThanOrEqual(45);
  expect(new Set(ATTACKS.map((a) => a.name)).size).toBe(ATTACKS.length);
});

describe.each([
  { source: 'a JWKS file', env: (d: DataDir): Record<string, string> => ({ VERSIONGATE_JWKS_FILE: join(d.dir, 'jwks.json') }) },
  { source: 'a JWKS URL', env: (): Record<string, string> => ({ VERSIONGATE_JWKS_URL: `${idp.url}/jwks.json` }) },
])('the token attack matrix with $source', ({ env }) => {
  let data: DataDir;
  let server: SpawnedServer;
  const answers = new Map<string, { status: number; requestId: string | undefined; body: string; headers: Record<string, string> }>();
  let controlRequestId: string | undefined;

  beforeAll(async () => {
    data = await seededDataDir('vg-token-matrix-');
    writeFileSync(join(data.dir, 'jwks.json'), JSON.stringify({ keys: [keys.ec.jwk, keys.rsa.jwk] }));
    server = await spawnServer({
      VERSIONGATE_DATA_DIR: data.dataDir,
      VERSIONGATE_ISSUER: ISSUER,
      VERSIONGATE_AUDIENCE: AUDIENCE,
      VERSIONGATE_MAX_TOKEN_AGE: `${MAX_TOKEN_AGE_SECONDS}s`,
      VERSIONGATE_REJECTION_WINDOW: '0',
      ...env(data),
    });
    const ctx: Context = { keys, hostileUrl: hostile.url, now: Math.floor(Date.now() / 1000) };
    // The control: a genuine token changes 4.0.0 (never a case's target).
    const control = await rawHttp(server.port, {
      method: 'POST',
      path: UPDATE_CHALK,
      headerLines: [`Authorization: Bearer ${await genuine(ctx)}`],
      body: JSON.stringify({ versions: ['4.0.0'], targetStatus: 'Unlisted' }),
    });
    expect(control.status, control.text.slice(0, 500)).toBe(200);
    controlRequestId = control.headers['x-amzn-requestid'];
    for (const attack of ATTACKS) {
      const send = async () =>
        rawHttp(server.port, {
          method: 'POST',
          path: UPDATE_CHALK,
          headerLines: await attack.headers(ctx),
          body: JSON.stringify({ versions: ['4.1.0'], targetStatus: 'Archived' }),
        });
      let res = await send();
      // A refusal answered while the client is still sending (the 2.6 MB header's 431) can be lost to
      // the reset that ends such a connection, on a busy machine: ask again, up to twice. The answer
      // asserted below is the same.
      for (let tries = 1; Number.isNaN(res.status) && tries < 3; tries++) res = await send();
      answers.set(attack.name, { status: res.status, requestId: res.headers['x-amzn-requestid'], body: res.body || res.text, headers: res.headers });
    }
    await server.stop();
  }, 240_000);
  afterAll(() => data?.remove());

  it.each(ATTACKS.map((a) => [a.name, a] as const))('%s → refused', (_name, attack) => {
    const answer = answers.get(attack.name)!;
    expect(answer.status, `${answer.body}\n${server.output().split('\n').filter((l) => l.includes('"status":4') && !l.includes('"status":401')).join('\n')}`).toBe(attack.expect.status);
    // Every refusal is in CodeArtifact's envelope: the error type header and a JSON message.
    expect(answer.headers['x-amzn-errortype']).toBe(attack.expect.status === 401 ? 'UnauthorizedException' : 'ValidationException');
    expect(JSON.parse(answer.body)).toEqual(expect.objectContaining({ message: expect.any(String) }));
    if (attack.expect.status === 401) expect(answer.headers['www-authenticate']).toMatch(/^Bearer realm="versiongate"/);
  });

  it('changes nothing: chalk is as the control left it, every other record is a refusal with its case\'s code, the chain verifies', async () => {
    const look = await lookAtStore(data.dataDir);
    expect(look.chainOk, look.chainReport).toBe(true);
    expect(look.chalk['4.1.0']).toMatch(/^Published\//);
    expect(look.chalk['4.0.0']).toMatch(/^Unlisted\//);
    // The seed records what it creates (request id seed-demo), and the server's sync worker its own work
    // on the seeded versions (request ids sync-job-N): neither is a request.
    const requests = look.records.filter((r) => !r.requestId.startsWith('sync-job-') && r.requestId !== 'seed-demo');
    const applied = requests.filter((r) => r.outcome === 'applied');
    expect(applied.map((r) => r.requestId)).toEqual([controlRequestId]);
    const byRequest = new Map(look.records.map((r) => [r.requestId, r]));
    const found: unknown[] = [];
    const wanted: unknown[] = [];
    for (const attack of ATTACKS) {
      const answer = answers.get(attack.name)!;
      if (attack.expect.code === undefined) {
        // Refused by Node before the app: no request reached the gate, so nothing to record.
        expect(answer.requestId === undefined || !byRequest.has(answer.requestId), attack.name).toBe(true);
        continue;
      }
      const record = byRequest.get(answer.requestId!);
      found.push({ name: attack.name, outcome: record?.outcome, reason: record?.reason, principal: record?.principal });
      wanted.push({ name: attack.name, outcome: 'unauthenticated', reason: attack.expect.code, principal: null });
    }
    expect(found).toEqual(wanted);
    // Nothing but the control's change, the refusals and policy loads.
    expect(requests.filter((r) => !['applied', 'unauthenticated'].includes(r.outcome) && r.action !== 'LoadPolicySet')).toEqual([]);
  });

  it('never fetched the jku/x5u URL, and never answered 5xx', () => {
    expect(hostile.hits).toBe(0);
    expect([...answers.values()].filter((a) => a.status >= 500)).toEqual([]);
  });
});
