/**
 * Where the process is in its life: starting (not ready, API requests refused), serving, or stopping
 * (not ready, requests in flight finish). `hardStop` is aborted when the shutdown grace runs out, so
 * every request deadline expires before the remaining connections are cut: a change that has not
 * started committing by then never will.
 */
export type LifecycleState = 'starting' | 'serving' | 'stopping';

export interface Lifecycle {
  readonly state: LifecycleState;
  readonly hardStop: AbortSignal;
  serving(): void;
  stopping(): void;
  abortInFlight(): void;
  /**
   * Count a request's handler from its start (`began`) to its end (`ended`, once, in a finally). A
   * connection can be gone while its handler still runs (a cut upload records its refusal), so closing
   * waits for handlers, not only for connections, before it closes the store under them.
   */
  began(): void;
  ended(): void;
  /** How many handlers are running. */
  readonly handling: number;
  /** Resolves once no handler is running. */
  idle(): Promise<void>;
}

export function createLifecycle(initial: LifecycleState = 'serving'): Lifecycle {
  let state = initial;
  const hardStop = new AbortController();
  let handling = 0;
  let waiting: Array<() => void> = [];
  return {
    get handling() {
      return handling;
    },
    began() {
      handling++;
    },
    ended() {
      if (--handling > 0) return;
      const done = waiting;
      waiting = [];
      for (const resolve of done) resolve();
    },
    idle() {
      return handling === 0 ? Promise.resolve() : new Promise((resolve) => waiting.push(resolve));
    },
    get state() {
      return state;
    },
    hardStop: hardStop.signal,
    serving() {
      // Stopping is one-way: a late "ready" from the start sequence never reopens a closing gateway.
      if (state === 'starting') state = 'serving';
    },
    stopping() {
      state = 'stopping';
    },
    abortInFlight() {
      hardStop.abort();
    },
  };
}
