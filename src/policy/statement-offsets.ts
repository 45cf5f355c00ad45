/**
 * Where each policy of a Cedar file starts, in file order. Cedar's policySetTextToParts gives each
 * policy's text, but ordered by its internal id as a string ("policy0", "policy1", "policy10",
 * "policy11", "policy2", …), not by position: past ten policies in a file, a search for each text
 * from the end of the one before lost its place, so policies were reported at the wrong line, and a
 * policy without an @id was named `file#index` by that order instead of its position. So the file is
 * read here into its statements (skipping `//` comments and string literals, where a `;` or a copy
 * of a policy may hide), and each of Cedar's texts is matched to the statement with the same text.
 */

export interface LocatedPolicy {
  text: string;
  /** Where it starts in the file (its first annotation, or its effect). */
  offset: number;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const SLASH = 0x2f;
const NEWLINE = 0x0a;
const SEMICOLON = 0x3b;

/** Each statement's text, from its first character that is not blank or a comment to its `;`, with where it starts. */
export function statementsOf(text: string): LocatedPolicy[] {
  const out: LocatedPolicy[] = [];
  let start = -1;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === SLASH && text.charCodeAt(i + 1) === SLASH) {
      const end = text.indexOf('\n', i);
      if (end === -1) break;
      i = end;
      continue;
    }
    if (ch === QUOTE) {
      if (start === -1) start = i;
      for (i++; i < text.length && text.charCodeAt(i) !== QUOTE; i++) if (text.charCodeAt(i) === BACKSLASH) i++;
      continue;
    }
    if (start === -1) {
      if (ch !== NEWLINE && !/\s/.test(text[i]!)) start = i;
      else continue;
    }
    if (ch === SEMICOLON) {
      out.push({ text: text.slice(start, i + 1), offset: start });
      start = -1;
    }
  }
  return out;
}

/**
 * Cedar's texts of a file's policies (or templates), in file order, each with its offset. A text no
 * statement matches (which Cedar's parser and this reading would have to disagree on) is found by
 * search instead, and failing that placed at the end.
 */
export function locateInFile(fileText: string, texts: readonly string[]): LocatedPolicy[] {
  const byText = new Map<string, number[]>();
  for (const s of statementsOf(fileText)) {
    const list = byText.get(s.text);
    if (list) list.push(s.offset);
    else byText.set(s.text, [s.offset]);
  }
  const located = texts.map((t) => {
    const offset = byText.get(t)?.shift();
    if (offset !== undefined) return { text: t, offset };
    const found = fileText.indexOf(t);
    return { text: t, offset: found === -1 ? fileText.length : found };
  });
  return located.sort((a, b) => a.offset - b.offset);
}
