/**
 * Cedar source, shown with line numbers (each line an anchor, so a determining policy links to its
 * line) and a light syntax highlight: comments, strings, annotations and keywords. Highlighting is
 * decoration only; nothing is told by colour alone.
 */
import type { FC } from 'hono/jsx';

const TOKEN = /(\/\/[^\n]*)|("(?:[^"\\]|\\.)*")|(@[A-Za-z_][A-Za-z0-9_]*)|\b(permit|forbid|when|unless|principal|action|resource|context|in|has|like|is|if|then|else|true|false)\b/g;

function highlight(line: string) {
  const parts: unknown[] = [];
  let last = 0;
  for (const m of line.matchAll(TOKEN)) {
    if (m.index! > last) parts.push(line.slice(last, m.index));
    const cls = m[1] ? 'c-comment' : m[2] ? 'c-string' : m[3] ? 'c-annotation' : 'c-keyword';
    parts.push(<span class={cls}>{m[0]}</span>);
    last = m.index! + m[0].length;
  }
  if (last < line.length) parts.push(line.slice(last));
  return parts;
}

export const anchorOf = (prefix: string, file: string, line?: number) => `${prefix}-${file.replace(/[^A-Za-z0-9_-]/g, '_')}${line ? `-L${line}` : ''}`;

export const CedarSource: FC<{ file: string; text: string; prefix: string }> = ({ file, text, prefix }) => (
  <pre class="source" id={anchorOf(prefix, file)} aria-label={`${file} source`}>
    <code>
      {text.split('\n').map((line, i) => (
        <span class="line" id={anchorOf(prefix, file, i + 1)}>
          <span class="ln" aria-hidden="true">
            {String(i + 1).padStart(3)}{' '}
          </span>
          {file.endsWith('.cedar') ? (highlight(line) as never) : line}
          {'\n'}
        </span>
      ))}
    </code>
  </pre>
);
