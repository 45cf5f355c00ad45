/**
 * Tokens that verified, with the principal they verified as: a bounded LRU keyed on the whole
 * token, as Envoy's jwt_authn keeps one, so a client repeating a token pays for one signature check.
 *
 * An entry is used only while a fresh verification would pass (its acceptance window, checked on
 * every hit against the caller's clock) and only under the key set it was verified with: when the
 * key source reports another key set, every entry goes, so a token signed by a key rotated out is
 * verified again (and refused). Failures are never stored.
 *
 * A Map iterates in insertion order, so deleting and re-inserting on a hit keeps the least recently
 * used entry first: every operation is O(1).
 */
import type { Principal } from './principal.ts';
import type { AcceptanceWindow } from './time-claims.ts';

export interface CachedVerification extends AcceptanceWindow {
  principal: Principal;
}

export class VerifiedTokenCache {
  readonly #entries = new Map<string, CachedVerification>();
  #keySet: number | undefined;

  constructor(readonly maxEntries: number) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new RangeError(`a token cache holds at least one entry, got ${maxEntries}`);
  }

  get size(): number {
    return this.#entries.size;
  }

  /**
   * The principal for this token if it verified under this key set and is still acceptable at nowMs.
   * `keySet` undefined (the source cannot vouch for its keys right now) is a miss that keeps the
   * entries: they are good again once the source reports the same key set.
   */
  get(token: string, nowMs: number, keySet: number | undefined): Principal | undefined {
    if (keySet === undefined) return undefined;
    if (keySet !== this.#keySet) {
      this.#entries.clear();
      this.#keySet = keySet;
      return undefined;
    }
    const entry = this.#entries.get(token);
    if (entry === undefined) return undefined;
    this.#entries.delete(token);
    // Outside its window the token is verified again, so its refusal has jose's code and message.
    if (nowMs < entry.notBeforeMs || nowMs >= entry.expiresAtMs) return undefined;
    this.#entries.set(token, entry);
    return entry.principal;
  }

  /**
   * While the key source cannot be reached: the principal for a token verified under the last key set
   * the cache saw, if still within its acceptance window. The identity provider being down tells
   * nothing new about its keys, so what was verified stays as verified until it expires; entries
   * are not dropped, so they serve again once the source is back with the same set.
   */
  getDuringOutage(token: string, nowMs: number): Principal | undefined {
    const entry = this.#entries.get(token);
    if (entry === undefined || nowMs < entry.notBeforeMs || nowMs >= entry.expiresAtMs) return undefined;
    return entry.principal;
  }

  /**
   * Remembers a verification made under `keySet`, the key set read *before* verifying. If the cache
   * has moved on to another key set meanwhile, the verification is not kept.
   */
  set(token: string, entry: CachedVerification, keySet: number): void {
    if (keySet !== this.#keySet) return;
    this.#entries.delete(token);
    this.#entries.set(token, entry);
    if (this.#entries.size > this.maxEntries) this.#entries.delete(this.#entries.keys().next().value!);
  }
}
