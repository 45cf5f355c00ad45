/**
 * The `versiongate` command. Exit codes: 0 success, 1 failure, 2 usage error (with the command's
 * usage on stderr), 3 invalid policy set (as the Cedar CLI's validate).
 *
 * Every command is a definition in COMMANDS (or a client command's definition): its flags and
 * positionals, parsed by the one parser (client/args.ts), and its `--help` and the lines of
 * `versiongate help` generated from them. A command's implementation is imported when it runs, so
 * `versiongate --help` or `versiongate token` load neither the server (hono, cedar, drizzle,
 * prom-client, pino) nor the AWS SDK.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { systemClock } from '../clock.ts';
import { parseConfig, SETTINGS, type Config } from '../config.ts';
import { ApiError, ConfigError } from '../errors.ts';
import type { BlobStore } from '../store/blob-store.ts';
import type { Store } from '../store/store.ts';
import { ClientUsageError, parseClientArgs, type FlagSpec } from './client/args.ts';
import { CLIENT_COMMANDS, type ClientCommand } from './client/commands.ts';
import { CONNECTION_FLAGS } from './client/connection.ts';
import { PACKAGE_COMMANDS } from './client/package-commands.ts';
import { TENANCY_COMMANDS } from './client/tenancy-commands.ts';
import { parseDuration } from './duration.ts';
import { didYouMean } from './suggest.ts';
import { RESYNC_FLAGS } from './resync-flags.ts';
import { described, flagLine, synopsis, usageLines, wrap, WIDTH } from './usage.ts';

/** Where a command writes and what environment it reads: the process's, or a test's. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  env: NodeJS.ProcessEnv;
}

const processIo: CliIo = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
  env: process.env,
};

/**
 * `versiongate audit export … | head`: a reader that goes away ends the output and the command
 * quietly (git and cat die of SIGPIPE there; Node ignores that signal, so this exits 0), not with an
 * unhandled EPIPE and its stack trace. Not for serve:
 * its log lines are written another way (fd-lines.ts), and a gateway never stops because a reader of
 * its log did.
 */
function endQuietlyWhenTheReaderGoes(): void {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
}

/** A mistake in how a command was called: exit 2 with the command's usage. */
class UsageError extends Error {}

/** Local commands declare string, switch and multiple flags only. */
type LocalValues = Record<string, string | boolean | string[] | undefined>;

interface RunContext {
  values: LocalValues;
  positionals: string[];
  io: CliIo;
  /** The settings (flags over environment over defaults); a bad flag value is a usage error. */
  config(options?: { dev?: boolean; requirePolicyDir?: boolean; policyDir?: string }): Config;
}

interface LocalCommand {
  /** One or two words: `serve`, `audit query`. */
  name: string;
  summary: string;
  flags: readonly FlagSpec[];
  /** Positional arguments, e.g. `[DIR]`: their synopsis, and how many are allowed. */
  positional?: { synopsis: string; help: string; min: number; max: number };
  /** Settings shown in this command's --help (every setting is accepted by every local command). */
  settings: 'all' | readonly string[];
  run(ctx: RunContext): Promise<number>;
}

const SETTING_FLAGS: readonly FlagSpec[] = Object.values(SETTINGS).map((s) => ({
  name: s.flag,
  type: 'string' as const,
  help: `${s.env}${s.default ? ` (default ${s.default})` : ''}`,
}));

const DATA_DIR = ['data-dir'];
const POLICY_DIR_ARG = { synopsis: '[DIR]', help: 'The policy folder (default --policy-dir, ./policies).', min: 0, max: 1 };

const str = (v: LocalValues[string]): string | undefined => (typeof v === 'string' ? v : undefined);

const COMMANDS: readonly LocalCommand[] = [
  {
    name: 'serve',
    summary: 'Serves the gateway (npm start = serve --dev). With --dev and no identity provider, it signs and accepts tokens with the development key.',
    flags: [{ name: 'dev', type: 'switch', help: 'Development mode: the development key when no identity provider is configured.' }],
    settings: 'all',
    async run(ctx) {
      const cfg = ctx.config({ dev: ctx.values.dev === true });
      const { serve } = await import('./serve.ts');
      return serve(cfg);
    },
  },
  {
    name: 'token',
    summary: 'Prints a JWT signed by the development key in the data dir (created when missing). Refused when an identity provider is configured.',
    flags: [
      { name: 'sub', type: 'string', required: true, help: 'The subject, e.g. alice.' },
      { name: 'group', type: 'multiple', help: 'A group the token names (in the groups claim), e.g. release-managers.' },
      { name: 'ttl', type: 'string', help: 'How long the token is valid: 90s, 15m, 1h (the default) … up to 7d.' },
    ],
    settings: ['data-dir', 'issuer', 'audience', 'groups-claim'],
    async run({ values, io, config }) {
      const ttl = str(values.ttl) ?? '1h';
      const ttlSeconds = parseDuration(ttl);
      if (!ttlSeconds || ttlSeconds > 7 * 86400) throw new UsageError(`--ttl must be a duration from 1s to 7d such as 15m or 1h, got '${ttl}'`);
      const cfg = config({ dev: true, requirePolicyDir: false });
      if (cfg.auth.mode !== 'dev') {
        throw new ConfigError('an identity provider is configured (VERSIONGATE_JWKS_URL or VERSIONGATE_JWKS_FILE): get tokens from it; `versiongate token` signs with the development key only');
      }
      const { loadOrCreateDevKey, mintDevToken } = await import('../auth/dev-key.ts');
      const key = await loadOrCreateDevKey(cfg.dataDir);
      if (key.created) io.err(`versiongate: created development key ${key.path}\n`);
      const token = await mintDevToken({
        key,
        issuer: cfg.auth.issuer,
        audience: cfg.auth.audience,
        subject: String(values.sub),
        groups: (values.group as string[] | undefined) ?? [],
        groupsClaim: cfg.groupsClaim,
        ttlSeconds,
        clock: systemClock,
      });
      io.out(token + '\n');
      return 0;
    },
  },
  {
    name: 'seed demo',
    summary: 'Loads the demo registry (my_domain with my_repo, prod and staging) into the data dir; run again, adds what is missing and restores deleted or disposed demo versions.',
    flags: [],
    settings: DATA_DIR,
    async run({ io, config }) {
      const cfg = config({ requirePolicyDir: false });
      const { seedDemo } = await import('./seed-demo.ts');
      const report = await withStore(cfg, (store, blobs) => seedDemo(store, blobs, { region: cfg.region }));
      for (const line of report.created) io.out(`created  ${line}\n`);
      for (const line of report.restored) io.out(`restored ${line}\n`);
      for (const line of report.existing) io.out(`exists   ${line}\n`);
      if (report.versionsCreated > 0) {
        // Said on stderr: stdout stays the list scripts read.
        io.err(`${report.versionsCreated} version(s) await their synchronisation: a running server syncs them within a second, or \`versiongate serve\` does when it starts; until then they cannot be downloaded.\n`);
      }
      return 0;
    },
  },
  adminCreate('domain'),
  adminCreate('repository'),
  {
    name: 'audit query',
    summary: 'Prints audit records, newest first, as NDJSON.',
    flags: [
      { name: 'principal', type: 'string', help: 'Only records of this subject.' },
      { name: 'action', type: 'string', help: 'Only this action, e.g. UpdatePackageVersionsStatus.' },
      { name: 'decision', type: 'string', help: 'Allow or Deny.' },
      { name: 'resource', type: 'string', help: 'A resource ARN, or a prefix ending in *.' },
      { name: 'package', type: 'string', help: 'Only this package name.' },
      { name: 'version', type: 'string', help: 'Only this version.' },
      { name: 'since', type: 'string', help: 'An ISO 8601 time.' },
      { name: 'until', type: 'string', help: 'An ISO 8601 time.' },
      { name: 'limit', type: 'string', help: 'At most this many records (default 50, up to 100000).' },
    ],
    settings: DATA_DIR,
    run: (ctx) => audit(ctx, 'query'),
  },
  {
    name: 'audit export',
    summary: 'Prints a time window, oldest first, as NDJSON with the chain fields, for a SIEM.',
    flags: [
      { name: 'since', type: 'string', required: true, help: 'An ISO 8601 time, e.g. 2026-11-01T00:00:00Z.' },
      { name: 'until', type: 'string', help: 'An ISO 8601 time.' },
    ],
    settings: DATA_DIR,
    run: (ctx) => audit(ctx, 'export'),
  },
  {
    name: 'audit verify',
    summary:
      "Walks the audit hash chain and names the first record where it breaks (exit 1). With a saved head, it also catches a truncated or rewritten log; with --state, a version whose status or revision the log does not explain (exit 1).",
    flags: [
      { name: 'head', type: 'string', help: 'A head saved earlier, SEQ:HASH (GET /v1/audit/head).' },
      { name: 'state', type: 'switch', help: "Also compare every version's status and revision with what the log says (changes made around the log)." },
    ],
    settings: DATA_DIR,
    run: (ctx) => audit(ctx, 'verify'),
  },
  {
    name: 'backup',
    summary:
      'Copies the data dir while the server runs: one snapshot of the database and the asset bytes it names, checked (sizes, SHA-256, the audit chain) and flushed before the folder gets its name. Prints what it holds and its audit head. SQLite only: with PostgreSQL, use pg_dump.',
    flags: [{ name: 'to', type: 'string', required: true, help: 'The folder to create (it must not exist), e.g. backups/2026-12-07.' }],
    settings: DATA_DIR,
    async run({ values, io, config }) {
      const cfg = config({ requirePolicyDir: false });
      if (cfg.database.kind === 'postgres') {
        throw new ConfigError('backup copies the embedded SQLite store; with PostgreSQL (VERSIONGATE_DATABASE_URL), back the database up with pg_dump: the asset bytes are in it too');
      }
      const { BackupError, backupDataDir } = await import('../store/sqlite/backup.ts');
      try {
        const report = await backupDataDir({ dataDir: cfg.dataDir, to: String(values.to) });
        io.out(JSON.stringify(report, null, 2) + '\n');
        return 0;
      } catch (e) {
        if (e instanceof BackupError) throw new ConfigError(e.message);
        throw e;
      }
    },
  },
  {
    name: 'policy validate',
    summary: "Validates the policy folder strictly (templates and links included); Cedar's diagnostics as file:line:column (exit 3).",
    flags: [],
    positional: POLICY_DIR_ARG,
    settings: ['policy-dir'],
    run: (ctx) => policy(ctx, 'validate'),
  },
  {
    name: 'policy format',
    summary: "Cedar's formatter over every .cedar file; --check lists unformatted files (exit 1) and changes nothing.",
    flags: [{ name: 'check', type: 'switch', help: 'Only list the files that are not formatted.' }],
    positional: POLICY_DIR_ARG,
    settings: ['policy-dir'],
    run: (ctx) => policy(ctx, 'format'),
  },
  {
    name: 'policy test',
    summary: 'Runs policies/tests/*.json, prints each failure with the expected and actual decision, ends with "N passed, N failed" (exit 1 on a failure).',
    flags: [{ name: 'filter', type: 'string', help: 'Only the tests whose name contains this.' }],
    positional: POLICY_DIR_ARG,
    settings: ['policy-dir', 'groups-claim'],
    run: (ctx) => policy(ctx, 'test'),
  },
  {
    name: 'policy explain',
    summary: 'The decision, the policies that determined it (file and line), and whether a deny came from a forbid or from no permit (exit 0 allow, 2 deny).',
    flags: [
      { name: 'principal-claims', type: 'string', required: true, help: 'Token claims as JSON, e.g. \'{"sub":"alice","groups":["release-managers"]}\'.' },
      { name: 'action', type: 'string', required: true, help: 'The action, e.g. UpdatePackageVersionsStatus.' },
      { name: 'package', type: 'string', required: true, help: 'A package ARN, or a name with the coordinates below.' },
      { name: 'domain', type: 'string', help: 'The domain (with a package name).' },
      { name: 'domain-owner', type: 'string', help: 'The 12-digit account (with a package name).' },
      { name: 'repository', type: 'string', help: 'The repository (with a package name).' },
      { name: 'format', type: 'string', help: 'npm, pypi, maven… (with a package name).' },
      { name: 'namespace', type: 'string', help: 'The namespace (with a package name).' },
      { name: 'context', type: 'string', help: 'The request context as JSON.' },
      { name: 'json', type: 'switch', help: 'Print the explanation as JSON.' },
    ],
    positional: POLICY_DIR_ARG,
    settings: ['policy-dir', 'groups-claim', 'region'],
    run: (ctx) => policy(ctx, 'explain'),
  },
  {
    name: 'policy diff',
    summary: 'Summarises shadow disagreements from the audit: what promoting policies/candidate/ would change.',
    flags: [
      { name: 'since', type: 'string', help: 'Only decisions since this ISO 8601 time.' },
      { name: 'json', type: 'switch', help: 'Print the summary as JSON.' },
    ],
    settings: DATA_DIR,
    run: (ctx) => policy(ctx, 'diff'),
  },
];

/** `domain describe` and the like: the client command each one is, through the API. */
const ALIASES: Record<string, string> = {
  'domain describe': 'describe-domain',
  'domain list': 'list-domains',
  'domain delete': 'delete-domain',
  'repository describe': 'describe-repository',
  'repository list': 'list-repositories-in-domain',
  'repository update': 'update-repository',
  'repository delete': 'delete-repository',
};

const CLIENT: readonly ClientCommand[] = [...CLIENT_COMMANDS, ...PACKAGE_COMMANDS, ...TENANCY_COMMANDS];
const LOCAL_BY_NAME = new Map(COMMANDS.map((c) => [c.name, c]));
/** Every command's whole name (`audit query`, `list-package-versions`), for a guess at a mistyped one. */
const commandNames = (): string[] => [...LOCAL_BY_NAME.keys(), ...CLIENT.map((c) => c.name), ...Object.keys(ALIASES), 'resync'];
const CLIENT_BY_NAME = new Map(CLIENT.map((c) => [c.name, c]));

export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  const [first, second] = argv;
  if (io === processIo && first !== 'serve') endQuietlyWhenTheReaderGoes();
  if (first === undefined) {
    io.err(topHelp());
    return 2;
  }
  if (first === 'help' || first === '--help' || first === '-h') return help(argv.slice(1), io);

  const two = second === undefined ? undefined : `${first} ${second}`;
  try {
    if (first === 'resync') return await (await import('./resync.ts')).runResync(argv.slice(1), io.env, io);
    if (CLIENT_BY_NAME.has(first)) return await runClient(first, argv.slice(1), io);
    if (two !== undefined && ALIASES[two] !== undefined) return await runClient(aliasTarget(two, argv.slice(2)), argv.slice(2), io);
    if ((two === 'domain create' || two === 'repository create') && viaApi(argv.slice(2), io.env)) {
      return await runClient(first === 'domain' ? 'create-domain' : 'create-repository', argv.slice(2), io);
    }
    const command = (two !== undefined ? LOCAL_BY_NAME.get(two) : undefined) ?? LOCAL_BY_NAME.get(first);
    if (!command) {
      const family = COMMANDS.filter((c) => c.name.startsWith(`${first} `)).map((c) => c.name.split(' ')[1]!);
      for (const [alias] of Object.entries(ALIASES)) if (alias.startsWith(`${first} `)) family.push(alias.split(' ')[1]!);
      if (family.length > 0) {
        const guess = second === undefined ? '' : didYouMean(second, family, (s) => `'${first} ${s}'`);
        io.err(`versiongate: ${first} takes one subcommand: ${[...new Set(family)].map((s) => `'${s}'`).join(', ')}${guess}\nRun 'versiongate help' for usage.\n`);
        return 2;
      }
      const known = [...commandNames().map((n) => n.split(' ')[0]!), 'help'];
      io.err(`versiongate: unknown command '${first}'${didYouMean(first, known)}\nRun 'versiongate help' for usage.\n`);
      return 2;
    }
    return await runLocal(command, argv.slice(command.name.split(' ').length), io);
  } catch (err) {
    if (err instanceof ConfigError || err instanceof ApiError) {
      io.err(`versiongate: ${err.message}\n`);
      return 1;
    }
    const { PolicySetError } = await import('../policy/load-policies.ts');
    if (err instanceof PolicySetError) {
      io.err(`versiongate: ${err.message}\n`);
      return 3;
    }
    throw err;
  }
}

async function runClient(name: string, args: readonly string[], io: CliIo): Promise<number> {
  return (await import('./client/run.ts')).runClientCommand(name, args, io.env, io);
}

/** Without --domain, `repository list` lists every domain's repositories (ListRepositories). */
function aliasTarget(alias: string, args: readonly string[]): string {
  const target = ALIASES[alias]!;
  if (target === 'list-repositories-in-domain' && !args.some((a) => a === '--domain' || a.startsWith('--domain='))) return 'list-repositories';
  return target;
}

/**
 * `domain create` and `repository create` have two modes, chosen by what is given: with an
 * endpoint (--endpoint-url or VERSIONGATE_ENDPOINT) and no --data-dir, through the API with a
 * token, so Cedar decides and the audit records it; otherwise straight into the database file under
 * the data directory, for bootstrap (before any server runs, or before anyone holds a token that may
 * create domains). That mode is not authorized nor audited: it is whoever can write the file.
 */
function viaApi(args: readonly string[], env: NodeJS.ProcessEnv): boolean {
  const hasFlag = (flag: string) => args.some((a) => a === `--${flag}` || a.startsWith(`--${flag}=`));
  return (hasFlag('endpoint-url') || Boolean(env.VERSIONGATE_ENDPOINT)) && !hasFlag('data-dir');
}

function adminCreate(noun: 'domain' | 'repository'): LocalCommand {
  return {
    name: `${noun} create`,
    summary:
      noun === 'domain'
        ? 'Bootstrap: creates a domain straight in the database file (without an endpoint, or with --data-dir). With an endpoint, it is create-domain through the API.'
        : 'Bootstrap: creates a repository straight in the database file (without an endpoint, or with --data-dir). With an endpoint, it is create-repository through the API.',
    flags: [
      { name: 'domain', type: 'string', required: true, help: 'The domain, e.g. my_domain.' },
      { name: 'domain-owner', type: 'string', required: true, help: 'The 12-digit account that owns it, e.g. 111122223333.' },
      ...(noun === 'repository' ? [{ name: 'repository', type: 'string' as const, required: true, help: 'The repository, e.g. my_repo.' }] : []),
    ],
    settings: DATA_DIR,
    async run({ values, io, config }) {
      const { checkDomainName, checkDomainOwner, checkRepositoryName } = await import('../resource/coordinates.ts');
      let domain: string, owner: string, repository: string | undefined;
      try {
        domain = checkDomainName(String(values.domain));
        owner = checkDomainOwner(String(values['domain-owner']));
        repository = noun === 'repository' ? checkRepositoryName(String(values.repository)) : undefined;
      } catch (e) {
        // A name the API would refuse with a 400 is, on the command line, a usage error.
        if (e instanceof ApiError) throw new UsageError(e.message);
        throw e;
      }
      const cfg = config({ requirePolicyDir: false });
      const { bootstrapCreate } = await import('./bootstrap-tenancy.ts');
      const created = await withStore<object>(cfg, (store) => bootstrapCreate(store, { clock: systemClock, region: cfg.region, owner, domain, repository }));
      io.out(JSON.stringify(created, null, 2) + '\n');
      return 0;
    },
  };
}

async function withStore<T>(cfg: Config, fn: (store: Store, blobs: BlobStore) => Promise<T>): Promise<T> {
  // The database the settings name (--database-url / VERSIONGATE_DATABASE_URL), as `serve` opens it.
  const { openStores } = await import('../store/open-store.ts');
  const { store, blobs } = await openStores({ database: cfg.database, dataDir: cfg.dataDir, clock: systemClock });
  try {
    return await fn(store, blobs);
  } finally {
    await store.close();
  }
}

async function audit({ values, io, config }: RunContext, sub: 'query' | 'export' | 'verify'): Promise<number> {
  const { AuditUsageError, auditExport, auditQuery, auditVerify } = await import('./audit-commands.ts');
  const cfg = config({ requirePolicyDir: false });
  const out = (line: string) => io.out(line + '\n');
  const err = (line: string) => io.err(line + '\n');
  const run = (store: Store) => (sub === 'query' ? auditQuery(store, values, out, err) : sub === 'export' ? auditExport(store, values, out, err) : auditVerify(store, values, out, err));
  // The audit commands read a log: one that is not there is an error, not an empty chain "intact"
  // (opening it would create the file, and a mistyped --data-dir would verify nothing). The command
  // still checks its options first (a usage error is exit 2 wherever the data dir points): it gets a
  // store that says so at its first use.
  const { DATABASE_FILE } = await import('../store/open-store.ts');
  const file = join(cfg.dataDir, DATABASE_FILE);
  const missing = cfg.database.kind === 'sqlite' && !existsSync(file);
  class NoDatabase extends Error {}
  const noStore = new Proxy({} as Store, {
    get: () => () => {
      throw new NoDatabase(`there is no database at ${file}: no audit log to read (is --data-dir right?)`);
    },
  });
  try {
    return missing ? await run(noStore) : await withStore(cfg, run);
  } catch (e) {
    if (e instanceof AuditUsageError) throw new UsageError(e.message);
    if (e instanceof NoDatabase) {
      io.err(`versiongate: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}

async function policy({ values, positionals, io, config }: RunContext, sub: 'validate' | 'format' | 'test' | 'explain' | 'diff'): Promise<number> {
  const commands = await import('./policy-commands.ts');
  const dir = positionals[0];
  const cfg = config({ requirePolicyDir: sub !== 'diff', ...(dir ? { policyDir: dir } : {}) });
  const out = (line: string) => io.out(line + '\n');
  const err = (line: string) => io.err(line + '\n');
  try {
    switch (sub) {
      case 'validate':
        return commands.policyValidate(cfg.policyDir, out, err);
      case 'format':
        return commands.policyFormat(cfg.policyDir, values.check === true, out, err);
      case 'test':
        return commands.policyTest(cfg.policyDir, str(values.filter), cfg.groupsClaim, out, err);
      case 'explain':
        return commands.policyExplain(cfg.policyDir, values, cfg.groupsClaim, cfg.region, out);
      default:
        return await withStore(cfg, (store) => commands.policyDiff(store, values, out));
    }
  } catch (e) {
    if (e instanceof commands.PolicyUsageError) throw new UsageError(e.message);
    throw e;
  }
}

async function runLocal(command: LocalCommand, args: readonly string[], io: CliIo): Promise<number> {
  try {
    const flags = [...command.flags, ...SETTING_FLAGS];
    const parsed = parseClientArgs(args, flags, command.positional?.max ?? 0);
    if (parsed.help) {
      io.out(commandHelp(command));
      return 0;
    }
    if (command.positional && parsed.positionals.length < command.positional.min) throw new UsageError(`${command.name} needs ${command.positional.synopsis}`);
    const config: RunContext['config'] = ({ dev = true, requirePolicyDir = true, policyDir } = {}) => {
      const given = Object.fromEntries(Object.entries(parsed.values).filter(([, v]) => typeof v === 'string')) as Record<string, string>;
      if (policyDir !== undefined) given['policy-dir'] = policyDir;
      try {
        return parseConfig({ env: io.env, flags: given, dev, requirePolicyDir });
      } catch (e) {
        // A bad value given on the command line is a usage error; one from the environment a failure.
        if (e instanceof ConfigError && SETTING_FLAGS.some((f) => given[f.name] !== undefined && e.message.includes(`(--${f.name})`))) throw new UsageError(e.message);
        throw e;
      }
    };
    return await command.run({ values: parsed.values as LocalValues, positionals: parsed.positionals, io, config });
  } catch (e) {
    if (e instanceof UsageError || e instanceof ClientUsageError) {
      io.err(`versiongate: ${e.message}\n${usageBlock(command)}Run 'versiongate ${command.name} --help' for the details.\n`);
      return 2;
    }
    throw e;
  }
}

function visibleSettings(command: LocalCommand): FlagSpec[] {
  return command.settings === 'all' ? [...SETTING_FLAGS] : SETTING_FLAGS.filter((f) => command.settings.includes(f.name));
}

function synopsisWords(command: LocalCommand, withSettings = true): string[] {
  const settings = command.settings === 'all' ? ['[settings]'] : withSettings ? visibleSettings(command).map(synopsis) : [];
  return [...command.flags.map(synopsis), ...settings, ...(command.positional ? [command.positional.synopsis] : [])];
}

function usageBlock(command: LocalCommand): string {
  return `Usage:\n${usageLines(command.name, synopsisWords(command)).join('\n')}\n`;
}

function commandHelp(command: LocalCommand): string {
  const settings = visibleSettings(command);
  return [
    `versiongate ${command.name}`,
    '',
    ...wrap(command.summary, WIDTH),
    '',
    usageBlock(command).trimEnd(),
    ...(command.flags.length > 0 || command.positional ? ['', 'Options:', ...command.flags.map(flagLine)] : []),
    ...(command.positional ? [described(command.positional.synopsis, command.positional.help)] : []),
    '',
    command.settings === 'all' ? 'Settings (each also an environment variable):' : 'Settings (each also an environment variable; every other setting is accepted too):',
    ...settings.map((f) => `  --${f.name.padEnd(18)} ${f.help}`),
    '',
    'Exit status: 0 success, 1 failure, 2 usage error, 3 invalid policy set.',
    '',
  ].join('\n');
}

function clientSynopsis(command: ClientCommand): string[] {
  return [...command.flags.filter((f) => !f.hidden).map(synopsis), ...(command.positional ? [command.positional.name] : [])];
}

/** `versiongate help`: every command with its synopsis and summary, from the definitions above. */
function topHelp(): string {
  const entry = (name: string, words: readonly string[], summary: string) => [...usageLines(name, words), ...wrap(summary, WIDTH - 6).map((l) => `      ${l}`)];
  const local = COMMANDS.flatMap((c) => entry(c.name, synopsisWords(c, false), c.summary));
  const aliases = Object.entries(ALIASES).flatMap(([alias, target]) => entry(alias, ['…'], `With an endpoint: \`versiongate ${target}\`.`));
  const client = CLIENT.flatMap((c) => entry(c.name, clientSynopsis(c), c.summary));
  const resync = entry('resync', [...RESYNC_FLAGS.filter((f) => !f.hidden).map(synopsis), 'OWNER/REPO/IDENTIFIER...'], 'Schedules a resync of versions and waits for each sync, as `cloudsmith resync` does.');
  return [
    'versiongate: a policy-and-authorization gateway for package registries',
    '',
    "Run 'versiongate COMMAND --help' (or 'versiongate help COMMAND') for a command's flags in full.",
    'Exit status: 0 success, 1 failure, 2 usage error, 3 invalid policy set.',
    '',
    'Server and operator commands (each also takes the settings below):',
    ...local,
    ...aliases,
    '',
    'Client commands: the flags and JSON output of `aws codeartifact`; the gateway from --endpoint-url',
    'or VERSIONGATE_ENDPOINT, the token from --token or VERSIONGATE_TOKEN:',
    ...client,
    ...resync,
    '',
    'Connection (client commands and resync):',
    ...CONNECTION_FLAGS.map(flagLine),
    '',
    'Settings (each also an environment variable):',
    ...SETTING_FLAGS.map((f) => `  --${f.name.padEnd(18)} ${f.help}`),
    '',
  ].join('\n');
}

async function help(args: readonly string[], io: CliIo): Promise<number> {
  if (args.length === 0) {
    io.out(topHelp());
    return 0;
  }
  // `versiongate help audit query` is `versiongate audit query --help`.
  const known = (name: string) => LOCAL_BY_NAME.has(name) || CLIENT_BY_NAME.has(name) || ALIASES[name] !== undefined || name === 'resync';
  const name = args.length >= 2 && known(`${args[0]} ${args[1]}`) ? `${args[0]} ${args[1]}` : args[0]!;
  if (!known(name)) {
    io.err(`versiongate: no command '${args.join(' ')}'${didYouMean(args.join(' '), commandNames())}\nRun 'versiongate help' for usage.\n`);
    return 2;
  }
  return main([...name.split(' '), '--help'], io);
}
