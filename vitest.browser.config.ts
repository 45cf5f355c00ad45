import { defineConfig } from 'vitest/config';

// The console's browser tests (test/browser): a real server driven by Debian's Chromium through
// playwright-core. Kept apart from `npm test`, with a JSON report of their own that .ci/run counts too.
export default defineConfig({
  test: {
    include: ['test/browser/**/*.test.ts'],
    pool: 'forks',
    // One browser at a time: the machine is small, and each file starts a gateway and a Chromium.
    fileParallelism: false,
    reporters: ['default', 'json'],
    outputFile: { json: '.vitest-browser-results.json' },
    execArgv: ['--no-turbo-inline-js-wasm-calls'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
