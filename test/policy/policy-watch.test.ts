/**
 * The policy folder's watch, found by a hostile probe of the live set: one refused edit was refused,
 * logged, counted and audited twice (fs.watch, then the poll); a save seen part-way could be read as
 * it was; a recursive watch of the folder held the event loop for seconds while thousands of files
 * were written into an unrelated subfolder; and a ConfigMap's update is a swap of `..data`.
 */
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterEach, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.ts';
import { silentLogger } from '../../src/log.ts';
import { PolicyManager, type ReloadOutcome } from '../../src/policy/policy-manager.ts';
import { REPO_POLICIES } from '../helpers/gateway.ts';

const EXTRA = `@id("qa-reads-my-domain")
permit (principal in Group::"qa", action in Action::"ReadPackageVersions",
  resource in Domain::"arn:aws:codeartifact:us-east-1:111122223333:domain/my_domain");
`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let root: string;
let manager: PolicyManager | undefined;
afterEach(() => {
  manager?.close();
  manager = undefined;
  rmSync(root, { recursive: true, force: true });
});

/** A manager over a copy of ./policies (or `dir`), watching with short delays; `loads` is what onLoad saw (metrics, audit). */
function watched(options: { dir?: string; debounceMs?: number; pollMs?: number; settleMs?: number } = {}) {
  const dir = options.dir ?? join(root, 'policies');
  if (!options.dir) cpSync(REPO_POLICIES, dir, { recursive: true });
  const loads: ReloadOutcome[] = [];
  manager = PolicyManager.start({ dir, clock: systemClock, logger: silentLogger, reloadInWorker: false, onLoad: (o) => o.trigger !== 'start' && loads.push(o) });
  manager.watch(options.debounceMs ?? 10, options.pollMs ?? 300, options.settleMs ?? 50);
  return { dir, loads, manager };
}

async function until(what: () => boolean, ms = 10_000): Promise<void> {
  for (const end = Date.now() + ms; !what(); await sleep(25)) if (Date.now() > end) throw new Error('timed out');
}

it('refuses, counts and audits one refused edit once, though both fs.watch and the poll see it', async () => {
  root = mkdtempSync(join(tmpdir(), 'vg-watch-'));
  const { dir, loads, manager: m } = watched();
  writeFileSync(join(dir, 'bad.cedar'), 'permit (principal, action, resource) when { resource.nope };\n');
  await until(() => m.status().reloads.refused > 0);
  await sleep(1_500); // five polls
  expect(m.status().reloads).toEqual({ loaded: 0, refused: 1 });
  expect(loads.map((l) => l.outcome)).toEqual(['refused']);

  // Another edit is news, even if it is refused too; the fix is loaded.
  writeFileSync(join(dir, 'bad.cedar'), 'permit (principal, action, resource) when { resource.nope2 };\n');
  await until(() => m.status().reloads.refused > 1);
  writeFileSync(join(dir, 'bad.cedar'), EXTRA);
  await until(() => m.status().reloads.loaded > 0);
  await sleep(1_000);
  expect(loads.map((l) => l.outcome)).toEqual(['refused', 'refused', 'loaded']);
  expect(m.status().lastReload).toMatchObject({ outcome: 'loaded', trigger: 'watch' });
});

it('waits for a save in progress to settle before it reads the folder', async () => {
  root = mkdtempSync(join(tmpdir(), 'vg-watch-'));
  const { dir, loads, manager: m } = watched({ debounceMs: 20, settleMs: 300, pollMs: 5_000 });
  // An editor that writes a file in two steps, 120 ms apart: the first alone does not parse.
  writeFileSync(join(dir, 'qa.cedar'), EXTRA.slice(0, 40));
  await sleep(120);
  writeFileSync(join(dir, 'qa.cedar'), EXTRA);
  await until(() => loads.length > 0);
  await sleep(500);
  expect(loads.map((l) => l.outcome)).toEqual(['loaded']);
  expect(m.status().policies).toContainEqual(expect.objectContaining({ id: 'qa-reads-my-domain' }));
});

it('costs the event loop nothing while thousands of files are written into a folder it does not read', async () => {
  root = mkdtempSync(join(tmpdir(), 'vg-watch-'));
  const { dir, loads } = watched({ debounceMs: 50, pollMs: 2_000 });
  mkdirSync(join(dir, 'archive', 'old'), { recursive: true });
  await sleep(300);
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  for (let i = 0; i < 5_000; i += 100) await Promise.all(Array.from({ length: 100 }, (_, j) => writeFile(join(dir, 'archive', 'old', `f${i + j}.txt`), 'x')));
  await sleep(1_000);
  delay.disable();
  const maxMs = delay.max / 1e6;
  expect(maxMs, `longest event-loop delay ${maxMs.toFixed(0)} ms`).toBeLessThan(500);
  expect(loads.filter((l) => l.outcome !== 'unchanged')).toEqual([]);
}, 30_000);

it('follows a ConfigMap update (a swap of ..data), templates/ included, and watches the folder it now leads to', async () => {
  root = mkdtempSync(join(tmpdir(), 'vg-watch-'));
  const cm = join(root, 'configmap');
  const stamp = (n: number) => `..2026_01_02_03_04_0${n}.000000000`;
  cpSync(REPO_POLICIES, join(cm, stamp(1)), { recursive: true });
  symlinkSync(stamp(1), join(cm, '..data'));
  for (const name of readdirSync(join(cm, stamp(1)))) symlinkSync(join('..data', name), join(cm, name));
  const { loads, manager: m } = watched({ dir: cm, pollMs: 60_000 }); // the poll out of the way: the watch alone
  const swap = (n: number, change: (copy: string) => void) => {
    cpSync(join(cm, stamp(n - 1)), join(cm, stamp(n)), { recursive: true });
    change(join(cm, stamp(n)));
    symlinkSync(stamp(n), join(cm, '..data_tmp'));
    renameSync(join(cm, '..data_tmp'), join(cm, '..data'));
    rmSync(join(cm, stamp(n - 1)), { recursive: true });
  };
  swap(2, (copy) => writeFileSync(join(copy, 'templates', 'delegation.cedar'), `// updated\n${readFileSync(join(copy, 'templates', 'delegation.cedar'), 'utf8')}`));
  await until(() => loads.length > 0);
  expect(loads.map((l) => l.outcome)).toEqual(['loaded']);
  // templates/ now leads into the new copy: an edit there (not through ..data) is seen too.
  await sleep(200);
  writeFileSync(join(cm, stamp(2), 'templates', 'delegation.cedar'), `// edited in place\n${readFileSync(join(cm, stamp(2), 'templates', 'delegation.cedar'), 'utf8')}`);
  await until(() => loads.length > 1);
  expect(loads.map((l) => l.outcome)).toEqual(['loaded', 'loaded']);
  expect(m.status().files).toContain('templates/delegation.cedar');
});
