/**
 * How the client commands are called: --help on every one, and every usage error (exit 2) caught
 * before anything is sent. None of these needs a gateway that answers: the endpoint is a closed
 * port, so a command that sent anything would fail with exit 1, not 2. They run in this process
 * (main()); test/cli/cli.test.ts covers the process boundary.
 */
import { describe, expect, it } from 'vitest';
import { envWithout, runInProcess } from '../helpers/cli-process.ts';
import { CHALK } from './harness.ts';

/** Port 9 (discard) on loopback: nothing listens there. */
const NOWHERE = 'http://127.0.0.1:9';

const h = {
  vg(args: string[], options: { token?: string; env?: Record<string, string | undefined> } = {}) {
    const env = envWithout('VERSIONGATE_', 'AWS_');
    env.VERSIONGATE_ENDPOINT = NOWHERE;
    if (options.token !== undefined) env.VERSIONGATE_TOKEN = options.token;
    for (const [k, v] of Object.entries(options.env ?? {})) {
      if (v === undefined) delete env[k];
      else env[k] = v;
    }
    return runInProcess(args, env);
  },
};

/** Each command and the aws CLI's flags for it (checked against the AWS CLI reference). */
const COMMANDS: Record<string, string[]> = {
  'update-package-versions-status': ['--versions', '--version-revisions', '--expected-status', '--target-status'],
  'dispose-package-versions': ['--versions', '--version-revisions', '--expected-status'],
  'delete-package-versions': ['--versions', '--expected-status'],
  'list-package-versions': ['--status', '--sort-by', '--origin-type', '--starting-token', '--page-size', '--max-items', '--no-paginate'],
  'describe-package-version': ['--package-version'],
  'list-package-version-assets': ['--package-version', '--starting-token', '--page-size', '--max-items', '--no-paginate'],
  'get-package-version-asset': ['--package-version', '--asset', '--package-version-revision', 'OUTFILE'],
  'publish-package-version': ['--package-version', '--asset-content', '--asset-name', '--asset-sha256', '--unfinished | --no-unfinished'],
};
const COMMON = ['--domain <value>', '[--domain-owner <value>]', '--repository <value>', '--format <value>', '[--namespace <value>]', '--package <value>', '[--endpoint-url <value>]', '[--token <value>]'];

describe('--help', () => {
  it('every client command prints its flags and exits 0, with no endpoint or token needed', async () => {
    for (const [command, flags] of Object.entries(COMMANDS)) {
      const r = await h.vg([command, '--help'], { env: { VERSIONGATE_ENDPOINT: undefined } });
      expect(r.code, command).toBe(0);
      expect(r.stderr, command).toBe('');
      expect(r.stdout.startsWith(`versiongate ${command}: CodeArtifact's `), command).toBe(true);
      const usage = r.stdout.replace(/\s+/g, ' ');
      for (const flag of [...COMMON, ...flags]) expect(usage, `${command} ${flag}`).toContain(flag);
    }
  });

  it("says which exit statuses a command can end with: a download's 130/143 only where there is a download to stop", async () => {
    const download = (await h.vg(['get-package-version-asset', '--help'])).stdout.replace(/\s+/g, ' ');
    expect(download).toContain('2 a usage error; 130 (Ctrl-C) or 143 (SIGTERM) a download stopped by the signal, its partial file removed and OUTFILE not written.');
    const update = (await h.vg(['update-package-versions-status', '--help'])).stdout.replace(/\s+/g, ' ');
    expect(update).toContain('Exit status: 0 success; 1 an error answer, a failed version or no connection (the error type and message on stderr); 2 a usage error.');
    expect(update).not.toContain('130');
  });

  it("says what an omitted --domain-owner means: the gateway's account, as the server takes it (not 'the only domain of that name')", async () => {
    for (const command of ['list-package-versions', 'describe-domain']) {
      const help = (await h.vg([command, '--help'])).stdout.replace(/\s+/g, ' ');
      expect(help, command).toContain("The 12-digit account that owns the domain. Default: the gateway's account (VERSIONGATE_ACCOUNT_ID on the server).");
    }
  });

  it('versiongate help lists the client commands', async () => {
    const r = await h.vg(['help']);
    expect(r.code).toBe(0);
    for (const command of Object.keys(COMMANDS)) expect(r.stdout).toContain(`versiongate ${command}`);
  });
});

describe('usage errors: exit 2, the problem on stderr, nothing sent', () => {
  const cases: Array<[string, string[], Record<string, string | undefined>, string]> = [
    ['a missing required flag', ['list-package-versions', '--domain', 'my_domain', '--package', 'chalk'], {}, 'the following arguments are required: --repository, --format'],
    ['an unknown flag', ['list-package-versions', ...CHALK, '--bogus', 'x'], {}, "unknown option '--bogus'"],
    ['a flag given twice', ['update-package-versions-status', ...CHALK, '--versions', '4.1.0', '--versions', '4.1.1', '--target-status', 'Archived'], {}, '--versions is given more than once'],
    ['a flag without its value', ['describe-package-version', ...CHALK, '--package-version'], {}, '--package-version needs a value'],
    ['a non-numeric --max-items', ['list-package-versions', ...CHALK, '--max-items', 'ten'], {}, "--max-items must be a whole number, got 'ten'"],
    ['a malformed --version-revisions', ['update-package-versions-status', ...CHALK, '--versions', '4.1.0', '--target-status', 'Archived', '--version-revisions', '4.1.0'], {}, "--version-revisions expects KEY=VALUE pairs separated by commas, got '4.1.0'"],
    ['--no-paginate with --max-items', ['list-package-versions', ...CHALK, '--no-paginate', '--max-items', '2'], {}, 'cannot give --no-paginate along with pagination arguments: --max-items'],
    ['a stray argument', ['describe-package-version', ...CHALK, '--package-version', '4.1.0', 'extra'], {}, "unexpected argument 'extra'"],
    ['get-package-version-asset without OUTFILE', ['get-package-version-asset', ...CHALK, '--package-version', '4.1.0', '--asset', 'chalk-4.1.0.tgz'], {}, 'get-package-version-asset needs OUTFILE, the last argument'],
    ['get-package-version-asset with an empty OUTFILE', ['get-package-version-asset', ...CHALK, '--package-version', '4.1.0', '--asset', 'chalk-4.1.0.tgz', ''], {}, 'OUTFILE is empty: give the file to write to, e.g. chalk-4.1.0.tgz'],
    ['get-package-version-asset into a folder', ['get-package-version-asset', ...CHALK, '--package-version', '4.1.0', '--asset', 'chalk-4.1.0.tgz', '.'], {}, 'OUTFILE . is a folder: give the file to write to, e.g. chalk-4.1.0.tgz'],
    ['get-package-version-asset into a folder that does not exist', ['get-package-version-asset', ...CHALK, '--package-version', '4.1.0', '--asset', 'chalk-4.1.0.tgz', 'no-such-folder/a.tgz'], {}, 'OUTFILE no-such-folder/a.tgz: the folder no-such-folder does not exist'],
    ['no endpoint', ['list-package-versions', ...CHALK], { VERSIONGATE_ENDPOINT: undefined }, 'no endpoint: give --endpoint-url or set VERSIONGATE_ENDPOINT (for example http://127.0.0.1:8080)'],
    ['no token', ['list-package-versions', ...CHALK], { VERSIONGATE_TOKEN: undefined }, 'no token: give --token or set VERSIONGATE_TOKEN (for example TOKEN=$(versiongate token --sub alice))'],
    ['a token that could break the header', ['list-package-versions', ...CHALK], { VERSIONGATE_TOKEN: 'abc\r\nx-injected: 1' }, 'the token is not a bearer token (expected a JWT such as eyJ…)'],
    [
      'plain http to a host that is not loopback',
      ['list-package-versions', ...CHALK, '--endpoint-url', 'http://registry.example.com:8080'],
      {},
      'refusing to send the token over plain http to registry.example.com:8080: use https (plain http is only for a loopback address such as 127.0.0.1)',
    ],
    ['an endpoint that is not a URL', ['list-package-versions', ...CHALK, '--endpoint-url', 'localhost:8080'], {}, 'the endpoint URL must be http or https, got \'localhost:8080\''],
  ];

  it.each(cases)('%s', async (_name, args, env, message) => {
    const r = await h.vg(args, { token: 'eyJhbGciOiJFUzI1NiJ9.e30.c2ln', env });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    // The problem, the command's usage (its synopsis), and where the details are.
    expect(r.stderr.startsWith(`versiongate: ${message}\nUsage:\n  versiongate ${args[0]} --domain <value> `)).toBe(true);
    expect(r.stderr.replace(/\s+/g, ' ')).toContain('[--endpoint-url <value>] [--token <value>]');
    expect(r.stderr.endsWith(`\nRun 'versiongate ${args[0]} --help' for the details.\n`)).toBe(true);
  });
});
