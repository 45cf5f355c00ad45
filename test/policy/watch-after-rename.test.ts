/** The watcher sees edits to a file that an earlier rename replaced (found by a helper: Node 20 recursive fs.watch loses such files; a fingerprint poll backs it up). */
import { appendFileSync, cpSync, mkdtempSync, renameSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.ts';
import { createLogger } from '../../src/log.ts';
import { PolicyManager } from '../../src/policy/policy-manager.ts';

let manager: PolicyManager | undefined;
let dir: string | undefined;
afterEach(() => {
  manager?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function waitForHashChange(m: PolicyManager, from: string): Promise<string | undefined> {
  for (let i = 0; i < 100; i++) {
    const h = m.status().hash;
    if (h !== from) return h;
    await new Promise((r) => setTimeout(r, 100));
  }
  return undefined;
}

it('reloads after an in-place edit to a file that an earlier rename replaced (editors, mv, git checkout)', async () => {
  dir = join(mkdtempSync(join(tmpdir(), 'vg-watch-')), 'policies');
  cpSync(resolve(import.meta.dirname, '../../policies'), dir, { recursive: true });
  manager = PolicyManager.start({ dir, clock: systemClock, logger: createLogger('silent') });
  manager.watch(50);
  const file = join(dir, 'security.cedar');

  // 1. Replace the file by a rename, as an editor's atomic save does: this reload is seen.
  const before = manager.status().hash;
  writeFileSync(`${file}.tmp`, readFileSync(file, 'utf8') + '\n// saved by rename\n');
  renameSync(`${file}.tmp`, file);
  const afterRename = await waitForHashChange(manager, before);
  expect(afterRename).toBeDefined();

  // 2. Edit the same file in place: this change is never seen.
  appendFileSync(file, '// edited in place\n');
  expect(await waitForHashChange(manager, afterRename!), 'no reload after the in-place edit').toBeDefined();
});
