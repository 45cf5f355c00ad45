/**
 * Checks that a JSON text has no object with the same key twice. jose (like JSON.parse) keeps the
 * last of duplicate keys while another reader may keep the first; a token that two parsers can read
 * differently is refused rather than interpreted.
 *
 * Returns the first duplicated key, or undefined. It assumes the text is otherwise JSON: the real
 * parse happens afterwards and rejects anything malformed.
 */
export function findDuplicateKey(text: string): string | undefined {
  const stack: Array<Set<string> | null> = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '"') {
      let j = i + 1;
      let raw = '';
      while (j < text.length && text[j] !== '"') {
        if (text[j] === '\\') {
          raw += text.slice(j, j + 2);
          j += 2;
        } else {
          raw += text[j];
          j += 1;
        }
      }
      if (expectKey) {
        let key: string;
        try {
          key = JSON.parse(`"${raw}"`) as string;
        } catch {
          return undefined;
        }
        const keys = stack[stack.length - 1];
        if (keys) {
          if (keys.has(key)) return key;
          keys.add(key);
        }
        expectKey = false;
      }
      i = j;
    } else if (ch === '{') {
      stack.push(new Set());
      expectKey = true;
    } else if (ch === '[') {
      stack.push(null);
    } else if (ch === '}' || ch === ']') {
      stack.pop();
    } else if (ch === ',') {
      expectKey = stack[stack.length - 1] != null;
    }
  }
  return undefined;
}
