/**
 * The load benchmark's reading of a child's output (bench/load/child-output.ts): whole lines to a
 * caller who waits for one, however the bytes were split, and the last lines in the error when the
 * child exits first.
 */
import { spawn } from 'node:child_process';
import { expect, it } from 'vitest';
import { announcedUrl, watchOutput } from '../../bench/load/child-output.ts';

const WAIT_MS = 30_000;

/** A node child running `script`, which may read lines from stdin to know when to go on. */
function child(script: string) {
  return spawn(process.execPath, ['-e', script], { stdio: ['pipe', 'pipe', 'pipe'] });
}

it('gives a waiting caller whole lines, though the line came in pieces and began before the wait', async () => {
  // The child writes half a line, waits for a word on stdin, then writes the rest and the announcement.
  const c = child(`
    process.stdout.write('{"msg":"noise","url":"http://not-this"');
    process.stdin.once('data', () => {
      process.stdout.write('}\\n{"msg":"listen');
      setTimeout(() => process.stdout.write('ing","url":"http://127.0.0.1:1"}\\n'), 50);
      setTimeout(() => process.exit(0), 500);
    });
  `);
  const output = watchOutput(c, 'the child');
  // The half line has arrived before anyone waits.
  await new Promise<void>((resolve) => c.stdout.once('data', () => resolve()));
  const url = output.waitForLine(announcedUrl('listening'), WAIT_MS, 'its URL');
  c.stdin.write('go\n');
  expect(await url).toBe('http://127.0.0.1:1');
});

it('rejects when the child exits first, with its last lines of stdout and stderr', async () => {
  const c = child(`
    for (let i = 1; i <= 100; i++) console.log('line ' + i);
    console.error('the reason');
    process.exitCode = 3;
  `);
  const output = watchOutput(c, 'the child');
  const err = await output.waitForLine(announcedUrl('listening'), WAIT_MS, 'its URL').then(
    () => undefined,
    (e: Error) => e,
  );
  expect(err?.message).toMatch(/the child exited \(status 3\) before its URL/);
  expect(err?.message).toContain('the reason');
  expect(err?.message).toContain('line 100');
  expect(err?.message).not.toMatch(/line 1\n/);
});

it('rejects at once for a child that had already stopped', async () => {
  const c = child(`console.error('gone before anyone asked'); process.exitCode = 4;`);
  const output = watchOutput(c, 'the child');
  await new Promise((resolve) => c.once('close', resolve));
  await expect(output.waitForLine(announcedUrl('listening'), WAIT_MS, 'its URL')).rejects.toThrow(/exited \(status 4\)[\s\S]*gone before anyone asked/);
});
