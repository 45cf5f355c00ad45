/**
 * `npm run bench`: where a request's time goes. Prints per-operation latency (p50, p99) and rate for
 *   - a Cedar decision on the shipped policies (PolicyEngine.authorize), and with 10 and 10,000
 *     generated static policies, with and without the decision cache (BENCH_ONLY=decisions stops there),
 *   - token verification (ES256, jose),
 *   - a whole UpdatePackageVersionsStatus request through the app (validation, token, Cedar,
 *     SQLite read + commit with its audit record), in-process;
 *   - whole ListPackageVersions and GetPackageVersionAsset requests (each read is audited);
 *   - one PublishPackageVersion of BENCH_UPLOAD_MB MiB (1024 by default): time, and resident memory.
 * Numbers, not assertions: compare runs on the same machine.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createApp } from '../src/app.ts';
import { loadOrCreateDevKey, mintDevToken } from '../src/auth/dev-key.ts';
import { keySourceFor } from '../src/auth/key-source.ts';
import { createTokenVerifier } from '../src/auth/verify-token.ts';
import { systemClock } from '../src/clock.ts';
import { seedDemo } from '../src/cli/seed-demo.ts';
import { tgz } from '../src/cli/tarball.ts';
import { createSyncWorker, DEFAULT_SYNC_SETTINGS, type SyncWorker } from '../src/sync/sync-worker.ts';
import { DEV_AUDIENCE, DEV_ISSUER } from '../src/config.ts';
import { silentLogger } from '../src/log.ts';
import { packageResource } from '../src/policy/entities.ts';
import { PolicyEngine } from '../src/policy/engine.ts';
import { loadPolicyDir } from '../src/policy/load-policies.ts';
import { openBlobStore } from '../src/store/blob-store.ts';
import { openSqliteStore } from '../src/store/sqlite/sqlite-store.ts';

async function measure(name: string, iterations: number, fn: (i: number) => unknown): Promise<void> {
  for (let i = 0; i < Math.min(200, iterations); i++) await fn(i); // warm up
  const samples = new Float64Array(iterations);
  const started = performance.now();
  for (let i = 0; i < iterations; i++) {
    const t = performance.now();
    await fn(i);
    samples[i] = performance.now() - t;
  }
  const total = performance.now() - started;
  samples.sort();
  const q = (p: number) => samples[Math.min(iterations - 1, Math.floor(p * iterations))]! * 1000;
  console.log(`${name.padEnd(48)} p50 ${q(0.5).toFixed(1).padStart(8)} µs   p99 ${q(0.99).toFixed(1).padStart(8)} µs   ${Math.round(iterations / (total / 1000))}/s`);
}

/**
 * One PublishPackageVersion of `mb` MiB, streamed from a generator that reuses one 1 MiB buffer, so
 * the process's resident memory shows what the gateway itself holds: a buffered body would add the
 * whole asset. RSS is sampled every 20 ms.
 */
async function measureUpload(app: ReturnType<typeof createApp>, token: string, mb: number): Promise<void> {
  const chunk = randomBytes(1024 * 1024);
  const sha = createHash('sha256');
  for (let i = 0; i < mb; i++) sha.update(chunk);
  let sent = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(c) {
      if (sent++ < mb) c.enqueue(chunk);
      else c.close();
    },
  });
  const rssBefore = process.memoryUsage.rss();
  let rssPeak = rssBefore;
  const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage.rss())), 20);
  const started = performance.now();
  const res = await app.request(`/v1/package/version/publish?domain=my_domain&domain-owner=111122223333&repository=my_repo&format=generic&namespace=bench&package=big&version=${Date.now()}&asset=big.bin`, {
    method: 'POST',
    body,
    headers: { authorization: `Bearer ${token}`, 'x-amz-content-sha256': sha.digest('hex') },
    duplex: 'half',
  } as RequestInit);
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  if (res.status !== 200) throw new Error(`unexpected ${res.status}: ${await res.text()}`);
  const mib = (n: number) => Math.round(n / 1024 / 1024);
  console.log(
    `${`PublishPackageVersion, ${mb} MiB streamed (in-process)`.padEnd(48)} ${seconds.toFixed(1)} s, ${Math.round(mb / seconds)} MiB/s; RSS ${mib(rssBefore)} MiB before, ${mib(rssPeak)} MiB at most`,
  );
}

/**
 * Runs every due sync job and reports the time and the RSS peak: a sync re-reads every asset and
 * recomputes four digests, so for a large generic asset it costs about what the upload's hashing did.
 */
async function measureSync(worker: SyncWorker, label: string): Promise<void> {
  const rssBefore = process.memoryUsage.rss();
  let rssPeak = rssBefore;
  const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage.rss())), 20);
  const started = performance.now();
  let jobs = 0;
  while (await worker.runOnce()) jobs++;
  const ms = performance.now() - started;
  clearInterval(sampler);
  const mib = (n: number) => Math.round(n / 1024 / 1024);
  console.log(`${`sync: ${label}`.padEnd(48)} ${jobs} job(s) in ${ms.toFixed(0)} ms; RSS ${mib(rssBefore)} MiB before, ${mib(rssPeak)} MiB at most`);
}

/**
 * Decision latency as the static set grows: the shipped policies plus N generated ones, each
 * `permit (principal == User::"userN", action == …, resource in Repository::"…/domN/repoN")`.
 * The index evaluates only the policies whose scope can hold (one generated policy and the shipped
 * ones that apply), so p50 should not grow with N. Uncached: decision cache off (a slice is
 * still preparsed once); cached: the same 100 calls again and again.
 */
async function measureDecisions(dir: string, shippedDir: string): Promise<void> {
  const context = { versions: ['4.1.0'], currentStatuses: ['Published'], targetStatus: 'Archived' };
  const shipped = loadPolicyDir(shippedDir);
  const shippedCall = { principal: { issuer: DEV_ISSUER, subject: 'alice', groups: ['release-managers', 'maintainers'] }, action: 'UpdatePackageVersionsStatus' as const, resource: packageResource({ region: 'us-east-1', domain: 'my_domain', domainOwner: '111122223333', repository: 'my_repo', format: 'npm', namespace: '', name: 'chalk' }), context };
  const uncachedShipped = new PolicyEngine(shipped, { decisionCacheSize: 0 });
  await measure('decision, shipped policies, uncached', 20_000, () => uncachedShipped.authorize(shippedCall));
  const cachedShipped = new PolicyEngine(shipped);
  await measure('decision, shipped policies, cached', 20_000, () => cachedShipped.authorize(shippedCall));
  const deletePackage = { ...shippedCall, principal: { ...shippedCall.principal, groups: ['security'] }, action: 'DeletePackage' as const, context: { versions: Array.from({ length: 20_000 }, (_, i) => `1.${i >> 8}.${i & 255}`), currentStatuses: ['Published'] } };
  await measure('decision, DeletePackage of 20,000 versions, uncached', 50, () => uncachedShipped.authorize(deletePackage));
  for (const n of [10, 10_000]) {
    const genDir = join(dir, `generated-${n}`);
    cpSync(shippedDir, genDir, { recursive: true });
    // A policy file is at most 1 MiB: 1,000 policies a file.
    for (let f = 0; f * 1000 < n; f++) {
      const lines: string[] = [];
      for (let i = f * 1000; i < Math.min(n, (f + 1) * 1000); i++) {
        lines.push(
          `@id("gen-${i}") permit(principal == User::"user${i}", action == Action::"UpdatePackageVersionsStatus", resource in Repository::"arn:aws:codeartifact:us-east-1:111122223333:repository/dom${i}/repo${i}");`,
        );
      }
      writeFileSync(join(genDir, `generated-${f}.cedar`), lines.join('\n'));
    }
    let t = performance.now();
    const set = loadPolicyDir(genDir);
    const loadMs = performance.now() - t;
    t = performance.now();
    const uncached = new PolicyEngine(set, { decisionCacheSize: 0 });
    const engineMs = performance.now() - t;
    console.log(`${n} generated policies: loading and validating ${Math.round(loadMs)} ms, engine (index) ${engineMs.toFixed(1)} ms`);
    // 100 principals, each on its own repository: 100 distinct slices, each preparsed once.
    const call = (i: number) => ({
      principal: { issuer: DEV_ISSUER, subject: `user${i % 100}`, groups: ['maintainers'] },
      action: 'UpdatePackageVersionsStatus' as const,
      resource: packageResource({ region: 'us-east-1', domain: `dom${i % 100}`, domainOwner: '111122223333', repository: `repo${i % 100}`, format: 'npm', namespace: '', name: 'pkg' }),
      context,
    });
    if (uncached.authorize(call(7)).decision !== 'allow') throw new Error('a generated policy did not allow its own user');
    await measure(`decision, ${n} generated policies, uncached`, 20_000, (i) => uncached.authorize(call(i)));
    const cached = new PolicyEngine(set);
    await measure(`decision, ${n} generated policies, cached`, 20_000, (i) => cached.authorize(call(i)));
    if (n >= 10_000) {
      // What the engine no longer does: preparse the whole set (at start and after each reload).
      t = performance.now();
      const whole = cedar.preparsePolicySet('bench-whole-set', { staticPolicies: set.policies });
      if (whole.type === 'failure') throw new Error('preparsing the whole set failed');
      console.log(`(for comparison) preparsing all ${Object.keys(set.policies).length} policies as one set: ${Math.round(performance.now() - t)} ms`);
      cedar.preparsePolicySet('bench-whole-set', { staticPolicies: {} });
    }
  }
}

const dir = mkdtempSync(join(tmpdir(), 'vg-bench-'));
try {
  const policyDir = join(dir, 'policies');
  cpSync(resolve(import.meta.dirname, '../policies'), policyDir, { recursive: true });
  const engine = new PolicyEngine(loadPolicyDir(policyDir));
  const principal = { issuer: DEV_ISSUER, subject: 'alice', groups: ['release-managers', 'maintainers'] };
  const resource = packageResource({ region: 'us-east-1', domain: 'my_domain', domainOwner: '111122223333', repository: 'my_repo', format: 'npm', namespace: '', name: 'chalk' });
  const context = { versions: ['4.1.0'], currentStatuses: ['Published'], targetStatus: 'Archived' };
  console.log(`policies: ${Object.keys(engine.policySet.policies).length}, node ${process.version}`);
  await measure('Cedar authorize (shipped policies)', 20_000, () => engine.authorize({ principal, action: 'UpdatePackageVersionsStatus', resource, context }));
  await measureDecisions(dir, policyDir);

  // Template links at scale: 20,000 "team curates repository" links. Only the links whose slots
  // name the request's principal or resource are evaluated (a cached, preparsed slice).
  if (process.env['BENCH_ONLY'] === 'decisions') process.exit(0);
  const linkedDir = join(dir, 'linked');
  cpSync(policyDir, linkedDir, { recursive: true });
  mkdirSync(join(linkedDir, 'links'));
  const LINKS = 20_000;
  writeFileSync(
    join(linkedDir, 'links', 'teams.json'),
    JSON.stringify(Array.from({ length: LINKS }, (_, i) => ({ id: `t${i}`, template: 'team-curates-repository', principal: `Group::"team${i}"`, resource: `Repository::"arn:aws:codeartifact:us-east-1:111122223333:repository/my_domain/repo${i}"` }))),
  );
  let t = performance.now();
  const linked = new PolicyEngine(loadPolicyDir(linkedDir));
  console.log(`loading and validating ${LINKS} links: ${Math.round(performance.now() - t)} ms`);
  const linkedResource = (i: number) => packageResource({ region: 'us-east-1', domain: 'my_domain', domainOwner: '111122223333', repository: `repo${i}`, format: 'npm', namespace: '', name: 'pkg' });
  const teamCall = (i: number) => ({ principal: { issuer: DEV_ISSUER, subject: 'm', groups: [`team${i % 100}`] }, action: 'UpdatePackageVersionsStatus' as const, resource: linkedResource(i % 100), context });
  await measure(`Cedar authorize, ${LINKS} links, linked team (100 slices)`, 20_000, (i) => linked.authorize(teamCall(i)));
  await measure(`Cedar authorize, ${LINKS} links, no link applies`, 20_000, () => linked.authorize({ principal, action: 'UpdatePackageVersionsStatus', resource, context }));

  const devKey = await loadOrCreateDevKey(join(dir, 'data'));
  const verifier = createTokenVerifier({
    keySource: keySourceFor({ mode: 'dev', issuer: DEV_ISSUER, audience: DEV_AUDIENCE }, devKey),
    issuer: DEV_ISSUER,
    audience: DEV_AUDIENCE,
    groupsClaim: 'groups',
    clock: systemClock,
    clockToleranceSeconds: 0,
  });
  const token = await mintDevToken({ key: devKey, issuer: DEV_ISSUER, audience: DEV_AUDIENCE, subject: 'alice', groups: ['release-managers'], groupsClaim: 'groups', ttlSeconds: 3600, clock: systemClock });
  await measure('verify token (ES256)', 5_000, () => verifier.verify(token));

  const store = openSqliteStore({ file: join(dir, 'data', 'versiongate.db'), clock: systemClock });
  const blobs = openBlobStore(join(dir, 'data', 'blobs'));
  await seedDemo(store, blobs);
  // The seeded versions are downloadable once synchronised, as a server would have them.
  const worker = createSyncWorker({ store, blobs, clock: systemClock, log: silentLogger, settings: DEFAULT_SYNC_SETTINGS });
  await measureSync(worker, 'the 6 seeded versions (npm, maven)');
  {
    // The worst case for the tarball reader: 64 MiB that do not compress, package.json last, so the
    // whole archive is inflated and walked. The sync keeps only the package.json.
    const mb = 64;
    const tarball = tgz([
      { path: 'package/blob.bin', content: randomBytes(mb * 1024 * 1024) },
      { path: 'package/package.json', content: JSON.stringify({ name: 'big', version: '1.0.0', description: 'a large tarball' }) },
    ]);
    const asset = await blobs.put('big-1.0.0.tgz', tarball);
    const key = { domainOwner: '111122223333', domain: 'my_domain', repository: 'my_repo', format: 'npm' as const, namespace: '', name: 'big' };
    await store.addVersion({ key, version: '1.0.0', status: 'Published', revision: 'bench', assets: [asset] });
    await measureSync(worker, `a ${mb} MiB npm tarball, package.json last`);
    const synced = (await store.readVersion(key, '1.0.0')).version!;
    if (synced.syncState !== 'completed') throw new Error(`the large tarball's sync ended ${synced.syncState}: ${synced.syncReason}`);
  }
  const app = createApp({ store, blobs, authorizer: () => engine, clock: systemClock, region: 'us-east-1', logger: silentLogger, verifier });
  const url = '/v1/package/versions/update_status?domain=my_domain&domain-owner=111122223333&repository=my_repo&format=npm&package=chalk';
  const targets = ['Unlisted', 'Published'];
  await measure('UpdatePackageVersionsStatus request (in-process)', 2_000, async (i) => {
    const res = await app.request(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ versions: ['4.1.0'], targetStatus: targets[i % 2] }),
    });
    if (res.status !== 200) throw new Error(`unexpected ${res.status}: ${await res.text()}`);
  });

  // The package API. Reads are audited like changes (one record, one commit each); uploads stream.
  const dev = await mintDevToken({ key: devKey, issuer: DEV_ISSUER, audience: DEV_AUDIENCE, subject: 'dev', groups: ['developers', 'publishers'], groupsClaim: 'groups', ttlSeconds: 3600, clock: systemClock });
  const chalk = 'domain=my_domain&domain-owner=111122223333&repository=my_repo&format=npm&package=chalk';
  const read = async (path: string, method = 'GET') => {
    const res = await app.request(path, { method, headers: { authorization: `Bearer ${dev}` } });
    if (res.status !== 200) throw new Error(`unexpected ${res.status}: ${await res.text()}`);
    await res.arrayBuffer();
  };
  await measure('ListPackageVersions request (in-process)', 2_000, () => read(`/v1/package/versions?${chalk}`, 'POST'));
  await measure('GetPackageVersionAsset request, 222 B (in-process)', 2_000, () => read(`/v1/package/version/asset?${chalk}&version=4.1.1&asset=chalk-4.1.1.tgz`));
  const uploadMb = Number(process.env['BENCH_UPLOAD_MB'] ?? 1024);
  await measureUpload(app, dev, uploadMb);
  await measureSync(worker, `the ${uploadMb} MiB generic asset just published`);
  await store.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
