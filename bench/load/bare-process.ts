/** Starts the baseline server (bare-server.ts) in a process of its own and waits for its URL. */
import { join } from 'node:path';
import { announcedUrl, watchOutput } from './child-output.ts';
import { spawnTracked, stopChild } from './cleanup.ts';
import { ROOT } from './settings.ts';

const START_TIMEOUT_MS = 30_000;

export interface BareServer {
  url: string;
  stop(): Promise<void>;
}

export async function startBare(): Promise<BareServer> {
  // stdin stays an open pipe: the server exits when it closes, i.e. when this process is gone.
  const child = spawnTracked(process.execPath, ['--import', 'tsx', join(ROOT, 'bench/load/bare-server.ts')], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  const output = watchOutput(child, 'the bare server');
  try {
    const url = await output.waitForLine(announcedUrl('bare listening'), START_TIMEOUT_MS, 'its URL');
    return { url, stop: () => stopChild(child) };
  } catch (err) {
    await stopChild(child);
    throw err;
  }
}
