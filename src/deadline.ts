/**
 * A request's deadline. hono's timeout() answers the client but leaves the handler running, so a
 * change could still commit after the client was told it failed. Instead, the deadline is checked
 * by the operation immediately before it commits: past it, nothing is written and the client gets a
 * 503; once the commit has started (better-sqlite3 commits synchronously), the request completes
 * normally. Time is monotonic (performance.now), never the wall clock.
 */
import { ServiceUnavailableError } from './errors.ts';

export interface Deadline {
  /** Throws DeadlineExceededError when the deadline has passed or the server is stopping hard. */
  check(): void;
  expired(): boolean;
  /** Milliseconds until it expires (0 once it has, or when the server is stopping hard). */
  remainingMs(): number;
}

/** 503 ServiceUnavailableException (with Retry-After): the SDKs retry it, and nothing was changed. */
export class DeadlineExceededError extends ServiceUnavailableError {}

export interface DeadlineOptions {
  timeoutMs: number;
  /** Aborted when the shutdown grace runs out: every deadline expires at once. */
  hardStop?: AbortSignal | undefined;
  /** A monotonic clock in milliseconds (tests may pass their own). */
  now?: () => number;
}

export function createDeadline({ timeoutMs, hardStop, now = () => performance.now() }: DeadlineOptions): Deadline {
  const at = now() + timeoutMs;
  const expired = () => now() >= at || hardStop?.aborted === true;
  return {
    expired,
    remainingMs: () => (hardStop?.aborted ? 0 : Math.max(0, at - now())),
    check() {
      if (!expired()) return;
      throw new DeadlineExceededError(
        hardStop?.aborted
          ? 'The gateway is shutting down and this request could not finish in time. Nothing was changed; try again.'
          : `The request did not finish within its ${timeoutMs} ms deadline. Nothing was changed; try again.`,
      );
    },
  };
}
