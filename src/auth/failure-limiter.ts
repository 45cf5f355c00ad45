/**
 * A cap on failed token verifications per source address. Every refused token costs a signature
 * check (and, once per window and kind, an audit write): without a cap, one source sending garbage
 * signed with some key could take the CPU that verifying real users' tokens needs. Past `maxFailures`
 * refusals in a window, a source's requests are answered 429 with Retry-After before their token is
 * looked at, until the window ends; other sources are untouched.
 *
 * Memory is bounded: at most `maxSources` addresses are tracked; past that the oldest window is
 * dropped (a source forgotten this way starts counting again, never gains anything else).
 */
export interface FailureLimiterOptions {
  /** Refusals a source may cause per window; 0 turns the cap off. */
  maxFailures: number;
  windowMs: number;
  maxSources?: number | undefined;
}

export const DEFAULT_AUTH_FAILURE_LIMIT = 100;
export const AUTH_FAILURE_WINDOW_MS = 10_000;
const DEFAULT_MAX_SOURCES = 100_000;

interface Window {
  startedMs: number;
  failures: number;
}

export class AuthFailureLimiter {
  readonly #windows = new Map<string, Window>();
  readonly #maxSources: number;

  constructor(readonly options: FailureLimiterOptions) {
    if (!Number.isInteger(options.maxFailures) || options.maxFailures < 0) throw new RangeError(`maxFailures must be a whole number >= 0, got ${options.maxFailures}`);
    if (!Number.isInteger(options.windowMs) || options.windowMs < 1) throw new RangeError(`windowMs must be a positive whole number, got ${options.windowMs}`);
    this.#maxSources = options.maxSources ?? DEFAULT_MAX_SOURCES;
  }

  /** Milliseconds until this source may try again, or 0 when it may now. */
  retryAfterMs(source: string | null, nowMs: number): number {
    if (this.options.maxFailures === 0) return 0;
    const w = this.#windows.get(source ?? '');
    if (!w || nowMs - w.startedMs >= this.options.windowMs) return 0;
    return w.failures >= this.options.maxFailures ? this.options.windowMs - (nowMs - w.startedMs) : 0;
  }

  recordFailure(source: string | null, nowMs: number): void {
    if (this.options.maxFailures === 0) return;
    const key = source ?? '';
    let w = this.#windows.get(key);
    if (!w || nowMs - w.startedMs >= this.options.windowMs) {
      this.#windows.delete(key);
      w = { startedMs: nowMs, failures: 0 };
      this.#windows.set(key, w);
      if (this.#windows.size > this.#maxSources) this.#windows.delete(this.#windows.keys().next().value!);
    }
    w.failures++;
  }

  get trackedSources(): number {
    return this.#windows.size;
  }
}
