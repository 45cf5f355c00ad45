/**
 * The console's static files, served by the gateway: htmx from its npm package (found through the
 * package's own root, never a CDN, so the console works with no internet), and the console's own
 * small script and stylesheet. Read once at start-up.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Hono } from 'hono';
import { packageRoot } from '../package-root.ts';
import type { ConsoleEnv } from './console-env.ts';

// Through the package root: this module runs from src/ or from the bundle in dist/.
const staticDir = () => join(packageRoot(), 'src', 'console', 'static');

function htmxPath(): string {
  const root = dirname(createRequire(join(packageRoot(), 'package.json')).resolve('htmx.org/package.json'));
  return join(root, 'dist', 'htmx.min.js');
}

export function serveAssets(app: Hono<ConsoleEnv>): void {
  const files: Record<string, { body: string; type: string }> = {
    'htmx.min.js': { body: readFileSync(htmxPath(), 'utf8'), type: 'text/javascript; charset=utf-8' },
    'console.js': { body: readFileSync(join(staticDir(), 'console.js'), 'utf8'), type: 'text/javascript; charset=utf-8' },
    'console.css': { body: readFileSync(join(staticDir(), 'console.css'), 'utf8'), type: 'text/css; charset=utf-8' },
  };
  app.get('/assets/:name', (c) => {
    const file = files[c.req.param('name')];
    if (!file) return c.text('no such asset\n', 404);
    return c.body(file.body, 200, { 'content-type': file.type, 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' });
  });
}
