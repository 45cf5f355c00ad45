// Builds dist/ from src/ with esbuild: the `versiongate` command (dist/cli.js, run by
// bin/versiongate.js) and the two worker threads' entries (dist/writer-thread.js,
// dist/reload-worker.js), which the bundle starts from beside its own chunks. Dependencies stay in
// node_modules (packages: 'external'); each command's dynamic import() becomes a chunk of its own,
// so a command loads only what it uses. `npm install` runs this (the prepare script); so does
// bin/versiongate.js when dist/ is missing or older than src/.
//
// The build goes to a temporary folder renamed into place, so a `versiongate` started meanwhile
// never reads half-written chunks.
import { existsSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

export async function build({ quiet = false } = {}) {
  let esbuild;
  try {
    esbuild = await import('esbuild');
  } catch {
    throw new Error('esbuild is not installed: run `npm install` (it is a devDependency) to build dist/');
  }
  const out = join(ROOT, `dist.building-${process.pid}`);
  rmSync(out, { recursive: true, force: true });
  await esbuild.build({
    absWorkingDir: ROOT,
    entryPoints: {
      cli: 'src/cli/main.ts',
      'writer-thread': 'src/store/sqlite/writer-thread.ts',
      'reload-worker': 'src/policy/reload-worker.ts',
    },
    outdir: out,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    chunkNames: 'chunk-[hash]',
    logLevel: quiet ? 'error' : 'warning',
  });
  const dist = join(ROOT, 'dist');
  rmSync(dist, { recursive: true, force: true });
  renameSync(out, dist);
  if (!quiet) process.stderr.write(`built ${dist}\n`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  try {
    await build();
  } catch (err) {
    process.stderr.write(`build failed: ${err.message}\n`);
    process.exitCode = 1;
  }
}

export const distExists = () => existsSync(join(ROOT, 'dist', 'cli.js'));
