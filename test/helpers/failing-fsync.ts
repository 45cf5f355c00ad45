/**
 * A disk whose flushes fail, for real, in a server process: failing-fsync.c, built here with the C
 * compiler that better-sqlite3's own build needs, is preloaded (LD_PRELOAD) into the child, and
 * `fail(true)` makes every fsync of SQLite's write-ahead log fail with EIO until `fail(false)`.
 * Without a compiler this throws, loudly: the test cannot run without one, and must not pass.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface FailingFsync {
  /** The environment that preloads the library into a child process. */
  env: Record<string, string>;
  /** Whether the write-ahead log's fsyncs fail from now on. */
  fail(on: boolean): void;
  remove(): void;
}

export function failingFsync(): FailingFsync {
  const dir = mkdtempSync(join(tmpdir(), 'vg-fsync-'));
  const library = join(dir, 'failing-fsync.so');
  const trigger = join(dir, 'failing');
  const source = new URL('./failing-fsync.c', import.meta.url).pathname;
  try {
    execFileSync(process.env['CC'] ?? 'cc', ['-shared', '-fPIC', '-O2', '-o', library, source, '-ldl'], { stdio: 'pipe' });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    const e = err as { code?: string; stderr?: Buffer };
    throw new Error(`building the fsync-failing library needs a C compiler (cc, or $CC), as better-sqlite3's install does: ${e.code ?? e.stderr?.toString() ?? String(err)}`);
  }
  return {
    env: { LD_PRELOAD: library, FAILING_FSYNC_WHILE: trigger },
    fail: (on) => (on ? writeFileSync(trigger, '') : rmSync(trigger, { force: true })),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

