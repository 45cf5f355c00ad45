/**
 * The `versiongate` command as a user runs it, each run on a fresh temporary data directory: real
 * child processes of bin/versiongate.js where the process is what is tested (serve, its signals and
 * exit codes, the launcher), the CLI's main() in this process elsewhere. Every wait is bounded;
 * every spawned server is killed.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importJWK, jwtVerify, decodeProtectedHeader, type JWK } from 'jose';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.ts';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { auditInput } from '../helpers/audit-input.ts';
import { cliProcesses, envWithout, ROOT, runInProcess, RUN_LIMIT_MS, type RunResult } from '../helpers/cli-process.ts';

/** For a test that runs several processes one after another: each is bounded by RUN_LIMIT_MS. */
const SEVERAL = { timeout: 5 * RUN_LIMIT_MS };

const tempDirs: string[] = [];
function tempDir(prefix = 'versiongate-cli-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

const { start, run, killAll } = cliProcesses();
/** `versiongate ARGS` through main() in this process. */
const vg = runInProcess;

/** Exit 2; the problem, then the command's usage, on stderr; nothing on stdout. */
function expectUsageError(r: RunResult, command: string, message: string): void {
  expect(r.code).toBe(2);
  expect(r.stdout).toBe('');
  expect(r.stderr.startsWith(`versiongate: ${message}\nUsage:\n  versiongate ${command}`)).toBe(true);
  expect(r.stderr.endsWith(`\nRun 'versiongate ${command} --help' for the details.\n`)).toBe(true);
}

afterEach(() => killAll());
afterAll(() => {
  killAll();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

/** process.env without any VERSIONGATE_* setting, plus the given ones. */
function cliEnv(dataDir: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...envWithout('VERSIONGATE_'), VERSIONGATE_DATA_DIR: dataDir, ...extra };
}

function decodePayload(jwt: string): Record<string, unknown> {
  const parts = jwt.split('.');
  expect(parts).toHaveLength(3);
  return JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}

describe('versiongate serve refusals', () => {
  it('refuses to serve with no identity provider and no --dev', async () => {
    const dataDir = tempDir();
    const r = await run(['serve', '--port', '0'], cliEnv(dataDir));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('VERSIONGATE_JWKS_URL');
    expect(r.stderr).toContain('--dev');
    expect(r.stderr).toBe(
      'versiongate: No identity provider is configured, so no token could be trusted. Set VERSIONGATE_JWKS_URL or ' +
        'VERSIONGATE_JWKS_FILE (with VERSIONGATE_ISSUER and VERSIONGATE_AUDIENCE), or start with --dev ' +
        '(`npm start`) to use a local development signing key.\n',
    );
    expect(r.stdout).not.toContain('listening');
    expect(r.stdout).toBe('');
    expect(existsSync(join(dataDir, 'dev-signing-key.json'))).toBe(false);
  });

  it('exits 2 naming VERSIONGATE_PORT for --port abc (a bad value on the command line is a usage error)', async () => {
    const r = await vg(['serve', '--dev', '--port', 'abc'], cliEnv(tempDir()));
    expectUsageError(r, 'serve', "VERSIONGATE_PORT (--port): must be an integer from 0 to 65535, got 'abc'");
  });

  it('exits 1 naming VERSIONGATE_PORT for VERSIONGATE_PORT=abc (a bad environment is a failure)', async () => {
    const r = await vg(['serve', '--dev'], cliEnv(tempDir(), { VERSIONGATE_PORT: 'abc' }));
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("versiongate: VERSIONGATE_PORT (--port): must be an integer from 0 to 65535, got 'abc'\n");
    expect(r.stdout).toBe('');
  });

  it('exits 2 for an unknown command, through the launcher', async () => {
    const r = await run(['bogus'], cliEnv(tempDir()));
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("versiongate: unknown command 'bogus'\nRun 'versiongate help' for usage.\n");
    expect(r.stdout).toBe('');
  });

  it('exits 2 for an unknown flag', async () => {
    expectUsageError(await vg(['serve', '--dev', '--bogus'], cliEnv(tempDir())), 'serve', "unknown option '--bogus'");
  });

  it('exits 2 for a stray argument to serve', async () => {
    expectUsageError(await vg(['serve', '--dev', 'extra'], cliEnv(tempDir())), 'serve', "unexpected argument 'extra'");
  });

  it('help prints usage and exits 0 through the launcher; no command prints it on stderr and exits 2', SEVERAL, async () => {
    const help = await run(['help'], cliEnv(tempDir()));
    expect(help.code).toBe(0);
    expect(help.stderr).toBe('');
    expect(help.stdout.startsWith('versiongate: a policy-and-authorization gateway for package registries\n')).toBe(true);
    expect(help.stdout).toContain('--port               VERSIONGATE_PORT (default 8080)');
    const none = await vg([], cliEnv(tempDir()));
    expect(none.code).toBe(2);
    expect(none.stdout).toBe('');
    expect(none.stderr).toBe(help.stdout);
  });

  describe('an invalid policy set', () => {
    function policyDirWith(files: Record<string, string>): string {
      const dir = join(tempDir('versiongate-policies-'), 'policies');
      mkdirSync(dir);
      cpSync(join(ROOT, 'policies', 'schema.cedarschema'), join(dir, 'schema.cedarschema'));
      for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
      return dir;
    }

    it('exits 3 with a file:line:col diagnostic for a validation error', async () => {
      const policyDir = policyDirWith({
        'bad.cedar': [
          '// a policy that names a context attribute the schema does not have',
          '@id("broken")',
          'permit (',
          '  principal in Group::"x",',
          '  action == Action::"UpdatePackageVersionsStatus",',
          '  resource',
          ')',
          'when { context.noSuchField == "a" };',
          '',
        ].join('\n'),
      });
      const r = await vg(['serve', '--dev', '--port', '0'], cliEnv(tempDir(), { VERSIONGATE_POLICY_DIR: policyDir }));
      expect(r.code).toBe(3);
      expect(r.stderr).toContain('versiongate: the policy set is not valid (1 error(s)):\n');
      expect(r.stderr).toContain('bad.cedar:8:8: error: for policy `broken`, attribute `noSuchField` in context for Action::"UpdatePackageVersionsStatus" not found');
      expect(r.stdout).not.toContain('listening');
      expect(r.stderr).not.toContain('DEVELOPMENT MODE');
    });

    it('exits 3 with a file:line:col diagnostic for a syntax error', async () => {
      const policyDir = policyDirWith({ 'broken.cedar': 'permit (principal, action, resource) when { 1 + };\n' });
      const r = await vg(['serve', '--dev', '--port', '0'], cliEnv(tempDir(), { VERSIONGATE_POLICY_DIR: policyDir }));
      expect(r.code).toBe(3);
      expect(r.stderr).toBe('versiongate: the policy set is not valid (1 error(s)):\nbroken.cedar:1:49: error: unexpected token `}`\n');
      expect(r.stdout).toBe('');
    });
  });
});

describe('versiongate token', () => {
  it('prints one JWT signed by the development key it creates (mode 0600)', SEVERAL, async () => {
    const dataDir = tempDir();
    const r = await vg(['token', '--sub', 'alice', '--group', 'release-managers', '--group', 'security', '--ttl', '15m'], cliEnv(dataDir));
    expect(r.code).toBe(0);
    const keyPath = join(dataDir, 'dev-signing-key.json');
    expect(r.stderr).toBe(`versiongate: created development key ${keyPath}\n`);
    const lines = r.stdout.split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toBe('');
    const jwt = lines[0]!;
    expect(jwt).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);

    const payload = decodePayload(jwt);
    expect(payload.sub).toBe('alice');
    expect(payload.groups).toEqual(['release-managers', 'security']);
    expect(payload.iss).toBe('urn:versiongate:dev');
    expect(payload.aud).toBe('versiongate');
    expect(typeof payload.iat).toBe('number');
    expect(typeof payload.exp).toBe('number');
    expect((payload.exp as number) - (payload.iat as number)).toBe(900);
    expect(payload.nbf).toBe(payload.iat);

    expect(existsSync(keyPath)).toBe(true);
    expect(statSync(keyPath).mode & 0o777).toBe(0o600);
    const { d, ...publicJwk } = JSON.parse(readFileSync(keyPath, 'utf8')) as JWK;
    expect(typeof d).toBe('string');
    expect(decodeProtectedHeader(jwt)).toEqual({ alg: 'ES256', kid: publicJwk.kid, typ: 'JWT' });
    const publicKey = await importJWK(publicJwk, 'ES256');
    const verified = await jwtVerify(jwt, publicKey, { issuer: 'urn:versiongate:dev', audience: 'versiongate', algorithms: ['ES256'] });
    expect(verified.payload.sub).toBe('alice');

    // A second token, through the launcher, reuses the key and says nothing about creating one.
    const again = await run(['token', '--sub', 'bob'], cliEnv(dataDir));
    expect(again.code).toBe(0);
    expect(again.stderr).toBe('');
    const second = again.stdout.trim();
    const p2 = decodePayload(second);
    expect(p2.groups).toEqual([]);
    expect((p2.exp as number) - (p2.iat as number)).toBe(3600);
    expect((await jwtVerify(second, publicKey, { issuer: 'urn:versiongate:dev', audience: 'versiongate' })).payload.sub).toBe('bob');
  });

  it('exits 2 without --sub', async () => {
    const dataDir = tempDir();
    const r = await vg(['token', '--group', 'release-managers'], cliEnv(dataDir));
    expectUsageError(r, 'token', 'the following arguments are required: --sub');
    expect(existsSync(join(dataDir, 'dev-signing-key.json'))).toBe(false);
  });

  it.each(['0', '8d', 'forever'])('exits 2 for --ttl %j', async (ttl) => {
    const r = await vg(['token', '--sub', 'alice', '--ttl', ttl], cliEnv(tempDir()));
    expectUsageError(r, 'token', `--ttl must be a duration from 1s to 7d such as 15m or 1h, got '${ttl}'`);
  });
});

describe('versiongate seed demo', () => {
  const DEMO = [
    'domain my_domain',
    'repository my_repo',
    'repository prod',
    'repository staging',
    'my_repo: npm chalk 4.0.0',
    'my_repo: npm chalk 4.1.0',
    'my_repo: npm chalk 4.1.1',
    'my_repo: npm nestjs/core 8.0.0',
    'my_repo: maven org.apache.logging.log4j/log4j 2.13.1',
    'prod: npm chalk 4.1.1',
  ];

  it('creates the demo registry, and a second run only reports what exists', SEVERAL, async () => {
    const dataDir = tempDir();
    const first = await vg(['seed', 'demo'], cliEnv(dataDir));
    expect(first.code).toBe(0);
    expect(first.stdout).toBe(DEMO.map((l) => `created  ${l}\n`).join(''));
    expect(existsSync(join(dataDir, 'versiongate.db'))).toBe(true);

    const second = await vg(['seed', 'demo'], cliEnv(dataDir));
    expect(second.code).toBe(0);
    expect(second.stdout).toBe(DEMO.map((l) => `exists   ${l}\n`).join(''));
    expect(second.stdout).not.toContain('created');
  });

  it('exits 2 for seed without demo', async () => {
    const r = await vg(['seed'], cliEnv(tempDir()));
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("versiongate: seed takes one subcommand: 'demo'\nRun 'versiongate help' for usage.\n");
    expectUsageError(await vg(['seed', 'demo', 'again'], cliEnv(tempDir())), 'seed demo', "unexpected argument 'again'");
  });
});

describe('versiongate domain / repository create', () => {
  it('creates a domain and a repository, printing JSON; a duplicate domain fails with a message', SEVERAL, async () => {
    const dataDir = tempDir();
    const domain = await vg(['domain', 'create', '--domain', 'other', '--domain-owner', '123456789012'], cliEnv(dataDir));
    expect(domain.code).toBe(0);
    expect(domain.stderr).toBe('');
    const domainRecord = JSON.parse(domain.stdout) as Record<string, unknown>;
    expect(domainRecord).toEqual({ name: 'other', owner: '123456789012', createdAt: expect.any(String) });
    expect(Number.isNaN(Date.parse(domainRecord.createdAt as string))).toBe(false);

    const repo = await vg(['repository', 'create', '--domain', 'other', '--domain-owner', '123456789012', '--repository', 'r1'], cliEnv(dataDir));
    expect(repo.code).toBe(0);
    expect(repo.stderr).toBe('');
    expect(JSON.parse(repo.stdout)).toEqual({ domain: 'other', domainOwner: '123456789012', name: 'r1', createdAt: expect.any(String) });

    const again = await vg(['domain', 'create', '--domain', 'other', '--domain-owner', '123456789012'], cliEnv(dataDir));
    expect(again.code).toBe(1);
    expect(again.stderr).toBe('versiongate: domain other already exists for owner 123456789012\n');
    expect(again.stdout).toBe('');

    const repoAgain = await vg(['repository', 'create', '--domain', 'other', '--domain-owner', '123456789012', '--repository', 'r1'], cliEnv(dataDir));
    expect(repoAgain.code).toBe(1);
    expect(repoAgain.stderr).toBe('versiongate: repository r1 already exists in domain other\n');
  });

  it('exits 2 with a message for a bad domain owner or a bad name (the API would answer 400)', async () => {
    expectUsageError(await vg(['domain', 'create', '--domain', 'other', '--domain-owner', '12345'], cliEnv(tempDir())), 'domain create', 'domain-owner must be a 12-digit account id');
    expectUsageError(await vg(['domain', 'create', '--domain', 'other', '--domain-owner', '12'], cliEnv(tempDir())), 'domain create', 'domain-owner must be a 12-digit account id');
    expectUsageError(
      await vg(['repository', 'create', '--domain', 'other', '--domain-owner', '123456789012', '--repository', 'r'], cliEnv(tempDir())),
      'repository create',
      'repository must be 2 to 100 characters long, got 1',
    );
  });

  it('records each creation in the audit log, in its transaction, as the API records CreateDomain and CreateRepository', SEVERAL, async () => {
    const dataDir = tempDir();
    expect((await vg(['domain', 'create', '--domain', 'other', '--domain-owner', '123456789012'], cliEnv(dataDir))).code).toBe(0);
    expect((await vg(['repository', 'create', '--domain', 'other', '--domain-owner', '123456789012', '--repository', 'r1'], cliEnv(dataDir))).code).toBe(0);
    // Refused: nothing written, no record.
    expect((await vg(['domain', 'create', '--domain', 'other', '--domain-owner', '123456789012'], cliEnv(dataDir))).code).toBe(1);
    const store = openSqliteStore({ file: join(dataDir, 'versiongate.db'), clock: systemClock });
    try {
      const records = await store.listAudit({ limit: 10 });
      const domainArn = 'arn:aws:codeartifact:us-east-1:123456789012:domain/other';
      expect(records.map((r) => [r.action, r.resource, r.request, r.principal, r.decision, r.outcome])).toEqual([
        ['CreateRepository', `Domain::"${domainArn}"`, { bootstrap: true, domain: 'other', repository: 'r1' }, null, 'none', 'applied'],
        ['CreateDomain', `Domain::"${domainArn}"`, { bootstrap: true, domain: 'other' }, null, 'none', 'applied'],
      ]);
      // The repository's record is that repository's, as an API CreateRepository's is.
      expect((await store.listAudit({ limit: 10, filter: { repositoryArn: 'arn:aws:codeartifact:us-east-1:123456789012:repository/other/r1' } })).map((r) => r.action)).toEqual(['CreateRepository']);
    } finally {
      await store.close();
    }
  });

  it('exits 1 for a repository in a domain that does not exist', async () => {
    const r = await vg(['repository', 'create', '--domain', 'nowhere', '--domain-owner', '123456789012', '--repository', 'r1'], cliEnv(tempDir()));
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('versiongate: domain nowhere (owner 123456789012) does not exist\n');
    expect(r.stdout).toBe('');
  });

  it('exits 2 without --domain-owner', async () => {
    expectUsageError(await vg(['domain', 'create', '--domain', 'other'], cliEnv(tempDir())), 'domain create', 'the following arguments are required: --domain-owner');
  });
});

describe('the whole story: seed, serve --dev, token, archive, SIGTERM', () => {
  it('archives chalk 4.1.0 for a release manager through the real server, then stops cleanly', { timeout: 7 * RUN_LIMIT_MS }, async () => {
    const dataDir = tempDir();
    const env = cliEnv(dataDir);
    const seeded = await run(['seed', 'demo'], env);
    expect(seeded.code).toBe(0);

    const server = start(['serve', '--dev', '--port', '0'], env);
    let stdout = '';
    let stderr = '';
    server.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    server.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => server.once('exit', (code, signal) => res({ code, signal })));

    try {
      // Wait (bounded) for the JSON log line announcing the URL.
      const url = await new Promise<string>((res, rej) => {
        const timer = setTimeout(() => rej(new Error(`no 'versiongate listening' line within 60 s\nstdout: ${stdout}\nstderr: ${stderr}`)), 60_000);
        const look = () => {
          for (const line of stdout.split('\n')) {
            if (!line.includes('"versiongate listening"')) continue;
            const entry = JSON.parse(line) as { msg: string; url: string; keySource: string };
            if (entry.msg !== 'versiongate listening') continue;
            clearTimeout(timer);
            server.stdout!.off('data', look);
            res(entry.url);
            return;
          }
        };
        server.stdout!.on('data', look);
        void exited.then((e) => {
          clearTimeout(timer);
          rej(new Error(`server exited early (${e.code ?? e.signal})\nstdout: ${stdout}\nstderr: ${stderr}`));
        });
        look();
      });
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(Number(new URL(url).port)).toBeGreaterThan(0);
      expect(stderr).toContain('DEVELOPMENT MODE');

      const minted = await run(['token', '--sub', 'alice', '--group', 'release-managers'], env);
      expect(minted.code).toBe(0);
      const token = minted.stdout.trim();

      const res = await fetch(
        `${url}/v1/package/versions/update_status?domain=my_domain&domain-owner=111122223333&repository=my_repo&format=npm&package=chalk`,
        {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({ versions: ['4.1.0'], targetStatus: 'Archived' }),
          signal: AbortSignal.timeout(60_000),
        },
      );
      expect(res.status).toBe(200);
      const body = (await res.json()) as { successfulVersions: Record<string, { status: string; revision: string }>; failedVersions: Record<string, unknown> };
      expect(body.successfulVersions['4.1.0']!.status).toBe('Archived');
      expect(Object.keys(body.successfulVersions)).toEqual(['4.1.0']);
      expect(body.failedVersions).toEqual({});

      // Without a token: 401, so the server really checks.
      const anonymous = await fetch(
        `${url}/v1/package/versions/update_status?domain=my_domain&domain-owner=111122223333&repository=my_repo&format=npm&package=chalk`,
        { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ versions: ['4.1.1'], targetStatus: 'Archived' }), signal: AbortSignal.timeout(60_000) },
      );
      expect(anonymous.status).toBe(401);
      await anonymous.arrayBuffer();

      expect(server.kill('SIGTERM')).toBe(true);
      const stopped = await Promise.race([
        exited,
        new Promise<never>((_, rej) => setTimeout(() => rej(new Error(`server did not exit within 60 s of SIGTERM\nstderr: ${stderr}`)), 60_000)),
      ]);
      expect(stopped).toEqual({ code: 0, signal: null });
      expect(stdout).toContain('"signal":"SIGTERM","msg":"signal received: closing"');
    } finally {
      if (server.exitCode === null && server.signalCode === null) server.kill('SIGKILL');
    }
  });
});

describe('a reader that goes away', () => {
  it('`versiongate audit export … | head` ends the command quietly (exit 0), without an EPIPE stack trace', SEVERAL, async () => {
    const dataDir = tempDir();
    // Enough records that their export overflows the pipe: the command is still writing when the reader goes.
    const store = openSqliteStore({ file: join(dataDir, 'versiongate.db'), clock: systemClock });
    for (let i = 0; i < 4; i++) await store.appendAuditBatch(Array.from({ length: 1000 }, () => auditInput()));
    await store.close();
    const child = start(['audit', 'export', '--since', '2000-01-01T00:00:00Z'], cliEnv(dataDir));
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const firstChunk = await new Promise<string>((resolveChunk) => child.stdout!.once('data', (d: Buffer) => resolveChunk(d.toString('utf8'))));
    expect(firstChunk.startsWith('{"seq":1,')).toBe(true);
    child.stdout!.destroy();
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolveExit) => child.once('close', (c, s) => resolveExit([c, s])));
    expect(stderr).toBe('');
    expect({ code, signal }).toEqual({ code: 0, signal: null });
  });
});
