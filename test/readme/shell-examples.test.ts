/** The examples' convention itself: how blocks split into commands, and what a shown output allows. */
import { describe, expect, it } from 'vitest';
import { extractCommands, matchesShown } from './shell-examples.ts';

const DOC = `Text.

\`\`\`sh
# a comment for the reader
A=$(echo 1)
curl -s "http://x" \\
  -d '{
  "a": 1}'
# {"ok":true}
npx versiongate token
# (stderr) versiongate: nope
# exit status 2

echo after-blank
\`\`\`

<!-- example: not run (a sketch) -->
\`\`\`sh
rm -rf /
\`\`\`

\`\`\`json
{"not": "shell"}
\`\`\`

\`\`\`sh
for f in a b; do
  echo "$f"
done
# a
# b
\`\`\`
`;

describe('extractCommands', () => {
  const commands = extractCommands(DOC);

  it('splits blocks into whole commands, with the output lines that follow each', () => {
    expect(commands.map((c) => c.text)).toEqual([
      'A=$(echo 1)',
      `curl -s "http://x" \\\n  -d '{\n  "a": 1}'`,
      'npx versiongate token',
      'echo after-blank',
      'for f in a b; do\n  echo "$f"\ndone',
    ]);
    expect(commands[0]).toMatchObject({ line: 5, stdout: [], stderr: [], exitStatus: 0 });
    expect(commands[1]).toMatchObject({ line: 6, stdout: ['{"ok":true}'] });
    expect(commands[2]).toMatchObject({ stdout: [], stderr: ['versiongate: nope'], exitStatus: 2 });
    expect(commands[4]!.stdout).toEqual(['a', 'b']);
  });

  it('runs no block marked as not run, and no other language', () => {
    expect(commands.some((c) => c.text.includes('rm -rf'))).toBe(false);
    expect(commands.some((c) => c.text.includes('not'))).toBe(false);
  });

  it('refuses a command that never ends', () => {
    expect(() => extractCommands("```sh\necho 'open\n```\n")).toThrow(/never ends/);
  });
});

describe('matchesShown', () => {
  it('ignores whitespace and lets … stand for any text', () => {
    expect(matchesShown(['{ "a": 1,', '  "rev": "…" }'], '{\n    "a": 1,\n    "rev": "Zm9v+/="\n}\n')).toBe(true);
    expect(matchesShown(['HTTP/1.1 200 OK', '…', 'x: 1'], 'HTTP/1.1 200 OK\ny: 2\nx: 1')).toBe(true);
  });

  it('fails on any other difference, and on output beyond what is shown', () => {
    expect(matchesShown(['{"status":"Published"}'], '{"status":"Archived"}')).toBe(false);
    expect(matchesShown(['{"a":1}'], '{"a":1}{"b":2}')).toBe(false);
    expect(matchesShown(['a…c'], 'a.b')).toBe(false);
    expect(matchesShown(['1.0'], '1x0')).toBe(false);
  });
});
