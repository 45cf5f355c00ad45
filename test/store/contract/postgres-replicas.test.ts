/**
 * What only a shared database has: two stores (two replicas' connections) on one PostgreSQL at once.
 * Conflicting guarded writes from both, appends from both into one chain, each sync job claimed by
 * one of them, a dead replica's job taken over when its lease runs out, secrets created once, and
 * asset bytes written by one and streamed by the other.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyChain } from '../../../src/audit/verify-chain.ts';
import { fixedClock } from '../../../src/clock.ts';
import { BlobDigestMismatchError, BlobMissingError, type BlobStore } from '../../../src/store/blob-store.ts';
import { CHUNK_BYTES, openPostgresBlobStore } from '../../../src/store/postgres/pg-blob-store.ts';
import { openPostgresStore } from '../../../src/store/postgres/postgres-store.ts';
import type { PackageKey, Store } from '../../../src/store/store.ts';
import { auditInput } from '../../helpers/audit-input.ts';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.ts';

const base = { domainOwner: '111122223333', domain: 'my_domain', repository: 'my_repo' };
const key: PackageKey = { ...base, format: 'npm', namespace: 'acme', name: 'widget' };

describe('two stores on one PostgreSQL', () => {
  let db: TestDatabase;
  let a: Store & { pool: import('pg').Pool };
  let b: Store & { pool: import('pg').Pool };
  const clock = fixedClock('2026-03-01T00:00:00.000Z');

  beforeAll(async () => {
    db = await createTestDatabase('replicas');
    // Both migrate at once: the advisory lock lets one do it and the other find it done.
    [a, b] = await Promise.all([openPostgresStore({ url: db.url, clock, poolSize: 6, syncLeaseMs: 30_000 }), openPostgresStore({ url: db.url, clock, poolSize: 6, syncLeaseMs: 30_000 })]);
    await a.createDomain(base.domain, base.domainOwner);
    await b.createRepository(base.domainOwner, base.domain, base.repository);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await db?.drop();
  });

  it('of 50 conflicting changes spread over both, exactly one wins and every other is stale', async () => {
    await a.addVersion({ key, version: '1.0.0', status: 'Published', revision: 'r0', assets: [] });
    const packageId = (await b.readPackage(key, [])).packageId!;
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        (i % 2 ? a : b).commitVersionChanges({
          packageId,
          guards: [{ version: '1.0.0', revision: 'r0' }],
          changes: [{ version: '1.0.0', before: { status: 'Published', revision: 'r0' }, after: { status: 'Archived', revision: `r-${i}` } }],
          disposeAssets: false,
          audit: auditInput({ request: { versions: ['1.0.0'] } }),
        }),
      ),
    );
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect(results.filter((r) => !r.ok && r.reason === 'stale')).toHaveLength(49);
    const winner = results.find((r) => r.ok)!;
    expect((await a.listAudit({ limit: 10 })).map((r) => r.seq)).toEqual([(winner as { auditSeq: number }).auditSeq]);
  });

  it('appends from both replicas make one chain: no seq taken twice, no fork', async () => {
    const before = (await a.auditHead())?.seq ?? 0;
    const seqs = await Promise.all(Array.from({ length: 200 }, (_, i) => (i % 2 ? a : b).appendAudit(auditInput({ requestId: `r${i}` }))));
    expect(new Set(seqs).size).toBe(200);
    expect(Math.min(...seqs)).toBe(before + 1);
    expect(Math.max(...seqs)).toBe(before + 200);
    expect(await verifyChain(b)).toMatchObject({ ok: true, records: before + 200 });
  });

  it('each job is claimed by one replica; a dead claim is taken over once its lease runs out, and then writes nothing', async () => {
    for (let i = 0; i < 6; i++) await a.addVersion({ key, version: `2.0.${i}`, status: 'Published', revision: 'r0', assets: [] });
    const claims = (await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 ? a : b).claimSyncJob()))).filter((c) => c !== null);
    const ids = claims.map((c) => c!.id);
    expect(new Set(ids).size).toBe(ids.length);
    // The 1.0.0 job and the six new ones: every one claimed, none twice.
    expect(ids).toHaveLength(7);
    // A replica starting now must not take jobs a live replica runs.
    expect(await b.recoverSyncJobs()).toBe(0);
    expect(await b.claimSyncJob()).toBeNull();
    clock.advance(31_000);
    const takeover = await b.claimSyncJob();
    expect(takeover).not.toBeNull();
    const dead = claims.find((c) => c!.id === takeover!.id)!;
    expect(takeover!.generation).toBeGreaterThan(dead.generation);
    const metadata = { summary: null, homePage: null, sourceCodeRepository: null, licenses: null };
    expect(await a.completeSync(dead, metadata, 'late', auditInput())).toBe('superseded');
    expect(await b.completeSync(takeover!, metadata, 'fresh', auditInput())).toBe('completed');
  });

  it('a secret is created once: both replicas get the same bytes', async () => {
    const [x, y] = await Promise.all([a.ensureSecret('shared', new Uint8Array([1])), b.ensureSecret('shared', new Uint8Array([2]))]);
    expect([...x]).toEqual([...y]);
  });

  describe('asset bytes in the database', () => {
    let blobsA: BlobStore;
    let blobsB: BlobStore;
    beforeAll(() => {
      blobsA = openPostgresBlobStore(a.pool);
      blobsB = openPostgresBlobStore(b.pool);
    });
    const body = (bytes: Uint8Array, piece = 100_000) =>
      new ReadableStream<Uint8Array>({
        start(c) {
          for (let i = 0; i < bytes.length; i += piece) c.enqueue(bytes.subarray(i, i + piece));
          c.close();
        },
      });
    const read = async (stream: ReadableStream<Uint8Array>) => {
      const parts: Uint8Array[] = [];
      for await (const part of stream as unknown as AsyncIterable<Uint8Array>) parts.push(part);
      return Buffer.concat(parts);
    };

    it('stores chunks written by one replica that the other streams back, byte for byte', async () => {
      const bytes = new Uint8Array(CHUNK_BYTES * 2 + 12345).map((_, i) => (i * 7) % 251);
      const { createHash } = await import('node:crypto');
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      const k = blobsA.newKey();
      await a.reserveBlob(k);
      const stored = await blobsA.ingest('big.bin', k, body(bytes), { maxBytes: 10 * CHUNK_BYTES, expectedSha256: sha256 });
      expect(stored).toMatchObject({ size: bytes.length, sha256 });
      const opened = await blobsB.open(k);
      expect(opened.size).toBe(bytes.length);
      expect(Buffer.compare(await read(opened.stream), Buffer.from(bytes))).toBe(0);
      await blobsB.remove(k);
      await expect(blobsA.open(k)).rejects.toBeInstanceOf(BlobMissingError);
    });

    it('keeps nothing of an upload whose digest is wrong', async () => {
      const k = blobsA.newKey();
      await expect(blobsA.ingest('x', k, body(new Uint8Array(10)), { maxBytes: 100, expectedSha256: '0'.repeat(64) })).rejects.toBeInstanceOf(BlobDigestMismatchError);
      expect((await a.pool.query(`SELECT count(*)::int AS n FROM blob_chunks WHERE blob_key = $1`, [k])).rows[0].n).toBe(0);
    });
  });
});
