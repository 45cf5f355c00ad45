/**
 * `versiongate backup`: a copy of a data directory, taken while the gateway runs, that a stopped
 * gateway can start from. Copying the files instead is not safe: the database is its file and its
 * write-ahead log together, and a copy of one taken while the other moves may not open, or may open
 * without changes the clients were told were made.
 *
 * The database is copied with VACUUM INTO, which reads one snapshot (a read transaction: the
 * gateway's writes go on meanwhile) into a new file. Then the asset bytes that snapshot names are
 * copied, each checked against its recorded size and SHA-256 as it is read. Bytes are removed only
 * after the commit that leaves no asset naming them (a dispose, a delete), so bytes found missing
 * were removed after the snapshot was taken: a new snapshot no longer names them, and the copy is
 * taken again (up to SNAPSHOT_ATTEMPTS times). Bytes still missing then are lost from the data
 * directory itself, and the backup fails naming them.
 *
 * Before it is called done the copy is checked (SQLite's quick_check, and the whole audit chain),
 * flushed to disk (VACUUM INTO does not fsync), and only then given its name: a folder with the
 * name asked for is a whole backup. Not copied: the development key (a private key, which `serve
 * --dev` makes again) and the policy-check cache.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, realpathSync, renameSync, rmdirSync, rmSync, statfsSync, statSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import Database from 'better-sqlite3';
import { formatHead, verifyChain } from '../../audit/verify-chain.ts';
import { systemClock } from '../../clock.ts';
import { blobFileIn, isBlobKey } from '../blob-store.ts';
import { BLOB_DIR, DATABASE_FILE } from '../open-store.ts';
import { openSqliteStore } from './sqlite-store.ts';
import { BUSY_TIMEOUT_MS } from './transaction-start.ts';

/** How many snapshots a backup takes before bytes missing in each are called lost. */
export const SNAPSHOT_ATTEMPTS = 5;

/** What a backup could not do; the message says why, for the operator. */
export class BackupError extends Error {
  override readonly name = 'BackupError';
}

export interface BackupOptions {
  dataDir: string;
  /** The folder to create; it must not exist. */
  to: string;
  /** Told after each snapshot is taken, before its bytes are copied (a test races a removal here). */
  onSnapshot?: ((attempt: number) => void | Promise<void>) | undefined;
}

export interface BackupReport {
  backup: string;
  /** The chain's last record as SEQ:HASH (null for an empty log): `audit verify --head` after a restore. */
  auditHead: string | null;
  auditRecords: number;
  versions: number;
  /** Asset files copied (copied versions share their source's). */
  assetFiles: number;
  bytes: number;
  /** Snapshots taken: more than one when bytes were removed while the first was copied. */
  snapshots: number;
}

interface AssetBytes {
  blob_key: string;
  size: number;
  sha256: string;
}

export async function backupDataDir(o: BackupOptions): Promise<BackupReport> {
  const sourceFile = join(o.dataDir, DATABASE_FILE);
  if (!existsSync(sourceFile)) throw new BackupError(`there is no database at ${sourceFile}: nothing to back up (is --data-dir right?)`);
  const to = resolve(o.to);
  const work = `${to}.partial`;
  try {
    return await backupInto(o, sourceFile, to, work);
  } catch (err) {
    throw asBackupError(err, { to, dataDir: resolve(o.dataDir), work }) ?? err;
  }
}

async function backupInto(o: BackupOptions, sourceFile: string, to: string, work: string): Promise<BackupReport> {
  // lstat, not existsSync: a symbolic link to nowhere is a name taken too (the rename would fail on it at the end).
  if (lstatSync(to, { throwIfNoEntry: false })) throw new BackupError(alreadyExists(to));
  if (isWithin(realPath(o.dataDir), realPath(to))) {
    throw new BackupError(`${to} is inside the data directory ${resolve(o.dataDir)}: a backup there is lost with it (a removed or damaged data directory takes it along); choose a folder outside it`);
  }
  // A folder of its own until it is whole, claimed with a marker file as it is made.
  const { madeFrom } = claimWorkFolder(work);
  const workFile = join(work, DATABASE_FILE);
  let source: Database.Database | undefined;
  try {
    mkdirSync(join(work, BLOB_DIR));
    source = new Database(sourceFile, { fileMustExist: true });
    source.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    const copied = new Set<string>();
    let bytes = 0;
    let snapshots = 0;
    let assets: AssetBytes[] = [];
    for (;;) {
      snapshots++;
      rmSync(workFile, { force: true });
      source.prepare('VACUUM INTO ?').run(workFile);
      await o.onSnapshot?.(snapshots);
      assets = assetsOf(workFile);
      const missing: AssetBytes[] = [];
      for (const a of assets) {
        if (copied.has(a.blob_key)) continue;
        const n = await copyChecked(a, join(o.dataDir, BLOB_DIR), join(work, BLOB_DIR));
        if (n === undefined) missing.push(a);
        else {
          copied.add(a.blob_key);
          bytes += n;
        }
      }
      if (missing.length === 0) break;
      if (snapshots === SNAPSHOT_ATTEMPTS) {
        const keys = missing.slice(0, 5).map((a) => a.blob_key);
        throw new BackupError(
          `the bytes of ${missing.length} asset(s) are missing from ${join(o.dataDir, BLOB_DIR)} (${keys.join(', ')}${missing.length > keys.length ? ', …' : ''}) in ${SNAPSHOT_ATTEMPTS} snapshots in a row: the data directory has lost them; no backup was made`,
        );
      }
    }
    // Bytes an earlier snapshot named and this one does not (removed meanwhile) stay out.
    const named = new Set(assets.map((a) => a.blob_key));
    for (const key of copied) {
      if (named.has(key)) continue;
      const file = blobFileIn(join(work, BLOB_DIR), key);
      bytes -= statSync(file).size;
      rmSync(file);
      copied.delete(key);
    }

    const checked = await checkCopy(workFile);
    fsyncPath(workFile);
    for (const dir of readdirSync(join(work, BLOB_DIR))) fsyncPath(join(work, BLOB_DIR, dir));
    fsyncPath(join(work, BLOB_DIR));
    fsyncPath(work);
    renameSync(work, to);
    fsyncPath(dirname(to));
    // Only now: a stopped backup never leaves a work folder that the next one cannot tell for its own.
    rmSync(join(to, WORK_MARKER));
    fsyncPath(to);
    return { backup: to, ...checked, assetFiles: copied.size, bytes, snapshots };
  } catch (err) {
    rmSync(work, { recursive: true, force: true });
    removeEmptyFolders(dirname(work), madeFrom);
    throw err;
  } finally {
    working.delete(work);
    source?.close();
  }
}

const alreadyExists = (to: string) => `${to} already exists: a backup is written to a new folder, which it creates`;

/**
 * Removes the folders a failed backup made above its own (`--to backups/nightly/b`, with no backups/
 * before), from the deepest up to `madeFrom`; one that holds anything (another backup's) stays.
 */
function removeEmptyFolders(deepest: string, madeFrom: string | undefined): void {
  if (madeFrom === undefined) return;
  for (let dir = deepest; isWithin(madeFrom, dir); dir = dirname(dir)) {
    try {
      rmdirSync(dir);
    } catch {
      return;
    }
  }
}

/** What an operator can do something about, in words: where the backup writes, and the disk it writes to. */
const CAUSES: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'the file system is read-only',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'the disk quota is used up',
  EIO: 'the disk failed to read or write',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EEXIST: 'a file is in the way',
  ENAMETOOLONG: 'the name is too long',
  SQLITE_FULL: 'no space left on the device',
  SQLITE_READONLY: 'the file cannot be written',
  SQLITE_CANTOPEN: 'the file cannot be created or opened',
};

/**
 * A failure of the file system or of SQLite as one line for the operator, naming the path and the
 * cause (`cannot write the backup to /mnt/b: no space left on the device (ENOSPC) at …`), not a
 * stack trace; undefined for anything else (a bug shows its stack). SQLite, and a write to an open
 * file, name no file: theirs are failures to write the copy, in its work folder.
 */
function asBackupError(err: unknown, where: { to: string; dataDir: string; work: string }): BackupError | undefined {
  if (err instanceof BackupError) return err;
  const e = err as NodeJS.ErrnoException;
  const code = typeof e?.code === 'string' ? e.code : undefined;
  if (code === undefined) return undefined;
  // Made meanwhile, under the name the finished copy was to take.
  if (e.syscall === 'rename' && (code === 'EEXIST' || code === 'ENOTEMPTY' || code === 'ENOTDIR')) return new BackupError(`${alreadyExists(where.to)} (it was made while the backup copied); no backup was made`);
  const cause = CAUSES[code] ?? (code.startsWith('SQLITE_IOERR') ? ioErrorCause(where.to) : undefined);
  if (cause === undefined) return undefined;
  const path = e.path ?? where.work;
  if (isWithin(where.dataDir, resolve(path))) return new BackupError(`cannot read the data directory ${where.dataDir}: ${cause} (${code}) at ${path}; no backup was made`);
  return new BackupError(`cannot write the backup to ${where.to}: ${cause} (${code}) at ${path}; no backup was made`);
}

/** Less than this free where the backup is written, and SQLite's I/O error is a full disk. */
const NEARLY_FULL_BYTES = 1 << 20;

/** SQLite reports a full disk as an I/O error when it is its shared-memory file that cannot grow. */
function ioErrorCause(to: string): string {
  try {
    const { bavail, bsize } = statfsSync(existingAncestor(dirname(to)));
    if (bavail * bsize < NEARLY_FULL_BYTES) return 'no space left on the device';
  } catch {
    // No answer about the disk: the error is said as it is.
  }
  return 'the disk failed to read or write';
}

function existingAncestor(path: string): string {
  for (let dir = path; ; dir = dirname(dir)) if (existsSync(dir) || dirname(dir) === dir) return dir;
}

/** The file that says a `.partial` folder is a backup's work, and whose: `{"pid":…}`. */
export const WORK_MARKER = '.versiongate-backup';

/** The work folders of this process's backups still running (a marker names the process, not the backup). */
const working = new Set<string>();

/**
 * Makes the backup's work folder and claims it. A folder of that name left by a backup that was
 * stopped (its marker names a process that is gone) is replaced; one whose backup still runs, or
 * one without the marker (not a backup's at all: someone's own folder), is left alone and refused.
 */
function claimWorkFolder(work: string): { madeFrom: string | undefined } {
  if (existsSync(work)) {
    const owner = markerOwner(work);
    if (owner === undefined) {
      throw new BackupError(`${work} exists and is not a backup's unfinished copy (it has no ${WORK_MARKER} file): a backup uses that name while it works; move the folder away or choose another --to`);
    }
    if (owner === process.pid ? working.has(work) : isRunning(owner)) {
      throw new BackupError(`a backup to ${work.slice(0, -'.partial'.length)} is already running (process ${owner}); wait for it, or choose another --to`);
    }
    rmSync(work, { recursive: true, force: true });
  }
  // Its parent folders are made as needed (`--to backups/2026-12-07` with no backups/ yet).
  const madeFrom = makeFolders(dirname(work));
  try {
    mkdirSync(work);
  } catch (err) {
    removeEmptyFolders(dirname(work), madeFrom);
    // Of two backups started at once, both may find no folder above: the one whose mkdir loses stops here.
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new BackupError(`another backup to ${work.slice(0, -'.partial'.length)} started at the same time; wait for it, or choose another --to`);
    throw err;
  }
  working.add(work);
  try {
    writeFileSync(join(work, WORK_MARKER), `${JSON.stringify({ pid: process.pid })}\n`, { flag: 'wx' });
  } catch (err) {
    // A disk too full for the marker: the folder it was to mark goes too.
    working.delete(work);
    rmSync(work, { recursive: true, force: true });
    removeEmptyFolders(dirname(work), madeFrom);
    throw err;
  }
  return { madeFrom };
}

/**
 * Makes `dir` and the folders above it that are missing, one at a time: a recursive mkdir says
 * ENOENT when the real cause is a read-only or full file system above. Returns the first one made.
 */
function makeFolders(dir: string): string | undefined {
  const missing: string[] = [];
  for (let d = dir; !existsSync(d) && dirname(d) !== d; d = dirname(d)) missing.unshift(d);
  for (const d of missing) {
    try {
      mkdirSync(d);
    } catch (err) {
      // Made meanwhile (another backup into the same new folder): used as it is.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || !statSync(d).isDirectory()) {
        removeEmptyFolders(dirname(d), missing[0]);
        throw err;
      }
    }
  }
  return missing[0];
}

function markerOwner(work: string): number | undefined {
  try {
    const pid: unknown = (JSON.parse(readFileSync(join(work, WORK_MARKER), 'utf8')) as { pid?: unknown }).pid;
    return Number.isSafeInteger(pid) && (pid as number) > 0 ? (pid as number) : undefined;
  } catch {
    return undefined;
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: a process of another user has that number; it may be a backup, so it counts as running.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function assetsOf(file: string): AssetBytes[] {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  let assets: AssetBytes[];
  try {
    assets = db.prepare('SELECT DISTINCT blob_key, size, sha256 FROM assets ORDER BY blob_key').all() as AssetBytes[];
  } finally {
    db.close();
  }
  const malformed = assets.filter((a) => !isBlobKey(a.blob_key));
  if (malformed.length > 0) {
    throw new BackupError(`the database names ${malformed.length} asset file(s) by a key that is not one versiongate makes (${malformed.slice(0, 3).map((a) => JSON.stringify(a.blob_key)).join(', ')}): the database is damaged; no backup was made`);
  }
  return assets;
}

/**
 * Copies one asset's bytes, hashing them as they are read, and flushes the copy; the byte count, or
 * undefined when the source is gone. Bytes that differ from their record fail the backup: they are
 * damaged in the data directory, and a backup must not carry them on as good.
 */
async function copyChecked(a: AssetBytes, fromDir: string, toDir: string): Promise<number | undefined> {
  let input;
  try {
    input = await open(blobFileIn(fromDir, a.blob_key), 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const target = blobFileIn(toDir, a.blob_key);
  mkdirSync(dirname(target), { recursive: true });
  const output = await open(target, 'wx');
  const hash = createHash('sha256');
  let size = 0;
  try {
    const buffer = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const { bytesRead } = await input.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      const chunk = buffer.subarray(0, bytesRead);
      hash.update(chunk);
      await output.write(chunk);
      size += bytesRead;
    }
    await output.sync();
  } finally {
    await input.close();
    await output.close();
  }
  const sha256 = hash.digest('hex');
  if (size !== a.size || sha256 !== a.sha256) {
    throw new BackupError(`the bytes of asset file ${a.blob_key} do not match their record (${size} bytes, SHA-256 ${sha256}; recorded ${a.size} bytes, ${a.sha256}): they are damaged in the data directory; no backup was made`);
  }
  return size;
}

/** The copy opens, passes SQLite's quick_check, and its audit chain verifies whole. */
async function checkCopy(file: string): Promise<Pick<BackupReport, 'auditHead' | 'auditRecords' | 'versions'>> {
  const db = new Database(file, { fileMustExist: true });
  let versions: number;
  try {
    const problems = db.pragma('quick_check', { simple: false }) as Array<{ quick_check: string }>;
    if (problems.length !== 1 || problems[0]!.quick_check !== 'ok') {
      throw new BackupError(`the copied database fails SQLite's quick_check (${problems.map((p) => p.quick_check).slice(0, 3).join('; ')}); no backup was made`);
    }
    versions = db.prepare('SELECT count(*) FROM package_versions').pluck().get() as number;
    // As the gateway keeps it: a start then finds nothing to change in the file's header.
    db.pragma('journal_mode = WAL');
  } finally {
    db.close();
  }
  const store = openSqliteStore({ file, clock: systemClock, migrate: false });
  try {
    const verified = await verifyChain(store);
    if (!verified.ok) throw new BackupError(`the copied audit chain does not verify (${JSON.stringify(verified.break)}): run \`versiongate audit verify\` on the data directory; no backup was made`);
    return { auditHead: formatHead(verified.head), auditRecords: verified.records, versions };
  } finally {
    await store.close();
  }
}

/** Flushes a file's or a folder's entries to disk (a folder's, so that the names in it survive a crash). */
function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** The path with every symbolic link in it resolved, as far as it exists (the rest is appended as given). */
function realPath(path: string): string {
  const absolute = resolve(path);
  if (existsSync(absolute)) return realpathSync(absolute);
  const parent = dirname(absolute);
  return parent === absolute ? absolute : join(realPath(parent), basename(absolute));
}

function isWithin(dir: string, path: string): boolean {
  const rel = relative(dir, path);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}
