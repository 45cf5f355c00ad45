// Compares how long `versiongate serve --dev` takes to be ready in two (or more) checkouts, side by
// side: runs interleaved (A, B, A, B…) so that a busy machine weighs on each alike. Each checkout
// must have been built (node scripts/build.mjs there). `fresh` starts each run on a new data dir
// (the policy set's checks run); `restart` starts every run on one data dir per checkout (the record
// of the checked set is reused). Prints the median and fastest wall time until the gateway logs that
// it is listening, and the process's CPU time (every thread, from /proc) at that moment. Linux only.
// Not a test: timings depend on the machine.
//   node scripts/startup-compare.mjs RUNS fresh|restart DIR_A DIR_B…
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [runs, mode, ...roots] = process.argv.slice(2);
if (!Number(runs) || !['fresh', 'restart'].includes(mode) || roots.length === 0) {
  process.stderr.write('usage: node scripts/startup-compare.mjs RUNS fresh|restart DIR_A DIR_B…\n');
  process.exit(2);
}
const CLOCK_TICKS = 100;

/** utime + stime of the whole process, in seconds. */
function cpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

function once(root, dataDir) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const args = ['--no-turbo-inline-js-wasm-calls', 'bin/versiongate.js', 'serve', '--dev', '--port', '0'];
    const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, VERSIONGATE_DATA_DIR: dataDir }, stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    let ready;
    child.stdout.on('data', (d) => {
      out += d;
      if (ready === undefined && out.includes('versiongate listening')) {
        ready = { wall: Number(process.hrtime.bigint() - started) / 1e9, cpu: cpuSeconds(child.pid), checks: /"policyChecks":"(\w+)"/.exec(out)?.[1] };
        child.kill('SIGTERM');
      }
    });
    child.once('error', reject);
    child.once('close', () => (ready ? resolve(ready) : reject(new Error(`never ready: ${out}`))));
  });
}

const kept = roots.map(() => mkdtempSync(join(tmpdir(), 'vg-compare-')));
const results = roots.map(() => []);
// A restart needs the record of a first start.
if (mode === 'restart') for (let i = 0; i < roots.length; i++) await once(roots[i], kept[i]);
for (let run = 0; run < Number(runs); run++) {
  for (let i = 0; i < roots.length; i++) {
    const dir = mode === 'fresh' ? mkdtempSync(join(tmpdir(), 'vg-compare-')) : kept[i];
    results[i].push(await once(roots[i], dir));
    if (mode === 'fresh') rmSync(dir, { recursive: true, force: true });
  }
}
for (const dir of kept) rmSync(dir, { recursive: true, force: true });
const median = (list) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)];
for (let i = 0; i < roots.length; i++) {
  const wall = results[i].map((r) => r.wall);
  const cpu = results[i].map((r) => r.cpu);
  console.log(`${roots[i]}  ${mode} (checks ${results[i][0].checks}): wall median ${median(wall).toFixed(3)} s, fastest ${Math.min(...wall).toFixed(3)} s; CPU median ${median(cpu).toFixed(2)} s`);
}
