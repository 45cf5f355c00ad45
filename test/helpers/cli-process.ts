/**
 * Runs `versiongate` as a user does: a child process of bin/versiongate.js (with the V8 flag the
 * bin script needs), output collected, every run bounded, every child killed when the test is done.
 * The CLI tests, the policy CLI tests and the client harness share it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');
const NODE_ARGS = ['--no-turbo-inline-js-wasm-calls', 'bin/versiongate.js'];
/** Generous: a slow, busy machine must still pass. Never a duration assertion. */
export const RUN_LIMIT_MS = 60_000;

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliProcesses {
  /** Starts `versiongate ARGS`; the caller reads its output and waits for it. */
  start(args: string[], env: NodeJS.ProcessEnv): ChildProcess;
  /** Runs `versiongate ARGS` to completion, within RUN_LIMIT_MS, collecting its output. */
  run(args: string[], env: NodeJS.ProcessEnv): Promise<RunResult>;
  /** Kills every child still running. */
  killAll(): void;
}

export function cliProcesses(): CliProcesses {
  const running = new Set<ChildProcess>();
  const start = (args: string[], env: NodeJS.ProcessEnv) => {
    const child = spawn(process.execPath, [...NODE_ARGS, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);
    child.once('exit', () => running.delete(child));
    return child;
  };
  const run = (args: string[], env: NodeJS.ProcessEnv) =>
    new Promise<RunResult>((resolvePromise, reject) => {
      const child = start(args, env);
      let stdout = '';
      let stderr = '';
      child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`versiongate ${args.join(' ')} did not finish within ${RUN_LIMIT_MS} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
      }, RUN_LIMIT_MS);
      child.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      child.once('close', (code, signal) => {
        clearTimeout(timer);
        resolvePromise({ code, signal, stdout, stderr });
      });
    });
  const killAll = () => {
    for (const child of running) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    running.clear();
  };
  return { start, run, killAll };
}

/** process.env without any setting whose name starts with one of `prefixes`. */
export function envWithout(...prefixes: string[]): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!prefixes.some((p) => k.startsWith(p))) env[k] = v;
  return env;
}

/**
 * Runs `versiongate ARGS` in this process: the CLI's main() with its output collected and the given
 * environment, for the tests where the process boundary is not what is tested (it is in
 * test/cli/cli.test.ts and a few wiring tests). Same result shape as a child process's.
 */
export async function runInProcess(args: string[], env: NodeJS.ProcessEnv): Promise<RunResult> {
  const { main } = await import('../../src/cli/main.ts');
  let stdout = '';
  let stderr = '';
  const code = await main(args, { out: (t) => void (stdout += t), err: (t) => void (stderr += t), env });
  return { code, signal: null, stdout, stderr };
}
