/**
 * Cedar is a pure function of (policy set, principal, action, resource, context, entities). An
 * engine holds one policy set for its life, so it can keep whole decisions keyed by an encoding of
 * the rest of the call (decisionKey). A new set is a new engine with an empty cache, so a reload
 * never answers from the old set's decisions.
 */

/** Entries an engine keeps by default (GenerationalCache: the older half is dropped when the newer half fills). */
export const DEFAULT_DECISION_CACHE_SIZE = 10_000;

/** Calls whose encoding is longer than this are not cached (a key is held in memory per entry). */
const MAX_KEY_LENGTH = 16 * 1024;

/** Deeper inputs are evaluated every time (and a cyclic one never reaches JSON.stringify). */
const MAX_DEPTH = 64;

/**
 * The decision cache's key for a call: an injective encoding of JSON-like data, its JSON text,
 * taken only when JSON would represent the value faithfully. Anything that JSON would silently change or drop (undefined, NaN, -0, bigint,
 * functions, class instances, symbol keys, holes, …) makes the value uncacheable, so it is
 * evaluated every time: the key never merges two inputs Cedar could tell apart. Object keys keep
 * their order: the same input built in another order is a second entry (a miss), never a wrong hit.
 * Every caller builds its calls in one fixed shape, so that costs nothing, and it spares a sort and
 * a string per object on every request (a sorted encoding was a fifth of a request's allocations).
 */
export function decisionKey(value: unknown): string | undefined {
  if (!jsonFaithful(value, 0)) return undefined;
  const key = JSON.stringify(value);
  return key.length <= MAX_KEY_LENGTH ? key : undefined;
}

function jsonFaithful(v: unknown, depth: number): boolean {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(v) && !Object.is(v, -0);
    case 'object': {
      if (v === null) return true;
      if (depth >= MAX_DEPTH) return false;
      if (Array.isArray(v)) {
        if (Object.getPrototypeOf(v) !== Array.prototype) return false;
        for (let i = 0; i < v.length; i++) if (!(i in v) || !jsonFaithful(v[i], depth + 1)) return false;
        return true;
      }
      const proto = Object.getPrototypeOf(v);
      if (proto !== Object.prototype && proto !== null) return false;
      if (Object.getOwnPropertySymbols(v).length > 0) return false;
      for (const k in v) if (!jsonFaithful((v as Record<string, unknown>)[k], depth + 1)) return false;
      return true;
    }
    default:
      return false;
  }
}

/**
 * The decision cache's store: bounded, with hits that change nothing. A recency list moved on every
 * hit (Lru below) re-inserts the entry, and a Map keeps the key it was last given: the request's
 * freshly built key string (a call's JSON, about a kilobyte) then outlived the request, so every hit
 * promoted a kilobyte to the old generation and left the previous key there as garbage. That was
 * most of what the young generation copied and the old one collected under a steady load.
 *
 * So entries live in two generations of at most capacity/2 each. New entries, and entries hit in the
 * older generation, go into the recent one; a hit in the recent one is a lookup and nothing more.
 * When the recent one is full it becomes the older one, and the older one is dropped. An entry is
 * therefore kept for at least capacity/2 new entries after it was last used.
 */
export class GenerationalCache<V> {
  #recent = new Map<string, V>();
  #older = new Map<string, V>();
  readonly #generation: number;

  constructor(readonly capacity: number) {
    this.#generation = Math.max(1, Math.floor(capacity / 2));
  }

  get size(): number {
    return this.#recent.size + this.#older.size;
  }

  get(key: string): V | undefined {
    const v = this.#recent.get(key);
    if (v !== undefined) return v;
    const old = this.#older.get(key);
    if (old !== undefined) {
      this.#older.delete(key);
      this.#put(key, old);
    }
    return old;
  }

  set(key: string, value: V): void {
    if (this.capacity <= 0) return;
    if (this.#recent.has(key)) {
      this.#recent.set(key, value);
      return;
    }
    this.#older.delete(key);
    this.#put(key, value);
  }

  #put(key: string, value: V): void {
    if (this.#recent.size >= this.#generation) {
      // A capacity of 1 keeps no older generation: one entry in all.
      this.#older = this.capacity >= 2 ? this.#recent : new Map();
      this.#recent = new Map();
    }
    this.#recent.set(key, value);
  }
}

/** A bounded map whose insertion order is its recency order. */
export class Lru<V> {
  readonly #map = new Map<string, V>();
  constructor(
    readonly capacity: number,
    private readonly onEvict?: (key: string, value: V) => void,
  ) {}

  get size(): number {
    return this.#map.size;
  }

  get(key: string): V | undefined {
    const v = this.#map.get(key);
    if (v !== undefined) {
      this.#map.delete(key);
      this.#map.set(key, v);
    }
    return v;
  }

  set(key: string, value: V): void {
    if (this.capacity <= 0) return;
    this.#map.delete(key);
    while (this.#map.size >= this.capacity) {
      const [oldKey, oldValue] = this.#map.entries().next().value as [string, V];
      this.#map.delete(oldKey);
      this.onEvict?.(oldKey, oldValue);
    }
    this.#map.set(key, value);
  }

  /** Removes and returns the least recently used entry. */
  shift(): [string, V] | undefined {
    const first = this.#map.entries().next();
    if (first.done) return undefined;
    this.#map.delete(first.value[0]);
    return first.value;
  }

  values(): IterableIterator<V> {
    return this.#map.values();
  }
}
