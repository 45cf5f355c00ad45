/**
 * A store (or blob store) whose calls that failed for want of its database answer what the database's
 * failure means to a client, not "an internal error occurred" (500). Each store names its own
 * failures: PostgreSQL unreachable, its connection lost or taking no writes (postgres/pg-unavailable.ts),
 * the SQLite file locked by another process or its disk full (sqlite/sqlite-unavailable.ts; the
 * threaded store, the default, translates them itself, where they arrive), the disk refusing asset
 * bytes (blob-store.ts). Errors it does not name pass through as they were. A Proxy, as
 * instrumentStore's: every method, including ones added later, is covered.
 */

/** The error a failure means to a client, or undefined when it is not one of the database's. */
export type UnavailableAs = (err: unknown) => Error | undefined;

export function answeringUnavailable<S extends object>(store: S, unavailableAs: UnavailableAs): S {
  const rethrow = (err: unknown): never => {
    throw unavailableAs(err) ?? err;
  };
  // Keyed by the method itself, not its name: a method replaced on the store (a test's stand-in) is
  // the one called, never the first one seen under that name.
  const wrapped = new WeakMap<object, unknown>();
  return new Proxy(store, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      let fn = wrapped.get(value);
      if (!fn) {
        const method = value as (...args: unknown[]) => unknown;
        fn = function unavailableAsRetry(...args: unknown[]): unknown {
          let result: unknown;
          try {
            result = method.apply(target, args);
          } catch (err) {
            // A method that fails before it returns its promise (better-sqlite3's calls are synchronous).
            return rethrow(err);
          }
          return result instanceof Promise ? result.catch(rethrow) : result;
        };
        wrapped.set(value, fn);
      }
      return fn;
    },
  });
}
