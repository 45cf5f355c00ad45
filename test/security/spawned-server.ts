/**
 * The real server as a user runs it: `node bin/versiongate.js serve` as a child process, on a free
 * port, on a data directory the test seeded. Every wait is bounded; every child is killed (SIGKILL)
 * by killAll(), which each suite calls in afterAll. Also: a raw HTTP/1.1 exchange, for requests
 * fetch() cannot send (two Authorization headers, a 2.6 MB header).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { ROOT, envWithout } from '../helpers/cli-process.ts';

export const LIMIT_MS = 60_000;

export interface SpawnedServer {
  child: ChildProcess;
  url: string;
  port: number;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  /** SIGTERM (a clean shutdown that writes open rejection windows); resolves when it exits. */
  stop(): Promise<void>;
  /** SIGKILL; resolves when it is gone. */
  kill(): Promise<void>;
  exited: Promise<void>;
}

const children = new Set<ChildProcess>();

export function killAll(): void {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  children.clear();
}

/**
 * Starts `versiongate serve` with only these VERSIONGATE_ settings (and `--dev` when asked). With
 * `fileSizeLimitKiB`, no file the server writes may grow past it (`ulimit -f`): a write past it fails
 * with EFBIG, as one on a full disk fails with ENOSPC. With `openFileLimit`, the process may hold at
 * most that many file descriptors (`ulimit -n`, soft and hard): one more fails with EMFILE.
 */
export function spawnServer(env: Record<string, string>, o: { dev?: boolean; fileSizeLimitKiB?: number; openFileLimit?: number } = {}): Promise<SpawnedServer> {
  const childEnv = { ...envWithout('VERSIONGATE_'), VERSIONGATE_PORT: '0', VERSIONGATE_POLICY_WATCH: 'off', ...env };
  const args = ['--no-turbo-inline-js-wasm-calls', 'bin/versiongate.js', 'serve', ...(o.dev ? ['--dev'] : [])];
  const limits = [...(o.fileSizeLimitKiB === undefined ? [] : [`ulimit -f ${o.fileSizeLimitKiB}`]), ...(o.openFileLimit === undefined ? [] : [`ulimit -n ${o.openFileLimit}`])];
  // exec: the shell becomes the server, so signals reach it.
  const child =
    limits.length === 0
      ? spawn(process.execPath, args, { cwd: ROOT, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn('/bin/sh', ['-c', `${limits.join(' && ')} && exec "$0" "$@"`, process.execPath, ...args], { cwd: ROOT, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let out = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the server did not listen within ${LIMIT_MS} ms\n${out}`)), LIMIT_MS);
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const line = out.split('\n').find((l) => l.includes('"versiongate listening"'));
      if (line && timer) {
        clearTimeout(timer);
        const url = (JSON.parse(line) as { url: string }).url;
        resolve({
          child,
          url,
          port: Number(new URL(url).port),
          output: () => out,
          exited,
          stop: async () => {
            if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
            await bounded(exited, `the server did not stop on SIGTERM\n${out}`);
          },
          kill: async () => {
            if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
            await exited;
          },
        });
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the server exited (${code ?? signal}) before listening\n${out}`));
    });
  });
}

/**
 * Resolves once the server's sync worker has nothing queued and nothing in progress. A server on a
 * seeded data directory syncs the seeded versions as it starts, each in a commit of its own, so a
 * test that must know which commit comes next waits for this first.
 */
export async function syncIdle(server: SpawnedServer): Promise<void> {
  await bounded(
    (async () => {
      for (;;) {
        const text = await (await fetch(`${server.url}/metrics`)).text();
        if (/^versiongate_sync_queue_depth 0$/m.test(text) && /^versiongate_sync_jobs\{state="in_progress"\} 0$/m.test(text)) return;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })(),
    `the sync worker did not go idle\n${server.output().slice(-2000)}`,
  );
}

export async function bounded<T>(p: Promise<T>, message: string, ms = LIMIT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** The whole text received, for messages. */
  text: string;
}

/**
 * Sends one request written out by hand (`Connection: close`) and reads the answer until the server
 * closes the connection. `headerLines` are complete lines such as "Authorization: Bearer x".
 */
export function rawHttp(port: number, o: { method: string; path: string; headerLines: string[]; body?: string }): Promise<RawAnswer> {
  const body = o.body ?? '';
  const head = [
    `${o.method} ${o.path} HTTP/1.1`,
    'Host: 127.0.0.1',
    'Connection: close',
    ...(body ? ['Content-Type: application/json', `Content-Length: ${Buffer.byteLength(body)}`] : []),
    ...o.headerLines,
  ].join('\r\n');
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete answer within ${LIMIT_MS} ms`));
    }, LIMIT_MS);
    socket.on('data', (d: Buffer) => chunks.push(d));
    // A reset after (or instead of finishing reading) a refused request still ends in 'close'.
    let socketError = '';
    socket.on('error', (err: NodeJS.ErrnoException) => (socketError = err.code ?? err.message));
    socket.on('close', () => {
      clearTimeout(timer);
      const answer = parseAnswer(Buffer.concat(chunks).toString('utf8'));
      if (socketError && !answer.text) answer.text = `(no answer: ${socketError})`;
      resolve(answer);
    });
    // Written in slices, each after the last has drained, and no more once the server has answered:
    // a server that refuses early (431) then finds little unread data when it closes, so its answer is
    // not lost to a reset.
    const bytes = Buffer.from(`${head}\r\n\r\n${body}`);
    const SLICE = 16 * 1024;
    const writeFrom = (offset: number): void => {
      if (chunks.length > 0 || socket.destroyed) return;
      if (offset >= bytes.length) return;
      if (socket.write(bytes.subarray(offset, offset + SLICE))) setImmediate(() => writeFrom(offset + SLICE));
      else socket.once('drain', () => writeFrom(offset + SLICE));
    };
    socket.on('connect', () => writeFrom(0));
  });
}

function parseAnswer(text: string): RawAnswer {
  const split = text.indexOf('\r\n\r\n');
  const head = split < 0 ? text : text.slice(0, split);
  let body = split < 0 ? '' : text.slice(split + 4);
  const [statusLine = '', ...lines] = head.split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  if (headers['transfer-encoding'] === 'chunked') body = unchunk(body);
  return { status: Number(statusLine.split(' ')[1]), headers, body, text };
}

function unchunk(body: string): string {
  let out = '';
  let rest = body;
  for (;;) {
    const eol = rest.indexOf('\r\n');
    if (eol < 0) return out;
    const size = parseInt(rest.slice(0, eol), 16);
    if (!size) return out;
    out += rest.slice(eol + 2, eol + 2 + size);
    rest = rest.slice(eol + 2 + size + 2);
  }
}
