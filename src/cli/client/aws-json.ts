/**
 * Output exactly as the aws CLI prints it by default (`--output json`): the operation's output
 * members in the order of CodeArtifact's model (botocore builds its result in model order, and
 * Python's json keeps it), 4-space indentation, no $metadata, timestamps as Python's isoformat()
 * in the local time zone, and nothing at all for an empty result.
 *
 * The shapes below are the members of CodeArtifact's output structures that versiongate serves,
 * spelled out so that the order is not left to whatever order a server or a JSON parser produced.
 */

export type Shape =
  | 'scalar'
  | 'timestamp'
  | { readonly struct: ReadonlyArray<readonly [string, Shape]> }
  | { readonly list: Shape }
  | { readonly map: Shape };

const struct = (...members: Array<readonly [string, Shape]>): Shape => ({ struct: members });

const PackageVersionOrigin = struct(['domainEntryPoint', struct(['repositoryName', 'scalar'], ['externalConnectionName', 'scalar'])], ['originType', 'scalar']);
const AssetSummary = struct(['name', 'scalar'], ['size', 'scalar'], ['hashes', { map: 'scalar' }]);

export const SHAPES = {
  PackageVersionsResult: struct(
    ['successfulVersions', { map: struct(['revision', 'scalar'], ['status', 'scalar']) }],
    ['failedVersions', { map: struct(['errorCode', 'scalar'], ['errorMessage', 'scalar']) }],
  ),
  ListPackageVersionsResult: struct(
    ['defaultDisplayVersion', 'scalar'],
    ['format', 'scalar'],
    ['namespace', 'scalar'],
    ['package', 'scalar'],
    // identifier, publishedTime and sync: versiongate's, not CodeArtifact's; last, so the rest prints as the aws CLI prints it.
    [
      'versions',
      { list: struct(['version', 'scalar'], ['revision', 'scalar'], ['status', 'scalar'], ['origin', PackageVersionOrigin], ['identifier', 'scalar'], ['publishedTime', 'timestamp'], ['sync', 'scalar']) },
    ],
    ['nextToken', 'scalar'],
  ),
  DescribePackageVersionResult: struct([
    'packageVersion',
    struct(
      ['format', 'scalar'],
      ['namespace', 'scalar'],
      ['packageName', 'scalar'],
      ['displayName', 'scalar'],
      ['version', 'scalar'],
      ['summary', 'scalar'],
      ['homePage', 'scalar'],
      ['sourceCodeRepository', 'scalar'],
      ['publishedTime', 'timestamp'],
      ['licenses', { list: struct(['name', 'scalar'], ['url', 'scalar']) }],
      ['revision', 'scalar'],
      ['status', 'scalar'],
      ['origin', PackageVersionOrigin],
      ['identifier', 'scalar'],
    ),
  ]),
  ListPackageVersionAssetsResult: struct(
    ['format', 'scalar'],
    ['namespace', 'scalar'],
    ['package', 'scalar'],
    ['version', 'scalar'],
    ['versionRevision', 'scalar'],
    ['nextToken', 'scalar'],
    ['assets', { list: AssetSummary }],
  ),
  /** The streamed `asset` member goes to OUTFILE; the aws CLI prints the header members. */
  GetPackageVersionAssetResult: struct(['assetName', 'scalar'], ['packageVersion', 'scalar'], ['packageVersionRevision', 'scalar']),
  PublishPackageVersionResult: struct(
    ['format', 'scalar'],
    ['namespace', 'scalar'],
    ['package', 'scalar'],
    ['version', 'scalar'],
    ['versionRevision', 'scalar'],
    ['status', 'scalar'],
    ['asset', AssetSummary],
  ),
  ...packageShapes(),
} as const satisfies Record<string, Shape>;

/** The package operations' outputs (DescribePackage, ListPackages, …), in CodeArtifact's model order. */
function packageShapes() {
  const originConfiguration = struct(['restrictions', struct(['publish', 'scalar'], ['upstream', 'scalar'])]);
  const PackageSummary = struct(['format', 'scalar'], ['namespace', 'scalar'], ['package', 'scalar'], ['originConfiguration', originConfiguration]);
  const versionMembers = [['format', 'scalar'], ['namespace', 'scalar'], ['package', 'scalar'], ['version', 'scalar'], ['versionRevision', 'scalar']] as const;
  return {
    DescribePackageResult: struct(['package', struct(['format', 'scalar'], ['namespace', 'scalar'], ['name', 'scalar'], ['originConfiguration', originConfiguration])]),
    ListPackagesResult: struct(['packages', { list: PackageSummary }], ['nextToken', 'scalar']),
    DeletePackageResult: struct(['deletedPackage', PackageSummary]),
    PutPackageOriginConfigurationResult: struct(['originConfiguration', originConfiguration]),
    GetPackageVersionReadmeResult: struct(...versionMembers, ['readme', 'scalar']),
    ListPackageVersionDependenciesResult: struct(
      ...versionMembers,
      ['nextToken', 'scalar'],
      ['dependencies', { list: struct(['namespace', 'scalar'], ['package', 'scalar'], ['dependencyType', 'scalar'], ['versionRequirement', 'scalar']) }],
    ),
  };
}

/**
 * The value as the aws CLI holds it before printing: members in model order, absent ones left out
 * (botocore skips members that are missing or null), timestamps as strings. Members the model does
 * not know are dropped, as botocore drops them.
 */
export function cliValue(value: unknown, shape: Shape): unknown {
  if (value === undefined || value === null) return undefined;
  if (shape === 'scalar') return value;
  if (shape === 'timestamp') return value instanceof Date ? pythonIsoformat(value) : value;
  if ('list' in shape) return Array.isArray(value) ? value.map((v) => cliValue(v, shape.list) ?? null) : value;
  const record = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  if ('map' in shape) {
    for (const [k, v] of Object.entries(record)) out[k] = cliValue(v, shape.map) ?? null;
    return out;
  }
  for (const [name, member] of shape.struct) {
    const v = cliValue(record[name], member);
    if (v !== undefined) out[name] = v;
  }
  return out;
}

/**
 * `json.dump(value, indent=4, ensure_ascii=False)` plus a newline, as the aws CLI writes it, and
 * nothing for an empty result. For what versiongate prints (strings, integers, null, objects and
 * arrays) JSON.stringify with an indent of 4 writes the same characters as Python does.
 */
export function formatCliJson(value: unknown): string {
  if (typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length === 0) return '';
  return JSON.stringify(value, null, 4) + '\n';
}

/**
 * Python's datetime.isoformat() for an aware datetime in the local zone, as aws CLI v2 prints a
 * timestamp by default (cli_timestamp_format = iso8601): `2026-11-21T09:00:00.250000+00:00`, with
 * the fraction only when it is not zero.
 */
export function pythonIsoformat(date: Date): string {
  const offsetMinutes = -date.getTimezoneOffset();
  const local = new Date(date.getTime() + offsetMinutes * 60_000).toISOString().slice(0, 19);
  const ms = date.getUTCMilliseconds();
  const fraction = ms === 0 ? '' : `.${String(ms * 1000).padStart(6, '0')}`;
  const abs = Math.abs(offsetMinutes);
  const offset = `${offsetMinutes < 0 ? '-' : '+'}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
  return `${local}${fraction}${offset}`;
}
