/**
 * Cedar's parser and validator recurse; a deeply nested policy overflows the wasm stack and leaves
 * the instance broken for every later call. Text is checked here before Cedar ever sees it.
 * Measured on cedar-wasm 4.13 in plain node: 100 nested parentheses parse, 150 break the instance;
 * a flat chain `1 + 1 + … + 1` (no brackets, but a tree as deep as the chain) breaks it at ~1500
 * terms, and at ~500 in a vitest worker's smaller stack. Both limits below keep a wide margin.
 */
export const MAX_POLICY_NESTING = 64;
/** Operators in one policy: binary and unary operators, member access, and in/has/like/is. */
export const MAX_POLICY_OPERATORS = 256;
export const MAX_POLICY_FILE_BYTES = 1024 * 1024;

const OPERATOR = /^(?:&&|\|\||==|!=|<=|>=|[+\-*<>!.])/;
const KEYWORD_OPERATOR = /^(?:in|has|like|is)(?![\w])/;

/** Returns why the text is refused, or undefined. Brackets and operators inside string literals and comments don't count. */
export function policyTextProblem(text: string): string | undefined {
  return textProblem(text, false);
}

/**
 * policyTextProblem for the schema, where `<` and `>` are brackets (`Set<Set<…>>`), not operators:
 * a type nested past the limit is refused before Cedar reads it.
 */
export function schemaTextProblem(text: string): string | undefined {
  return textProblem(text, true);
}

function textProblem(text: string, angleBrackets: boolean): string | undefined {
  if (Buffer.byteLength(text) > MAX_POLICY_FILE_BYTES) return `larger than ${MAX_POLICY_FILE_BYTES} bytes`;
  let depth = 0;
  let ifs = 0;
  let operators = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    const wordStart = !/\w/.test(text[i - 1] ?? ' ');
    if (ch === '"') {
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++;
    } else if (ch === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (ch === '(' || ch === '[' || ch === '{' || (angleBrackets && ch === '<')) {
      if (++depth > MAX_POLICY_NESTING) return `nested deeper than ${MAX_POLICY_NESTING} brackets`;
    } else if (ch === ')' || ch === ']' || ch === '}' || (angleBrackets && ch === '>')) {
      depth = Math.max(0, depth - 1);
    } else if (ch === ';') {
      ifs = 0;
      operators = 0;
    } else if (ch === 'i' && wordStart && text.startsWith('if', i) && !/\w/.test(text[i + 2] ?? ' ')) {
      if (++ifs > MAX_POLICY_NESTING) return `more than ${MAX_POLICY_NESTING} if-expressions in one policy`;
      i += 1;
    } else {
      const op = OPERATOR.exec(text.slice(i, i + 2)) ?? (wordStart ? KEYWORD_OPERATOR.exec(text.slice(i, i + 5)) : null);
      if (op) {
        if (++operators > MAX_POLICY_OPERATORS) return `more than ${MAX_POLICY_OPERATORS} operators in one policy`;
        i += op[0].length - 1;
      }
    }
  }
  return undefined;
}
