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
const queue: Release[] = [];
let head = 0;
let scheduled = false;

/** Queues the release of these preparsed sets, and of this preparsed schema when one is named. */
export function releaseLater(setIds: Iterable<string>, schemaName?: string): void {
  for (const name of setIds) queue.push({ kind: 'set', name });
  if (schemaName !== undefined) queue.push({ kind: 'schema', name: schemaName });
  if (queue.length === head) return;
  if (!scheduled) {
    scheduled = true;
    setImmediate(drain).unref();
  }
}

/** Releases still waiting for their turn. */
export function pendingReleases(): number {
  return queue.length - head;
}

function drain(): void {
  scheduled = false;
  const end = Math.min(queue.length, head + RELEASES_PER_TURN);
  try {
    for (; head < end; head++) {
      const r = queue[head]!;
      if (r.kind === 'set') cedar.preparsePolicySet(r.name, { staticPolicies: {} });
      else cedar.preparseSchema(r.name, '');
    }
  } catch {
    // A wasm instance that traps is already denying every request; nothing to release into.
    head = queue.length;
  }
  if (head >= queue.length) {
    queue.length = 0;
    head = 0;
    return;
  }
  scheduled = true;
  setImmediate(drain).unref();
}
