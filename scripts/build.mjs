// Builds dist/ from src/ with esbuild: the `versiongate` command (dist/cli.js, run by
// bin/versiongate.js) and the worker threads' entries (dist/writer-thread.js,
// dist/reload-worker.js, dist/manifest-worker.js), which the bundle starts from beside its own chunks. The pure-JavaScript
// dependencies (hono, zod, drizzle, jose, prom-client…) are bundled in: Node 20's ES module loader
// resolves, reads and links each of their ~500 files one by one, which cost `serve` about a third of
// its start; the rest stay in node_modules (EXTERNAL). Each command's dynamic import() becomes a chunk
// of its own, so a command loads only what it uses. `npm install` runs this (the prepare script); so does
// bin/versiongate.js when dist/ is missing or older than src/.
//
// The build goes to a temporary folder renamed into place, so a `versiongate` started meanwhile
// never reads half-written chunks.
import { existsSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Dependencies left in node_modules: native code and files read beside their code (better-sqlite3,
 * cedar-wasm's .wasm, htmx's script) and what only some commands load (pg, the AWS SDK). pino is
 * bundled: its transports (pino.transport) start workers from pino's own files and would not work
 * from the bundle, but versiongate writes its logs to a destination stream, never a transport.
 */
const EXTERNAL = ['better-sqlite3', '@cedar-policy/cedar-wasm', '@cedar-policy/cedar-wasm/*', 'pg', '@aws-sdk/*', 'htmx.org', 'tsx', 'tsx/*', 'esbuild'];

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
      'manifest-worker': 'src/sync/manifest-worker.ts',
    },
    outdir: out,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    external: EXTERNAL,
    // Bundled CommonJS dependencies (prom-client…) require Node's own modules: give them a require.
    banner: { js: "import { createRequire as __vgCreateRequire } from 'node:module'; const require = __vgCreateRequire(import.meta.url);" },
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
