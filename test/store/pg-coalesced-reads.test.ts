/**
 * Reads asked in one turn share one statement (CoalescedReads), and PostgreSQL's readPackage uses
 * it: each caller gets its own answer; when the shared statement fails, each read runs again alone,
 * so a read that fails fails alone; more reads than a statement takes are split; closing answers
 * the reads already asked for and refuses new ones.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/clock.ts';
import { CoalescedReads } from '../../src/store/postgres/pg-coalesced-reads.ts';
import { openPostgresStore } from '../../src/store/postgres/postgres-store.ts';
import type { PackageKey, Store } from '../../src/store/store.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.ts';

/** A readMany that doubles numbers, fails on any group holding a negative one, and records each group it got. */
function doubler() {
  const groups: number[][] = [];
  const readMany = async (keys: readonly number[]) => {
    groups.push([...keys]);
    if (keys.some((k) => k < 0)) throw new Error(`negative: ${keys.filter((k) => k < 0).join(',')}`);
    return keys.map((k) => k * 2);
  };
  return { groups, readMany };
}

describe('CoalescedReads', () => {
  it('answers the reads asked in one turn with one call, each caller its own answer', async () => {
    const { groups, readMany } = doubler();
    const reads = new CoalescedReads(readMany, 64);
    expect(await Promise.all([1, 2, 3, 4].map((k) => reads.read(k)))).toEqual([2, 4, 6, 8]);
    expect(groups).toEqual([[1, 2, 3, 4]]);
    // A later turn makes a call of its own.
    expect(await reads.read(5)).toBe(10);
    expect(groups).toEqual([[1, 2, 3, 4], [5]]);
  });

  it('runs each read again alone when the shared call fails, so only the failing read fails', async () => {
    const { groups, readMany } = doubler();
    const reads = new CoalescedReads(readMany, 64);
    const settled = await Promise.allSettled([1, -2, 3].map((k) => reads.read(k)));
    expect(settled.map((s) => (s.status === 'fulfilled' ? s.value : (s.reason as Error).message))).toEqual([2, 'negative: -2', 6]);
    expect(groups).toEqual([[1, -2, 3], [1], [-2], [3]]);
  });

  it('treats a wrong number of answers as a failure of the shared call', async () => {
    let calls = 0;
    const reads = new CoalescedReads<number, number>(async (keys) => (++calls === 1 ? [0] : keys.map((k) => k + 1)), 64);
    expect(await Promise.all([1, 2].map((k) => reads.read(k)))).toEqual([2, 3]);
    expect(calls).toBe(3);
  });

  it('splits the reads of one turn into calls of at most maxKeys', async () => {
    const { groups, readMany } = doubler();
    const reads = new CoalescedReads(readMany, 2);
    expect(await Promise.all([1, 2, 3, 4, 5].map((k) => reads.read(k)))).toEqual([2, 4, 6, 8, 10]);
    expect(groups).toEqual([[1, 2], [3, 4], [5]]);
  });

  it('answers the reads already asked for when closed, then refuses new ones', async () => {
    const { groups, readMany } = doubler();
    const reads = new CoalescedReads(readMany, 64);
    const pending = [reads.read(1), reads.read(2)];
    await reads.close();
    expect(await Promise.all(pending)).toEqual([2, 4]);
    expect(groups).toEqual([[1, 2]]);
    await expect(reads.read(3)).rejects.toThrow(/closed/);
  });

  it('refuses a maxKeys that is not a positive integer', () => {
    expect(() => new CoalescedReads(doubler().readMany, 0)).toThrow(/maxKeys/);
  });
});

describe('PostgreSQL readPackage, coalesced', () => {
  let db: TestDatabase;
  let store: Store;
  const key: PackageKey = { domainOwner: '111122223333', domain: 'my_domain', repository: 'my_repo', format: 'npm', namespace: '', name: 'widget' };

  beforeAll(async () => {
    db = await createTestDatabase('vg_coalesced');
    store = await openPostgresStore({ url: db.url, clock: fixedClock('2026-03-01T00:00:00.000Z'), poolSize: 8 });
    await store.createDomain(key.domain, key.domainOwner);
    await store.createRepository(key.domainOwner, key.domain, key.repository);
    await store.addVersion({ key, version: '1.0.0', status: 'Published', revision: 'r0', assets: [] });
  });

  afterAll(async () => {
    await store?.close();
    await db?.drop();
  });

  it('fails only the read PostgreSQL refuses (a NUL byte in a name); the reads made with it get their packages', async () => {
    const [good1, bad, good2] = await Promise.allSettled([
      store.readPackage(key, ['1.0.0']),
      store.readPackage({ ...key, name: 'wid\u0000get' }, ['1.0.0']),
      store.readPackage(key, []),
    ]);
    expect(good1.status === 'fulfilled' && [...good1.value.versions.keys()]).toEqual(['1.0.0']);
    // 22021: invalid byte sequence for the encoding.
    expect(bad.status === 'rejected' && (bad.reason as { code?: string }).code).toBe('22021');
    expect(good2.status === 'fulfilled' && good2.value.packageId).toBe(good1.status === 'fulfilled' && good1.value.packageId);
  });
});
