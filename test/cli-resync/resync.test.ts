/**
 * `versiongate resync` against a fake gateway that plays status sequences: waiting and progress,
 * a failed sync retried, a permanent failure, Cloudsmith error bodies, and the bulk action. The
 * command runs in this process; one test runs it through bin/versiongate.js for the wiring.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runResync, type SyncStatus } from '../../src/cli/resync.ts';
import { ROOT } from '../helpers/cli-process.ts';
import { awaiting, completed, failed, inProgress, startFakeGateway, type FakeGateway } from './fake-gateway.ts';

let fake: FakeGateway;
beforeEach(async () => {
  fake = await startFakeGateway();
});
afterEach(async () => {
  await fake?.close();
});

const FAST = ['--wait-interval', '0.01'];

async function resync(args: string[], env: Record<string, string | undefined> = {}) {
  let stdout = '';
  let stderr = '';
  const code = await runResync(args, { VERSIONGATE_ENDPOINT: fake.url, VERSIONGATE_TOKEN: 'test-token', ...env }, { out: (t) => (stdout += t), err: (t) => (stderr += t) });
  return { code, stdout, stderr };
}

const posts = () => fake.requests.filter((r) => r.method === 'POST').map((r) => r.path);
const polls = (key: string) => fake.requests.filter((r) => r.method === 'GET' && r.path === `/v1/packages/${key}/status/`).length;

describe('one identifier', () => {
  it('schedules, waits through awaiting and progress to completed, prints one line per change and the final status', async () => {
    fake.packages.set('my_domain/my_repo/7jvagMH9vk7u', {
      syncs: [[awaiting(), awaiting(), inProgress(30), inProgress(30), inProgress(60, 'Extracting metadata'), completed()]],
    });
    const r = await resync(['my_domain/my_repo/7jvagMH9vk7u', ...FAST]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(completed());
    expect(r.stdout).toBe(JSON.stringify(completed(), null, 4) + '\n');
    expect(r.stderr).toBe(
      [
        'my_domain/my_repo/7jvagMH9vk7u: Awaiting Sync / Waiting (0%)',
        'my_domain/my_repo/7jvagMH9vk7u: Sync In Progress / Processing (30%)',
        'my_domain/my_repo/7jvagMH9vk7u: Sync In Progress / Extracting metadata (60%)',
        'my_domain/my_repo/7jvagMH9vk7u: Completed / Fully Synchronised (100%)',
        '',
      ].join('\n'),
    );
    expect(posts()).toEqual(['/v1/packages/my_domain/my_repo/7jvagMH9vk7u/resync/']);
    expect(polls('my_domain/my_repo/7jvagMH9vk7u')).toBe(6);
    expect(fake.requests.every((q) => q.authorization === 'Bearer test-token')).toBe(true);
  });

  it('--no-wait returns once scheduled, with the status the resync answered, and never polls', async () => {
    fake.packages.set('my_domain/my_repo/abc', { syncs: [[inProgress(10)]] });
    const r = await resync(['--no-wait', 'my_domain/my_repo/abc']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(awaiting());
    expect(r.stderr).toBe('');
    expect(fake.requests.map((q) => `${q.method} ${q.path}`)).toEqual(['POST /v1/packages/my_domain/my_repo/abc/resync/']);
  });

  it("accepts the Cloudsmith CLI's --no-wait-for-sync", async () => {
    fake.packages.set('my_domain/my_repo/abc', { syncs: [[inProgress(10)]] });
    const r = await resync(['my_domain/my_repo/abc', '--no-wait-for-sync']);
    expect(r.code).toBe(0);
    expect(polls('my_domain/my_repo/abc')).toBe(0);
  });

  it('a failed sync is resynced and the retry completes: exit 0', async () => {
    fake.packages.set('my_domain/my_repo/abc', {
      syncs: [
        [awaiting(), inProgress(40), failed('asset chalk-4.1.0.tgz: SHA-256 does not match its recorded hash')],
        [awaiting(), inProgress(50), completed()],
      ],
    });
    const r = await resync(['my_domain/my_repo/abc', ...FAST]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(completed());
    expect(posts()).toEqual(['/v1/packages/my_domain/my_repo/abc/resync/', '/v1/packages/my_domain/my_repo/abc/resync/']);
    expect(r.stderr).toContain('my_domain/my_repo/abc: Sync Failed / Processing (40%)\n');
    expect(r.stderr).toContain('my_domain/my_repo/abc: sync failed: asset chalk-4.1.0.tgz: SHA-256 does not match its recorded hash (attempt 1 of 3, resyncing)\n');
    // After the resync, progress is shown again from the start.
    expect(r.stderr.split('\n').filter((l) => l === 'my_domain/my_repo/abc: Awaiting Sync / Waiting (0%)')).toHaveLength(2);
    expect(r.stderr.endsWith('my_domain/my_repo/abc: Completed / Fully Synchronised (100%)\n')).toBe(true);
  });

  it('a sync that keeps failing is tried --sync-attempts times, then exit 1 with the failed status on stdout', async () => {
    fake.packages.set('my_domain/my_repo/abc', { syncs: [[awaiting(), failed('the manifest names another package')]] });
    const r = await resync(['my_domain/my_repo/abc', ...FAST, '--sync-attempts', '2']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toEqual(failed('the manifest names another package'));
    expect(posts()).toHaveLength(2);
    expect(r.stderr).toContain('(attempt 1 of 2, resyncing)\n');
    expect(r.stderr).toContain('my_domain/my_repo/abc: sync failed: the manifest names another package (attempt 2 of 2, giving up)\n');
  });

  it('by default a sync is tried 3 times', async () => {
    fake.packages.set('my_domain/my_repo/abc', { syncs: [[failed('broken')]] });
    const r = await resync(['my_domain/my_repo/abc', ...FAST]);
    expect(r.code).toBe(1);
    expect(posts()).toHaveLength(3);
    expect(r.stderr).toContain('(attempt 3 of 3, giving up)\n');
  });

  it('a failed sync the gateway calls not resyncable is not retried', async () => {
    fake.packages.set('my_domain/my_repo/abc', { syncs: [[failed('the version was disposed', false)]] });
    const r = await resync(['my_domain/my_repo/abc', ...FAST]);
    expect(r.code).toBe(1);
    expect(posts()).toHaveLength(1);
    expect(r.stderr).toContain('sync failed: the version was disposed (attempt 1 of 3, not resyncable, giving up)\n');
  });

  it.each([
    [403, 'You do not have permission to perform this action.'],
    [404, 'Not found.'],
    [400, 'The package is in the wrong state for the requested operation.'],
  ])('an error answer %i to the resync: "versiongate: <status>: <detail>", nothing on stdout, exit 1', async (status, detail) => {
    fake.packages.set('my_domain/my_repo/abc', { syncs: [[completed()]], resyncError: { status, detail } });
    const r = await resync(['my_domain/my_repo/abc', ...FAST]);
    expect(r).toEqual({ code: 1, stdout: '', stderr: `versiongate: ${status}: ${detail}\n` });
    expect(polls('my_domain/my_repo/abc')).toBe(0);
  });

  it('an unknown identifier is the 404 of the gateway', async () => {
    const r = await resync(['my_domain/my_repo/nope', ...FAST]);
    expect(r).toEqual({ code: 1, stdout: '', stderr: 'versiongate: 404: Not found.\n' });
  });

  it('a status answer that names no state (an endpoint that is not a versiongate) ends the wait with exit 1, never polls for ever', async () => {
    fake.packages.set('my_domain/my_repo/odd', { syncs: [[{} as SyncStatus]] });
    const r = await resync(['my_domain/my_repo/odd', ...FAST]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`versiongate: the answer from ${fake.url} is not a sync status (none of is_sync_awaiting, is_sync_in_flight, is_sync_in_progress, is_sync_completed, is_sync_failed is true)\n`);
    expect(polls('my_domain/my_repo/odd')).toBe(1);
  });

  it("an error body's fields are shown with its detail", async () => {
    fake.packages.set('my_domain/my_repo/abc', { syncs: [[completed()]], resyncError: { status: 400, detail: 'Invalid input.', fields: { identifier: ['Not a valid identifier.'] } } });
    const r = await resync(['my_domain/my_repo/abc']);
    expect(r.stderr).toBe('versiongate: 400: Invalid input. (identifier: Not a valid identifier.)\n');
  });

  it('a resync the token may schedule but whose status it may not read (403): said so, exit 0, the scheduled status printed', async () => {
    fake.packages.set('my_domain/my_repo/abc', { syncs: [[completed()]], statusErrors: [{ status: 403, detail: 'You do not have permission to perform this action.' }] });
    const r = await resync(['my_domain/my_repo/abc', ...FAST]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('my_domain/my_repo/abc: resync scheduled (identifier abc); you may not read its status\n');
    expect(JSON.parse(r.stdout)).toEqual(awaiting());
    expect(posts()).toEqual(['/v1/packages/my_domain/my_repo/abc/resync/']);
    expect(polls('my_domain/my_repo/abc')).toBe(1);

    // Several: each one scheduled and unreadable is counted as scheduled.
    fake.packages.set('my_domain/my_repo/def', { syncs: [[completed()]], statusErrors: [{ status: 403, detail: 'You do not have permission to perform this action.' }] });
    fake.packages.set('my_domain/my_repo/ghi', { syncs: [[completed()]] });
    const several = await resync(['my_domain/my_repo/def', 'my_domain/my_repo/ghi', ...FAST]);
    expect(several.code).toBe(0);
    expect(several.stderr).toContain('my_domain/my_repo/def: resync scheduled (identifier def); you may not read its status\n');
    expect(JSON.parse(several.stdout)).toEqual({ 'my_domain/my_repo/def': null, 'my_domain/my_repo/ghi': completed() });
  });

  it('a status poll answered 503 is tried again; a retry refused with 400 is followed on, any other refusal ends the wait', async () => {
    fake.packages.set('my_domain/my_repo/abc', { syncs: [[inProgress(20), completed()]], statusErrors: [{ status: 503, detail: 'Service unavailable.' }] });
    const ok = await resync(['my_domain/my_repo/abc', ...FAST]);
    expect(ok.code).toBe(0);
    expect(polls('my_domain/my_repo/abc')).toBe(3);

    fake.packages.set('my_domain/my_repo/def', {
      syncs: [[inProgress(10), failed('broken')]],
      resyncError: { status: 400, detail: 'The package is in the wrong state for the requested operation.' },
      resyncErrorFrom: 1,
    });
    const refused = await resync(['my_domain/my_repo/def', ...FAST]);
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.stdout)).toEqual(failed('broken'));
    // A 400 (wrong state) to a retry: the status is followed on, and the attempt counts.
    expect(refused.stderr).toContain('my_domain/my_repo/def: sync failed: broken (attempt 1 of 3, resyncing)\nversiongate: 400: The package is in the wrong state for the requested operation.\n');
    expect(refused.stderr.endsWith('my_domain/my_repo/def: sync failed: broken (attempt 3 of 3, giving up)\n')).toBe(true);
    expect(posts().filter((p) => p.includes('/def/'))).toHaveLength(3);

    // Any other refusal ends the wait at once.
    fake.packages.set('my_domain/my_repo/ghi', {
      syncs: [[failed('broken')]],
      resyncError: { status: 403, detail: 'You do not have permission to perform this action.' },
      resyncErrorFrom: 1,
    });
    const denied = await resync(['my_domain/my_repo/ghi', ...FAST]);
    expect(denied.code).toBe(1);
    expect(JSON.parse(denied.stdout)).toEqual(failed('broken'));
    expect(denied.stderr.endsWith('(attempt 1 of 3, resyncing)\nversiongate: 403: You do not have permission to perform this action.\n')).toBe(true);
    expect(posts().filter((p) => p.includes('/ghi/'))).toHaveLength(2);
  });

  it('a gateway that retries on its own: a 400 to the retry, then its status goes on to completed', async () => {
    fake.packages.set('my_domain/my_repo/abc', {
      syncs: [[failed('busy'), inProgress(50), completed()]],
      resyncError: { status: 400, detail: 'The package is in the wrong state for the requested operation.' },
      resyncErrorFrom: 1,
    });
    const r = await resync(['my_domain/my_repo/abc', ...FAST]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(completed());
  });

  it('the bearer token is the one given; a rejected token is a 401 line', async () => {
    fake.packages.set('my_domain/my_repo/abc', { syncs: [[completed()]] });
    const r = await resync(['my_domain/my_repo/abc'], { VERSIONGATE_TOKEN: 'other-token' });
    expect(r).toEqual({ code: 1, stdout: '', stderr: 'versiongate: 401: Authentication credentials were not provided.\n' });
  });

  it('a gateway that cannot be reached is named', async () => {
    const url = fake.url;
    await fake.close();
    const r = await resync(['my_domain/my_repo/abc'], { VERSIONGATE_ENDPOINT: url });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(new RegExp(`^versiongate: cannot complete the request to ${url.replace(/[.]/g, '\\.')}: .+\n$`));
  });
});

describe('--cli-connect-timeout and --cli-read-timeout, as the aws CLI has them (0: that one waits forever)', () => {
  /** A gateway that accepts the connection and then answers after `delayMs` (never, when undefined). */
  async function slowGateway(delayMs?: number): Promise<{ url: string; close(): Promise<void> }> {
    const server = createServer((_req, res) => {
      if (delayMs === undefined) return;
      setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(awaiting())), delayMs);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
    };
  }

  /** The command's result, or 'still waiting' when it has not ended within `ms`. */
  async function within(ms: number, run: Promise<Awaited<ReturnType<typeof resync>>>) {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'still waiting'>((resolve) => (timer = setTimeout(() => resolve('still waiting'), ms)));
    try {
      return await Promise.race([run, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  it('--cli-connect-timeout 0 keeps the read timeout: a gateway that never answers is given up on after --cli-read-timeout', async () => {
    const silent = await slowGateway();
    try {
      const r = await within(15_000, resync(['my_domain/my_repo/abc', '--no-wait', '--cli-connect-timeout', '0', '--cli-read-timeout', '1'], { VERSIONGATE_ENDPOINT: silent.url }));
      expect(r).toEqual({ code: 1, stdout: '', stderr: `versiongate: no answer from ${silent.url} for 1 s (--cli-read-timeout)\n` });
    } finally {
      await silent.close();
    }
  });

  it('the connect timeout ends once connected: a slower answer is waited for under --cli-read-timeout 0', async () => {
    const slow = await slowGateway(1500);
    try {
      const r = await within(15_000, resync(['my_domain/my_repo/abc', '--no-wait', '--cli-connect-timeout', '1', '--cli-read-timeout', '0'], { VERSIONGATE_ENDPOINT: slow.url }));
      expect(r).toEqual({ code: 0, stdout: JSON.stringify(awaiting(), null, 4) + '\n', stderr: '' });
    } finally {
      await slow.close();
    }
  });
});

describe('several identifiers: the bulk action', () => {
  it('one bulk action per OWNER/REPO, then a wait on each; an identifier failed to be actioned makes exit 1', async () => {
    fake.packages.set('my_domain/my_repo/aaa', { syncs: [[awaiting(), inProgress(50), completed()]] });
    fake.packages.set('my_domain/my_repo/bbb', { syncs: [[failed('asset missing')], [completed()]] });
    fake.packages.set('my_domain/my_repo/ccc', { syncs: [[completed()]] });
    fake.packages.set('my_domain/prod/ddd', { syncs: [[inProgress(5), completed()]] });
    fake.bulkFailures = { ccc: { reason: 'You do not have permission to perform this action.' } };

    const r = await resync(['my_domain/my_repo/aaa', 'my_domain/my_repo/bbb', 'my_domain/prod/ddd', 'my_domain/my_repo/ccc', 'my_domain/my_repo/zzz', ...FAST]);
    expect(r.code).toBe(1);

    const bulk = fake.requests.filter((q) => q.path.startsWith('/v1/bulk-action/'));
    expect(bulk.map((q) => [q.path, q.body])).toEqual([
      ['/v1/bulk-action/my_domain/', { action: 'Resync', identifiers: ['aaa', 'bbb', 'ccc', 'zzz'], repository: 'my_repo' }],
      ['/v1/bulk-action/my_domain/', { action: 'Resync', identifiers: ['ddd'], repository: 'prod' }],
    ]);
    // bbb failed once and was resynced on its own; ccc and zzz were never waited on.
    expect(posts().filter((p) => p.includes('/resync/'))).toEqual(['/v1/packages/my_domain/my_repo/bbb/resync/']);
    expect(polls('my_domain/my_repo/ccc') + polls('my_domain/my_repo/zzz')).toBe(0);

    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(Object.keys(out)).toEqual(['my_domain/my_repo/aaa', 'my_domain/my_repo/bbb', 'my_domain/prod/ddd', 'my_domain/my_repo/ccc', 'my_domain/my_repo/zzz']);
    expect(out['my_domain/my_repo/aaa']).toEqual(completed());
    expect(out['my_domain/my_repo/bbb']).toEqual(completed());
    expect(out['my_domain/prod/ddd']).toEqual(completed());
    expect(out['my_domain/my_repo/ccc']).toEqual({ reason: 'You do not have permission to perform this action.' });
    expect(out['my_domain/my_repo/zzz']).toEqual({ reason: 'Not found.' });

    expect(r.stderr).toContain('versiongate: my_domain/my_repo/ccc: You do not have permission to perform this action.\n');
    expect(r.stderr).toContain('versiongate: my_domain/my_repo/zzz: Not found.\n');
    expect(r.stderr).toContain('my_domain/my_repo/aaa: Sync In Progress / Processing (50%)\n');
    expect(r.stderr).toContain('my_domain/my_repo/bbb: sync failed: asset missing (attempt 1 of 3, resyncing)\n');
    expect(r.stderr).toContain('my_domain/prod/ddd: Completed / Fully Synchronised (100%)\n');
  });

  it('every identifier actioned and completed: exit 0', async () => {
    fake.packages.set('other_domain/r1/aaa', { syncs: [[completed()]] });
    fake.packages.set('my_domain/my_repo/bbb', { syncs: [[inProgress(70), completed()]] });
    const r = await resync(['other_domain/r1/aaa', 'my_domain/my_repo/bbb', ...FAST]);
    expect(r.code).toBe(0);
    expect(Object.values(JSON.parse(r.stdout) as object)).toEqual([completed(), completed()]);
    expect(fake.requests.filter((q) => q.path.startsWith('/v1/bulk-action/')).map((q) => q.path)).toEqual(['/v1/bulk-action/other_domain/', '/v1/bulk-action/my_domain/']);
  });

  it('--no-wait schedules every one and polls none', async () => {
    fake.packages.set('my_domain/my_repo/aaa', { syncs: [[inProgress(1)]] });
    fake.packages.set('my_domain/my_repo/bbb', { syncs: [[inProgress(1)]] });
    const r = await resync(['--no-wait', 'my_domain/my_repo/aaa', 'my_domain/my_repo/bbb']);
    expect(r.code).toBe(0);
    expect(fake.requests.map((q) => `${q.method} ${q.path}`)).toEqual(['POST /v1/bulk-action/my_domain/']);
    expect(JSON.parse(r.stdout)).toEqual({ 'my_domain/my_repo/aaa': null, 'my_domain/my_repo/bbb': null });
  });

  it('an error answer to the bulk action fails each of its identifiers', async () => {
    fake.bulkError = { status: 403, detail: 'You do not have permission to perform this action.' };
    const r = await resync(['my_domain/my_repo/aaa', 'my_domain/my_repo/bbb', ...FAST]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('versiongate: my_domain/my_repo: 403: You do not have permission to perform this action.\n');
    expect(JSON.parse(r.stdout)).toEqual({
      'my_domain/my_repo/aaa': { detail: '403: You do not have permission to perform this action.' },
      'my_domain/my_repo/bbb': { detail: '403: You do not have permission to perform this action.' },
    });
  });

  it('more than 100 identifiers in one repository go out as several bulk actions', async () => {
    const ids = Array.from({ length: 150 }, (_, i) => `id${i}`);
    for (const id of ids) fake.packages.set(`my_domain/my_repo/${id}`, { syncs: [[completed()]] });
    const r = await resync(['--no-wait', ...ids.map((id) => `my_domain/my_repo/${id}`)]);
    expect(r.code).toBe(0);
    const sizes = fake.requests.map((q) => (q.body as { identifiers: string[] }).identifiers.length);
    expect(sizes).toEqual([100, 50]);
  });
});

describe('usage errors: exit 2, nothing sent', () => {
  it.each([
    ['no identifier', [], 'resync needs at least one OWNER/REPO/IDENTIFIER, e.g. my_domain/my_repo/7jvagMH9vk7u'],
    ['two parts', ['my_domain/abc'], "'my_domain/abc' is not OWNER/REPO/IDENTIFIER (the domain, the repository and the version's identifier, e.g. my_domain/my_repo/7jvagMH9vk7u)"],
    ['an empty part', ['my_domain//abc'], "'my_domain//abc' is not OWNER/REPO/IDENTIFIER (the domain, the repository and the version's identifier, e.g. my_domain/my_repo/7jvagMH9vk7u)"],
    ['the same one twice', ['a/b/c', 'a/b/c'], 'a/b/c is given more than once'],
    ['a bad --wait-interval', ['a/b/c', '--wait-interval', 'soon'], "--wait-interval must be a number of seconds above 0 and up to 3600, such as 5 or 0.5, got 'soon'"],
    ['a zero --wait-interval', ['a/b/c', '--wait-interval', '0'], "--wait-interval must be a number of seconds above 0 and up to 3600, such as 5 or 0.5, got '0'"],
    ['a zero --sync-attempts', ['a/b/c', '--sync-attempts', '0'], '--sync-attempts must be at least 1'],
    ['an unknown flag', ['a/b/c', '--bogus'], "unknown option '--bogus'"],
    ['--wait with --no-wait-for-sync', ['a/b/c', '--wait', '--no-wait-for-sync'], 'give --wait or --wait-for-sync, not both'],
  ])('%s', async (_name, args, message) => {
    const r = await resync(args);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      `versiongate: ${message}\nUsage:\n  versiongate resync [--wait | --no-wait] [--wait-interval <value>] [--sync-attempts <value>]\n` +
        `       [--endpoint-url <value>] [--token <value>] [--cli-connect-timeout <value>]\n` +
        `       [--cli-read-timeout <value>] OWNER/REPO/IDENTIFIER...\nRun 'versiongate resync --help' for the details.\n`,
    );
    expect(fake.requests).toEqual([]);
  });

  it('no endpoint, no token: the client commands\' messages', async () => {
    const noEndpoint = await resync(['a/b/c'], { VERSIONGATE_ENDPOINT: undefined });
    expect(noEndpoint.code).toBe(2);
    expect(noEndpoint.stderr).toContain('versiongate: no endpoint: give --endpoint-url or set VERSIONGATE_ENDPOINT');
    const noToken = await resync(['a/b/c'], { VERSIONGATE_TOKEN: undefined });
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toContain('versiongate: no token: give --token or set VERSIONGATE_TOKEN');
    const plainHttp = await resync(['a/b/c', '--endpoint-url', 'http://registry.example.com']);
    expect(plainHttp.code).toBe(2);
    expect(plainHttp.stderr).toContain('refusing to send the token over plain http to registry.example.com');
  });

  it('--endpoint-url and --token on the command line are used', async () => {
    fake.packages.set('my_domain/my_repo/abc', { syncs: [[completed()]] });
    const r = await resync(['my_domain/my_repo/abc', '--endpoint-url', fake.url, '--token', 'test-token'], { VERSIONGATE_ENDPOINT: undefined, VERSIONGATE_TOKEN: undefined });
    expect(r.code).toBe(0);
  });
});

describe('through bin/versiongate.js', () => {
  it('--help prints the usage and exits 0; versiongate help lists resync', { timeout: 120_000 }, async () => {
    const run = (args: string[]) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
        const child = spawn(process.execPath, ['--no-turbo-inline-js-wasm-calls', 'bin/versiongate.js', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
        child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
        child.once('error', reject);
        child.once('close', (code) => resolve({ code, stdout, stderr }));
      });
    const help = await run(['resync', '--help']);
    expect(help.code).toBe(0);
    expect(help.stderr).toBe('');
    for (const word of ['OWNER/REPO/IDENTIFIER', '--no-wait', '--wait-interval', '--sync-attempts', '--endpoint-url', '--token']) expect(help.stdout).toContain(word);
    const usage = await run(['help']);
    expect(usage.stdout).toContain('versiongate resync');
  });
});
