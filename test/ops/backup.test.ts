/**
 * `versiongate backup`, as an operator runs it: a process of its own, beside the real server taking
 * status changes from several connections. The copy must hold every change acknowledged before the
 * backup began, with its record; a server started on the copy serves the asset bytes as they were
 * published, and the copy's chain verifies against the head the backup printed. Bytes removed while
 * a backup copies make it take a new snapshot; bytes lost or damaged in the data directory fail it,
 * leaving nothing behind.
 */
import { createHash, randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { loadOrCreateDevKey, mintDevToken } from '../../src/auth/dev-key.ts';
import { systemClock } from '../../src/clock.ts';
import { DEV_AUDIENCE, DEV_ISSUER } from '../../src/config.ts';
import { blobFileIn } from '../../src/store/blob-store.ts';
import { backupDataDir, BackupError, WORK_MARKER } from '../../src/store/sqlite/backup.ts';
import { cliProcesses, envWithout } from '../helpers/cli-process.ts';
import { CHALK_VERSIONS, lookAtStore, seededDataDir, UPDATE_CHALK, type DataDir } from '../security/security-fixtures.ts';
import { killAll, spawnServer } from '../security/spawned-server.ts';

const cli = cliProcesses();
const dirs: string[] = [];
const dataDirs: DataDir[] = [];
afterAll(() => {
  killAll();
  cli.killAll();
  for (const d of dataDirs) d.remove();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function scratch(): string {
  const dir = mkdtempSync(join(tmpdir(), 'vg-backup-'));
  dirs.push(dir);
  return dir;
}

async function seeded(): Promise<DataDir> {
  const data = await seededDataDir('vg-backup-data-');
  dataDirs.push(data);
  return data;
}

const TOOL = 'domain=my_domain&domain-owner=111122223333&repository=my_repo&format=generic&namespace=acme&package=my-tool&version=1.0.0';

describe('backup beside a running server', () => {
  it('holds every change acknowledged before it began, serves the bytes as published, and verifies against the head it printed', async () => {
    const data = await seeded();
    const server = await spawnServer({ VERSIONGATE_DATA_DIR: data.dataDir }, { dev: true });
    const key = await loadOrCreateDevKey(data.dataDir);
    const token = await mintDevToken({ key, issuer: DEV_ISSUER, audience: DEV_AUDIENCE, subject: 'ops', groups: ['release-managers', 'publishers'], groupsClaim: 'groups', ttlSeconds: 600, clock: systemClock });
    const auth = { authorization: `Bearer ${token}` };

    const bytes = randomBytes(256 * 1024);
    const published = await fetch(`${server.url}/v1/package/version/publish?${TOOL}&asset=my-tool.bin`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/octet-stream', 'x-amz-content-sha256': createHash('sha256').update(bytes).digest('hex') },
      body: bytes,
    });
    expect(published.status, await published.clone().text()).toBe(200);

    // One lane per chalk version, each flipping its version until told to stop.
    const acknowledged: Array<{ requestId: string; at: number }> = [];
    let stop = false;
    const lanes = CHALK_VERSIONS.map(async (version) => {
      for (let i = 0; !stop; i++) {
        const res = await fetch(`${server.url}${UPDATE_CHALK}`, {
          method: 'POST',
          headers: { ...auth, 'content-type': 'application/json' },
          body: JSON.stringify({ versions: [version], targetStatus: i % 2 === 0 ? 'Unlisted' : 'Published' }),
        });
        const text = await res.text();
        if (res.status !== 200) throw new Error(`${version}: ${res.status} ${text}`);
        acknowledged.push({ requestId: res.headers.get('x-amzn-requestid')!, at: performance.now() });
        // Paced, so that SQLite's automatic checkpoints are seconds apart: a copy of the database
        // file alone (without its write-ahead log) then misses the latest acknowledged changes.
        await new Promise((r) => setTimeout(r, 30));
      }
    });
    while (acknowledged.length < 20) await new Promise((r) => setTimeout(r, 20));

    const to = join(scratch(), 'backup');
    const began = performance.now();
    const backup = await cli.run(['backup', '--data-dir', data.dataDir, '--to', to], envWithout('VERSIONGATE_'));
    const during = acknowledged.length;
    while (acknowledged.length < during + 20) await new Promise((r) => setTimeout(r, 20));
    stop = true;
    await Promise.all(lanes);
    await server.stop();

    expect(backup.code, backup.stderr).toBe(0);
    const report = JSON.parse(backup.stdout) as { backup: string; auditHead: string; auditRecords: number; assetFiles: number; bytes: number; snapshots: number };
    expect(report.backup).toBe(to);
    expect(report.auditHead).toMatch(/^\d+:[0-9a-f]{64}$/);
    expect(readdirSync(join(to))).toEqual(['blobs', 'versiongate.db']);

    const copy = await lookAtStore(to);
    expect(copy.chainOk, copy.chainReport).toBe(true);
    expect(copy.records).toHaveLength(report.auditRecords);
    const inCopy = new Set(copy.records.map((r) => r.requestId));
    const before = acknowledged.filter((a) => a.at < began);
    expect(before.length).toBeGreaterThan(0);
    expect(before.filter((a) => !inCopy.has(a.requestId))).toEqual([]);
    // The server went on meanwhile: what it acknowledged after the backup ended is not in the copy.
    const original = await lookAtStore(data.dataDir);
    expect(original.records.length).toBeGreaterThan(copy.records.length);

    // A server started on the copy serves the bytes, and the chain is the one the backup printed.
    const restored = await spawnServer({ VERSIONGATE_DATA_DIR: to }, { dev: true });
    const again = await mintDevToken({ key: await loadOrCreateDevKey(to), issuer: DEV_ISSUER, audience: DEV_AUDIENCE, subject: 'ops', groups: ['release-managers'], groupsClaim: 'groups', ttlSeconds: 600, clock: systemClock });
    let download: Response | undefined;
    for (let i = 0; i < 200; i++) {
      download = await fetch(`${restored.url}/v1/package/version/asset?${TOOL}&asset=my-tool.bin`, { headers: { authorization: `Bearer ${again}` } });
      if (download.status !== 409) break;
      await download.arrayBuffer();
      await new Promise((r) => setTimeout(r, 100)); // its sync may still have been running when the snapshot was taken
    }
    expect(download!.status, await download!.clone().text()).toBe(200);
    expect(Buffer.from(await download!.arrayBuffer()).equals(bytes)).toBe(true);
    await restored.stop();

    const verified = await cli.run(['audit', 'verify', '--data-dir', to, '--head', report.auditHead], envWithout('VERSIONGATE_'));
    expect(verified.code, verified.stdout + verified.stderr).toBe(0);
  });
});

describe("an operator's mistake: one line naming the path and the cause, exit 1, nothing left behind", () => {
  const env = envWithout('VERSIONGATE_');

  it('a name taken by a link to nowhere, and a path through a file', async () => {
    const data = await seeded();
    const dir = scratch();
    const link = join(dir, 'link');
    symlinkSync(join(dir, 'nowhere'), link);
    const taken = await cli.run(['backup', '--data-dir', data.dataDir, '--to', link], env);
    expect([taken.code, taken.stderr]).toEqual([1, `versiongate: ${link} already exists: a backup is written to a new folder, which it creates\n`]);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);

    const file = join(dir, 'notes.txt');
    writeFileSync(file, 'mine');
    const through = await cli.run(['backup', '--data-dir', data.dataDir, '--to', join(file, 'nightly', 'b')], env);
    expect([through.code, through.stderr]).toEqual([
      1,
      `versiongate: cannot write the backup to ${join(file, 'nightly', 'b')}: a part of the path is a file, not a folder (ENOTDIR) at ${join(file, 'nightly', 'b')}; no backup was made\n`,
    ]);
    expect(readdirSync(dir).sort()).toEqual(['link', 'notes.txt']);
  });

  it('a folder made under its name while it copies: refused at the end, that folder left as it was', async () => {
    const data = await seeded();
    const to = join(scratch(), 'backup');
    await expect(
      backupDataDir({
        dataDir: data.dataDir,
        to,
        onSnapshot: () => {
          mkdirSync(to);
          writeFileSync(join(to, 'notes.txt'), 'mine');
        },
      }),
    ).rejects.toThrow(new BackupError(`${to} already exists: a backup is written to a new folder, which it creates (it was made while the backup copied); no backup was made`));
    expect(readdirSync(to)).toEqual(['notes.txt']);
    expect(existsSync(`${to}.partial`)).toBe(false);
  });

  it('a disk that fills while the bytes are copied (a write failing with ENOSPC): said so, and the folders it made are gone', async () => {
    const data = await seeded();
    const top = join(scratch(), 'backups');
    const to = join(top, 'nightly', 'backup');
    const full = Object.assign(new Error('ENOSPC: no space left on device, write'), { errno: -28, code: 'ENOSPC', syscall: 'write' });
    await expect(
      backupDataDir({
        dataDir: data.dataDir,
        to,
        onSnapshot: () => {
          throw full;
        },
      }),
    ).rejects.toThrow(new BackupError(`cannot write the backup to ${to}: no space left on the device (ENOSPC) at ${to}.partial; no backup was made`));
    expect(existsSync(top)).toBe(false);
  });
});

describe('backup of a data directory', () => {
  /** Opens the data dir's database beside the backup, as the gateway would. */
  function database(data: DataDir): Database.Database {
    return new Database(join(data.dataDir, 'versiongate.db'));
  }
  function blobKeys(data: DataDir): string[] {
    const db = database(data);
    try {
      return db.prepare('SELECT DISTINCT blob_key FROM assets ORDER BY blob_key').pluck().all() as string[];
    } finally {
      db.close();
    }
  }
  const blobFile = (data: DataDir, key: string) => blobFileIn(join(data.dataDir, 'blobs'), key);
  const copiedKeys = (to: string) => readdirSync(join(to, 'blobs'), { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => e.name).sort();

  it('takes a new snapshot when bytes it names are removed meanwhile, and keeps none of the removed ones', async () => {
    const data = await seeded();
    const [gone, dropped, ...kept] = blobKeys(data);
    const to = join(scratch(), 'backup');
    const report = await backupDataDir({
      dataDir: data.dataDir,
      to,
      onSnapshot: (attempt) => {
        if (attempt !== 1) return;
        // As a dispose does once it has committed: no asset names the bytes, then they are removed.
        // `dropped`'s bytes are left for later, so the first snapshot's copy of them must go.
        const db = database(data);
        db.prepare('DELETE FROM assets WHERE blob_key IN (?, ?)').run(gone, dropped);
        db.close();
        rmSync(blobFile(data, gone!));
      },
    });
    expect(report.snapshots).toBe(2);
    expect(copiedKeys(to)).toEqual(kept);
    expect(report.assetFiles).toBe(kept.length);
  });

  it('fails, leaving nothing behind, when bytes the database names are lost from the data directory', async () => {
    const data = await seeded();
    const [lost] = blobKeys(data);
    rmSync(blobFile(data, lost!));
    const to = join(scratch(), 'backup');
    const run = await cli.run(['backup', '--data-dir', data.dataDir, '--to', to], envWithout('VERSIONGATE_'));
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`the bytes of 1 asset(s) are missing from ${join(data.dataDir, 'blobs')} (${lost}) in 5 snapshots in a row: the data directory has lost them; no backup was made`);
    expect(existsSync(to)).toBe(false);
    expect(existsSync(`${to}.partial`)).toBe(false);
  });

  it('fails when bytes do not match their record', async () => {
    const data = await seeded();
    const [damaged] = blobKeys(data);
    writeFileSync(blobFile(data, damaged!), 'not the bytes that were published');
    const to = join(scratch(), 'backup');
    await expect(backupDataDir({ dataDir: data.dataDir, to })).rejects.toThrow(BackupError);
    await expect(backupDataDir({ dataDir: data.dataDir, to })).rejects.toThrow(new RegExp(`^the bytes of asset file ${damaged} do not match their record \\(33 bytes`));
    expect(existsSync(to)).toBe(false);
    expect(existsSync(`${to}.partial`)).toBe(false);
  });

  it('replaces the unfinished copy of a backup that was stopped, but no folder of that name that is not one', async () => {
    const data = await seeded();
    const to = join(scratch(), 'backup');
    // Someone's own folder under the name a backup works in: refused, and left exactly as it was.
    mkdirSync(`${to}.partial`);
    writeFileSync(join(`${to}.partial`, 'notes.txt'), 'mine');
    await expect(backupDataDir({ dataDir: data.dataDir, to })).rejects.toThrow(
      new BackupError(`${to}.partial exists and is not a backup's unfinished copy (it has no ${WORK_MARKER} file): a backup uses that name while it works; move the folder away or choose another --to`),
    );
    expect(readdirSync(`${to}.partial`)).toEqual(['notes.txt']);
    expect(existsSync(to)).toBe(false);

    // A backup still running (its marker names a live process): refused, its folder left to it.
    rmSync(`${to}.partial`, { recursive: true });
    const running = spawn('sleep', ['60']);
    try {
      mkdirSync(`${to}.partial`);
      writeFileSync(join(`${to}.partial`, WORK_MARKER), JSON.stringify({ pid: running.pid }));
      await expect(backupDataDir({ dataDir: data.dataDir, to })).rejects.toThrow(`a backup to ${to} is already running (process ${running.pid}); wait for it, or choose another --to`);
      expect(existsSync(join(`${to}.partial`, WORK_MARKER))).toBe(true);
    } finally {
      running.kill();
    }
    await new Promise((resolve) => running.once('exit', resolve));

    // The same folder once its process is gone is a stopped backup's leftover: replaced, and the backup is made.
    writeFileSync(join(`${to}.partial`, 'versiongate.db'), 'half a copy');
    const report = await backupDataDir({ dataDir: data.dataDir, to });
    expect(report.backup).toBe(to);
    expect(existsSync(`${to}.partial`)).toBe(false);
    expect(readdirSync(to).sort()).toEqual(['blobs', 'versiongate.db']);
  });

  it('makes one of two backups to one folder started at once, and refuses the other without touching its copy', async () => {
    const data = await seeded();
    // In a folder that does not exist yet: it is made.
    const to = join(scratch(), 'backups', 'nightly', 'backup');
    const [first, second] = await Promise.allSettled([backupDataDir({ dataDir: data.dataDir, to }), backupDataDir({ dataDir: data.dataDir, to })]);
    expect(first).toMatchObject({ status: 'fulfilled', value: { backup: to } });
    expect(second).toMatchObject({ status: 'rejected', reason: new BackupError(`a backup to ${to} is already running (process ${process.pid}); wait for it, or choose another --to`) });
    // The refused one left the winner's copy whole: it opens, and its chain verifies.
    expect(existsSync(`${to}.partial`)).toBe(false);
    const verified = await cli.run(['audit', 'verify', '--data-dir', to], envWithout('VERSIONGATE_'));
    expect(verified.code, verified.stdout + verified.stderr).toBe(0);
  });

  it('fails, naming them, when the database names asset files by keys it never makes', async () => {
    const data = await seeded();
    const [key] = blobKeys(data);
    const db = database(data);
    db.prepare('UPDATE assets SET blob_key = ? WHERE blob_key = ?').run('../../etc/passwd', key);
    db.close();
    const to = join(scratch(), 'backup');
    await expect(backupDataDir({ dataDir: data.dataDir, to })).rejects.toThrow(
      new BackupError('the database names 1 asset file(s) by a key that is not one versiongate makes ("../../etc/passwd"): the database is damaged; no backup was made'),
    );
    expect(existsSync(to)).toBe(false);
    expect(existsSync(`${to}.partial`)).toBe(false);
  });

  it('says what is wrong with where it reads and writes, and sends PostgreSQL to pg_dump', async () => {
    const data = await seeded();
    const env = envWithout('VERSIONGATE_');
    const taken = scratch();
    const exists = await cli.run(['backup', '--data-dir', data.dataDir, '--to', taken], env);
    expect([exists.code, exists.stderr]).toEqual([1, `versiongate: ${taken} already exists: a backup is written to a new folder, which it creates\n`]);
    // Inside the data directory, named directly or through a link to it: refused, and nothing is made there.
    const linked = join(scratch(), 'link');
    symlinkSync(data.dataDir, linked);
    for (const inside of [join(data.dataDir, 'backups', 'b'), join(linked, 'backups', 'b')]) {
      const refused = await cli.run(['backup', '--data-dir', data.dataDir, '--to', inside], env);
      expect([refused.code, refused.stderr]).toEqual([
        1,
        `versiongate: ${inside} is inside the data directory ${data.dataDir}: a backup there is lost with it (a removed or damaged data directory takes it along); choose a folder outside it\n`,
      ]);
    }
    expect(existsSync(join(data.dataDir, 'backups'))).toBe(false);
    const nowhere = join(scratch(), 'none');
    const empty = await cli.run(['backup', '--data-dir', nowhere, '--to', join(taken, 'b')], env);
    expect([empty.code, empty.stderr]).toEqual([1, `versiongate: there is no database at ${join(nowhere, 'versiongate.db')}: nothing to back up (is --data-dir right?)\n`]);
    const postgres = await cli.run(['backup', '--database-url', 'postgres://versiongate@127.0.0.1:1/versiongate', '--to', join(taken, 'c')], env);
    expect(postgres.code).toBe(1);
    expect(postgres.stderr).toContain('with PostgreSQL (VERSIONGATE_DATABASE_URL), back the database up with pg_dump');
    const usage = await cli.run(['backup', '--data-dir', data.dataDir], env);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('--to');
  });
});
