/**
 * The audit of refused tokens, without the amplification. Recording every 401 as a record of its own
 * let anyone with a garbage token make the gateway fsync a hash-chained write per request, growing the
 * database and taking commit capacity from real users. Instead, within each window:
 *
 * - the first refusal of a kind — same source address, action, reason and status — is recorded at
 *   once, as before, so a lone mistaken client shows up in the log as it happens;
 * - the rest of that kind are counted, and when the window closes one record says how many there
 *   were, between which times, from which requests, aimed at which resources (a bounded sample);
 * - at most `maxKinds` kinds are kept per window; refusals of further kinds are counted into one
 *   overflow record (no source, no action), so a flood from many addresses is bounded too.
 *
 * So unauthenticated traffic costs at most `maxKinds` + a few writes per window, whatever its rate.
 * The counts of an open window live in memory: a crash loses at most that window's counts (never a
 * change — a 401 changes nothing), and close() writes them out. A window of 0 records every refusal.
 */
import { randomUUID } from 'node:crypto';
import { unauthenticatedRecord, type UnauthenticatedRecordInput } from './build-record.ts';
import type { AuditRecordInput } from './audit-record.ts';

export interface RejectionLogOptions {
  /** Appends a record to the chain; resolves once it is durable. */
  append: (record: AuditRecordInput) => Promise<unknown>;
  /** Milliseconds per window; 0 records every refusal on its own. */
  windowMs: number;
  /** Kinds kept apart per window; beyond it, one overflow record. */
  maxKinds?: number | undefined;
  /** Called when a window's records could not be written (they are not retried: counts, not changes). */
  onError?: ((err: unknown) => void) | undefined;
}

export const DEFAULT_REJECTION_WINDOW_MS = 10_000;
export const DEFAULT_REJECTION_KINDS = 1_000;
/** Resources named in one window's record: enough to see what was aimed at, bounded whatever the flood. */
export const RESOURCE_SAMPLE = 10;
/** The action recorded for refusals counted past the kind limit. */
export const OVERFLOW_ACTION = '*';

interface Tally {
  first: UnauthenticatedRecordInput;
  /** Refusals after the first, not yet recorded. */
  count: number;
  /** Kept as the clock gave them and written out once, in the summary: a flood counts thousands a second. */
  firstAt: Date;
  lastAt: Date;
  firstRequestId: string;
  lastRequestId: string;
  resources: Set<string>;
  resourcesOmitted: number;
}

export class RejectionLog {
  readonly #options: Required<Omit<RejectionLogOptions, 'onError'>> & Pick<RejectionLogOptions, 'onError'>;
  #kinds = new Map<string, Tally>();
  #overflow: Tally | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: RejectionLogOptions) {
    if (!Number.isInteger(options.windowMs) || options.windowMs < 0) throw new Error(`RejectionLog: windowMs must be a whole number >= 0, got ${options.windowMs}`);
    const maxKinds = options.maxKinds ?? DEFAULT_REJECTION_KINDS;
    if (!Number.isInteger(maxKinds) || maxKinds < 1) throw new Error(`RejectionLog: maxKinds must be a positive integer, got ${maxKinds}`);
    this.#options = { ...options, maxKinds };
  }

  /**
   * Records a refusal: at once when it is the first of its kind in this window (or windows are off),
   * otherwise by counting it. Resolves once whatever it wrote is durable.
   */
  async record(r: UnauthenticatedRecordInput): Promise<void> {
    if (this.#options.windowMs === 0 || this.#closed) {
      await this.#options.append(unauthenticatedRecord(r));
      return;
    }
    const kind = JSON.stringify([r.meta.sourceIp, r.action, r.code, r.httpStatus]);
    const tally = this.#kinds.get(kind);
    if (tally) {
      count(tally, r);
      return;
    }
    if (this.#kinds.size >= this.#options.maxKinds) {
      this.#overflow ??= newTally(r);
      count(this.#overflow, r);
      this.#arm();
      return;
    }
    this.#kinds.set(kind, newTally(r));
    this.#arm();
    await this.#options.append(unauthenticatedRecord(r));
  }

  /** Writes the counts of the window so far and starts a new one. */
  async flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const records: AuditRecordInput[] = [];
    for (const tally of this.#kinds.values()) if (tally.count > 0) records.push(summary(tally, false));
    if (this.#overflow) records.push(summary(this.#overflow, true));
    this.#kinds = new Map();
    this.#overflow = undefined;
    await Promise.all(records.map((record) => this.#options.append(record)));
  }

  /** Writes what is counted; later refusals are recorded one by one (nothing counts them any more). */
  async close(): Promise<void> {
    this.#closed = true;
    await this.flush();
  }

  #arm(): void {
    if (this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.flush().catch((err: unknown) => this.#options.onError?.(err));
    }, this.#options.windowMs);
    // A window still open never keeps the process alive: close() writes it out on the way down.
    this.#timer.unref();
  }
}

function newTally(r: UnauthenticatedRecordInput): Tally {
  const at = r.clock.now();
  return { first: r, count: 0, firstAt: at, lastAt: at, firstRequestId: r.meta.requestId, lastRequestId: r.meta.requestId, resources: new Set(), resourcesOmitted: 0 };
}

function count(tally: Tally, r: UnauthenticatedRecordInput): void {
  if (tally.count === 0) {
    tally.firstAt = r.clock.now();
    tally.firstRequestId = r.meta.requestId;
  }
  tally.count++;
  tally.lastAt = r.clock.now();
  tally.lastRequestId = r.meta.requestId;
  if (r.resource !== null && !tally.resources.has(r.resource)) {
    if (tally.resources.size < RESOURCE_SAMPLE) tally.resources.add(r.resource);
    else tally.resourcesOmitted++;
  }
}

/** One window's refusals of one kind (after the first, recorded on its own), as one record. */
function summary(tally: Tally, overflow: boolean): AuditRecordInput {
  const base = unauthenticatedRecord({ ...tally.first, ...(overflow ? { action: OVERFLOW_ACTION, meta: { ...tally.first.meta, sourceIp: null } } : {}) });
  const resources = [...tally.resources].sort();
  return {
    ...base,
    decisionId: randomUUID(),
    requestId: tally.lastRequestId,
    resource: !overflow && resources.length === 1 && tally.resourcesOmitted === 0 ? resources[0]! : null,
    ...(overflow ? { reason: 'MANY_KINDS' } : {}),
    request: {
      rejected: tally.count,
      firstAt: tally.firstAt.toISOString(),
      lastAt: tally.lastAt.toISOString(),
      firstRequestId: tally.firstRequestId,
      lastRequestId: tally.lastRequestId,
      resources,
      resourcesOmitted: tally.resourcesOmitted,
    },
  };
}
