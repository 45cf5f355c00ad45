/**
 * Usage and help text, generated from the commands' definitions (their flags and positionals), so
 * that what `--help` and `versiongate help` say cannot drift from what the parser accepts.
 */
import type { FlagSpec } from './client/args.ts';

export const WIDTH = 100;

/** Word-wraps text to a width. */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + word.length + 1 > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  lines.push(line);
  return lines;
}

/** One flag in a synopsis: `--sub <value>`, `[--ttl <value>]`, `[--group <value>]...`, `[--[no-]wait]`. */
export function synopsis(flag: FlagSpec): string {
  const core =
    flag.type === 'boolean' ? `--${flag.name} | --no-${flag.name}` : flag.type === 'switch' ? `--${flag.name}` : `--${flag.name} <value>`;
  const repeat = flag.type === 'multiple' ? '...' : '';
  return flag.required ? `${core}${repeat}` : `[${core}]${repeat}`;
}

/** `versiongate NAME word word…`, wrapped at WIDTH with continuation lines indented. */
export function usageLines(name: string, words: readonly string[], indent = '  '): string[] {
  const lines: string[] = [];
  let line = `${indent}versiongate ${name}`;
  const continuation = `${indent}    `;
  for (const word of words) {
    if (line.length + word.length + 1 > WIDTH && line.trim() !== `versiongate ${name}`) {
      lines.push(line);
      line = continuation;
    }
    line += ` ${word}`;
  }
  lines.push(line);
  return lines;
}

/** A label and its description, the description wrapped in a column of its own. */
export function described(label: string, help: string, column = 37): string {
  const pad = column - 2;
  const first = label.length < pad - 1 ? `  ${label.padEnd(pad - 1)} ` : `  ${label}\n${' '.repeat(column)}`;
  return first + wrap(help, WIDTH - column).join(`\n${' '.repeat(column)}`);
}

export function flagLine(f: FlagSpec): string {
  const label = f.type === 'boolean' ? `--[no-]${f.name}` : f.type === 'switch' ? `--${f.name}` : `--${f.name} <value>`;
  return described(label, `${f.required ? '(required) ' : ''}${f.help}${f.type === 'multiple' ? ' May be given more than once.' : ''}`);
}
