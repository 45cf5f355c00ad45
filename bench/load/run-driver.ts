/**
 * Runs one measurement: the load driver (drive.ts) in a child process, given its spec on stdin, its
 * result read from stdout. Bounded: a driver that outlives its load by DRIVER_SLACK_MS is killed.
 */
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { spawnTracked, stopChild } from './cleanup.ts';
import type { DriveResult, DriveSpec } from './drive-spec.ts';
import { ROOT } from './settings.ts';

/** Start-up of node + tsx + autocannon, and the last responses draining. */
const DRIVER_SLACK_MS = 60_000;

/** `onStart` is called when the load begins, after the driver's own start-up. */
export function runDriver(spec: DriveSpec, onStart?: () => void): Promise<DriveResult> {
  const child = spawnTracked(process.execPath, ['--import', 'tsx', join(ROOT, 'bench/load/drive.ts')], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  let last = '';
  let stderr = '';
  createInterface({ input: child.stdout!, crlfDelay: Infinity }).on('line', (line) => {
    if (line === '{"event":"start"}') onStart?.();
    else if (line.trim() !== '') last = line;
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4000)));
  child.stdin!.end(JSON.stringify(spec));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stopChild(child, 1_000);
      reject(new Error(`the load driver did not finish within ${spec.seconds} s + ${DRIVER_SLACK_MS / 1000} s\n${stderr}`));
    }, spec.seconds * 1000 + DRIVER_SLACK_MS);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`the load driver could not be started: ${err.message}`));
    });
    // 'close', not 'exit': stdout has been read to its end by then.
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0 || !last.startsWith('{')) {
        reject(new Error(`the load driver failed (${signal ?? `status ${code}`})\n${stderr}`));
        return;
      }
      resolve(JSON.parse(last) as DriveResult);
    });
  });
}
