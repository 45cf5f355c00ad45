/**
 * Large JSON bodies take turns: each is parsed and checked in a turn of the event loop of its own, so
 * what arrived meanwhile (a health probe, a small request) is served between two of them.
 */
import { describe, expect, it } from 'vitest';
import { largeBodyTurn } from '../../src/http/large-body-turns.ts';

describe('large body turns', () => {
  it('runs one at a time, in the order asked, and lets other work run between two turns', async () => {
    const events: string[] = [];
    const work = async (name: string) => {
      const end = await largeBodyTurn();
      events.push(`${name} starts`);
      // What arrives while this one is parsed (an I/O callback's work, say) is queued behind it...
      setImmediate(() => events.push(`other work after ${name}`));
      events.push(`${name} ends`);
      end();
    };
    await Promise.all([work('a'), work('b'), work('c')]);
    // ...and runs before the next body's turn: no two large bodies back to back.
    expect(events).toEqual(['a starts', 'a ends', 'other work after a', 'b starts', 'b ends', 'other work after b', 'c starts', 'c ends']);
    await new Promise((resolve) => setImmediate(resolve));
    expect(events.at(-1)).toBe('other work after c');
  });

  it('a turn ended by a failure lets the next one go', async () => {
    const order: string[] = [];
    const failing = (async () => {
      const end = await largeBodyTurn();
      try {
        throw new Error('malformed');
      } finally {
        end();
      }
    })().catch(() => order.push('failed'));
    const next = largeBodyTurn().then((end) => {
      order.push('next');
      end();
    });
    await Promise.all([failing, next]);
    expect(order).toEqual(['failed', 'next']);
  });
});
