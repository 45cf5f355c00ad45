/**
 * The documents' shell examples as data: which blocks run, how a block splits into commands, what
 * each command is shown to print, and whether what it printed matches. The convention (stated in the
 * README's Development section):
 *
 * - every ```sh block runs, in document order, in one bash session per document; a block right
 *   after the line `<!-- example: not run (why) -->` does not;
 * - `# ` lines right after a command (no blank line between) are what it prints on stdout;
 *   `# (stderr) …` lines what it prints on stderr; `# exit status N` its exit status. A `#` line
 *   after a blank line, or first in a block, is a comment for the reader;
 * - a command shown without `# exit status N` must exit 0; stdout is compared only where shown,
 *   stderr only where shown;
 * - `…` stands for any text (none included, across lines): revisions, identifiers, times, and parts
 *   left out; whitespace is not significant, so JSON may be shown compact or indented.
 */
import { spawnSync } from 'node:child_process';

export const NOT_RUN_MARKER = /^<!-- example: not run \(.+\) -->$/;

export interface Command {
  /** 1-based line of the command's first line in the document. */
  line: number;
  text: string;
  stdout: string[];
  stderr: string[];
  exitStatus: number;
}

/** The commands of every runnable ```sh block, in order. */
export function extractCommands(doc: string): Command[] {
  const lines = doc.split('\n');
  const commands: Command[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^```(sh|bash|shell)\s*$/.test(lines[i]!)) {
      if (/^```/.test(lines[i]!)) i = closingFence(lines, i); // a fence of another language: skip it whole
      continue;
    }
    const end = closingFence(lines, i);
    const skipped = i > 0 && NOT_RUN_MARKER.test(lines[i - 1]!.trim());
    if (!skipped) commands.push(...splitBlock(lines.slice(i + 1, end), i + 2));
    i = end;
  }
  return commands;
}

function closingFence(lines: string[], open: number): number {
  for (let j = open + 1; j < lines.length; j++) if (/^```\s*$/.test(lines[j]!)) return j;
  throw new Error(`line ${open + 1}: a code block that is never closed`);
}

function splitBlock(lines: string[], firstLine: number): Command[] {
  const commands: Command[] = [];
  let pending: string[] = [];
  let pendingLine = 0;
  let last: Command | null = null;
  lines.forEach((line, k) => {
    if (pending.length === 0) {
      if (line.trim() === '') {
        last = null;
        return;
      }
      if (line.startsWith('#')) {
        if (last) addExpectation(last, line.replace(/^# ?/, ''));
        return;
      }
      pendingLine = firstLine + k;
    }
    pending.push(line);
    const text = pending.join('\n');
    if (isComplete(text)) {
      last = { line: pendingLine, text, stdout: [], stderr: [], exitStatus: 0 };
      commands.push(last);
      pending = [];
    }
  });
  if (pending.length > 0) throw new Error(`line ${pendingLine}: the command never ends:\n${pending.join('\n')}`);
  return commands;
}

function addExpectation(command: Command, text: string): void {
  const exit = /^exit status (\d+)$/.exec(text);
  if (exit) command.exitStatus = Number(exit[1]);
  else if (text.startsWith('(stderr) ')) command.stderr.push(text.slice('(stderr) '.length));
  else command.stdout.push(text);
}

/** Whether bash reads the text as whole commands (quotes closed, no continuation pending). */
function isComplete(text: string): boolean {
  if (/\\$/.test(text)) return false;
  const check = spawnSync('bash', ['-n'], { input: `${text}\n`, encoding: 'utf8' });
  if (check.status === 0) return true;
  if (/unexpected end of file|unexpected EOF/.test(check.stderr)) return false;
  throw new Error(`not valid bash:\n${text}\n${check.stderr}`);
}

/** Whether `actual` is what `expected` shows: `…` any text, whitespace not significant. */
export function matchesShown(expected: string[], actual: string): boolean {
  const squeeze = (s: string) => s.replace(/\s+/g, '');
  const pattern = squeeze(expected.join('\n'))
    .split('…')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('[\\s\\S]*?');
  return new RegExp(`^${pattern}$`).test(squeeze(actual));
}
