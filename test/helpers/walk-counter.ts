/** A store wrapper that counts the audit chain's walks, for the tests of concurrent verifies. */
import type { Store } from '../../src/store/store.ts';

/** Counts the walks (a walk starts reading at seq 0 and ends on an empty batch) and the most at once. */
export function walkCounter() {
  const seen = { started: 0, running: 0, most: 0 };
  const wrap = (store: Store): Store =>
    new Proxy(store, {
      get(target, name, receiver) {
        if (name !== 'readAuditChain') return Reflect.get(target, name, receiver);
        return async (afterSeq: number, limit: number) => {
          if (afterSeq === 0) {
            seen.started++;
            seen.most = Math.max(seen.most, ++seen.running);
          }
          // Slow enough that callers sent together all arrive while the first walk runs.
          await new Promise((resolve) => setTimeout(resolve, 50));
          const batch = await target.readAuditChain(afterSeq, limit);
          if (batch.length === 0) seen.running--;
          return batch;
        };
      },
    });
  return { seen, wrap };
}
