/**
 * Two replicas, one database: two real `versiongate serve` processes, each with a data directory of
 * its own and one JWKS file between them, on one PostgreSQL database, driven with the AWS SDK.
 * Conflicting writes spread over both have one winner; what one publishes the other serves; a resync
 * scheduled on one runs on exactly one worker; then `versiongate audit verify --database-url` finds
 * one chain holding every decision of both, every change one-for-one with its record. Last, one
 * replica is killed with SIGKILL while both take writes: every acknowledged change is in the database
 * with its record, the chain verifies, and the survivor kept serving. Every wait is bounded.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CodeartifactClient,
  GetPackageVersionAssetCommand,
  PublishPackageVersionCommand,
  UpdatePackageVersionsStatusCommand,
  type UpdatePackageVersionsStatusCommandOutput,
} from '@aws-sdk/client-codeartifact';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyChain } from '../../src/audit/verify-chain.ts';
import { systemClock } from '../../src/clock.ts';
import { openPostgresStore } from '../../src/store/postgres/postgres-store.ts';
import type { PackageKey, Store } from '../../src/store/store.ts';
import { ROOT, envWithout } from '../helpers/cli-process.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.ts';

const LIMIT_MS = 60_000;
const ISSUER = 'https://idp.example.test';
const AUDIENCE = 'versiongate';
const coords = { domain: 'my_domain', domainOwner: '111122223333', repository: 'my_repo', format: 'generic' as const, namespace: 'fleet' };
const keyOf = (name: string): PackageKey => ({ domainOwner: coords.domainOwner, domain: coords.domain, repository: coords.repository, format: 'generic', namespace: 'fleet', name });
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

const dir = mkdtempSync(join(tmpdir(), 'vg-replicas-'));
const children = new Set<ChildProcess>();
let db: TestDatabase;
let store: Store;
let sign: (groups: string[]) => Promise<string>;

interface Replica {
  child: ChildProcess;
  url: string;
  out: () => string;
}

function env(name: string): NodeJS.ProcessEnv {
  return {
    ...envWithout('VERSIONGATE_'),
    VERSIONGATE_DATABASE_URL: db.url,
    VERSIONGATE_DATABASE_POOL_SIZE: '6',
    VERSIONGATE_DATA_DIR: join(dir, name),
    VERSIONGATE_JWKS_FILE: join(dir, 'jwks.json'),
    VERSIONGATE_ISSUER: ISSUER,
    VERSIONGATE_AUDIENCE: AUDIENCE,
    VERSIONGATE_PORT: '0',
    VERSIONGATE_POLICY_WATCH: 'off',
  };
}

function serve(name: string): Promise<Replica> {
  mkdirSync(join(dir, name), { recursive: true });
  const child = spawn(process.execPath, ['--no-turbo-inline-js-wasm-calls', 'bin/versiongate.js', 'serve'], { cwd: ROOT, env: env(name), stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let out = '';
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`replica ${name} did not listen within ${LIMIT_MS} ms\n${out}\n${err}`)), LIMIT_MS);
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const line = out.split('\n').find((l) => l.includes('"versiongate listening"'));
      if (line && timer) {
        clearTimeout(timer);
        resolve({ child, url: (JSON.parse(line) as { url: string }).url, out: () => out });
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`replica ${name} exited (${code ?? signal}) before listening\n${out}\n${err}`));
    });
  });
}

/** Runs the CLI to completion (bounded). */
function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--no-turbo-inline-js-wasm-calls', 'bin/versiongate.js', ...args], { cwd: ROOT, env: env('cli'), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => (child.kill('SIGKILL'), reject(new Error(`versiongate ${args.join(' ')} did not finish\n${stdout}\n${stderr}`))), LIMIT_MS);
    child.once('exit', (code) => (clearTimeout(timer), resolve({ code, stdout, stderr })));
  });
}

function client(url: string, token: string): CodeartifactClient {
  const c = new CodeartifactClient({ endpoint: url, region: 'us-east-1', credentials: { accessKeyId: 'unused', secretAccessKey: 'unused' }, maxAttempts: 1 });
  c.middlewareStack.add(
    (next) => async (args) => {
      (args.request as { headers: Record<string, string> }).headers['authorization'] = `Bearer ${token}`;
      return next(args);
    },
    { step: 'finalizeRequest', priority: 'low', name: 'versiongateBearerToken' },
  );
  return c;
}

/** Polls until `check` holds (bounded). */
async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + LIMIT_MS;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`${what}: not within ${LIMIT_MS} ms`);
    await sleep(100);
  }
}

const settled = () => until('every sync settled', async () => {
  const c = await store.countSyncJobs();
  return c.awaiting === 0 && c.in_progress === 0;
});

beforeAll(async () => {
  db = await createTestDatabase('replicas');
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  writeFileSync(join(dir, 'jwks.json'), JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'fleet', alg: 'ES256', use: 'sig' }] }));
  sign = (groups) =>
    new SignJWT({ groups })
      .setProtectedHeader({ alg: 'ES256', kid: 'fleet' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setSubject('fleet-test')
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(privateKey);
  // The CLI seeds the shared database the way the README says, with --database-url's variable.
  const seeded = await cli(['seed', 'demo']);
  expect(seeded.stderr).not.toMatch(/error/i);
  expect(seeded.code).toBe(0);
  store = await openPostgresStore({ url: db.url, clock: systemClock, poolSize: 2 });
});

afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await store?.close();
  await db?.drop();
  rmSync(dir, { recursive: true, force: true });
});

describe('two replicas on one PostgreSQL', () => {
  let a: Replica;
  let b: Replica;

  beforeAll(async () => {
    [a, b] = await Promise.all([serve('a'), serve('b')]);
  });

  it('publishes on one and serves from the other; 50 conflicting updates over both have exactly one winner; a resync runs once; one chain verifies', async () => {
    const publisherA = client(a.url, await sign(['publishers']));
    const readerB = client(b.url, await sign(['release-managers']));
    const bytes = new TextEncoder().encode('built by replica a\n'.repeat(1000));
    await publisherA.send(new PublishPackageVersionCommand({ ...coords, package: 'tool', packageVersion: '1.0.0', assetName: 'tool.bin', assetContent: bytes, assetSHA256: sha256(bytes) }));
    await settled();
    const got = await readerB.send(new GetPackageVersionAssetCommand({ ...coords, package: 'tool', packageVersion: '1.0.0', asset: 'tool.bin' }));
    expect(sha256(await got.asset!.transformToByteArray())).toBe(sha256(bytes));

    // 50 UpdatePackageVersionsStatus on one version, all from the same revision, alternating replicas.
    const { version } = await store.readVersion(keyOf('tool'), '1.0.0');
    const managers = [client(a.url, await sign(['release-managers'])), readerB];
    const outcomes = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        managers[i % 2]!.send(
          new UpdatePackageVersionsStatusCommand({ ...coords, package: 'tool', versions: ['1.0.0'], versionRevisions: { '1.0.0': version!.revision }, targetStatus: i % 4 < 2 ? 'Archived' : 'Unlisted' }),
        ).then(
          (r: UpdatePackageVersionsStatusCommandOutput) => ({ status: 200, won: Object.keys(r.successfulVersions ?? {}).length === 1, code: r.failedVersions?.['1.0.0']?.errorCode }),
          (e: { $metadata?: { httpStatusCode?: number }; name?: string }) => ({ status: e.$metadata?.httpStatusCode ?? 0, won: false, code: e.name }),
        ),
      ),
    );
    expect(outcomes.filter((o) => o.won)).toHaveLength(1);
    // Every loser is told cleanly: MISMATCHED_REVISION, or a 409 when the version kept changing; never a 500.
    for (const o of outcomes.filter((o) => !o.won)) expect(o.code === 'MISMATCHED_REVISION' || o.status === 409, JSON.stringify(o)).toBe(true);
    const applied = (await store.listAudit({ limit: 200, filter: { action: 'UpdatePackageVersionsStatus', packageName: 'tool' } })).filter((r) => r.outcome === 'applied' && r.changes.length > 0);
    expect(applied).toHaveLength(1);

    // A resync scheduled on replica a runs on exactly one replica's worker.
    await settled();
    const current = (await store.readVersion(keyOf('tool'), '1.0.0')).version!;
    // The job row is the version's, reused by every sync: only what the replicas log from now on counts.
    const logged = [a.out().length, b.out().length];
    const res = await fetch(`${a.url}/v1/packages/my_domain/my_repo/${current.identifier}/resync/`, { method: 'POST', headers: { authorization: `Bearer ${await sign(['publishers'])}` } });
    expect(res.status, await res.clone().text()).toBeLessThan(300);
    await until('the resync completed', async () => (await store.readSyncJob(current.id))?.state === 'completed' && (await store.readSyncJob(current.id))!.attempts === 1);
    const job = (await store.readSyncJob(current.id))!;
    const completions = () => [a, b].map((r, i) => r.out().slice(logged[i]).split('\n').filter((l) => l.includes('"sync completed"') && l.includes(`"syncJob":${job.id},`)).length);
    // Log lines are written asynchronously (at the end of their turn of the event loop, then through
    // a pipe): the line may arrive just after the job's row says it completed.
    await until('the replica that ran it logged "sync completed"', async () => completions()[0]! + completions()[1]! > 0);
    expect(completions()[0]! + completions()[1]!).toBe(1);

    // One chain, checked by the CLI on the shared database: every record of both replicas on it.
    const verified = await cli(['audit', 'verify']);
    expect(verified.code, verified.stdout + verified.stderr).toBe(0);
    const report = await verifyChain(store);
    expect(report.ok).toBe(true);
    // Every version change is one-for-one with its record: each status change in the log matches the row.
    expect((await store.readVersion(keyOf('tool'), '1.0.0')).version!.status).toBe(applied[0]!.changes[0]!.after.status);
  });

  it('loses nothing acknowledged when a replica is killed mid-load, and the survivor keeps serving', async () => {
    const publisher = client(a.url, await sign(['publishers']));
    const versions = Array.from({ length: 6 }, (_, i) => `3.0.${i}`);
    for (const v of versions) {
      const bytes = new TextEncoder().encode(`asset ${v}`);
      await publisher.send(new PublishPackageVersionCommand({ ...coords, package: 'load', packageVersion: v, assetName: 'a.bin', assetContent: bytes, assetSHA256: sha256(bytes) }));
    }
    await settled();
    const acknowledged = new Map<string, string[]>(versions.map((v) => [v, []]));
    const stop = { killed: false, survivorFailures: 0, survivorSuccesses: 0 };
    const token = await sign(['release-managers']);
    const drive = async (replica: Replica, version: string, survivor: boolean) => {
      for (let i = 0; i < 100_000; i++) {
        if (stop.killed && !survivor) return;
        if (stop.killed && survivor && stop.survivorSuccesses >= 40) return;
        let res: Response;
        try {
          res = await fetch(`${replica.url}/v1/package/versions/update_status?domain=my_domain&domain-owner=111122223333&repository=my_repo&format=generic&namespace=fleet&package=load`, {
            method: 'POST',
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
            body: JSON.stringify({ versions: [version], targetStatus: i % 2 === 0 ? 'Unlisted' : 'Published' }),
            signal: AbortSignal.timeout(LIMIT_MS),
          });
        } catch {
          if (survivor) stop.survivorFailures += 1;
          return; // the replica died under this request: never acknowledged
        }
        const body = (await res.json().catch(() => null)) as { successfulVersions?: Record<string, { revision: string }> } | null;
        if (res.status !== 200) {
          if (survivor) stop.survivorFailures += 1;
          throw new Error(`unexpected ${res.status}: ${JSON.stringify(body)}`);
        }
        acknowledged.get(version)!.push(body!.successfulVersions![version]!.revision);
        if (survivor && stop.killed) stop.survivorSuccesses += 1;
      }
    };
    // Each version is driven by one replica (so no conflicts): the first three by a, the rest by b.
    const loads = versions.map((v, i) => drive(i < 3 ? a : b, v, i < 3));
    await until('both replicas acknowledging', async () => versions.every((v) => acknowledged.get(v)!.length > 3));
    stop.killed = true;
    b.child.kill('SIGKILL');
    await Promise.all(loads);
    expect(stop.survivorFailures).toBe(0);
    expect(stop.survivorSuccesses).toBeGreaterThanOrEqual(40);

    // Every acknowledged revision is in the log as an applied change, and each version's current revision is its last record's.
    const records = [];
    for (let before: number | undefined; ; ) {
      const page = await store.listAudit({ limit: 1000, beforeSeq: before, filter: { packageName: 'load', action: 'UpdatePackageVersionsStatus' } });
      records.push(...page);
      if (page.length < 1000) break;
      before = page[page.length - 1]!.seq;
    }
    const logged = new Set(records.flatMap((r) => r.changes.map((c) => `${c.version}@${c.after.revision}`)));
    for (const [v, revisions] of acknowledged) {
      for (const rev of revisions) expect(logged.has(`${v}@${rev}`), `${v}@${rev} acknowledged but not in the log`).toBe(true);
      const current = (await store.readVersion(keyOf('load'), v)).version!;
      const last = records.find((r) => r.changes.some((c) => c.version === v))!;
      expect(last.changes.find((c) => c.version === v)!.after.revision).toBe(current.revision);
    }
    expect((await verifyChain(store)).ok).toBe(true);
    // The survivor still answers readiness against the database.
    expect((await fetch(`${a.url}/readyz`)).status).toBe(200);
  });
});
