/**
 * One document's examples against a real server: `versiongate serve --dev` spawned in a fresh
 * directory (its ./data and a copy of ./policies, as a fresh clone has them), then every command in
 * one bash session in that directory, as a reader types them one after the other. Only two things
 * differ from a reader's terminal: the server listens on a free port, which replaces 8080 in the
 * commands, and `npx versiongate` runs bin/versiongate.js of this checkout (a shell function), since
 * the directory is not the project's. Before each command the session waits until no version's sync
 * is awaiting or running (bounded), as a person typing the next command would have.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Command } from './shell-examples.ts';

export const ROOT = resolve(import.meta.dirname, '../..');
const NODE = [process.execPath, '--no-turbo-inline-js-wasm-calls'];
const START_LIMIT_MS = 60_000;

export interface CommandResult {
  stdout: string;
  stderr: string;
  exitStatus: number | null;
}

export interface DocsSession {
  /** Runs every command in order; one result per command. */
  run(commands: Command[]): CommandResult[];
  close(): Promise<void>;
}

export async function startDocsSession(): Promise<DocsSession> {
  const dir = mkdtempSync(join(tmpdir(), 'versiongate-readme-'));
  cpSync(join(ROOT, 'policies'), join(dir, 'policies'), { recursive: true });
  const env = cleanEnv();
  const server = spawn(NODE[0]!, [...NODE.slice(1), join(ROOT, 'bin/versiongate.js'), 'serve', '--dev', '--port', '0'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let port: number;
  try {
    port = await listeningPort(server);
  } catch (err) {
    server.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const run = (commands: Command[]): CommandResult[] => {
    const out = join(dir, '.examples');
    const script = [preamble(port, out), ...commands.map((c, n) => wrap(c.text.replaceAll('127.0.0.1:8080', `127.0.0.1:${port}`), n, out))].join('\n');
    writeFileSync(join(dir, '.examples.sh'), script);
    const done = spawnSync('bash', ['.examples.sh'], { cwd: dir, env, encoding: 'utf8', timeout: 15 * 60_000 });
    if (done.error) throw done.error;
    return commands.map((_, n) => ({
      stdout: readOr(join(out, `${n}.out`)),
      stderr: readOr(join(out, `${n}.err`)),
      exitStatus: Number(readOr(join(out, `${n}.rc`), 'NaN')),
    }));
  };
  const close = async () => {
    if (server.exitCode === null) {
      const exited = new Promise((r) => server.once('exit', r));
      server.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  return { run, close };
}

/** The environment of a fresh terminal: none of the caller's versiongate settings. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('VERSIONGATE_') && k !== 'TOKEN') env[k] = v;
  return env;
}

function readOr(path: string, fallback = ''): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return fallback;
  }
}

function preamble(port: number, out: string): string {
  return `mkdir -p '${out}'
npx() { if [ "$1" = versiongate ]; then shift; ${NODE.join(' ')} '${join(ROOT, 'bin/versiongate.js')}' "$@"; else command npx "$@"; fi; }
vg_settle() {
  local i
  for i in $(seq 1 300); do
    local m; m=$(curl -s http://127.0.0.1:${port}/metrics)
    if grep -q '^versiongate_sync_queue_depth 0$' <<<"$m" && grep -q '^versiongate_sync_jobs{state="in_progress"} 0$' <<<"$m"; then return 0; fi
    sleep 0.1
  done
}
`;
}

function wrap(text: string, n: number, out: string): string {
  return `vg_settle
{ ${text}
} >'${out}/${n}.out' 2>'${out}/${n}.err' </dev/null; echo $? >'${out}/${n}.rc'`;
}

function listeningPort(server: ChildProcess): Promise<number> {
  return new Promise((resolvePort, reject) => {
    let seen = '';
    let errors = '';
    const timer = setTimeout(() => reject(new Error(`versiongate serve did not listen within ${START_LIMIT_MS} ms\n${seen}\n${errors}`)), START_LIMIT_MS);
    server.stderr!.setEncoding('utf8').on('data', (d: string) => (errors += d));
    server.stdout!.setEncoding('utf8').on('data', (d: string) => {
      seen += d;
      const m = /"msg":"versiongate listening"/.test(seen) && /"url":"http:\/\/127\.0\.0\.1:(\d+)"/.exec(seen);
      if (m) {
        clearTimeout(timer);
        seen = '';
        resolvePort(Number(m[1]));
      } else if (seen.length > 1_000_000) seen = seen.slice(-100_000);
    });
    server.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`versiongate serve exited (${code}) before listening:\n${errors}`));
    });
  });
}
