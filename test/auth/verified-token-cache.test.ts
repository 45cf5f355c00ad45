/** The LRU itself: order, bound, acceptance window and key-set version, without tokens or keys. */
import { describe, expect, it } from 'vitest';
import { VerifiedTokenCache, type CachedVerification } from '../../src/auth/verified-token-cache.ts';

const entry = (subject: string, notBeforeMs = -Infinity, expiresAtMs = Infinity): CachedVerification => ({
  principal: { issuer: 'iss', subject, groups: [] },
  notBeforeMs,
  expiresAtMs,
});

/** A cache already at key set 1 (a first lookup adopts the key set it is given). */
function cacheOf(size: number): VerifiedTokenCache {
  const cache = new VerifiedTokenCache(size);
  expect(cache.get('none', 0, 1)).toBeUndefined();
  return cache;
}

describe('VerifiedTokenCache', () => {
  it('returns what was stored, for the same token only', () => {
    const cache = cacheOf(10);
    cache.set('t1', entry('alice'), 1);
    expect(cache.get('t1', 0, 1)?.subject).toBe('alice');
    expect(cache.get('t2', 0, 1)).toBeUndefined();
  });

  it('evicts the least recently used beyond its size; a hit counts as a use', () => {
    const cache = cacheOf(3);
    for (const t of ['a', 'b', 'c']) cache.set(t, entry(t), 1);
    cache.get('a', 0, 1);
    cache.set('d', entry('d'), 1); // evicts b
    expect(cache.size).toBe(3);
    expect(cache.get('b', 0, 1)).toBeUndefined();
    for (const t of ['a', 'c', 'd']) expect(cache.get(t, 0, 1)?.subject).toBe(t);
  });

  it('storing a token again replaces it without growing', () => {
    const cache = cacheOf(2);
    cache.set('a', entry('first'), 1);
    cache.set('a', entry('second'), 1);
    expect(cache.size).toBe(1);
    expect(cache.get('a', 0, 1)?.subject).toBe('second');
  });

  it('answers only inside the window [notBeforeMs, expiresAtMs), and drops an entry found outside it', () => {
    const cache = cacheOf(10);
    cache.set('t', entry('alice', 1000, 2000), 1);
    expect(cache.get('t', 1000, 1)?.subject).toBe('alice');
    expect(cache.get('t', 1999, 1)?.subject).toBe('alice');
    expect(cache.get('t', 2000, 1)).toBeUndefined();
    expect(cache.get('t', 1500, 1)).toBeUndefined(); // dropped, not merely skipped
    cache.set('u', entry('bob', 1000, 2000), 1);
    expect(cache.get('u', 999, 1)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('a new key-set version empties it; storing under an older version is ignored', () => {
    const cache = cacheOf(10);
    cache.set('t', entry('alice'), 1);
    expect(cache.get('u', 0, 2)).toBeUndefined();
    expect(cache.size).toBe(0);
    expect(cache.get('t', 0, 2)).toBeUndefined();
    cache.set('t', entry('alice'), 1); // verified under the old set: not kept
    expect(cache.get('t', 0, 2)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('no version (the source cannot vouch for its keys) is a miss that keeps the entries', () => {
    const cache = cacheOf(10);
    cache.set('t', entry('alice'), 1);
    expect(cache.get('t', 0, undefined)).toBeUndefined();
    expect(cache.get('t', 0, 1)?.subject).toBe('alice');
  });

  it('refuses a size below one (0 means no cache, which is the verifier’s choice to make)', () => {
    expect(() => new VerifiedTokenCache(0)).toThrow(RangeError);
    expect(() => new VerifiedTokenCache(1.5)).toThrow(RangeError);
  });
});
