/**
 * Every command has --help (exit 0, its usage on stdout) and its usage errors exit 2 with that
 * usage on stderr; `versiongate help` names every command, from the same definitions. And the
 * launcher: what `--help` and `token` load (none of the server's dependencies, nor the AWS SDK).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { envWithout, ROOT, runInProcess, RUN_LIMIT_MS } from '../helpers/cli-process.ts';

const dir = mkdtempSync(join(tmpdir(), 'vg-commands-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const env = () => ({ ...envWithout('VERSIONGATE_', 'AWS_'), VERSIONGATE_DATA_DIR: join(dir, 'data') });

const LOCAL = [
  'serve',
  'token',
  'seed demo',
  'domain create',
  'repository create',
  'audit query',
  'audit export',
  'audit verify',
  'policy validate',
  'policy format',
  'policy test',
  'policy explain',
  'policy diff',
];
const CLIENT = ['list-package-versions', 'describe-package-version', 'create-domain', 'list-repositories-in-domain', 'resync'];
const ALIASES: Record<string, string> = { 'domain describe': 'describe-domain', 'repository update': 'update-repository', 'repository list': 'list-repositories' };

describe('--help on every command', () => {
  it.each(LOCAL)('versiongate %s --help: exit 0, its usage on stdout, nothing on stderr', async (command) => {
    const r = await runInProcess([...command.split(' '), '--help'], env());
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout.startsWith(`versiongate ${command}\n`)).toBe(true);
    expect(r.stdout).toContain(`Usage:\n  versiongate ${command}`);
    // `versiongate help COMMAND` is the same text.
    expect((await runInProcess(['help', ...command.split(' ')], env())).stdout).toBe(r.stdout);
  });

  it.each(CLIENT)('versiongate %s --help', async (command) => {
    const r = await runInProcess([command, '--help'], env());
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout.startsWith(`versiongate ${command}:`)).toBe(true);
  });

  it.each(Object.entries(ALIASES))('versiongate %s --help is the help of %s', async (alias, target) => {
    const r = await runInProcess([...alias.split(' '), '--help'], { ...env(), VERSIONGATE_ENDPOINT: 'http://127.0.0.1:9' });
    expect(r.code).toBe(0);
    expect(r.stdout.startsWith(`versiongate ${target}:`)).toBe(true);
  });

  it('each command lists its own flags: policy diff --json, token --group, audit query --limit', async () => {
    expect((await runInProcess(['policy', 'diff', '--help'], env())).stdout).toMatch(/^ {2}--json +Print the summary as JSON\.$/m);
    expect((await runInProcess(['token', '--help'], env())).stdout).toContain('[--group <value>]...');
    expect((await runInProcess(['audit', 'query', '--help'], env())).stdout).toMatch(/^ {2}--limit <value> /m);
    // serve lists every setting with its environment variable.
    expect((await runInProcess(['serve', '--help'], env())).stdout).toContain('  --policy-dir         VERSIONGATE_POLICY_DIR (default ./policies)');
  });

  it('versiongate help names every command, with its flags in the synopsis', async () => {
    const r = await runInProcess(['help'], env());
    expect(r.code).toBe(0);
    for (const command of [...LOCAL, ...CLIENT, ...Object.keys(ALIASES)]) expect(r.stdout).toContain(`  versiongate ${command}`);
    const oneLine = r.stdout.replace(/\n {7}/g, ' ');
    expect(oneLine).toContain('versiongate policy diff [--since <value>] [--json]');
    expect(oneLine).toContain('versiongate token --sub <value> [--group <value>]... [--ttl <value>]');
  });

  it('an unknown subcommand names the known ones; help for an unknown command is a usage error', async () => {
    const r = await runInProcess(['audit', 'bogus'], env());
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("versiongate: audit takes one subcommand: 'query', 'export', 'verify'\nRun 'versiongate help' for usage.\n");
    const h = await runInProcess(['help', 'bogus'], env());
    expect(h.code).toBe(2);
    expect(h.stderr).toBe("versiongate: no command 'bogus'\nRun 'versiongate help' for usage.\n");
  });

  it('a mistyped command, subcommand or option is answered with the name it is near, and only then', async () => {
    const stderr = async (args: string[]) => (await runInProcess(args, env())).stderr.split('\n')[0];
    expect(await stderr(['serv', '--dev'])).toBe("versiongate: unknown command 'serv' (did you mean 'serve'?)");
    expect(await stderr(['reysnc', 'd/r/x'])).toBe("versiongate: unknown command 'reysnc' (did you mean 'resync'?)");
    expect(await stderr(['list-package-version'])).toBe("versiongate: unknown command 'list-package-version' (did you mean 'list-package-versions'?)");
    expect(await stderr(['audit', 'qurey'])).toBe("versiongate: audit takes one subcommand: 'query', 'export', 'verify' (did you mean 'audit query'?)");
    expect(await stderr(['help', 'audit', 'verfy'])).toBe("versiongate: no command 'audit verfy' (did you mean 'audit verify'?)");
    expect(await stderr(['serve', '--dev', '--prot', '9000'])).toBe("versiongate: unknown option '--prot' (did you mean '--port'?)");
    expect(await stderr(['audit', 'query', '--principle', 'alice'])).toBe("versiongate: unknown option '--principle' (did you mean '--principal'?)");
    expect(await stderr(['resync', '--no-wiat', 'd/r/x'])).toBe("versiongate: unknown option '--no-wiat' (did you mean '--no-wait'?)");
    // Nothing near: no guess.
    expect(await stderr(['serve', '--dev', '--policies', 'p'])).toBe("versiongate: unknown option '--policies'");
    expect(await stderr(['bogus'])).toBe("versiongate: unknown command 'bogus'");
  });
});

describe('usage errors: exit 2, the problem and the command usage on stderr', () => {
  const cases: Array<[string[], string, string]> = [
    [['audit', 'export'], 'audit export', 'the following arguments are required: --since'],
    [['audit', 'query', '--limit', '0'], 'audit query', '--limit must be a whole number from 1 to 100000'],
    [['policy', 'validate', 'a', 'b'], 'policy validate', "unexpected argument 'b' (the command takes 1)"],
    [['policy', 'explain', '--action', 'X', '--package', 'p'], 'policy explain', 'the following arguments are required: --principal-claims'],
    [['policy', 'diff', '--since', 'yesterday'], 'policy diff', '--since must be an ISO 8601 time'],
    [['serve', '--dev', '--max-asset-size', 'huge'], 'serve', ''],
  ];
  it.each(cases)('%j', async (args, command, message) => {
    const r = await runInProcess(args, env());
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.startsWith(`versiongate: ${message}`)).toBe(true);
    expect(r.stderr).toContain(`\nUsage:\n  versiongate ${command}`);
    expect(r.stderr.endsWith(`\nRun 'versiongate ${command} --help' for the details.\n`)).toBe(true);
  });
});

describe('the launcher loads only what a command uses', () => {
  /**
   * Runs bin/versiongate.js with a resolve hook that lists every package it loads: from node_modules,
   * and bundled into the dist/ chunks it loads (esbuild heads each bundled file with a
   * `// …node_modules/<package>/…` comment).
   */
  function packagesLoaded(args: string[]): Promise<{ code: number | null; packages: Set<string>; stdout: string }> {
    const hook = join(dir, 'hook.mjs');
    writeFileSync(
      hook,
      `import { register } from 'node:module';
register('data:text/javascript,' + encodeURIComponent(\`
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  const m = result.url.match(/node_modules\\\\/((@[^/]+\\\\/)?[^/]+)/);
  if (m) process.stderr.write('LOADED ' + m[1] + '\\\\n');
  else if (result.url.startsWith('file:') && result.url.includes('/dist/')) process.stderr.write('CHUNK ' + result.url + '\\\\n');
  return result;
}\`));
`,
    );
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', hook, 'bin/versiongate.js', ...args], { cwd: ROOT, env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      const timer = setTimeout(() => child.kill('SIGKILL'), RUN_LIMIT_MS);
      child.once('error', reject);
      child.once('close', (code) => {
        clearTimeout(timer);
        const packages = new Set([...stderr.matchAll(/^LOADED (.+)$/gm)].map((m) => m[1]!));
        for (const [, url] of stderr.matchAll(/^CHUNK (.+)$/gm)) {
          for (const m of readFileSync(new URL(url!), 'utf8').matchAll(/^\/\/ \S*node_modules\/((@[^/]+\/)?[^/\s]+)\//gm)) packages.add(m[1]!);
        }
        resolve({ code, packages, stdout });
      });
    });
  }
  const SERVER = ['hono', '@hono/node-server', '@hono/zod-openapi', '@cedar-policy/cedar-wasm', 'drizzle-orm', 'better-sqlite3', 'prom-client', 'pino', '@aws-sdk/client-codeartifact', 'tsx'];

  it('--help loads no package at all; token loads jose and nothing of the server', async () => {
    const help = await packagesLoaded(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('versiongate serve');
    expect([...help.packages]).toEqual([]);

    const token = await packagesLoaded(['token', '--sub', 'alice']);
    expect(token.code).toBe(0);
    expect(token.stdout).toMatch(/^eyJ/);
    expect(token.packages.has('jose')).toBe(true);
    for (const name of SERVER) expect(token.packages.has(name), name).toBe(false);
  });

  it('a client command loads the AWS SDK, and not the server', async () => {
    const r = await packagesLoaded(['list-domains', '--endpoint-url', 'http://127.0.0.1:9', '--token', 'eyJhbGciOiJFUzI1NiJ9.e30.c2ln', '--cli-connect-timeout', '1']);
    expect(r.code).toBe(1);
    expect(r.packages.has('@aws-sdk/client-codeartifact')).toBe(true);
    for (const name of SERVER.filter((n) => n !== '@aws-sdk/client-codeartifact')) expect(r.packages.has(name), name).toBe(false);
  });
});
