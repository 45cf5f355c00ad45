// Measures how long `versiongate` takes to start, as the README reports it: `--help` and `token`
// to exit, and `serve --dev` (the shipped policies) until it logs that it is listening, twice: on a
// fresh data dir each time (the policy set's checks run), and restarted on one data dir (the checks
// that set passed are reused, see src/policy/checked-set-cache.ts). Each is run RUNS times (default
// 10); the median and the slowest are printed, beside `node -e ''` for the machine's own floor. Not a
// test: timings depend on the machine.
//   node scripts/cli-startup.mjs [RUNS]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, build } from './build.mjs';

const RUNS = Number(process.argv[2] ?? 10);
await build({ quiet: true });
const dirs = [];
const fresh = () => {
  dirs.push(mkdtempSync(join(tmpdir(), 'vg-startup-')));
  return dirs.at(-1);
};
const kept = fresh();
const data = () => kept;
const env = { ...process.env };

function once(args, readyOn, dataDir = data) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...env, VERSIONGATE_DATA_DIR: dataDir() }, stdio: ['ignore', 'pipe', 'ignore'] });
    const elapsed = () => Number(process.hrtime.bigint() - started) / 1e9;
    let out = '';
    let ready;
    child.stdout.on('data', (d) => {
      out += d;
      if (readyOn && ready === undefined && out.includes(readyOn)) {
        ready = elapsed();
        child.kill('SIGTERM');
      }
    });
    child.once('error', reject);
    child.once('close', (code) => (readyOn ? (ready === undefined ? reject(new Error(`never ready: ${out}`)) : resolve(ready)) : code === 0 ? resolve(elapsed()) : reject(new Error(`exit ${code}`))));
  });
}

async function measure(label, args, readyOn, dataDir) {
  const times = [];
  for (let i = 0; i < RUNS; i++) times.push(await once(args, readyOn, dataDir));
  times.sort((a, b) => a - b);
  console.log(`${label.padEnd(40)} median ${times[Math.floor(times.length / 2)].toFixed(3)} s   slowest ${times.at(-1).toFixed(3)} s`);
}

const bin = ['--no-turbo-inline-js-wasm-calls', 'bin/versiongate.js'];
await measure("node -e ''", ['-e', '']);
await measure('versiongate --help', [...bin, '--help']);
await measure('versiongate token --sub alice', [...bin, 'token', '--sub', 'alice']);
const serve = [...bin, 'serve', '--dev', '--port', '0'];
await measure('serve --dev, fresh data dir (checks run)', serve, 'versiongate listening', fresh);
await once(serve, 'versiongate listening'); // records the checked set in the kept data dir
await measure('serve --dev, restarted (checks reused)', serve, 'versiongate listening');
for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
