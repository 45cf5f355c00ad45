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
   * Counts a request's handler from its start until `end` is called. A connection can be gone while
   * its handler still runs (a cut upload records its refusal), so closing waits for handlers, not
   * only for connections, before it closes the store under them.
   */
  begin(): () => void;
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
  const end = () => {
    if (--handling > 0) return;
    const done = waiting;
    waiting = [];
    for (const resolve of done) resolve();
  };
  return {
    get handling() {
      return handling;
    },
    begin() {
      handling++;
      let ended = false;
      return () => {
        if (ended) return;
        ended = true;
        end();
      };
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
