/**
 * Cedar is a pure function of (policy set, principal, action, resource, context, entities). An
 * engine holds one policy set for its life, so it can keep whole decisions keyed by a canonical
 * encoding of the rest of the call. A new set is a new engine with an empty cache, so a reload
 * never answers from the old set's decisions.
 */

/** Entries an engine keeps by default; the least recently used is dropped beyond it. */
export const DEFAULT_DECISION_CACHE_SIZE = 10_000;

/** Calls whose encoding is longer than this are not cached (a key is held in memory per entry). */
const MAX_KEY_LENGTH = 16 * 1024;

class Uncacheable extends Error {}

/**
 * A canonical, injective encoding of JSON-like data: object keys sorted, arrays in order. Two
 * values with the same encoding are the same input to Cedar. Anything that JSON would silently
 * change or drop (undefined, NaN, -0, bigint, class instances, …) makes the value uncacheable,
 * so it is evaluated every time: the encoding never merges two inputs Cedar could tell apart.
 */
export function canonicalKey(value: unknown): string | undefined {
  try {
    const key = encode(value);
    return key.length <= MAX_KEY_LENGTH ? key : undefined;
  } catch (err) {
    if (err instanceof Uncacheable || err instanceof RangeError) return undefined;
    throw err;
  }
}

function encode(v: unknown): string {
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v);
    case 'boolean':
      return v ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(v) || Object.is(v, -0)) throw new Uncacheable();
      return JSON.stringify(v);
    case 'object': {
      if (v === null) return 'null';
      if (Array.isArray(v)) {
        let out = '[';
        for (let i = 0; i < v.length; i++) {
          if (!(i in v)) throw new Uncacheable();
          out += (i ? ',' : '') + encode(v[i]);
        }
        return out + ']';
      }
      const proto = Object.getPrototypeOf(v);
      if (proto !== Object.prototype && proto !== null) throw new Uncacheable();
      if (Object.getOwnPropertySymbols(v).length > 0) throw new Uncacheable();
      const keys = Object.keys(v).sort();
      let out = '{';
      keys.forEach((k, i) => {
        out += (i ? ',' : '') + JSON.stringify(k) + ':' + encode((v as Record<string, unknown>)[k]);
      });
      return out + '}';
    }
    default:
      throw new Uncacheable();
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
