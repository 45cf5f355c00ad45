#!/usr/bin/env node
// Launcher for the `versiongate` command: TypeScript sources run through tsx, no build step.
import { setFlagsFromString } from 'node:v8';
import { register } from 'tsx/esm/api';

// cedar-wasm in a tight loop of calls hit a V8 fatal error on Node 20.20.2 unless wasm calls are
// kept out of TurboFan's JS-to-wasm inlining. Set before any wasm is compiled; `npm start` also
// passes it on the command line.
setFlagsFromString('--no-turbo-inline-js-wasm-calls');
register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
