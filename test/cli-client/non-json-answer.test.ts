/**
 * Answers that are not CodeArtifact's JSON, as a proxy in front of the gateway gives them (an HTML
 * 502 page, a plain-text refusal, an empty 502): the command says in one line what came back, its
 * HTTP status and the start of its body, and exits 1; never the SDK's own deserialization message.
 * The commands run in this process (main()) against a small node:http stand-in.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envWithout, runInProcess } from '../helpers/cli-process.ts';
import { CHALK } from './harness.ts';

const NGINX_502 = '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n';

/** What the stand-in answers every request with, set by each test. */
let answer: { status: number; type?: string; body: string } = { status: 502, body: '' };
let server: Server;
let url: string;
let files: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    res.writeHead(answer.status, answer.type ? { 'content-type': answer.type } : {});
    res.end(answer.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  files = mkdtempSync(join(tmpdir(), 'vg-non-json-'));
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(files, { recursive: true, force: true });
});

function vg(args: string[]) {
  const env = envWithout('VERSIONGATE_', 'AWS_');
  env.VERSIONGATE_ENDPOINT = url;
  env.VERSIONGATE_TOKEN = 'eyJhbGciOiJFUzI1NiJ9.e30.c2ln';
  return runInProcess(args, env);
}

describe('an answer that is not JSON: its status and the start of its body, exit 1', () => {
  it("a proxy's HTML 502 page, to a read (retried, then reported) and to a download (nothing written)", async () => {
    answer = { status: 502, type: 'text/html', body: NGINX_502 };
    const line = `versiongate: ${url} answered HTTP 502 Bad Gateway with a body that is not JSON (text/html): "502 Bad Gateway 502 Bad Gateway nginx"\n`;
    const described = await vg(['describe-package-version', ...CHALK, '--package-version', '4.1.0']);
    expect(described).toEqual({ code: 1, signal: null, stdout: '', stderr: line });

    const dir = mkdtempSync(join(files, 'download-'));
    const got = await vg(['get-package-version-asset', ...CHALK, '--package-version', '4.1.0', '--asset', 'chalk-4.1.0.tgz', join(dir, 'chalk.tgz')]);
    expect(got).toEqual({ code: 1, signal: null, stdout: '', stderr: line });
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a plain-text body, to a change answered 200 and to a refusal', async () => {
    answer = { status: 200, type: 'text/plain', body: 'hello, this is not json' };
    const changed = await vg(['update-package-versions-status', ...CHALK, '--versions', '4.1.0', '--target-status', 'Archived']);
    expect(changed).toEqual({ code: 1, signal: null, stdout: '', stderr: `versiongate: ${url} answered HTTP 200 OK with a body that is not JSON (text/plain): "hello, this is not json"\n` });

    answer = { status: 403, type: 'text/plain', body: `Forbidden by proxy policy\n\u001b]0;owned\u0007${'x'.repeat(300)}` };
    const refused = await vg(['list-package-versions', ...CHALK]);
    expect(refused.code).toBe(1);
    // One line, cut short, and the body's control characters (a terminal escape here) never printed.
    expect(refused.stderr).toBe(`versiongate: ${url} answered HTTP 403 Forbidden with a body that is not JSON (text/plain): "Forbidden by proxy policy ]0;owned ${'x'.repeat(200 - 35)}…"\n`);
  });

  it('an empty 502', async () => {
    answer = { status: 502, body: '' };
    const r = await vg(['describe-package', ...CHALK]);
    expect(r).toEqual({ code: 1, signal: null, stdout: '', stderr: `versiongate: ${url} answered HTTP 502 Bad Gateway with an empty body, not CodeArtifact's JSON\n` });
  });
});
