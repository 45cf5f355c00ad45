/**
 * The README and docs/*.md as an executable contract: every shell example runs, in order, against a
 * real server on a fresh data dir, and prints what the document shows (see shell-examples.ts for the
 * convention). A document edit that breaks an example fails here, naming its line.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, startDocsSession, type CommandResult, type DocsSession } from './docs-session.ts';
import { extractCommands, matchesShown, type Command } from './shell-examples.ts';

const DOCUMENTS = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)];

for (const document of DOCUMENTS) {
  const commands = extractCommands(readFileSync(join(ROOT, document), 'utf8'));
  if (commands.length === 0) continue;

  describe(`${document}'s examples, run in order`, () => {
    let session: DocsSession;
    let results: CommandResult[];
    beforeAll(async () => {
      session = await startDocsSession();
      results = session.run(commands);
    }, 15 * 60_000);
    afterAll(() => session?.close());

    commands.forEach((command, n) => {
      it(`${document}:${command.line} ${command.text.split('\n')[0]!.slice(0, 90)}`, () => {
        expectAsShown(command, results[n]!);
      });
    });
  });
}

function expectAsShown(command: Command, result: CommandResult): void {
  const context = `\n$ ${command.text}\n--- stdout\n${result.stdout}--- stderr\n${result.stderr}--- exit status ${result.exitStatus}`;
  expect(result.exitStatus, `exit status${context}`).toBe(command.exitStatus);
  if (command.stdout.length > 0) expect(matchesShown(command.stdout, result.stdout), `stdout differs from\n${command.stdout.join('\n')}${context}`).toBe(true);
  if (command.stderr.length > 0) expect(matchesShown(command.stderr, result.stderr), `stderr differs from\n${command.stderr.join('\n')}${context}`).toBe(true);
}
