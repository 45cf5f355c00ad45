/**
 * The `versiongate` command. Exit codes: 0 success, 1 failure, 2 usage error, 3 invalid policy set
 * (as the Cedar CLI's validate).
 */
import { parseArgs } from 'node:util';
import { loadOrCreateDevKey, mintDevToken } from '../auth/dev-key.ts';
import { systemClock } from '../clock.ts';
import { parseConfig, SETTINGS, type Config } from '../config.ts';
import { ApiError, ConfigError } from '../errors.ts';
import { startGateway } from '../main.ts';
import { PolicySetError } from '../policy/load-policies.ts';
import { checkDomainName, checkDomainOwner, checkRepositoryName } from '../resource/coordinates.ts';
import type { BlobStore } from '../store/blob-store.ts';
import { openStores } from '../store/open-store.ts';
import type { Store } from '../store/store.ts';
import { AuditUsageError, auditExport, auditQuery, auditVerify } from './audit-commands.ts';
import { policyDiff, PolicyUsageError, policyExplain, policyFormat, policyTest, policyValidate } from './policy-commands.ts';
import { parseDuration } from './duration.ts';
import { seedDemo } from './seed-demo.ts';

const USAGE = `versiongate: a policy-and-authorization gateway for package registries

Usage:
  versiongate serve [--dev] [settings]        serve the gateway (npm start = serve --dev)
  versiongate token --sub SUB [--group G]... [--ttl 1h]
                                              print a JWT signed by the development key
  versiongate seed demo                       load the demo registry (my_domain, my_repo, prod)
  versiongate domain create --domain NAME --domain-owner ACCOUNT
  versiongate repository create --domain NAME --domain-owner ACCOUNT --repository NAME
                                              bootstrap: written straight into the database file
                                              (without an endpoint, or with --data-dir)
  versiongate domain create|describe|list|delete …
  versiongate repository create|describe|list|update|delete …
                                              through the API when an endpoint is given: the
                                              client commands below (create-domain, …)
  versiongate audit query [--principal SUB] [--action A] [--decision D] [--resource ARN|PREFIX*]
                          [--package NAME] [--version V] [--since T] [--until T] [--limit N]
  versiongate audit export --since T [--until T]   NDJSON, oldest first, for a SIEM
  versiongate audit verify [--head SEQ:HASH]       walk the hash chain; exit 1 where it breaks
  versiongate policy validate [DIR]                strict validation, templates and links included (exit 3)
  versiongate policy format [--check] [DIR]        Cedar's formatter over every .cedar file
  versiongate policy test [DIR] [--filter NAME]    run policies/tests/*.json; last line N passed, N failed
  versiongate policy explain --principal-claims JSON --action A --package ARN|NAME [coordinates] [--context JSON] [--json]
  versiongate policy diff [--since T]              what a shadow (candidate) set would change, from the audit
  versiongate help

Client commands: the flags and JSON output of \`aws codeartifact\`, --help on each; the gateway
from --endpoint-url or VERSIONGATE_ENDPOINT, the token from --token or VERSIONGATE_TOKEN:
  versiongate update-package-versions-status --domain D [--domain-owner A] --repository R --format F
                          [--namespace N] --package P --versions V... --target-status S
                          [--expected-status S] [--version-revisions "V1=REV1,V2=REV2"]
  versiongate dispose-package-versions …       (as above, without --target-status)
  versiongate delete-package-versions …        (as above, without --target-status, --version-revisions)
  versiongate list-package-versions … [--status S] [--max-items N] [--starting-token T] [--no-paginate]
  versiongate describe-package-version … --package-version V
  versiongate list-package-version-assets … --package-version V
  versiongate get-package-version-asset … --package-version V --asset NAME OUTFILE
  versiongate publish-package-version … --package-version V --asset-content FILE --asset-name NAME
                          [--asset-sha256 HEX] [--unfinished]
  versiongate describe-package …               the package and its origin configuration
  versiongate list-packages --domain D [--domain-owner A] --repository R [--format F] [--namespace PREFIX]
                          [--package-prefix PREFIX] [--publish ALLOW|BLOCK] [--upstream ALLOW|BLOCK] [--max-items N]
  versiongate delete-package …                 the package and every version it holds
  versiongate put-package-origin-configuration … --restrictions publish=ALLOW|BLOCK,upstream=ALLOW|BLOCK
  versiongate get-package-version-readme … --package-version V
  versiongate list-package-version-dependencies … --package-version V
  versiongate copy-package-versions --domain D [--domain-owner A] --source-repository R --destination-repository R
                          --format F [--namespace N] --package P --versions V... | --version-revisions "V1=REV1"
                          [--allow-overwrite] [--include-from-upstream]
  versiongate create-domain --domain D
  versiongate describe-domain | delete-domain --domain D [--domain-owner A]
  versiongate list-domains [--max-items N] [--starting-token T] [--no-paginate]
  versiongate create-repository | update-repository --domain D [--domain-owner A] --repository R
                          [--description TEXT] [--upstreams repositoryName=NAME...]
  versiongate describe-repository | delete-repository --domain D [--domain-owner A] --repository R
  versiongate list-repositories [--repository-prefix P] …
  versiongate list-repositories-in-domain --domain D [--domain-owner A] [--repository-prefix P] …
  versiongate resync [--no-wait] [--wait-interval S] [--sync-attempts N] OWNER/REPO/IDENTIFIER...
                                              resync versions and wait for each sync (\`cloudsmith resync\`)

Settings (each also an environment variable):
${Object.values(SETTINGS)
  .map((s) => `  --${s.flag.padEnd(18)} ${s.env}${s.default ? ` (default ${s.default})` : ''}`)
  .join('\n')}
`;

class UsageError extends Error {}

const settingOptions = Object.fromEntries(Object.values(SETTINGS).map((s) => [s.flag, { type: 'string' as const }]));

export async function main(argv: string[]): Promise<number> {
  try {
    return await run(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`versiongate: ${err.message}\nRun 'versiongate help' for usage.\n`);
      return 2;
    }
    if (err instanceof PolicySetError) {
      process.stderr.write(`versiongate: ${err.message}\n`);
      return 3;
    }
    if (err instanceof ConfigError || err instanceof ApiError) {
      process.stderr.write(`versiongate: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

type OptionSpec = Record<string, { type: 'string' | 'boolean'; multiple?: boolean; default?: string | boolean }>;
type ParsedValues = Record<string, string | boolean | string[] | undefined>;

function parse(args: string[], extra: OptionSpec = {}): { values: ParsedValues; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({ args, options: { ...settingOptions, ...extra }, allowPositionals: true, strict: true });
    return { values: values as ParsedValues, positionals };
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

async function run(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      return serveCommand(rest);
    case 'token':
      return tokenCommand(rest);
    case 'seed':
      return seedCommand(rest);
    case 'domain':
    case 'repository':
      return tenancyCommand(command, rest);
    case 'audit':
      return auditCommand(rest);
    case 'update-package-versions-status':
    case 'dispose-package-versions':
    case 'delete-package-versions':
    case 'list-package-versions':
    case 'describe-package-version':
    case 'list-package-version-assets':
    case 'get-package-version-asset':
    case 'publish-package-version':
    case 'describe-package':
    case 'list-packages':
    case 'delete-package':
    case 'put-package-origin-configuration':
    case 'get-package-version-readme':
    case 'list-package-version-dependencies':
    case 'copy-package-versions':
    case 'create-domain':
    case 'describe-domain':
    case 'list-domains':
    case 'delete-domain':
    case 'create-repository':
    case 'describe-repository':
    case 'list-repositories':
    case 'list-repositories-in-domain':
    case 'update-repository':
    case 'delete-repository':
      // Loaded on use, so the AWS SDK stays out of every other command's start-up.
      return (await import('./client/run.ts')).runClientCommand(command, rest, process.env);
    case 'resync':
      return (await import('./resync.ts')).runResync(rest, process.env);
    case 'policy':
      return policyCommand(rest);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      throw new UsageError(`unknown command '${command}'`);
  }
}

function config(values: ParsedValues, dev: boolean, requirePolicyDir = true): Config {
  return parseConfig({ env: process.env, flags: values as Record<string, string>, dev, requirePolicyDir });
}

async function serveCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { dev: { type: 'boolean', default: false } });
  if (positionals.length > 0) throw new UsageError(`serve takes no arguments, got '${positionals.join(' ')}'`);
  const gateway = await startGateway(config(values, values.dev === true));
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      // A second signal: the operator wants out now. Nothing is half-written: each commit is one
      // synchronous SQLite transaction, and the signal handler cannot run in the middle of one.
      if (stopping) {
        process.stderr.write(`versiongate: ${signal} received again, exiting now\n`);
        process.exit(1);
      }
      stopping = true;
      process.stderr.write(`versiongate: ${signal} received, closing\n`);
      gateway.close().then(
        () => resolve(0),
        (err: unknown) => {
          process.stderr.write(`versiongate: closing failed: ${(err as Error).message}\n`);
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
    // SIGHUP reloads the policy set: validated and tested first, swapped in only if both pass.
    process.on('SIGHUP', () => {
      void gateway.reloadPolicies().then((o) => process.stderr.write(`versiongate: SIGHUP: policy set ${o.outcome}${o.hash ? ` (${o.hash.slice(0, 12)})` : ''}\n`));
    });
  });
}

async function tokenCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    sub: { type: 'string' },
    group: { type: 'string', multiple: true },
    ttl: { type: 'string', default: '1h' },
  });
  if (positionals.length > 0) throw new UsageError(`token takes no arguments, got '${positionals.join(' ')}'`);
  if (!values.sub) throw new UsageError('token needs --sub (the subject, e.g. --sub alice)');
  const ttlSeconds = parseDuration(String(values.ttl));
  if (!ttlSeconds || ttlSeconds > 7 * 86400) throw new UsageError(`--ttl must be a duration from 1s to 7d such as 15m or 1h, got '${values.ttl}'`);
  const cfg = config(values, true, false);
  if (cfg.auth.mode !== 'dev') {
    throw new ConfigError('an identity provider is configured (VERSIONGATE_JWKS_URL or VERSIONGATE_JWKS_FILE): get tokens from it; `versiongate token` signs with the development key only');
  }
  const key = await loadOrCreateDevKey(cfg.dataDir);
  if (key.created) process.stderr.write(`versiongate: created development key ${key.path}\n`);
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
  process.stdout.write(token + '\n');
  return 0;
}

async function withStore<T>(cfg: Config, fn: (store: Store, blobs: BlobStore) => Promise<T>): Promise<T> {
  // The database the settings name (--database-url / VERSIONGATE_DATABASE_URL), as `serve` opens it.
  const { store, blobs } = await openStores({ database: cfg.database, dataDir: cfg.dataDir, clock: systemClock });
  try {
    return await fn(store, blobs);
  } finally {
    await store.close();
  }
}

async function seedCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args);
  if (positionals.length !== 1 || positionals[0] !== 'demo') throw new UsageError("seed takes one argument: 'demo'");
  const cfg = config(values, true, false);
  const report = await withStore(cfg, (store, blobs) => seedDemo(store, blobs));
  for (const line of report.created) process.stdout.write(`created  ${line}\n`);
  for (const line of report.existing) process.stdout.write(`exists   ${line}\n`);
  if (report.versionsCreated > 0) {
    // Said on stderr: stdout stays the list scripts read.
    process.stderr.write(`${report.versionsCreated} version(s) await their synchronisation: a running server syncs them within a second, or \`versiongate serve\` does when it starts; until then they cannot be downloaded.\n`);
  }
  return 0;
}

/** `domain SUB` and `repository SUB` through the API: the aws-named client command each one is. */
const API_SUBCOMMANDS: Record<'domain' | 'repository', Record<string, string>> = {
  domain: { create: 'create-domain', describe: 'describe-domain', list: 'list-domains', delete: 'delete-domain' },
  repository: { create: 'create-repository', describe: 'describe-repository', list: 'list-repositories-in-domain', update: 'update-repository', delete: 'delete-repository' },
};

/**
 * Two modes, chosen by what is given: with an endpoint (--endpoint-url or VERSIONGATE_ENDPOINT) and
 * no --data-dir, through the API with a token, so Cedar decides and the audit records it; otherwise
 * straight into the database file under the data directory, for bootstrap (before any server runs,
 * or before anyone holds a token that may create domains). That mode is not authorized nor audited:
 * it is whoever can write the database file.
 */
async function tenancyCommand(noun: 'domain' | 'repository', args: string[]): Promise<number> {
  const hasFlag = (flag: string) => args.some((a) => a === `--${flag}` || a.startsWith(`--${flag}=`));
  const viaApi = (hasFlag('endpoint-url') || Boolean(process.env.VERSIONGATE_ENDPOINT)) && !hasFlag('data-dir');
  if (!viaApi) return adminCommand(noun, args);
  const [sub, ...rest] = args;
  let command = sub === undefined ? undefined : API_SUBCOMMANDS[noun][sub];
  if (!command) throw new UsageError(`${noun} takes one subcommand: ${Object.keys(API_SUBCOMMANDS[noun]).map((s) => `'${s}'`).join(', ')}`);
  // Without --domain, `repository list` lists every domain's repositories (ListRepositories).
  if (command === 'list-repositories-in-domain' && !rest.some((a) => a === '--domain' || a.startsWith('--domain='))) command = 'list-repositories';
  return (await import('./client/run.ts')).runClientCommand(command, rest, process.env);
}

async function adminCommand(noun: 'domain' | 'repository', args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    domain: { type: 'string' },
    'domain-owner': { type: 'string' },
    repository: { type: 'string' },
  });
  if (positionals.length !== 1 || positionals[0] !== 'create') throw new UsageError(`${noun} takes one subcommand: 'create'`);
  if (!values.domain || !values['domain-owner']) throw new UsageError(`${noun} create needs --domain and --domain-owner`);
  if (noun === 'repository' && !values.repository) throw new UsageError('repository create needs --repository');
  const domain = checkDomainName(String(values.domain));
  const owner = checkDomainOwner(String(values['domain-owner']));
  const repository = noun === 'repository' ? checkRepositoryName(String(values.repository)) : undefined;
  const cfg = config(values, true, false);
  const created = await withStore<object>(cfg, (store) => (repository ? store.createRepository(owner, domain, repository) : store.createDomain(domain, owner)));
  process.stdout.write(JSON.stringify(created, null, 2) + '\n');
  return 0;
}

async function auditCommand(args: string[]): Promise<number> {
  const filterFlags = ['principal', 'action', 'decision', 'resource', 'package', 'version', 'since', 'until', 'limit', 'head'];
  const { values, positionals } = parse(args, Object.fromEntries(filterFlags.map((f) => [f, { type: 'string' as const }])));
  const [sub, ...extra] = positionals;
  if (extra.length > 0 || !sub || !['query', 'export', 'verify'].includes(sub)) throw new UsageError("audit takes one subcommand: 'query', 'export' or 'verify'");
  const cfg = config(values, true, false);
  const out = (line: string) => process.stdout.write(line + '\n');
  const err = (line: string) => process.stderr.write(line + '\n');
  try {
    return await withStore(cfg, (store) => (sub === 'query' ? auditQuery(store, values, out) : sub === 'export' ? auditExport(store, values, out) : auditVerify(store, values, out, err)));
  } catch (e) {
    if (e instanceof AuditUsageError) throw new UsageError(e.message);
    throw e;
  }
}

async function policyCommand(args: string[]): Promise<number> {
  const flags = ['filter', 'principal-claims', 'action', 'package', 'domain', 'domain-owner', 'repository', 'format', 'namespace', 'context', 'since'];
  const { values, positionals } = parse(args, {
    ...Object.fromEntries(flags.map((f) => [f, { type: 'string' as const }])),
    check: { type: 'boolean' },
    json: { type: 'boolean' },
  });
  const [sub, dirArg, ...extra] = positionals;
  if (extra.length > 0 || !sub || !['validate', 'format', 'test', 'explain', 'diff'].includes(sub)) {
    throw new UsageError("policy takes one subcommand: 'validate', 'format', 'test', 'explain' or 'diff'");
  }
  const cfg = config(dirArg ? { ...values, 'policy-dir': dirArg } : values, true, sub !== 'diff');
  const out = (line: string) => process.stdout.write(line + '\n');
  const err = (line: string) => process.stderr.write(line + '\n');
  try {
    switch (sub) {
      case 'validate':
        return policyValidate(cfg.policyDir, out, err);
      case 'format':
        return policyFormat(cfg.policyDir, values.check === true, out, err);
      case 'test':
        return policyTest(cfg.policyDir, typeof values.filter === 'string' ? values.filter : undefined, cfg.groupsClaim, out, err);
      case 'explain':
        return policyExplain(cfg.policyDir, values, cfg.groupsClaim, cfg.region, out);
      default:
        return await withStore(cfg, (store) => policyDiff(store, values, out));
    }
  } catch (e) {
    if (e instanceof PolicyUsageError) throw new UsageError(e.message);
    throw e;
  }
}
