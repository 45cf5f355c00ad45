/**
 * The canonical log line: one JSON line per request with request id, principal, action, resource,
 * decision, status and duration, captured from the logger's destination; never a token.
 */
import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { pino } from 'pino';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger, pinoOptions, REDACTED, turnBatched } from '../../src/log.ts';
import { CHALK } from '../helpers/gateway.ts';
import { CHALK_ARN, LogCapture, opsApp, post, type OpsApp } from './ops-app.ts';

const UPDATE = `/v1/package/versions/update_status?${CHALK}`;

describe('the canonical request log line', () => {
  let gw: OpsApp;
  afterEach(() => gw.close());

  it('has request id, principal, action, resource, decision, status, route and duration', async () => {
    gw = await opsApp();
    const token = await gw.token('alice', ['release-managers']);
    const res = await gw.request(UPDATE, post({ versions: ['4.1.0'], targetStatus: 'Archived' }, token, { 'x-request-id': 'ci-run-42.step:7' }));
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toBe('ci-run-42.step:7');

    const lines = gw.log.requests();
    expect(lines).toHaveLength(1);
    const line = lines[0]!;
    expect(line).toMatchObject({
      level: 'info',
      msg: 'request',
      requestId: 'ci-run-42.step:7',
      method: 'POST',
      route: '/v1/package/versions/update_status',
      path: '/v1/package/versions/update_status',
      status: 200,
      principal: 'alice',
      action: 'UpdatePackageVersionsStatus',
      resource: CHALK_ARN,
      decision: 'allow',
    });
    expect(typeof line.durationMs).toBe('number');
    expect(line.durationMs as number).toBeGreaterThanOrEqual(0);
    expect(Number.isNaN(Date.parse(line.time as string))).toBe(false);
  });

  it('logs a denial and a 401 with their decisions', async () => {
    gw = await opsApp();
    const maintainer = await gw.token('mo', ['maintainers']);
    expect((await gw.request(UPDATE, post({ versions: ['4.1.0'], targetStatus: 'Archived' }, maintainer))).status).toBe(403);
    expect((await gw.request(UPDATE, post({ versions: ['4.1.0'], targetStatus: 'Archived' }))).status).toBe(401);
    const [denied, anonymous] = gw.log.requests();
    expect(denied).toMatchObject({ status: 403, principal: 'mo', decision: 'deny', resource: CHALK_ARN });
    expect(anonymous).toMatchObject({ status: 401, principal: null, decision: 'unauthenticated', action: 'UpdatePackageVersionsStatus' });
  });

  it('never writes a token or an Authorization header, valid or not', async () => {
    gw = await opsApp();
    const valid = await gw.token('alice', ['release-managers']);
    const expired = await gw.token('alice', ['release-managers'], -120);
    const garbage = 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJldmUifQ.not-a-signature';
    await gw.request(UPDATE, post({ versions: ['4.1.0'], targetStatus: 'Archived' }, valid));
    await gw.request(UPDATE, post({ versions: ['4.1.1'], targetStatus: 'Archived' }, expired));
    await gw.request(UPDATE, post({ versions: ['4.1.1'], targetStatus: 'Archived' }, garbage));
    await gw.request(UPDATE, post({ versions: ['4.1.1'], targetStatus: 'Archived' }, undefined, { authorization: 'Basic dXNlcjpodW50ZXIy' }));
    await gw.request('/v1/audit', { headers: { authorization: `Bearer ${valid}` } });

    expect(gw.log.requests()).toHaveLength(5);
    const all = gw.log.raw.join('\n');
    for (const secret of [valid, expired, garbage, 'dXNlcjpodW50ZXIy', ...valid.split('.'), ...expired.split('.').slice(1)]) {
      expect(all).not.toContain(secret);
    }
    expect(all.toLowerCase()).not.toContain('authorization');
    expect(all).not.toContain('Bearer');
  });

  it('replaces an unsafe x-request-id with a fresh one, returned on the response and carried into the audit', async () => {
    gw = await opsApp();
    const token = await gw.token('alice', ['release-managers']);
    const res = await gw.request(UPDATE, post({ versions: ['4.1.0'], targetStatus: 'Archived' }, token, { 'x-request-id': 'evil id {with} spaces "and quotes"' }));
    expect(res.status).toBe(200);
    const id = res.headers.get('x-request-id')!;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(gw.log.requests()[0]!.requestId).toBe(id);
    const [record] = await gw.store.listAudit({ limit: 1 });
    expect(record!.requestId).toBe(id);
  });

  it('puts an id on every response, errors and unknown paths included', async () => {
    gw = await opsApp();
    for (const res of [await gw.request('/nowhere'), await gw.request(UPDATE, { method: 'POST', body: '{' }), await gw.request('/healthz')]) {
      expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    }
    expect(gw.log.requests().map((l) => l.route)).toEqual(['unmatched', '/v1/package/versions/update_status', '/healthz']);
  });
});

describe('the logger', () => {
  it('redacts fields that could carry a secret, even when a caller passes one by mistake', () => {
    const out = new LogCapture();
    const logger = createLogger({ level: 'debug', destination: out });
    logger.info('oops', { authorization: 'Bearer abc.def.ghi', token: 'abc.def.ghi', nested: { headers: { authorization: 'Bearer x' }, cookie: 'sid=1' } });
    const [line] = out.lines;
    expect(line).toMatchObject({ msg: 'oops', authorization: REDACTED, token: REDACTED, nested: { headers: REDACTED, cookie: REDACTED } });
    expect(out.raw.join('')).not.toContain('abc.def.ghi');
  });

  it('honours the level and serialises errors', () => {
    const out = new LogCapture();
    const logger = createLogger({ level: 'warn', destination: out });
    logger.info('hidden');
    logger.error('failed', { err: new Error('boom') });
    expect(out.lines).toHaveLength(1);
    expect(out.lines[0]).toMatchObject({ level: 'error', msg: 'failed', err: { type: 'Error', message: 'boom' } });
  });

  it('writes the lines of one turn of the event loop together, when the turn ends', async () => {
    const writes: string[] = [];
    const out = turnBatched({ write: (text: string) => writes.push(text), flush: (cb) => cb?.(), flushSync() {}, end() {} });
    out.write('{"n":1}\n');
    out.write('{"n":2}\n');
    expect(writes).toEqual([]);
    await nextTurn();
    expect(writes).toEqual(['{"n":1}\n{"n":2}\n']);
    out.write('{"n":3}\n');
    await nextTurn();
    expect(writes).toEqual(['{"n":1}\n{"n":2}\n', '{"n":3}\n']);
  });

  it('writes the lines still gathered when the process exits in the same turn', () => {
    const script = `import { createLogger } from './src/log.ts'; const l = createLogger(); l.info('first'); l.info('last words'); process.exit(3);`;
    const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
    expect(run.status).toBe(3);
    expect(run.stdout.trim().split('\n').map((l) => JSON.parse(l).msg)).toEqual(['first', 'last words']);
  });
});

describe('lines written without pino', () => {
  /** Every line the logger writes, with its time taken out (the two are written moments apart). */
  const lines = () => {
    const out: string[] = [];
    return { out, destination: { write: (line: string) => void out.push(line.replace(/"time":"[^"]*"/, '"time":"-"')) } };
  };

  it('are, for plain fields, the very text pino writes', () => {
    // Names and values as a request line may carry them, and strings with anything JSON must escape.
    const plain = fc.oneof(fc.string({ unit: 'binary' }), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer(), fc.boolean(), fc.constant(null), fc.constant(undefined));
    const fields = fc.dictionary(fc.string({ unit: 'binary', minLength: 1 }).filter((k) => !['level', 'time', 'msg', '__proto__'].includes(k)), plain, { maxKeys: 12 });
    fc.assert(
      fc.property(fields, fc.string({ unit: 'binary' }), fc.constantFrom('info', 'debug') as fc.Arbitrary<'info' | 'debug'>, (f, msg, level) => {
        const ours = lines();
        const theirs = lines();
        createLogger({ level: 'debug', destination: ours.destination })[level](msg, f);
        pino(pinoOptions('debug'), theirs.destination)[level](f, msg);
        createLogger({ level: 'debug', destination: ours.destination })[level](msg);
        pino(pinoOptions('debug'), theirs.destination)[level]({}, msg);
        expect(ours.out).toEqual(theirs.out);
      }),
      { numRuns: 2_000, seed: 20261206 },
    );
  });

  it('leave to pino what it would change: secret fields, nested values, its own names, errors', () => {
    const ours = lines();
    const logger = createLogger({ level: 'info', destination: ours.destination });
    logger.info('x', { token: 'abc.def.ghi' });
    logger.info('x', { nested: { authorization: 'Bearer q' } });
    logger.info('x', { msg: 'mine' });
    logger.info('x', { err: new Error('boom') });
    logger.debug('hidden', { a: 1 });
    const parsed = ours.out.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(parsed).toHaveLength(4);
    expect(parsed[0]).toMatchObject({ token: REDACTED });
    expect(parsed[1]).toMatchObject({ nested: { authorization: REDACTED } });
    expect(parsed[3]).toMatchObject({ err: { type: 'Error', message: 'boom' } });
    expect(ours.out.join('')).not.toContain('abc.def.ghi');
  });
});
