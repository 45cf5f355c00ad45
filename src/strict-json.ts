/**
 * Checks that a JSON text has no object with the same key twice. jose (like JSON.parse) keeps the
 * last of duplicate keys while another reader may keep the first; a token that two parsers can read
 * differently is refused rather than interpreted.
 *
 * Returns the first duplicated key, or undefined. It assumes the text is otherwise JSON: the real
 * parse happens afterwards and rejects anything malformed.
 *
 * It runs on every token that is not answered from the cache, so it reads each string with slice
 * rather than character by character, and unescapes a key only when it holds an escape.
 */
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const COMMA = 0x2c;

export function findDuplicateKey(text: string): string | undefined {
  const stack: Array<Set<string> | null> = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === QUOTE) {
      let j = i + 1;
      let escaped = false;
      while (j < text.length) {
        const c = text.charCodeAt(j);
        if (c === QUOTE) break;
        if (c === BACKSLASH) {
          escaped = true;
          j += 2;
        } else {
          j += 1;
        }
      }
      if (expectKey) {
        const raw = text.slice(i + 1, j);
        let key = raw;
        if (escaped) {
          // "s\u0075b" is "sub": keys are compared as a parser reads them.
          try {
            key = JSON.parse(`"${raw}"`) as string;
          } catch {
            return undefined;
          }
        }
        const keys = stack[stack.length - 1];
        if (keys) {
          if (keys.has(key)) return key;
          keys.add(key);
        }
        expectKey = false;
      }
      i = j;
    } else if (ch === OPEN_OBJECT) {
      stack.push(new Set());
      expectKey = true;
    } else if (ch === OPEN_ARRAY) {
      stack.push(null);
    } else if (ch === CLOSE_OBJECT || ch === CLOSE_ARRAY) {
      stack.pop();
    } else if (ch === COMMA) {
      expectKey = stack[stack.length - 1] != null;
    }
  }
  return undefined;
}
