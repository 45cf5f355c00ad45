/**
 * Group commit under a crash: the real server (`versiongate serve` as a child process) takes status
 * changes from several keep-alive connections, so batches of requests are committing when it is
 * killed with SIGKILL at a random moment. After each kill the database must hold every change a
 * client was told about, each with its audit record; no change without its record and no record
 * without its change (each version's applied records form one unbroken sequence of revisions ending
 * at its current one); and the audit chain must verify. Then the server starts again on the same
 * data and the next cycle runs. Every wait is bounded; every child is killed at the end.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyChain } from '../../src/audit/verify-chain.ts';
import { loadOrCreateDevKey, mintDevToken } from '../../src/auth/dev-key.ts';
import { systemClock } from '../../src/clock.ts';
import { DEV_AUDIENCE, DEV_ISSUER } from '../../src/config.ts';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import type { PackageKey } from '../../src/store/store.ts';
import { ROOT, envWithout } from '../helpers/cli-process.ts';

const LIMIT_MS = 60_000;
const CYCLES = 3;
const CONNECTIONS = 8;
const key: PackageKey = { domainOwner: '111122223333', domain: 'my_domain', repository: 'my_repo', format: 'generic', namespace: 'crash', name: 'tool' };
const versions = Array.from({ length: CONNECTIONS }, (_, i) => `1.0.${i}`);
const UPDATE = '/v1/package/versions/update_status?domain=my_domain&domain-owner=111122223333&repository=my_repo&format=generic&namespace=crash&package=tool';

const dir = mkdtempSync(join(tmpdir(), 'vg-crash-'));
const dataDir = join(dir, 'data');
const children = new Set<ChildProcess>();
afterAll(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

/** Starts the server on a free port; resolves with its URL once it listens. */
function serve(): Promise<{ child: ChildProcess; url: string }> {
  const env = { ...envWithout('VERSIONGATE_'), VERSIONGATE_DATA_DIR: dataDir, VERSIONGATE_PORT: '0', VERSIONGATE_POLICY_WATCH: 'off' };
  const child = spawn(process.execPath, ['--no-turbo-inline-js-wasm-calls', 'bin/versiongate.js', 'serve', '--dev'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let out = '';
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the server did not listen within ${LIMIT_MS} ms\n${out}\n${err}`)), LIMIT_MS);
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const line = out.split('\n').find((l) => l.includes('"versiongate listening"'));
      if (line) {
        clearTimeout(timer);
        resolve({ child, url: (JSON.parse(line) as { url: string }).url });
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the server exited (${code ?? signal}) before listening\n${out}\n${err}`));
    });
  });
}

/**
 * One connection's loop: its own version, alternating Unlisted and Published, until the server is
 * gone. Returns the revisions it was told were committed.
 */
async function drive(url: string, token: string, version: string, stop: { killed: boolean }, acknowledged1: () => void): Promise<string[]> {
  const acknowledged: string[] = [];
  for (let i = 0; i < 100_000 && !stop.killed; i++) {
    let res: Response;
    try {
      res = await fetch(`${url}${UPDATE}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ versions: [version], targetStatus: i % 2 === 0 ? 'Unlisted' : 'Published' }),
        signal: AbortSignal.timeout(LIMIT_MS),
      });
    } catch {
      break; // the server died under this request: it was never acknowledged
    }
    const body = (await res.json().catch(() => null)) as { successfulVersions?: Record<string, { revision: string }> } | null;
    if (res.status !== 200) throw new Error(`unexpected ${res.status} before the kill: ${JSON.stringify(body)}`);
    acknowledged.push(body!.successfulVersions![version]!.revision);
    acknowledged1();
  }
  return acknowledged;
}

describe('group commit under kill -9', () => {
  it(`loses no acknowledged change and leaves no half-written request, over ${CYCLES} kills`, async () => {
    const seed = openSqliteStore({ file: join(dataDir, 'versiongate.db'), clock: systemClock });
    const { seedDemo } = await import('../../src/cli/seed-demo.ts');
    const { openBlobStore } = await import('../../src/store/blob-store.ts');
    await seedDemo(seed, openBlobStore(join(dataDir, 'blobs')));
    for (const v of versions) await seed.addVersion({ key, version: v, status: 'Published', revision: `seed-${v}`, assets: [] });
    await seed.close();
    const devKey = await loadOrCreateDevKey(dataDir);
    const token = await mintDevToken({ key: devKey, issuer: DEV_ISSUER, audience: DEV_AUDIENCE, subject: 'crash', groups: ['release-managers'], groupsClaim: 'groups', ttlSeconds: 3600, clock: systemClock });

    const acknowledged = new Map<string, string[]>(versions.map((v) => [v, []]));
    for (let cycle = 0; cycle < CYCLES; cycle++) {
      const { child, url } = await serve();
      const stop = { killed: false };
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      let firstAck: () => void = () => {};
      const acked = new Promise<void>((resolve) => (firstAck = resolve));
      const loads = versions.map((v) => drive(url, token, v, stop, firstAck));
      // Kill while batches are in flight: once changes are being acknowledged, after a random while.
      await Promise.race([acked, sleep(LIMIT_MS)]);
      await sleep(100 + Math.floor(Math.random() * 600));
      stop.killed = true;
      child.kill('SIGKILL');
      await exited;
      const results = await Promise.all(loads);
      results.forEach((revisions, i) => acknowledged.get(versions[i]!)!.push(...revisions));
    }
    const total = [...acknowledged.values()].reduce((n, r) => n + r.length, 0);
    expect(total).toBeGreaterThan(0);

    const store = openSqliteStore({ file: join(dataDir, 'versiongate.db'), clock: systemClock });
    try {
      const verified = await verifyChain(store);
      expect(verified.ok, JSON.stringify(verified)).toBe(true);
      const current = (await store.readPackage(key, versions)).versions;
      for (const v of versions) {
        const records = (await store.listAudit({ filter: { version: v, resource: `arn:aws:codeartifact:us-east-1:111122223333:package/my_domain/my_repo/generic/crash/tool` }, limit: 100_000 }))
          .filter((r) => r.outcome === 'applied')
          .reverse();
        // The committed changes of v, in commit order, chain from the seeded revision to the current one.
        // (A request that found the version already in its target status applied no change.)
        let revision = `seed-${v}`;
        const committed = new Set([revision]);
        for (const r of records) {
          const c = r.changes.find((ch) => ch.version === v);
          if (!c) continue;
          expect(c.before.revision, `record ${r.seq} of ${v}`).toBe(revision);
          revision = c.after.revision;
          committed.add(revision);
        }
        expect(current.get(v)!.revision).toBe(revision);
        // Every revision a client was told about was committed with its record.
        for (const ack of acknowledged.get(v)!) expect(committed.has(ack), `acknowledged revision ${ack} of ${v}`).toBe(true);
      }
    } finally {
      await store.close();
    }
  });
});
