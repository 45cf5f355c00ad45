/**
 * The server's log lines on stdout (src/fd-lines.ts): written with write(2) on the event loop, and
 * still every line, in order, when stdout is a non-blocking pipe whose reader falls behind, and no
 * crash when the reader is gone. Each case runs a child process that logs through createLogger().
 */
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';

const ROOT = new URL('../..', import.meta.url).pathname;

/** A child that logs `count` lines of ~500 bytes, a hundred per turn of its event loop. */
function loggingChild(count: number, before = ''): string {
  return `${before}
import { createLogger } from './src/log.ts';
const log = createLogger();
let i = 0;
const turn = () => {
  for (let k = 0; k < 100 && i < ${count}; k++) log.info('line', { i: i++, pad: 'x'.repeat(400) });
  if (i < ${count}) setImmediate(turn);
  else process.stderr.write('logged\\n');
};
turn();`;
}

function run(script: string) {
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, exited, stderr: () => stderr };
}

describe('log lines on stdout', () => {
  it('keeps every line, in order, when a non-blocking stdout refuses writes while its reader is away', async () => {
    // Touching process.stdout makes a pipe non-blocking: a full pipe then answers EAGAIN.
    const { child, exited, stderr } = run(loggingChild(4_000, 'process.stdout;'));
    child.stdout.pause();
    // 4,000 lines are ~2 MB, far past a pipe's 64 KiB: the child logs them all while nobody reads.
    for (let waited = 0; !stderr().includes('logged') && waited < 60_000; waited += 50) await sleep(50);
    expect(stderr()).toContain('logged');
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => (out += d));
    child.stdout.resume();
    expect(await exited).toBe(0);
    const numbers = out.trim().split('\n').map((l) => (JSON.parse(l) as { i: number }).i);
    expect(numbers).toEqual(Array.from({ length: 4_000 }, (_, i) => i));
    expect(stderr()).not.toMatch(/Error/);
  }, 120_000);

  it('goes on without a crash when the reader of stdout is gone', async () => {
    const { child, exited, stderr } = run(loggingChild(2_000));
    child.stdout.destroy();
    expect(await exited).toBe(0);
    expect(stderr()).toContain('logged');
    expect(stderr()).not.toMatch(/Error/);
  }, 120_000);
});
