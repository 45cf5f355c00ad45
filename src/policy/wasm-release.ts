/**
 * Releasing what a collected engine held in the wasm instance (its preparsed slices and schema), a
 * few at a time. cedar-wasm 4 has no call to drop a preparsed set or schema, so each is overwritten
 * with an empty one: ~55 µs a call, and an engine holds up to 512 slices. Done in the one
 * finalization callback, that held the event loop for ~30 ms right when a reload's old engine was
 * collected; here each turn releases at most RELEASES_PER_TURN, then lets requests in.
 *
 * Names are never reused (each engine's ids carry its own instance number), so a release that
 * waits a few turns can never empty something a live engine uses.
 */
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';

/** At ~55 µs each, about 2 ms of a turn. */
export const RELEASES_PER_TURN = 32;

type Release = { kind: 'set' | 'schema'; name: string };

/**
 * A queue of releases drained a few per turn. The process has one (`releaseLater`); a test makes
 * its own, so releases queued by engines other test files let the collector finalize never mix in.
 */
export class ReleaseQueue {
  readonly #queue: Release[] = [];
  #head = 0;
  #scheduled = false;

  /** Queues the release of these preparsed sets, and of this preparsed schema when one is named. */
  releaseLater(setIds: Iterable<string>, schemaName?: string): void {
    for (const name of setIds) this.#queue.push({ kind: 'set', name });
    if (schemaName !== undefined) this.#queue.push({ kind: 'schema', name: schemaName });
    if (this.#queue.length === this.#head || this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(this.#drain).unref();
  }

  /** Releases still waiting for their turn. */
  pending(): number {
    return this.#queue.length - this.#head;
  }

  readonly #drain = (): void => {
    this.#scheduled = false;
    const end = Math.min(this.#queue.length, this.#head + RELEASES_PER_TURN);
    try {
      for (; this.#head < end; this.#head++) {
        const r = this.#queue[this.#head]!;
        if (r.kind === 'set') cedar.preparsePolicySet(r.name, { staticPolicies: {} });
        else cedar.preparseSchema(r.name, '');
      }
    } catch {
      // A wasm instance that traps is already denying every request; nothing to release into.
      this.#head = this.#queue.length;
    }
    if (this.#head >= this.#queue.length) {
      this.#queue.length = 0;
      this.#head = 0;
      return;
    }
    this.#scheduled = true;
    setImmediate(this.#drain).unref();
  };
}

const processQueue = new ReleaseQueue();

/** Queues the release of these preparsed sets (and schema) on the process's queue. */
export function releaseLater(setIds: Iterable<string>, schemaName?: string): void {
  processQueue.releaseLater(setIds, schemaName);
}
