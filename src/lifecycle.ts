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
}

export function createLifecycle(initial: LifecycleState = 'serving'): Lifecycle {
  let state = initial;
  const hardStop = new AbortController();
  return {
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
