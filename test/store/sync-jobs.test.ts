/**
 * Synchronisation as a persisted job: the state machine (awaiting -> in_progress -> completed |
 * failed, with retries), hashes checked against the stored bytes, metadata from npm tarballs and
 * Maven poms, human-readable reasons, a resync after repair, and recovery after a restart.
 * The worker is driven with runOnce(): nothing here waits on a timer.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { tgz } from '../../src/cli/tarball.ts';
import { syncRecord } from '../../src/audit/build-record.ts';
import { fixedClock } from '../../src/clock.ts';
import { ServiceUnavailableError } from '../../src/errors.ts';
import { silentLogger, type Logger } from '../../src/log.ts';
import { openBlobStore, type BlobStore } from '../../src/store/blob-store.ts';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import type { AssetInput, PackageKey, Store } from '../../src/store/store.ts';
import { readTgzEntry, TarError, TgzEntryReader } from '../../src/sync/tar-reader.ts';
import { createSyncWorker, outageReason, type SyncWorker } from '../../src/sync/sync-worker.ts';
import { MAX_DEPENDENCIES } from '../../src/sync/metadata.ts';
import { sqliteUnavailableAs } from '../../src/store/sqlite/sqlite-unavailable.ts';
import { databaseUnavailable, readOnly } from '../../src/store/postgres/pg-unavailable.ts';
import Database from 'better-sqlite3';
import pg from 'pg';

const base = { domainOwner: '111122223333', domain: 'my_domain', repository: 'my_repo' };
const npmKey: PackageKey = { ...base, format: 'npm', namespace: 'acme', name: 'widget' };
const genericKey: PackageKey = { ...base, format: 'generic', namespace: 'ns', name: 'tool' };
const mavenKey: PackageKey = { ...base, format: 'maven', namespace: 'org.acme', name: 'lib' };
const settings = { concurrency: 2, maxAttempts: 2, retryBaseMs: 1000, pollMs: 10 };

describe('sync jobs', () => {
  let dir: string;
  let store: Store;
  let blobs: BlobStore;
  let worker: SyncWorker;
  const clock = fixedClock('2026-01-01T00:00:00Z');
  const open = () => openSqliteStore({ file: join(dir, 'db.sqlite'), clock });

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vg-sync-'));
    store = open();
    blobs = openBlobStore(join(dir, 'blobs'));
    worker = createSyncWorker({ store, blobs, clock, log: silentLogger, settings });
    await store.createDomain(base.domain, base.domainOwner);
    await store.createRepository(base.domainOwner, base.domain, base.repository);
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const add = async (key: PackageKey, version: string, files: Array<{ name: string; bytes: Uint8Array }>) => {
    const assets: AssetInput[] = [];
    for (const f of files) assets.push(await blobs.put(f.name, f.bytes));
    await store.addVersion({ key, version, status: 'Published', revision: 'r0', assets });
    const v = (await store.readVersion(key, version)).version!;
    return { id: v.id, assets };
  };
  /** A resync's audit record (scheduleSync writes it in the same transaction). */
  const resyncAudit = (version: string) => syncRecord({ clock, resource: 'arn:test', version, jobId: 0, attempt: 0 });
  const schedule = (id: number) => store.scheduleSync([id], resyncAudit(String(id)));
  const npmTarball = (manifest: Record<string, unknown>) => tgz([{ path: 'package/package.json', content: JSON.stringify(manifest) }, { path: 'package/index.js', content: 'x' }]);

  it('reads a file out of a gzip tarball, fed whole or a few bytes at a time', async () => {
    const t = tgz([{ path: 'package/a.txt', content: 'A'.repeat(700) }, { path: 'package/package.json', content: '{"name":"x"}' }]);
    expect((await readTgzEntry(t, (p) => p === 'package/package.json'))!.toString()).toBe('{"name":"x"}');
    expect(await readTgzEntry(t, (p) => p === 'nope')).toBeNull();
    // Chunk boundaries fall inside headers, bodies and padding alike.
    const reader = new TgzEntryReader((p) => p === 'package/package.json', 1024);
    for (let i = 0; i < t.length; i += 7) await reader.write(t.subarray(i, i + 7));
    expect((await reader.end())!.toString()).toBe('{"name":"x"}');
  });

  it('keeps no more of the file than its bound, and refuses what is not a tarball', async () => {
    const t = tgz([{ path: 'package/package.json', content: JSON.stringify({ description: 'x'.repeat(5000) }) }]);
    await expect(readTgzEntry(t, (p) => p === 'package/package.json', 1024)).rejects.toThrow(/package\/package\.json is larger than 1024 bytes/);
    await expect(readTgzEntry(Buffer.from('not gzip at all'), () => true)).rejects.toThrow(/not a gzip archive/);
    const cut = t.subarray(0, t.length - 30);
    await expect(readTgzEntry(cut, (p) => p === 'package/package.json')).rejects.toThrow(TarError);
  });

  it('awaiting -> in_progress -> completed, with the npm metadata recorded and a new revision', async () => {
    const v = await add(npmKey, '1.2.3', [
      {
        name: 'widget-1.2.3.tgz',
        bytes: npmTarball({ name: '@acme/widget', version: '1.2.3', description: 'A widget', license: 'MIT', homepage: 'https://acme.example', repository: { type: 'git', url: 'git+https://github.com/acme/widget.git' } }),
      },
    ]);
    // Added means awaiting its sync; a resync of it now is refused (it is already scheduled).
    expect(await store.readSyncJob(v.id)).toMatchObject({ state: 'awaiting', attempts: 0, progress: 0 });
    expect((await store.readVersion(npmKey, '1.2.3')).version).toMatchObject({ syncState: 'awaiting', syncReason: null });
    expect(await schedule(v.id)).toBe(false);
    expect(await worker.runOnce()).toBe(true);
    expect(await worker.runOnce()).toBe(false);
    expect(await store.readSyncJob(v.id)).toMatchObject({ state: 'completed', attempts: 1, progress: 100, statusReason: null, finishedAt: expect.any(String) });
    expect(await store.readVersionMetadata(v.id)).toEqual({ summary: 'A widget', homePage: 'https://acme.example', sourceCodeRepository: 'git+https://github.com/acme/widget.git', licenses: ['MIT'], readme: null, dependencies: null });
    expect((await store.readVersion(npmKey, '1.2.3')).version!.revision).not.toBe('r0');
    // Completed: it can be scheduled again.
    expect(await schedule(v.id)).toBe(true);
  });

  it('Maven: name, description and licenses from the pom; generic: nothing', async () => {
    const pom = `<?xml version="1.0"?><project><modelVersion>4.0.0</modelVersion><groupId>org.acme</groupId><artifactId>lib</artifactId><version>1.0</version>
      <name>Acme Lib</name><description>Useful &amp; small</description><licenses><license><name>Apache-2.0</name></license></licenses></project>`;
    const m = await add(mavenKey, '1.0', [{ name: 'lib-1.0.pom', bytes: Buffer.from(pom) }]);
    const g = await add(genericKey, '1.0.0', [{ name: 'a.bin', bytes: Buffer.from('A') }]);
    while (await worker.runOnce());
    expect(await store.readVersionMetadata(m.id)).toMatchObject({ summary: 'Useful & small', licenses: ['Apache-2.0'] });
    expect(await store.readVersionMetadata(g.id)).toEqual({ summary: null, homePage: null, sourceCodeRepository: null, licenses: null, readme: null, dependencies: null });
    expect((await store.readSyncJob(g.id))!.state).toBe('completed');
  });

  it("reads a pom as XML: comments, CDATA, namespaces and character references; only the project's own elements", async () => {
    const pom = `<?xml version="1.0" encoding="UTF-8"?>
      <p:project xmlns:p="http://maven.apache.org/POM/4.0.0">
        <!-- <description>not this, a comment</description> -->
        <p:parent><p:description>not this, the parent's</p:description><p:url>https://parent.example</p:url></p:parent>
        <p:name>Acme Lib</p:name>
        <p:description><![CDATA[Fast & <small>]]> caf&#233;</p:description>
        <p:url>https://acme.example/lib</p:url>
        <p:licenses><p:license><p:name>Apache-2.0</p:name></p:license><p:license><p:name>MIT</p:name></p:license></p:licenses>
        <p:scm><p:url>https://github.com/acme/lib</p:url></p:scm>
        <p:dependencies><p:dependency><p:description>nor this</p:description></p:dependency></p:dependencies>
      </p:project>`;
    const m = await add(mavenKey, '2.0', [{ name: 'lib-2.0.pom', bytes: Buffer.from(pom) }]);
    while (await worker.runOnce());
    expect(await store.readVersionMetadata(m.id)).toEqual({
      summary: 'Fast & <small> café',
      homePage: 'https://acme.example/lib',
      sourceCodeRepository: 'https://github.com/acme/lib',
      licenses: ['Apache-2.0', 'MIT'],
      // Neither the parent nor the dependency names an artifactId: no dependency to report.
      readme: null,
      dependencies: null,
    });
  });

  it("Maven dependencies: the parent, the scope as the type (compile when absent), optional ones as optional", async () => {
    const pom = `<project><groupId>org.acme</groupId><artifactId>lib</artifactId><version>4.0</version>
      <parent><groupId>org.acme</groupId><artifactId>parent</artifactId><version>7</version></parent>
      <dependencies>
        <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-api</artifactId><version>[1.7,2.0)</version></dependency>
        <dependency><groupId>junit</groupId><artifactId>junit</artifactId><version>4.13</version><scope>test</scope></dependency>
        <dependency><groupId>org.acme</groupId><artifactId>extra</artifactId><optional>true</optional></dependency>
      </dependencies></project>`;
    const m = await add(mavenKey, '4.0', [{ name: 'lib-4.0.pom', bytes: Buffer.from(pom) }]);
    while (await worker.runOnce());
    expect((await store.readVersionMetadata(m.id)).dependencies).toEqual([
      { namespace: 'org.acme', package: 'parent', dependencyType: 'parent', versionRequirement: '7' },
      { namespace: 'org.slf4j', package: 'slf4j-api', dependencyType: 'compile', versionRequirement: '[1.7,2.0)' },
      { namespace: 'junit', package: 'junit', dependencyType: 'test', versionRequirement: '4.13' },
      { namespace: 'org.acme', package: 'extra', dependencyType: 'optional', versionRequirement: null },
    ]);
  });

  it("npm: the tarball's README (wherever it sits in the archive), else package.json's readme; dependencies by section", async () => {
    const manifest = { name: '@acme/widget', version: '3.0.0', readme: 'from package.json', devDependencies: { vitest: '^4.0.0' }, optionalDependencies: { '@acme/fast': '1.x' } };
    const withFile = tgz([
      { path: 'package/README.md', content: '# Widget\n' },
      { path: 'package/package.json', content: JSON.stringify(manifest) },
    ]);
    const a = await add(npmKey, '3.0.0', [{ name: 'widget-3.0.0.tgz', bytes: withFile }]);
    const b = await add(npmKey, '3.0.1', [{ name: 'widget-3.0.1.tgz', bytes: npmTarball({ ...manifest, version: '3.0.1' }) }]);
    while (await worker.runOnce());
    const first = await store.readVersionMetadata(a.id);
    expect(first.readme).toBe('# Widget');
    expect(first.dependencies).toEqual([
      { namespace: null, package: 'vitest', dependencyType: 'dev', versionRequirement: '^4.0.0' },
      { namespace: 'acme', package: 'fast', dependencyType: 'optional', versionRequirement: '1.x' },
    ]);
    expect((await store.readVersionMetadata(b.id)).readme).toBe('from package.json');
  });

  it('fails a pom that is not well-formed, has no <project>, or carries a DOCTYPE (entity expansion)', async () => {
    const bad = {
      '3.0': ['<project><name>unclosed</project>', /lib-3\.0\.pom is not well-formed XML/],
      '3.1': ['<settings><name>x</name></settings>', /lib-3\.1\.pom is not a Maven pom \(no <project> element\)/],
      '3.2': ['<!DOCTYPE project [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]><project><name>&b;</name></project>', /lib-3\.2\.pom has a DOCTYPE/],
    } as const;
    const ids: Record<string, number> = {};
    for (const [version, [xml]] of Object.entries(bad)) ids[version] = (await add(mavenKey, version, [{ name: `lib-${version}.pom`, bytes: Buffer.from(xml) }])).id;
    for (let round = 0; round < settings.maxAttempts; round++) {
      while (await worker.runOnce());
      clock.advance(60_000);
    }
    for (const [version, [, reason]] of Object.entries(bad)) {
      const job = (await store.readSyncJob(ids[version]!))!;
      expect(job.state).toBe('failed');
      expect(job.statusReason).toMatch(reason);
    }
  });

  it(`fails a manifest naming more than ${MAX_DEPENDENCIES} dependencies (each call listing them would parse them all); that many is recorded`, async () => {
    const deps = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`dep-${i}`, '^1.0.0']));
    const tooMany = await add(npmKey, '5.0.0', [{ name: 'widget-5.0.0.tgz', bytes: npmTarball({ name: '@acme/widget', version: '5.0.0', dependencies: deps(MAX_DEPENDENCIES - 1), devDependencies: { vitest: '1', tsx: '2' } }) }]);
    const atCap = await add(npmKey, '5.0.1', [{ name: 'widget-5.0.1.tgz', bytes: npmTarball({ name: '@acme/widget', version: '5.0.1', dependencies: deps(MAX_DEPENDENCIES) }) }]);
    const pomDeps = Array.from({ length: MAX_DEPENDENCIES }, (_, i) => `<dependency><groupId>g</groupId><artifactId>a${i}</artifactId></dependency>`).join('');
    const pomTooMany = await add(mavenKey, '5.0', [{ name: 'lib-5.0.pom', bytes: Buffer.from(`<project><parent><groupId>g</groupId><artifactId>p</artifactId></parent><dependencies>${pomDeps}</dependencies></project>`) }]);
    for (let round = 0; round < settings.maxAttempts; round++) {
      while (await worker.runOnce());
      clock.advance(60_000);
    }
    expect(await store.readSyncJob(tooMany.id)).toMatchObject({ state: 'failed', statusReason: `The package.json in widget-5.0.0.tgz names more than ${MAX_DEPENDENCIES} dependencies, the most a sync records.` });
    expect(await store.readSyncJob(pomTooMany.id)).toMatchObject({ state: 'failed', statusReason: `lib-5.0.pom names more than ${MAX_DEPENDENCIES} dependencies, the most a sync records.` });
    expect((await store.readSyncJob(atCap.id))!.state).toBe('completed');
    expect((await store.readVersionMetadata(atCap.id)).dependencies).toHaveLength(MAX_DEPENDENCIES);
  });

  it("reads a manifest off the event loop: a pom built to be slow to parse does not hold up the process's other work", async () => {
    // A million empty elements in 4 MB: ~2 s for the XML parser on the development machine, all of
    // it on the event loop before. The longest wait of a 5 ms timer meanwhile tells.
    const slow = await add(mavenKey, '6.0', [{ name: 'lib-6.0.pom', bytes: Buffer.from(`<project><name>slow</name>${'<x/>'.repeat(1_000_000)}</project>`) }]);
    let longest = 0;
    let last = performance.now();
    const ticker = setInterval(() => {
      const now = performance.now();
      longest = Math.max(longest, now - last);
      last = now;
    }, 5);
    const started = performance.now();
    try {
      expect(await worker.runOnce()).toBe(true);
    } finally {
      clearInterval(ticker);
    }
    // The sync may end in microtasks only, with no turn of the timers after the parse: count the last wait too.
    longest = Math.max(longest, performance.now() - last);
    expect(await store.readSyncJob(slow.id)).toMatchObject({ state: 'completed' });
    expect((await store.readVersionMetadata(slow.id)).summary).toBe('slow');
    // Generous for a busy machine; the parse alone held the loop for its whole length before.
    expect(longest).toBeLessThan(Math.max(500, (performance.now() - started) / 3));
  });

  it('a corrupted asset fails with its reason after the retries; a resync after repair completes', async () => {
    const v = await add(genericKey, '1.0.0', [{ name: 'a.bin', bytes: Buffer.from('original') }]);
    const path = blobs.pathOf(v.assets[0]!.blobKey);
    writeFileSync(path, 'tampered');
    expect(await worker.runOnce()).toBe(true);
    const first = (await store.readSyncJob(v.id))!;
    expect(first).toMatchObject({ state: 'awaiting', attempts: 1 });
    expect(first.statusReason).toMatch(/^Asset a\.bin no longer matches its record: its MD5 is /);
    // Not due before its backoff.
    expect(await worker.runOnce()).toBe(false);
    clock.advance(1000);
    expect(await worker.runOnce()).toBe(true);
    const failed = (await store.readSyncJob(v.id))!;
    expect(failed).toMatchObject({ state: 'failed', attempts: 2 });
    expect(failed.statusReason).toMatch(/no longer matches its record/);
    // Repaired: the resync starts over and completes.
    writeFileSync(path, 'original');
    expect(await schedule(v.id)).toBe(true);
    expect(await worker.runOnce()).toBe(true);
    expect(await store.readSyncJob(v.id)).toMatchObject({ state: 'completed', attempts: 1, statusReason: null });
  });

  it('fails with a reason for a missing asset, an unreadable manifest, and one naming another package or version', async () => {
    const missing = await add(genericKey, '2.0.0', [{ name: 'b.bin', bytes: Buffer.from('B') }]);
    rmSync(blobs.pathOf(missing.assets[0]!.blobKey));
    const unreadable = await add(npmKey, '1.0.0', [{ name: 'widget-1.0.0.tgz', bytes: Buffer.from('not gzip') }]);
    const other = await add(npmKey, '2.0.0', [{ name: 'widget-2.0.0.tgz', bytes: npmTarball({ name: '@acme/gadget', version: '2.0.0' }) }]);
    const wrongVersion = await add(npmKey, '3.0.0', [{ name: 'widget-3.0.0.tgz', bytes: npmTarball({ name: '@acme/widget', version: '9.9.9' }) }]);
    const reasons: Record<string, RegExp> = {};
    reasons[missing.id] = /^Asset b\.bin is missing/;
    reasons[unreadable.id] = /widget-1\.0\.0\.tgz is not a readable npm tarball/;
    reasons[other.id] = /names package "@acme\/gadget", not @acme\/widget/;
    reasons[wrongVersion.id] = /names version "9\.9\.9", not 3\.0\.0/;
    for (let round = 0; round < settings.maxAttempts; round++) {
      while (await worker.runOnce());
      clock.advance(60_000);
    }
    for (const [id, reason] of Object.entries(reasons)) {
      const job = (await store.readSyncJob(Number(id)))!;
      expect(job.state).toBe('failed');
      expect(job.statusReason).toMatch(reason);
    }
  });

  it('an internal error fails the attempt without putting paths or internals in status_reason', async () => {
    const v = await add(genericKey, '4.0.0', [{ name: 'd.bin', bytes: Buffer.from('D') }]);
    const path = blobs.pathOf(v.assets[0]!.blobKey);
    // The bytes' place is taken by a directory: reading it fails with EISDIR, naming the path.
    rmSync(path);
    mkdirSync(path);
    expect(await worker.runOnce()).toBe(true);
    const job = (await store.readSyncJob(v.id))!;
    expect(job).toMatchObject({ state: 'awaiting', attempts: 1, statusReason: 'The sync could not run because of an internal error (see the server log).' });
    expect(job.statusReason).not.toContain(dir);
  });

  /**
   * The store during an outage: `method` answers what answeringUnavailable makes of a lost database
   * (a 503) its next `times` calls, then is itself again.
   */
  const outage = (method: keyof Store, times: number): Store => {
    let left = times;
    return new Proxy(store, {
      get(target, property, receiver) {
        if (property === method && left > 0) {
          left--;
          return async () => {
            throw new ServiceUnavailableError('The connection to the database failed (Connection terminated unexpectedly): try again shortly.');
          };
        }
        return Reflect.get(target, property, receiver);
      },
    });
  };
  const workerOn = (s: Store, log: Logger = silentLogger) => createSyncWorker({ store: s, blobs, clock, log, settings: { ...settings, outagePauseMs: 5 } });
  /** A logger that keeps each line's level and message. */
  const capture = () => {
    const lines: Array<[level: string, msg: string]> = [];
    const log: Logger = { debug: () => undefined, info: (msg) => void lines.push(['info', msg]), warn: (msg) => void lines.push(['warn', msg]), error: (msg) => void lines.push(['error', msg]) };
    return { lines, log };
  };

  it('a finished sync whose record meets an outage is recorded once the database answers: completed, on its first attempt', async () => {
    const v = await add(genericKey, '1.0.0', [{ name: 'a.bin', bytes: Buffer.from('A') }]);
    expect(await workerOn(outage('completeSync', 3)).runOnce()).toBe(true);
    expect(await store.readSyncJob(v.id)).toMatchObject({ state: 'completed', attempts: 1, statusReason: null });
    expect((await store.readVersion(genericKey, '1.0.0')).version!.revision).not.toBe('r0');
  });

  it('an attempt that met an outage is tried again, even past the attempts allowed: an outage never fails a sync for good', async () => {
    const v = await add(npmKey, '1.0.0', [{ name: 'widget-1.0.0.tgz', bytes: npmTarball({ name: '@acme/widget', version: '1.0.0' }) }]);
    const { lines, log } = capture();
    for (let attempt = 1; attempt <= settings.maxAttempts + 1; attempt++) {
      expect(await workerOn(outage('setSyncProgress', 1), log).runOnce()).toBe(true);
      expect(await store.readSyncJob(v.id)).toMatchObject({ state: 'awaiting', attempts: attempt, statusReason: 'The sync could not run, and is tried again: the connection to the database failed (Connection terminated unexpectedly).' });
      clock.advance(60_000);
    }
    // An outage is a warning per attempt, never an error line.
    expect(lines.filter(([level]) => level === 'error')).toEqual([]);
    expect(lines.filter(([level]) => level === 'warn')).toHaveLength(settings.maxAttempts + 1);
    expect(await worker.runOnce()).toBe(true);
    expect(await store.readSyncJob(v.id)).toMatchObject({ state: 'completed', statusReason: null });
  });

  it('an attempt cut short by the process running out of files says so, not that the database was unavailable, and is tried again', async () => {
    const v = await add(npmKey, '1.0.0', [{ name: 'widget-1.0.0.tgz', bytes: npmTarball({ name: '@acme/widget', version: '1.0.0' }) }]);
    const outOfFiles = new ServiceUnavailableError('The gateway has too many files open (EMFILE: too many open files): nothing was done; try again shortly.');
    const exhausted: BlobStore = new Proxy(blobs, {
      get: (target, property, receiver) => (property === 'open' ? async () => Promise.reject(outOfFiles) : Reflect.get(target, property, receiver)),
    });
    const { lines, log } = capture();
    for (let attempt = 1; attempt <= settings.maxAttempts + 1; attempt++) {
      expect(await createSyncWorker({ store, blobs: exhausted, clock, log, settings }).runOnce()).toBe(true);
      expect(await store.readSyncJob(v.id)).toMatchObject({
        state: 'awaiting',
        attempts: attempt,
        statusReason: 'The sync could not run, and is tried again: the gateway has too many files open (EMFILE: too many open files).',
      });
      clock.advance(60_000);
    }
    expect(lines.filter(([level]) => level === 'error')).toEqual([]);
    expect(await worker.runOnce()).toBe(true);
    expect(await store.readSyncJob(v.id)).toMatchObject({ state: 'completed', statusReason: null });
  });

  it("keeps of each outage's 503 what the outage was, not the advice to the client to try again", () => {
    const reasons = [
      sqliteUnavailableAs(new Database.SqliteError('database is locked', 'SQLITE_BUSY'))!,
      sqliteUnavailableAs(new Database.SqliteError('database or disk is full', 'SQLITE_FULL'))!,
      databaseUnavailable(new Error('Connection terminated unexpectedly'), 'not made'),
      readOnly(Object.assign(new pg.DatabaseError('cannot execute INSERT in a read-only transaction', 0, 'error'), { code: '25006' }))!,
      new ServiceUnavailableError('The gateway has 10000 writes waiting to commit; try again shortly.'),
      new ServiceUnavailableError('The store is closed; the write was not made.'),
    ].map(outageReason);
    expect(reasons).toEqual([
      'The sync could not run, and is tried again: the database file is locked by another process, which held it past the 5 s this gateway waits (database is locked).',
      "The sync could not run, and is tried again: the database's disk is full (database or disk is full).",
      'The sync could not run, and is tried again: the connection to the database failed (Connection terminated unexpectedly) before the write committed.',
      'The sync could not run, and is tried again: the database takes no writes now (cannot execute INSERT in a read-only transaction).',
      'The sync could not run, and is tried again: the gateway has 10000 writes waiting to commit.',
      'The sync could not run, and is tried again: the store is closed; the write was not made.',
    ]);
  });

  it('a failed attempt whose record meets an outage is recorded once the database answers, not left in progress', async () => {
    const v = await add(genericKey, '2.0.0', [{ name: 'b.bin', bytes: Buffer.from('B') }]);
    rmSync(blobs.pathOf(v.assets[0]!.blobKey));
    expect(await workerOn(outage('failSyncAttempt', 3)).runOnce()).toBe(true);
    const job = (await store.readSyncJob(v.id))!;
    expect(job).toMatchObject({ state: 'awaiting', attempts: 1 });
    expect(job.statusReason).toMatch(/^Asset b\.bin is missing/);
  });

  it('a pool whose claims meet an outage says so once, polls less often meanwhile, and takes up its jobs once the database answers', async () => {
    const v = await add(genericKey, '1.0.0', [{ name: 'a.bin', bytes: Buffer.from('A') }]);
    const { lines, log } = capture();
    const pool = createSyncWorker({ store: outage('claimSyncJob', 6), blobs, clock, log, settings: { ...settings, concurrency: 1 } });
    await pool.start();
    try {
      await vi.waitFor(async () => expect((await store.readSyncJob(v.id))!.state).toBe('completed'), { timeout: 10_000, interval: 20 });
    } finally {
      await pool.stop();
    }
    expect(lines.filter(([level]) => level !== 'info')).toEqual([['warn', 'sync worker: the database is unavailable; looking for jobs less often until it answers']]);
    expect(lines.filter(([, msg]) => msg === 'sync worker: the database answers again')).toHaveLength(1);
  });

  it('a job in progress when the process died is awaiting again at the next start, and then completes', async () => {
    const v = await add(genericKey, '1.0.0', [{ name: 'a.bin', bytes: Buffer.from('A') }]);
    // A worker claims it, and the process dies before it finishes.
    const claimed = await store.claimSyncJob();
    expect(claimed).toMatchObject({ version: '1.0.0', state: 'in_progress' });
    await store.close();
    store = open();
    expect((await store.readSyncJob(v.id))!.state).toBe('in_progress');
    const restarted = createSyncWorker({ store, blobs, clock, log: silentLogger, settings: { ...settings, concurrency: 1 } });
    await restarted.start();
    try {
      // Bounded wait for the pool (polling every 10 ms) to finish the job.
      for (let i = 0; i < 500 && (await store.readSyncJob(v.id))!.state !== 'completed'; i++) await new Promise((r) => setTimeout(r, 10));
    } finally {
      await restarted.stop();
    }
    expect(await store.readSyncJob(v.id)).toMatchObject({ state: 'completed', attempts: 2 });
  });

  it('a claim superseded meanwhile (the job scheduled again) writes nothing when it finishes', async () => {
    const v = await add(genericKey, '1.0.0', [{ name: 'a.bin', bytes: Buffer.from('A') }]);
    const stale = (await store.claimSyncJob())!;
    // The process restarts while the claim runs elsewhere: the job is awaiting again, a new generation.
    expect(await store.recoverSyncJobs()).toBe(1);
    const fresh = (await store.claimSyncJob())!;
    expect(fresh.generation).toBeGreaterThan(stale.generation);
    const before = (await store.readVersion(genericKey, '1.0.0')).version!.revision;
    expect(await store.completeSync(stale, { summary: 'stale', homePage: null, sourceCodeRepository: null, licenses: null }, 'r-stale', resyncAudit('1.0.0'))).toBe('superseded');
    await store.failSyncAttempt(stale, 'stale failure', null);
    await store.setSyncProgress(stale, 42);
    const job = (await store.readSyncJob(v.id))!;
    expect(job).toMatchObject({ state: 'in_progress', progress: 0, attempts: fresh.attempts });
    expect(job.statusReason).not.toBe('stale failure');
    expect((await store.readVersion(genericKey, '1.0.0')).version!.revision).toBe(before);
    // The current claim completes as usual.
    expect(await store.completeSync(fresh, { summary: null, homePage: null, sourceCodeRepository: null, licenses: null }, 'r-fresh', resyncAudit('1.0.0'))).toBe('completed');
    expect((await store.readVersion(genericKey, '1.0.0')).version).toMatchObject({ revision: 'r-fresh', syncState: 'completed' });
  });
});
