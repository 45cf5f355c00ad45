/**
 * The bounds of a simulated request's context (POST /v1/authorize and its batch form), measured
 * without recursion. `JSON.stringify` measured it before: a context nested a few thousand levels deep
 * (well within the 1 MiB body) overflowed the stack, a 500 before the caller was even authenticated.
 * Cedar has no use for such depth (it answers "recursion limit exceeded" far sooner), so past
 * MAX_CONTEXT_DEPTH the context is refused as the size bound refuses it.
 */

/** Levels of records and sets a context may nest (the gateway's own contexts use two). */
export const MAX_CONTEXT_DEPTH = 32;

export type ContextMeasure = { chars: number } | { problem: string };

/**
 * The length of `value` as JSON text (near enough: a string counts as its characters and quotes), or
 * why it is refused: longer than `maxChars`, or nested deeper than MAX_CONTEXT_DEPTH. It stops at the
 * first bound crossed, so a hostile context costs no more than the bound.
 */
export function measureContext(value: unknown, maxChars: number): ContextMeasure {
  let chars = 0;
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (typeof v === 'string') chars += v.length + 2;
    else if (v === null || typeof v !== 'object') chars += String(v).length;
    else {
      if (depth > MAX_CONTEXT_DEPTH) return { problem: `must nest at most ${MAX_CONTEXT_DEPTH} levels of records and sets` };
      const entries = Array.isArray(v) ? v : Object.entries(v);
      chars += 2 + entries.length;
      for (const e of entries) {
        if (Array.isArray(v)) stack.push([e, depth + 1]);
        else {
          const [k, x] = e as [string, unknown];
          chars += k.length + 3;
          stack.push([x, depth + 1]);
        }
      }
    }
    if (chars > maxChars) return { problem: `must be at most ${maxChars} characters as JSON (a request's own context is a few KiB at most)` };
  }
  return { chars };
}
