/**
 * The threaded store's reads of one turn share a read transaction (turn-snapshot.ts). What a reader
 * must still see: every write the store acknowledged, at once, and another process's commit from the
 * next turn, or the next millisecond, on.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { seedDemo } from '../../src/cli/seed-demo.ts';
import { openBlobStore } from '../../src/store/blob-store.ts';
import { openThreadedSqliteStore } from '../../src/store/sqlite/threaded-store.ts';
import { SNAPSHOT_MAX_AGE_MS, TurnSnapshot } from '../../src/store/sqlite/turn-snapshot.ts';
import type { PackageKey, Store } from '../../src/store/store.ts';
import { auditInput } from '../helpers/audit-input.ts';

const key: PackageKey = { domainOwner: '111122223333', domain: 'my_domain', repository: 'my_repo', format: 'npm', namespace: '', name: 'chalk' };
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('reads sharing a snapshot per turn', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'vg-snapshot-'));
    file = join(dir, 'db.sqlite');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  describe('TurnSnapshot on one connection, another process’s connection writing', () => {
    let reader: Database.Database;
    let other: Database.Database;
    let snapshot: TurnSnapshot;
    let now = 0; // the snapshot's clock: time passes only when a test says so
    const count = () => {
      snapshot.enter();
      return (reader.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n;
    };
    beforeEach(() => {
      other = new Database(file);
      other.pragma('journal_mode = WAL');
      other.exec('CREATE TABLE t (x INTEGER)');
      reader = new Database(file);
      now = 0;
      snapshot = new TurnSnapshot(reader, () => now);
    });
    afterEach(() => {
      snapshot.end();
      reader.close();
      other.close();
    });

    it('shares one transaction within a turn and sees the other’s commit in the next turn', async () => {
      expect(count()).toBe(0);
      expect(reader.inTransaction).toBe(true);
      other.exec('INSERT INTO t VALUES (1)');
      expect(count()).toBe(0); // the same snapshot, same turn
      await nextTurn();
      expect(reader.inTransaction).toBe(false); // ended with its turn: nothing held between turns
      expect(count()).toBe(1);
    });

    it('serves no read from a snapshot older than its limit, however long the turn', () => {
      expect(count()).toBe(0);
      other.exec('INSERT INTO t VALUES (1)');
      now += SNAPSHOT_MAX_AGE_MS / 2;
      expect(count()).toBe(0);
      now += SNAPSHOT_MAX_AGE_MS / 2; // a long turn
      expect(count()).toBe(1);
    });

    it('sees everything committed before end() once it is called, in the same turn', () => {
      expect(count()).toBe(0);
      other.exec('INSERT INTO t VALUES (1)');
      snapshot.end();
      expect(count()).toBe(1);
    });
  });

  describe('the threaded store', () => {
    let store: Store;
    beforeEach(async () => {
      store = await openThreadedSqliteStore({ file });
      await seedDemo(store, openBlobStore(join(dir, 'blobs')));
    });
    afterEach(async () => {
      await store.close();
    });

    it('reads an acknowledged write at once, after reading the state before it', async () => {
      const before = await store.readPackage(key, ['4.1.0']);
      const v = before.versions.get('4.1.0')!;
      // The write is submitted in the turn of that read, while its snapshot is open.
      const result = await store.commitVersionChanges({
        packageId: before.packageId!,
        guards: [{ version: '4.1.0', revision: v.revision }],
        changes: [{ version: '4.1.0', before: { status: v.status, revision: v.revision }, after: { status: 'Archived', revision: 'after-rev' } }],
        disposeAssets: false,
        audit: auditInput({ requestId: 'snapshot-test', request: { versions: ['4.1.0'] } }),
      });
      expect(result.ok).toBe(true);
      const after = await store.readPackage(key, ['4.1.0']);
      expect(after.versions.get('4.1.0')).toEqual({ version: '4.1.0', status: 'Archived', revision: 'after-rev' });
    });

    it('refuses reads once closed, as a rejection', async () => {
      await store.readPackage(key, []);
      await store.close();
      await expect(store.listDomains()).rejects.toThrow();
      store = await openThreadedSqliteStore({ file }); // for afterEach
    });
  });
});
