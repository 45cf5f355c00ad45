/**
 * A Store that times every call (versiongate_store_transaction_duration_seconds) and counts the audit
 * records written (versiongate_audit_records_total), around any Store implementation.
 * A Proxy rather than a class: every method of the interface, including ones added later, is timed
 * and passed through unchanged, so the decorator can never hide a method or change a result.
 */
import type { Store } from '../store/store.ts';
import type { Metrics } from './metrics.ts';

/** Methods that are not transactions. */
const UNTIMED = new Set<PropertyKey>(['close']);

export function instrumentStore(store: Store, metrics: Metrics): Store {
  const wrapped = new Map<PropertyKey, unknown>();
  return new Proxy(store, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function' || UNTIMED.has(property) || typeof property !== 'string') return value;
      let fn = wrapped.get(property);
      if (!fn) {
        fn = timed(property, value as (...args: unknown[]) => unknown, target, metrics);
        wrapped.set(property, fn);
      }
      return fn;
    },
  });
}

function timed(operation: string, method: (...args: unknown[]) => unknown, target: Store, metrics: Metrics) {
  // The labels are made once per method, and the clock read by hand: prom-client's startTimer makes
  // two closures and merges two label objects on every call, and a request makes several calls.
  const ok = { operation, result: 'ok' };
  const failed = { operation, result: 'error' };
  return async function instrumented(...args: unknown[]): Promise<unknown> {
    const started = performance.now();
    try {
      const result = await method.apply(target, args);
      metrics.storeDuration.observe(ok, (performance.now() - started) / 1000);
      countAudit(operation, result, metrics);
      return result;
    } catch (err) {
      metrics.storeDuration.observe(failed, (performance.now() - started) / 1000);
      throw err;
    }
  };
}

/**
 * An audit record is written by appendAudit and scheduleSync (when it schedules), and by a version
 * commit that went through, or that ran out of time and recorded the timeout instead (its auditSeq).
 */
function countAudit(operation: string, result: unknown, metrics: Metrics): void {
  if (operation === 'appendAudit') metrics.auditRecords.inc();
  else if (operation === 'scheduleSync' && result === true) metrics.auditRecords.inc();
  else if ((operation === 'commitVersionChanges' || operation === 'commitVersionCopies') && typeof (result as { auditSeq?: unknown } | undefined)?.auditSeq === 'number') metrics.auditRecords.inc();
  else if (operation === 'applyTenancyChange' && (result as { ok?: unknown } | undefined)?.ok === true) metrics.auditRecords.inc();
}
