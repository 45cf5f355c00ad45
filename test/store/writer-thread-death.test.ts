/**
 * The SQLite writer thread dying while the store is open (a crash: a bug, memory), here by ending it
 * outright (Worker.terminate(), which stops it wherever it is; SQLite rolls back what it left open).
 * Another writer takes its place: the writes the dead one had been sent are acknowledged or answered
 * "could not be checked" (they may have committed), never "not made"; those it had not been sent are
 * made by the next one; nothing acknowledged is missing from the chain. A writer that dies again and
 * again is given up on: every write refused, and the store's ping (readiness) fails.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { verifyChain } from '../../src/audit/verify-chain.ts';
import { ServiceUnavailableError, WriteOutcomeUnknownError } from '../../src/errors.ts';
import { openThreadedSqliteStore } from '../../src/store/sqlite/threaded-store.ts';
import type { Store } from '../../src/store/store.ts';
import { auditInput } from '../helpers/audit-input.ts';

type Outcome = { requestId: string; ok: true } | { requestId: string; ok: false; err: unknown };

const settle = (requestId: string, write: Promise<unknown>): Promise<Outcome> =>
  write.then(
    (): Outcome => ({ requestId, ok: true }),
    (err: unknown): Outcome => ({ requestId, ok: false, err }),
  );

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'vg-writer-death-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('a SQLite writer thread that dies', () => {
  it('is replaced: what it was sent is acknowledged or "could not be checked", what it was not is made by the next, and the chain holds every acknowledged write', async () => {
    const writers: Worker[] = [];
    const lost: Array<{ err: Error; replaced: boolean }> = [];
    let store: Store | undefined;
    let whileReplacing: Array<Promise<Outcome>> = [];
    store = await openThreadedSqliteStore({
      file: join(dir, 'db.sqlite'),
      onWriter: (w) => writers.push(w),
      onWriterLost: (err, replaced) => {
        lost.push({ err, replaced });
        // Sent while no writer runs: they wait for the next one.
        whileReplacing = Array.from({ length: 10 }, (_, i) => settle(`while-replacing-${i}`, store!.appendAudit(auditInput({ requestId: `while-replacing-${i}` }))));
      },
    });
    try {
      const before = await Promise.all(Array.from({ length: 20 }, (_, i) => settle(`before-${i}`, store.appendAudit(auditInput({ requestId: `before-${i}` })))));
      // A burst in flight as the writer is ended: some may commit before it stops, some not.
      const inFlight = Array.from({ length: 40 }, (_, i) => settle(`in-flight-${i}`, store.appendAudit(auditInput({ requestId: `in-flight-${i}` }))));
      await new Promise((resolve) => setImmediate(resolve));
      await writers[0]!.terminate();
      const during = await Promise.all(inFlight);
      await vi.waitFor(() => expect(whileReplacing).toHaveLength(10), { timeout: 10_000 });
      const replaced = await Promise.all(whileReplacing);
      await vi.waitFor(() => store.ping(), { timeout: 10_000, interval: 50 });
      const after = await settle('after', store.appendAudit(auditInput({ requestId: 'after' })));

      expect(writers).toHaveLength(2);
      expect(lost).toEqual([{ err: expect.any(Error), replaced: true }]);
      expect([...before, ...replaced, after].filter((o) => !o.ok)).toEqual([]);
      for (const o of during) {
        if (!o.ok) {
          expect(o.err).toBeInstanceOf(WriteOutcomeUnknownError);
          expect((o.err as Error).message).toBe("The store's writer stopped while the write was being made: whether it was made could not be checked; read it before trying again.");
        }
      }
      const chain = (await store.listAudit({ limit: 1000 })).map((r) => r.requestId);
      const acknowledged = [...before, ...during, ...replaced, after].filter((o) => o.ok).map((o) => o.requestId);
      for (const id of acknowledged) expect(chain.filter((c) => c === id)).toHaveLength(1);
      // Nothing else is there: a write answered "could not be checked" either committed whole or not at all.
      const sent = new Set([...before, ...during, ...replaced, after].map((o) => o.requestId));
      expect(chain.filter((c) => !sent.has(c))).toEqual([]);
      expect((await verifyChain(store)).ok).toBe(true);
    } finally {
      await store.close();
    }
  });

  it('again and again is given up on: every write is refused "not made", and its ping fails', async () => {
    const writers: Worker[] = [];
    const lost: boolean[] = [];
    const store = await openThreadedSqliteStore({ file: join(dir, 'db.sqlite'), onWriter: (w) => writers.push(w), onWriterLost: (_err, replaced) => lost.push(replaced) });
    try {
      await store.appendAudit(auditInput({ requestId: 'before' }));
      for (let death = 1; death <= 4; death++) {
        await writers[death - 1]!.terminate();
        await vi.waitFor(() => expect(lost).toHaveLength(death), { timeout: 10_000 });
        // The replacement is up before it is ended in turn.
        if (lost[death - 1]) await vi.waitFor(() => store.ping(), { timeout: 10_000, interval: 50 });
      }
      expect(lost).toEqual([true, true, true, false]);
      const refused = await store.appendAudit(auditInput({ requestId: 'refused' })).catch((err: unknown) => err);
      expect(refused).toBeInstanceOf(ServiceUnavailableError);
      expect((refused as Error).message).toBe("The store's writer stopped; the write was not made.");
      await expect(store.ping()).rejects.toBeInstanceOf(ServiceUnavailableError);
      // What was acknowledged is there to read.
      expect((await store.listAudit({ limit: 10 })).map((r) => r.requestId)).toEqual(['before']);
    } finally {
      await store.close();
    }
  });
});
