/**
 * The folder that holds versiongate's package.json, found from wherever this code runs: the
 * TypeScript sources (src/…) or the built bundle (dist/…). Files shipped beside the code
 * (drizzle/ migrations, package.json) are found through it, so neither layout is assumed.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

export function packageRoot(): string {
  if (root !== undefined) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'versiongate') return (root = dir);
    const parent = dirname(dir);
    // Reaching the file system's root means the package is laid out in a way nothing here expects.
    if (parent === dir) throw new Error(`cannot find versiongate's package.json above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

/** The package's version, from its package.json. */
export function packageVersion(): string {
  return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}

/**
 * The URL of a worker thread's entry: from the sources, its boot file (which registers tsx, since a
 * worker does not inherit its parent's loader hooks); from the bundle, the built entry beside the
 * bundle's chunks (dist/NAME.js), which needs nothing but Node.
 */
export function workerEntry(callerUrl: string, bootFile: string, builtName: string): URL {
  return callerUrl.endsWith('.ts') ? new URL(bootFile, callerUrl) : new URL(`./${builtName}.js`, callerUrl);
}
