/**
 * Ctrl-C (SIGINT) or a SIGTERM while get-package-version-asset downloads into OUTFILE: the command
 * is a child process of bin/versiongate.js, as a user runs it, and the gateway a stand-in that sends
 * the first bytes of the asset and then waits. The hidden part file must go, OUTFILE must not
 * appear, and the exit status is the one a shell gives a command a signal ended (130 for Ctrl-C).
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliProcesses, envWithout, RUN_LIMIT_MS } from '../helpers/cli-process.ts';
import { CHALK } from './harness.ts';

const cli = cliProcesses();
let server: Server;
let url: string;
let files: string;

beforeAll(async () => {
  // Promises a large asset, sends its first kilobyte, and never sends the rest.
  server = createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': '1000000', 'x-assetname': 'a.bin', 'x-packageversion': '1.0.0', 'x-packageversionrevision': 'R' });
    res.write(Buffer.alloc(1000, 1));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  files = mkdtempSync(join(tmpdir(), 'vg-interrupted-'));
});
afterAll(async () => {
  cli.killAll();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(files, { recursive: true, force: true });
});

/** Polls `dir` until a part file with bytes in it is there (the download is under way). */
async function partFileIn(dir: string): Promise<string> {
  const until = Date.now() + RUN_LIMIT_MS;
  while (Date.now() < until) {
    const part = readdirSync(dir).find((name) => name.endsWith('.part'));
    if (part && statSync(join(dir, part)).size > 0) return part;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`no part file appeared in ${dir}`);
}

describe('a download stopped by a signal', () => {
  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)('%s removes the part file, writes no OUTFILE, and exits %i', async (signal, status) => {
    const dir = mkdtempSync(join(files, `${signal}-`));
    const env = envWithout('VERSIONGATE_', 'AWS_');
    env.VERSIONGATE_ENDPOINT = url;
    env.VERSIONGATE_TOKEN = 'eyJhbGciOiJFUzI1NiJ9.e30.c2ln';
    const child = cli.start(['get-package-version-asset', ...CHALK, '--package-version', '1.0.0', '--asset', 'a.bin', join(dir, 'a.bin')], env);
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const ended = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once('close', (code, sig) => resolve([code, sig])));

    await partFileIn(dir);
    child.kill(signal);
    const [code, killedBy] = await ended;

    expect({ code, killedBy, stdout, stderr }).toEqual({
      code: status,
      killedBy: null,
      stdout: '',
      stderr: `versiongate: interrupted (${signal}): the download stopped and its partial file was removed; ${join(dir, 'a.bin')} was not written\n`,
    });
    expect(readdirSync(dir)).toEqual([]);
  });
});
