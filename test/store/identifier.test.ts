/**
 * Every package version's permanent identifier: assigned at creation (seed and publish), unique,
 * resolvable to its package and version, kept through status changes, and backfilled by the
 * migration for versions created before identifiers existed.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/clock.ts';
import { IDENTIFIER_PATTERN, newIdentifier } from '../../src/registry/identifier.ts';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import type { PackageKey, Store } from '../../src/store/store.ts';

const key: PackageKey = { domainOwner: '111122223333', domain: 'my_domain', repository: 'my_repo', format: 'generic', namespace: 'ns', name: 'tool' };
const asset = (n: string) => ({ name: n, size: 1, md5: 'a', sha1: 'b', sha256: 'c', sha512: 'd', blobKey: `k-${n}` });

describe('package version identifiers', () => {
  let dir: string;
  let store: Store;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vg-ident-'));
    store = openSqliteStore({ file: join(dir, 'db.sqlite'), clock: fixedClock(new Date('2026-01-01T00:00:00Z')) });
    await store.createDomain(key.domain, key.domainOwner);
    await store.createRepository(key.domainOwner, key.domain, key.repository);
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('newIdentifier makes 12 base62 characters, different each time', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) seen.add(newIdentifier());
    expect(seen.size).toBe(1000);
    for (const id of seen) expect(id).toMatch(IDENTIFIER_PATTERN);
  });

  it('each version created gets its own, which resolves to its coordinates and version', async () => {
    await store.addVersion({ key, version: '1.0.0', status: 'Published', revision: 'r1', assets: [asset('a')] });
    await store.addVersion({ key, version: '2.0.0', status: 'Published', revision: 'r2', assets: [] });
    const one = (await store.readVersion(key, '1.0.0')).version!;
    const two = (await store.readVersion(key, '2.0.0')).version!;
    expect(one.identifier).toMatch(IDENTIFIER_PATTERN);
    expect(two.identifier).toMatch(IDENTIFIER_PATTERN);
    expect(one.identifier).not.toBe(two.identifier);
    expect(await store.resolveIdentifier(one.identifier)).toEqual({ key, version: '1.0.0' });
    expect(await store.resolveIdentifier(two.identifier)).toEqual({ key, version: '2.0.0' });
    expect(await store.resolveIdentifier('zzzzzzzzzzzz')).toBeNull();
    const listed = await store.listVersions({ packageId: (await store.readPackage(key, [])).packageId!, statuses: ['Published'], order: 'version', limit: 10 });
    expect(listed.versions.map((v) => v.identifier)).toEqual([one.identifier, two.identifier]);
  });

  it('the migration backfills versions created before identifiers existed, each a different one', async () => {
    // A database at the schema before the identifier migration, with two versions in it.
    const old = join(dir, 'old');
    cpSync(join(import.meta.dirname, '../../drizzle/sqlite'), old, { recursive: true });
    const journalFile = join(old, 'meta/_journal.json');
    const journal = JSON.parse(readFileSync(journalFile, 'utf8'));
    const at = journal.entries.findIndex((e: { tag: string }) => e.tag === '0002_version_identifier');
    journal.entries = journal.entries.slice(0, at);
    writeFileSync(journalFile, JSON.stringify(journal));
    const file = join(dir, 'legacy.sqlite');
    const sqlite = new Database(file);
    migrate(drizzle(sqlite), { migrationsFolder: old });
    sqlite.exec(`INSERT INTO domains (owner, name, created_at) VALUES ('111122223333', 'd', 't');
      INSERT INTO repositories (domain_id, name, created_at) VALUES (1, 'r', 't');
      INSERT INTO packages (repository_id, format, namespace, name, created_at) VALUES (1, 'generic', '', 'p', 't');
      INSERT INTO package_versions (package_id, version, status, revision, published_at, status_updated_at) VALUES (1, '1', 'Published', 'x', 't', 't'), (1, '2', 'Published', 'y', 't', 't');`);
    sqlite.close();
    const upgraded = openSqliteStore({ file, clock: fixedClock(new Date('2026-01-01T00:00:00Z')) });
    try {
      const legacyKey: PackageKey = { domainOwner: '111122223333', domain: 'd', repository: 'r', format: 'generic', namespace: '', name: 'p' };
      const a = (await upgraded.readVersion(legacyKey, '1')).version!.identifier;
      const b = (await upgraded.readVersion(legacyKey, '2')).version!.identifier;
      expect(a).toMatch(IDENTIFIER_PATTERN);
      expect(b).toMatch(IDENTIFIER_PATTERN);
      expect(a).not.toBe(b);
      expect(await upgraded.resolveIdentifier(a)).toEqual({ key: legacyKey, version: '1' });
    } finally {
      await upgraded.close();
    }
  });
});
