/**
 * The client commands: each is an `aws codeartifact` command of the same name, with its flags, and
 * prints what that command prints. Each runs one CodeArtifact operation through the AWS SDK.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, statSync } from 'node:fs';
import { lstat, realpath, rename, rm, stat } from 'node:fs/promises';
import { constants } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { CodeartifactClient, PackageFormat, PackageVersionStatus } from '@aws-sdk/client-codeartifact';
import { ClientUsageError, type FlagSpec, type FlagValues } from './args.ts';
import { keepExtensions, withInclude } from './keep-extensions.ts';
import { sdk } from './sdk.ts';
import { cliValue, formatCliJson, SHAPES, type Shape } from './aws-json.ts';
import { paginate, type FetchPage, type PaginationConfig } from './paginate.ts';

export interface CommandContext {
  client: CodeartifactClient;
  values: FlagValues;
  positionals: string[];
  out(text: string): void;
  err(text: string): void;
}

export interface ClientCommand {
  name: string;
  /** The CodeArtifact operation (and Cedar action) it calls. */
  operation: string;
  summary: string;
  flags: readonly FlagSpec[];
  /** `problem` says what is wrong with the value before anything is sent (a usage error), or undefined. */
  positional?: { name: string; help: string; problem?: (value: string) => string | undefined };
  /** Changes something: sent once, never retried (see codeArtifactClient). */
  mutates: boolean;
  run(ctx: CommandContext): Promise<number>;
}

export const PACKAGE_FLAGS: readonly FlagSpec[] = [
  { name: 'domain', type: 'string', required: true, help: 'The domain, e.g. my_domain.' },
  { name: 'domain-owner', type: 'string', help: "The 12-digit account that owns the domain. Default: the gateway's account (VERSIONGATE_ACCOUNT_ID on the server)." },
  { name: 'repository', type: 'string', required: true, help: 'The repository, e.g. my_repo.' },
  { name: 'format', type: 'string', required: true, help: 'npm, pypi, maven, nuget, generic, ruby, swift or cargo.' },
  { name: 'namespace', type: 'string', help: 'The npm scope (without @), the Maven group ID, the generic namespace…' },
  { name: 'package', type: 'string', required: true, help: 'The package name, e.g. chalk.' },
];

const VERSIONS: FlagSpec = { name: 'versions', type: 'list', required: true, help: 'The versions, separated by spaces: --versions 4.1.0 4.1.1' };
const VERSION_REVISIONS: FlagSpec = {
  name: 'version-revisions',
  type: 'map',
  help: 'The revision each version must still have: "4.1.0=REV1,4.1.1=REV2". Every version named must also be in --versions.',
};
const EXPECTED_STATUS: FlagSpec = { name: 'expected-status', type: 'string', help: 'Change only versions that have this status now (Published, Unlisted, Archived…).' };
export const PACKAGE_VERSION: FlagSpec = { name: 'package-version', type: 'string', required: true, help: 'The version, e.g. 4.1.0.' };

/** The flags of a paginated list, as the aws CLI has them; the raw ones are hidden as there. */
export const PAGINATION_FLAGS: readonly FlagSpec[] = [
  { name: 'starting-token', type: 'string', help: 'Resume from the NextToken a previous --max-items printed.' },
  { name: 'page-size', type: 'integer', help: 'Items to ask for in each call (all pages are still fetched).' },
  { name: 'max-items', type: 'integer', help: 'Stop after this many items and print a NextToken to resume from.' },
  { name: 'no-paginate', type: 'switch', help: 'Make one call and print its output, nextToken included.' },
  { name: 'max-results', type: 'integer', hidden: true, help: 'maxResults of a single call (implies --no-paginate).' },
  { name: 'next-token', type: 'string', hidden: true, help: 'nextToken of a single call (implies --no-paginate).' },
];

export function coordinates(values: FlagValues) {
  return {
    domain: values.domain as string,
    domainOwner: values['domain-owner'] as string | undefined,
    repository: values.repository as string,
    format: values.format as PackageFormat,
    namespace: values.namespace as string | undefined,
    package: values.package as string,
  };
}

const versionStatus = (v: FlagValues[string]) => v as PackageVersionStatus | undefined;

export function print(ctx: CommandContext, output: unknown, shape: Shape): void {
  ctx.out(formatCliJson(cliValue(output, shape)));
}

/**
 * The JSON as the aws CLI prints it, then the exit code: a call that answers 200 but lists failed
 * versions did not do what was asked (all or nothing: nothing changed), so it exits 1.
 */
function versionsResult(ctx: CommandContext, operation: string, output: { successfulVersions?: Record<string, unknown>; failedVersions?: Record<string, { errorCode?: string }> }): number {
  print(ctx, output, SHAPES.PackageVersionsResult);
  const failed = Object.entries(output.failedVersions ?? {});
  if (failed.length === 0) return 0;
  const total = failed.length + Object.keys(output.successfulVersions ?? {}).length;
  ctx.err(`versiongate: ${operation}: ${failed.length} of ${total} version(s) failed: ${failed.map(([v, e]) => `${v} (${e.errorCode ?? 'unknown'})`).join(', ')}\n`);
  return 1;
}

/**
 * A paginated list: every page (or --max-items) unless --no-paginate or a raw pagination flag asks
 * for a single call, exactly as the aws CLI decides.
 */
export async function list(
  ctx: CommandContext,
  config: PaginationConfig & { shape: Shape; itemShape: Shape },
  call: FetchPage,
): Promise<number> {
  const v = ctx.values;
  const raw = v['next-token'] !== undefined || v['max-results'] !== undefined;
  if (v['no-paginate'] === true || raw) {
    const used = ['starting-token', 'page-size', 'max-items'].filter((f) => v[f] !== undefined);
    if (used.length > 0) {
      const why = raw ? '--next-token or --max-results (which make one call)' : '--no-paginate';
      throw new ClientUsageError(`cannot give ${why} along with pagination arguments: ${used.map((f) => `--${f}`).join(', ')}`);
    }
    print(ctx, await call(v['next-token'] as string | undefined, v['max-results'] as number | undefined), config.shape);
    return 0;
  }
  for (const f of ['page-size', 'max-items'] as const) {
    if (v[f] === 0) throw new ClientUsageError(`--${f} must be at least 1`);
  }
  const result = await paginate(call, config, {
    startingToken: v['starting-token'] as string | undefined,
    pageSize: v['page-size'] as number | undefined,
    maxItems: v['max-items'] as number | undefined,
  });
  // Only the list is in model shape; the other members are the scalars botocore copied, nulls kept.
  if (result[config.resultKey] !== undefined) result[config.resultKey] = cliValue(result[config.resultKey], { list: config.itemShape });
  ctx.out(formatCliJson(result));
  return 0;
}

export const itemShape = (shape: Shape, member: string): Shape => {
  if (typeof shape !== 'object' || !('struct' in shape)) throw new Error('not a structure');
  const list = shape.struct.find(([name]) => name === member)?.[1];
  if (typeof list !== 'object' || !('list' in list)) throw new Error(`${member} is not a list`);
  return list.list;
};

/**
 * Streams the asset into OUTFILE. A regular file is written beside it and renamed into place only
 * once every byte has arrived, so a download that breaks off never leaves a truncated file that
 * looks complete. Anything else (a device such as /dev/stdout, a pipe, a symlink) is written
 * directly, as the aws CLI does.
 */
async function saveStream(body: Readable | undefined, outfile: string): Promise<void> {
  const source = body ?? Readable.from([]);
  let existing: Awaited<ReturnType<typeof lstat>> | undefined;
  try {
    existing = await lstat(outfile);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (existing && !existing.isFile()) {
    await pipeline(source, createWriteStream(outfile));
    return;
  }
  const part = join(dirname(outfile), `.${basename(outfile)}.${randomBytes(6).toString('hex')}.part`);
  // Ctrl-C (or a SIGTERM) would end the process where it stands, the hidden part file left behind:
  // while it exists, either signal stops the download instead, and the part file goes with it.
  const stop = new AbortController();
  let interrupted: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    interrupted = signal;
    stop.abort();
  };
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
  try {
    await pipeline(source, createWriteStream(part, { flags: 'wx' }), { signal: stop.signal });
    await rename(part, outfile);
  } catch (err) {
    await rm(part, { force: true });
    if (interrupted) throw new Interrupted(interrupted, outfile);
    throw err;
  } finally {
    for (const signal of STOP_SIGNALS) process.off(signal, onSignal);
  }
}

const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/** A download stopped by a signal; its part file is removed, OUTFILE was not written. */
export class Interrupted extends Error {
  constructor(
    readonly signal: NodeJS.Signals,
    outfile: string,
  ) {
    super(`interrupted (${signal}): the download stopped and its partial file was removed; ${outfile} was not written`);
  }

  /** 128 + the signal's number, as a shell reports a command a signal ended: 130 for Ctrl-C, as the aws CLI exits on it. */
  get exitCode(): number {
    return 128 + constants.signals[this.signal as keyof typeof constants.signals];
  }
}

/** The asset file, resolved: the SDK measures Content-Length with lstat, which a symlink would fool. */
async function assetFile(path: string): Promise<string> {
  let real: string;
  try {
    real = await realpath(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (err as Error).message;
    throw new AssetFileError(`--asset-content: cannot read '${path}': ${why}`);
  }
  if (!(await stat(real)).isFile()) throw new AssetFileError(`--asset-content: '${path}' is not a regular file`);
  return real;
}

export class AssetFileError extends Error {}

/** Hex SHA-256 of a file, read as a stream: a large asset is never held in memory. */
async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

const listVersionsConfig = {
  resultKey: 'versions',
  nonAggregateKeys: ['defaultDisplayVersion', 'format', 'package', 'namespace'],
  shape: SHAPES.ListPackageVersionsResult,
  itemShape: itemShape(SHAPES.ListPackageVersionsResult, 'versions'),
} as const;
const listAssetsConfig = {
  resultKey: 'assets',
  nonAggregateKeys: ['package', 'format', 'namespace', 'version', 'versionRevision'],
  shape: SHAPES.ListPackageVersionAssetsResult,
  itemShape: itemShape(SHAPES.ListPackageVersionAssetsResult, 'assets'),
} as const;

export const CLIENT_COMMANDS: readonly ClientCommand[] = [
  {
    name: 'update-package-versions-status',
    operation: 'UpdatePackageVersionsStatus',
    summary: 'Sets the status of package versions to Published, Unlisted or Archived, all or nothing.',
    flags: [...PACKAGE_FLAGS, VERSIONS, VERSION_REVISIONS, EXPECTED_STATUS, { name: 'target-status', type: 'string', required: true, help: 'Published, Unlisted or Archived.' }],
    mutates: true,
    async run(ctx) {
      const v = ctx.values;
      const output = await ctx.client.send(
        new (sdk().UpdatePackageVersionsStatusCommand)({
          ...coordinates(v),
          versions: v.versions as string[],
          versionRevisions: v['version-revisions'] as Record<string, string> | undefined,
          expectedStatus: versionStatus(v['expected-status']),
          targetStatus: v['target-status'] as PackageVersionStatus,
        }),
      );
      return versionsResult(ctx, this.operation, output);
    },
  },
  {
    name: 'dispose-package-versions',
    operation: 'DisposePackageVersions',
    summary: "Disposes package versions: their assets are deleted for good and the versions stay as Disposed. All or nothing.",
    flags: [...PACKAGE_FLAGS, VERSIONS, VERSION_REVISIONS, EXPECTED_STATUS],
    mutates: true,
    async run(ctx) {
      const v = ctx.values;
      const output = await ctx.client.send(
        new (sdk().DisposePackageVersionsCommand)({
          ...coordinates(v),
          versions: v.versions as string[],
          versionRevisions: v['version-revisions'] as Record<string, string> | undefined,
          expectedStatus: versionStatus(v['expected-status']),
        }),
      );
      return versionsResult(ctx, this.operation, output);
    },
  },
  {
    name: 'delete-package-versions',
    operation: 'DeletePackageVersions',
    summary: 'Deletes package versions and their assets, whatever their status. All or nothing.',
    flags: [...PACKAGE_FLAGS, VERSIONS, EXPECTED_STATUS],
    mutates: true,
    async run(ctx) {
      const v = ctx.values;
      const output = await ctx.client.send(
        new (sdk().DeletePackageVersionsCommand)({ ...coordinates(v), versions: v.versions as string[], expectedStatus: versionStatus(v['expected-status']) }),
      );
      return versionsResult(ctx, this.operation, output);
    },
  },
  {
    name: 'copy-package-versions',
    operation: 'CopyPackageVersions',
    summary: 'Copies package versions, with their assets, from one repository to another of the same domain (a promotion). All or nothing.',
    flags: [
      PACKAGE_FLAGS[0]!,
      PACKAGE_FLAGS[1]!,
      { name: 'source-repository', type: 'string', required: true, help: 'The repository the versions are copied from, e.g. staging.' },
      { name: 'destination-repository', type: 'string', required: true, help: 'The repository they are copied into, e.g. prod.' },
      ...PACKAGE_FLAGS.slice(3),
      { name: 'versions', type: 'list', help: 'The versions, separated by spaces: --versions 1.0.0 1.0.1. Give this or --version-revisions.' },
      {
        name: 'version-revisions',
        type: 'map',
        help: 'The versions to copy, each with the revision it must still have in the source: "1.0.0=REV1,1.0.1=REV2". Give this or --versions.',
      },
      { name: 'allow-overwrite', type: 'boolean', help: 'Replace a version the destination already has (otherwise it fails with ALREADY_EXISTS).' },
      { name: 'include-from-upstream', type: 'boolean', help: "Also copy from the source's upstream repositories (versiongate's repositories have none)." },
    ],
    mutates: true,
    async run(ctx) {
      const v = ctx.values;
      const output = await ctx.client.send(
        new (sdk().CopyPackageVersionsCommand)({
          domain: v.domain as string,
          domainOwner: v['domain-owner'] as string | undefined,
          sourceRepository: v['source-repository'] as string,
          destinationRepository: v['destination-repository'] as string,
          format: v.format as PackageFormat,
          namespace: v.namespace as string | undefined,
          package: v.package as string,
          versions: v.versions as string[] | undefined,
          versionRevisions: v['version-revisions'] as Record<string, string> | undefined,
          allowOverwrite: v['allow-overwrite'] as boolean | undefined,
          includeFromUpstream: v['include-from-upstream'] as boolean | undefined,
        }),
      );
      return versionsResult(ctx, this.operation, output);
    },
  },
  {
    name: 'list-package-versions',
    operation: 'ListPackageVersions',
    summary: 'Lists the versions of a package, following every page unless --max-items or --no-paginate says otherwise.',
    flags: [
      ...PACKAGE_FLAGS,
      { name: 'status', type: 'string', help: 'Only versions with this status (Unlisted versions are listed only when asked for).' },
      { name: 'sort-by', type: 'string', help: 'PUBLISHED_TIME.' },
      { name: 'origin-type', type: 'string', help: 'INTERNAL, EXTERNAL or UNKNOWN.' },
      {
        name: 'include',
        type: 'string',
        help: "versiongate's own: what each version also carries, comma-separated: publishedTime, sync (its sync state, as `versiongate resync` prints it). One audited read for each page.",
      },
      ...PAGINATION_FLAGS,
    ],
    mutates: false,
    async run(ctx) {
      const v = ctx.values;
      return list(ctx, listVersionsConfig, (nextToken, maxResults) =>
        ctx.client.send(
          keepExtensions(
            withInclude(
              new (sdk().ListPackageVersionsCommand)({
                ...coordinates(v),
                status: versionStatus(v.status),
                sortBy: v['sort-by'] as 'PUBLISHED_TIME' | undefined,
                originType: v['origin-type'] as 'INTERNAL' | 'EXTERNAL' | 'UNKNOWN' | undefined,
                maxResults,
                nextToken,
              }),
              v.include as string | undefined,
            ),
            { list: 'versions' },
          ),
        ),
      );
    },
  },
  {
    name: 'describe-package-version',
    operation: 'DescribePackageVersion',
    summary: 'Describes one package version: its status, revision, publication time and metadata.',
    flags: [...PACKAGE_FLAGS, PACKAGE_VERSION],
    mutates: false,
    async run(ctx) {
      const v = ctx.values;
      const command = new (sdk().DescribePackageVersionCommand)({ ...coordinates(v), packageVersion: v['package-version'] as string });
      print(ctx, await ctx.client.send(keepExtensions(command, { object: 'packageVersion' })), SHAPES.DescribePackageVersionResult);
      return 0;
    },
  },
  {
    name: 'list-package-version-assets',
    operation: 'ListPackageVersionAssets',
    summary: "Lists a package version's assets with their sizes and hashes, following every page unless --max-items or --no-paginate says otherwise.",
    flags: [...PACKAGE_FLAGS, PACKAGE_VERSION, ...PAGINATION_FLAGS],
    mutates: false,
    async run(ctx) {
      const v = ctx.values;
      return list(ctx, listAssetsConfig, (nextToken, maxResults) =>
        ctx.client.send(new (sdk().ListPackageVersionAssetsCommand)({ ...coordinates(v), packageVersion: v['package-version'] as string, maxResults, nextToken })),
      );
    },
  },
  {
    name: 'get-package-version-asset',
    operation: 'GetPackageVersionAsset',
    summary: "Downloads one asset into OUTFILE (streamed, never held in memory) and prints the asset's name, version and revision.",
    flags: [
      ...PACKAGE_FLAGS,
      PACKAGE_VERSION,
      { name: 'asset', type: 'string', required: true, help: 'The asset name, e.g. package.tgz.' },
      { name: 'package-version-revision', type: 'string', help: 'Download only if the version still has this revision.' },
    ],
    positional: { name: 'OUTFILE', help: 'Where to write the asset.', problem: outfileProblem },
    mutates: false,
    async run(ctx) {
      const v = ctx.values;
      const outfile = ctx.positionals[0]!;
      const output = await ctx.client.send(
        new (sdk().GetPackageVersionAssetCommand)({
          ...coordinates(v),
          packageVersion: v['package-version'] as string,
          asset: v.asset as string,
          packageVersionRevision: v['package-version-revision'] as string | undefined,
        }),
      );
      await saveStream(output.asset as Readable | undefined, outfile);
      print(ctx, output, SHAPES.GetPackageVersionAssetResult);
      return 0;
    },
  },
  {
    name: 'publish-package-version',
    operation: 'PublishPackageVersion',
    summary: 'Publishes one asset of a generic package version, streaming the file. With --unfinished the version stays Unfinished until an asset is published without it.',
    flags: [
      ...PACKAGE_FLAGS,
      PACKAGE_VERSION,
      { name: 'asset-content', type: 'string', required: true, help: 'The file to upload.' },
      { name: 'asset-name', type: 'string', required: true, help: 'The asset name, e.g. my-tool-1.0.0.tar.gz.' },
      { name: 'asset-sha256', type: 'string', help: 'Hex SHA-256 of the file. The aws CLI requires it; versiongate computes it by reading the file first when it is left out.' },
      { name: 'unfinished', type: 'boolean', help: 'Keep the version Unfinished (more assets follow); --no-unfinished sends unfinished=false.' },
    ],
    mutates: true,
    async run(ctx) {
      const v = ctx.values;
      const given = v['asset-sha256'] as string | undefined;
      if (given !== undefined && !/^[0-9a-fA-F]{64}$/.test(given)) throw new ClientUsageError('--asset-sha256 must be 64 hexadecimal digits (the SHA-256 of the file)');
      const file = await assetFile(v['asset-content'] as string);
      // Hashing reads the file once before it is sent; if it changes in between, the gateway's
      // own SHA-256 check refuses the upload (400) rather than storing bytes nobody hashed.
      const assetSHA256 = given ?? (await sha256File(file));
      const output = await ctx.client.send(
        new (sdk().PublishPackageVersionCommand)({
          ...coordinates(v),
          packageVersion: v['package-version'] as string,
          assetContent: createReadStream(file),
          assetName: v['asset-name'] as string,
          assetSHA256,
          unfinished: v.unfinished as boolean | undefined,
        }),
      );
      print(ctx, output, SHAPES.PublishPackageVersionResult);
      return 0;
    },
  },
];

/**
 * What is wrong with OUTFILE that would otherwise show only after the asset had been downloaded: no
 * name at all, a folder, or a folder that does not exist to hold it.
 */
export function outfileProblem(outfile: string): string | undefined {
  if (outfile === '') return 'OUTFILE is empty: give the file to write to, e.g. chalk-4.1.0.tgz';
  const kind = (path: string) => statSync(path, { throwIfNoEntry: false });
  if (kind(outfile)?.isDirectory()) return `OUTFILE ${outfile} is a folder: give the file to write to, e.g. ${join(outfile, 'chalk-4.1.0.tgz')}`;
  const folder = dirname(outfile);
  const parent = kind(folder);
  if (!parent) return `OUTFILE ${outfile}: the folder ${folder} does not exist`;
  if (!parent.isDirectory()) return `OUTFILE ${outfile}: ${folder} is not a folder`;
  return undefined;
}
