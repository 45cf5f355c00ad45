#!/usr/bin/env node
// Launcher for the `versiongate` command: runs the built JavaScript in dist/ (scripts/build.mjs).
// When dist/ is missing or older than src/ (a fresh clone, a pull, an edit) or than the installed
// dependencies, it is built first if esbuild is installed, and otherwise the launcher says how to build it.
import { readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';

// cedar-wasm in a tight loop of calls hit a V8 fatal error on Node 20.20.2 unless wasm calls are
// kept out of TurboFan's JS-to-wasm inlining. Set before any wasm is compiled; `npm start` also
// passes it on the command line.
setFlagsFromString('--no-turbo-inline-js-wasm-calls');
// cedar-wasm's code is compiled by Liftoff when first called, and its hot functions again by TurboFan
// on V8's background threads. At start that second compile (the policy set's checks make Cedar's
// parsers hot) is more CPU than everything else the start does, and V8 runs it on up to four
// threads at once, which on a two-core machine starve the main thread and the SQLite writer
// thread. One thread is enough: the functions still tier up, a little later (mostly after the
// gateway is ready), while Liftoff's code answers meanwhile.
setFlagsFromString('--wasm-num-compilation-tasks=1');

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const built = join(root, 'dist', 'cli.js');

/** Modification time of the newest file under dir, 0 when there is no such folder (an installed package). */
function newest(dir) {
  let latest = 0;
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const path = join(dir, e.name);
    latest = Math.max(latest, e.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
}

let builtAt = 0;
try {
  builtAt = statSync(built).mtimeMs;
} catch {
  // not built yet
}
/** Modification time of a file, 0 when there is none. */
function mtime(path) {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

// The bundle holds the pure-JavaScript dependencies too (scripts/build.mjs), so an install that
// changed them (npm rewrites node_modules/.package-lock.json) or a changed build makes it stale.
const inputsAt = Math.max(newest(join(root, 'src')), mtime(join(root, 'node_modules', '.package-lock.json')), mtime(join(root, 'scripts', 'build.mjs')));
if (builtAt === 0 || inputsAt > builtAt) {
  try {
    const { build } = await import('../scripts/build.mjs');
    await build({ quiet: true });
  } catch (err) {
    process.stderr.write(`versiongate: ${builtAt === 0 ? 'dist/ is missing' : 'dist/ is older than src/'} and cannot be built here (${err.message}).\nBuild it with: npm install && npm run build\n`);
    process.exit(1);
  }
}

const { main } = await import('../dist/cli.js');
process.exitCode = await main(process.argv.slice(2));
