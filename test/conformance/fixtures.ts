/**
 * What the conformance test needs beyond the model: a valid value for each shape, the few
 * operations that need a resource in a particular state to succeed, and versiongate's documented
 * departures from the model (each with its reason, each checked by the test to still hold).
 */
import { createHash } from 'node:crypto';
import type { Constraints, Extension } from './shape-check.ts';
import type { Input } from './wire.ts';

/** Valid values by model shape name, for the seeded demo registry (`versiongate seed demo`). */
export const SHAPE_DEFAULTS: Record<string, unknown> = {
  DomainName: 'my_domain',
  AccountId: '111122223333',
  RepositoryName: 'my_repo',
  PackageFormat: 'npm',
  PackageName: 'chalk',
  PackageNamespace: 'nestjs',
  PackageVersion: '4.1.0',
  PackageVersionList: ['4.1.0'],
  PackageVersionRevision: 'conformance-revision',
  AssetName: 'chalk-4.1.0.tgz',
  PaginationToken: 'conformance-token',
  Description: 'conformance',
};

/** A model-level call: an operation's name and its input by member name. */
export interface Call {
  operation: string;
  input: Input;
}

export interface Fixture {
  /** Replaces members of the default input (shape defaults for the required members). */
  input?: Input;
  /** Calls made first, once, so the resource is in the state the successful call needs. */
  before?: Call[];
  /** Calls that provoke a declared error, by its type (after their own `before` calls). */
  provoke?: Record<string, { before?: Call[]; input: Input }>;
}

const ASSET = Buffer.from('versiongate conformance asset\n');
const ASSET_SHA256 = createHash('sha256').update(ASSET).digest('hex');

/** PublishPackageVersion's input for one asset of a generic package in namespace `conformance`. */
export function publishInput(pkg: string, version = '1.0.0', unfinished?: boolean): Input {
  return {
    domain: 'my_domain',
    domainOwner: '111122223333',
    repository: 'my_repo',
    format: 'generic',
    namespace: 'conformance',
    package: pkg,
    packageVersion: version,
    assetName: 'tool.tar.gz',
    assetContent: ASSET,
    assetSHA256: ASSET_SHA256,
    ...(unfinished === undefined ? {} : { unfinished }),
  };
}

const publish = (pkg: string, unfinished?: boolean): Call => ({ operation: 'PublishPackageVersion', input: publishInput(pkg, '1.0.0', unfinished) });
const genericVersion = (pkg: string): Input => ({ format: 'generic', namespace: 'conformance', package: pkg, versions: ['1.0.0'] });

/**
 * Per operation: only what differs from the shape defaults. Each changing operation works on a
 * package of its own, so the order the checks run in does not matter. Entries for operations
 * versiongate does not implement yet are used once they are.
 */
export const FIXTURES: Record<string, Fixture> = {
  // Seeded versions that no other fixture reads (so the checks work with a model that predates PublishPackageVersion).
  UpdatePackageVersionsStatus: { input: { namespace: 'nestjs', package: 'core', versions: ['8.0.0'], targetStatus: 'Archived' } },
  DisposePackageVersions: { input: { format: 'maven', namespace: 'org.apache.logging.log4j', package: 'log4j', versions: ['2.13.1'] } },
  DeletePackageVersions: { input: { versions: ['4.0.0'] } },
  PublishPackageVersion: {
    input: publishInput('publish-tool'),
    // A finished version takes no further asset.
    provoke: {
      ConflictException: { before: [publish('finished-tool')], input: { ...publishInput('finished-tool'), assetName: 'another.tar.gz' } },
      // CodeArtifact's quota: 150 assets per version.
      ServiceQuotaExceededException: {
        before: Array.from({ length: 150 }, (_, i) => ({ operation: 'PublishPackageVersion', input: { ...publishInput('crowded-tool', '1.0.0', true), assetName: `asset-${i}.tar.gz` } })),
        input: { ...publishInput('crowded-tool', '1.0.0', true), assetName: 'asset-150.tar.gz' },
      },
    },
  },
  GetPackageVersionAsset: {
    provoke: {
      ConflictException: {
        before: [publish('unfinished-tool', true)],
        input: { format: 'generic', namespace: 'conformance', package: 'unfinished-tool', packageVersion: '1.0.0', asset: 'tool.tar.gz' },
      },
    },
  },
  // Issue 18's operations, for when they are merged.
  CopyPackageVersions: { input: { sourceRepository: 'my_repo', destinationRepository: 'prod', versions: ['4.1.0'] } },
  CreateDomain: { input: { domain: 'conformance-domain' } },
  // Deleted once: the calls after it name a domain that is gone, which the model declares no error for
  // (versiongate answers ResourceNotFoundException, see UNDECLARED_ERRORS).
  DeleteDomain: {
    before: [{ operation: 'CreateDomain', input: { domain: 'conformance-empty' } }],
    input: { domain: 'conformance-empty' },
  },
  CreateRepository: { input: { repository: 'conformance-created' } },
  DeleteRepository: {
    before: [{ operation: 'CreateRepository', input: { domain: 'my_domain', domainOwner: '111122223333', repository: 'conformance-deleted' } }],
    input: { repository: 'conformance-deleted' },
  },
  DeletePackage: {
    before: [publish('deleted-package'), { operation: 'DeletePackageVersions', input: { domain: 'my_domain', repository: 'my_repo', ...genericVersion('deleted-package') } }],
    input: { format: 'generic', namespace: 'conformance', package: 'deleted-package' },
  },
};

/** Errors versiongate answers that the model does not declare for the operation, with why. */
export const UNDECLARED_ERRORS: Record<string, Record<string, string>> = {
  DeleteDomain: {
    ResourceNotFoundException: 'a domain that does not exist is not deleted; the model declares no error for it, and answering as if it had been would hide a mistyped name',
  },
};

/** Operations the model says may answer ResourceNotFoundException where nothing absent can be named. */
export const NOT_FOUND_UNREACHABLE: Record<string, string> = {
  CreateDomain: 'a domain that does not exist is what CreateDomain creates; the model\'s 404 is for an encryption key, which versiongate does not take',
};

/** Values that name nothing in the seeded registry, to provoke ResourceNotFoundException. */
export const ABSENT: Record<string, string> = {
  DomainName: 'absent-domain',
  RepositoryName: 'absent-repo',
  PackageName: 'absent-package',
  PackageVersion: '9.9.9-absent',
  AssetName: 'absent.tgz',
};

export interface ConstraintDeviation {
  shape: string;
  /** Only for this input member (by default every member of the shape). */
  member?: string;
  /** Only for requests in this package format. */
  format?: string;
  kind: 'wider' | 'narrower';
  /** The constraints versiongate applies instead of the model's (the others stay the model's). */
  change: Constraints;
  why: string;
}

/** Where versiongate validates differently from the model, on purpose. */
export const CONSTRAINT_DEVIATIONS: ConstraintDeviation[] = [
  {
    shape: 'DomainName',
    kind: 'wider',
    change: { pattern: '[a-z][a-z0-9_\\-]{0,48}[a-z0-9]' },
    why: "domain names may contain `_`, as the domain `my_domain` of CodeArtifact's own documentation examples does",
  },
  {
    shape: 'PackageVersionStatus',
    member: 'targetStatus',
    kind: 'narrower',
    change: { enum: ['Published', 'Unlisted', 'Archived'] },
    why: "as CodeArtifact documents: a finished version never goes back to Unfinished, and Disposed and Deleted are DisposePackageVersions' and DeletePackageVersions' to set",
  },
  {
    shape: 'PackageVersionList',
    kind: 'narrower',
    change: { min: 1 },
    why: 'a request that names no version is refused rather than decided, audited and answered with two empty maps (not yet aligned with the model)',
  },
  {
    shape: 'PackageName',
    format: 'npm',
    kind: 'narrower',
    change: { max: 214 },
    why: 'npm package names are at most 214 characters (npm\'s own limit)',
  },
];

/** Response members the model does not declare (the AWS SDK skips members it does not know). */
export const EXTENSIONS: Extension[] = [
  { shape: 'PackageVersionSummary', member: 'identifier', why: "the version's permanent identifier, for the Cloudsmith-style resync and status paths" },
  { shape: 'PackageVersionDescription', member: 'identifier', why: "the version's permanent identifier, for the Cloudsmith-style resync and status paths" },
];

/**
 * Request body members the model does not declare, each with its reason. The AWS SDK and CLI never
 * send them (they serialise only the model's members), so nothing changes for them.
 */
export const REQUEST_EXTENSIONS: Extension[] = [
  {
    shape: 'DeletePackageVersionsRequest',
    member: 'versionRevisions',
    why: "optional, as UpdatePackageVersionsStatus and DisposePackageVersions take it: the revision each version must have, checked in the delete's own transaction (MISMATCHED_REVISION), so a client that showed a version (the console) never deletes one changed since",
  },
];

/**
 * Query parameters the model does not declare, by the operation's input shape and the parameter's
 * name on the wire, each with its reason. The AWS SDK and CLI never send them, so nothing changes for them.
 */
export const QUERY_EXTENSIONS: Extension[] = [
  {
    shape: 'ListPackageVersionsRequest',
    member: 'include',
    why: "optional: each version summary also carries its publishedTime (as DescribePackageVersion answers it) and its sync state (as the status path answers it), in the listing's one Cedar decision and audit record, so a client (the console) does not read them version by version, each read another audited record",
  },
];

/** Members whose values only the gateway can mint, or that must agree with another member: "just inside" is not meaningful for them. */
export const NO_INSIDE_CHECK: Record<string, string> = {
  TagList: 'versiongate keeps no resource tags (Cedar decides on ARNs, groups and statuses), so it refuses any rather than drop them silently',
  Arn: "CreateDomain's encryptionKey: versiongate encrypts with no AWS KMS key, so it refuses any (400) rather than pretend to use it",
  PaginationToken: 'an opaque token the gateway issued; any other value is refused as invalid',
  SHA256: "must be the digest of the request body; another well-formed digest is refused as a mismatch",
  PackageFormat:
    'which formats a request may name depends on its other members, as in CodeArtifact: maven, generic and swift need a namespace, pypi, nuget, ruby and cargo take none, and PublishPackageVersion takes generic only',
};

/** Why versiongate does not implement a model operation, by operation name. */
const PACKAGE_GROUPS = "package groups set origin controls and access by package-name pattern; in versiongate Cedar policies do that (`like` on package names, `resource in` a repository)";
const RESOURCE_POLICY = 'resource policies are replaced by Cedar policies (the policies/ folder, `GET /v1/policies`, the policy bench)';
const TAGS = 'resources carry no tags: Cedar policies decide on ARNs, groups and version statuses, not on tags';
export const NOT_IMPLEMENTED_WHY: Record<string, string> = {
  AssociateExternalConnection: 'no upstream connections to public registries: versiongate gates the version lifecycle of the packages published to it and ingests nothing from outside',
  DisassociateExternalConnection: 'no upstream connections to public registries (see AssociateExternalConnection)',
  CreatePackageGroup: PACKAGE_GROUPS,
  DeletePackageGroup: PACKAGE_GROUPS,
  DescribePackageGroup: PACKAGE_GROUPS,
  GetAssociatedPackageGroup: PACKAGE_GROUPS,
  ListAllowedRepositoriesForGroup: PACKAGE_GROUPS,
  ListAssociatedPackages: PACKAGE_GROUPS,
  ListPackageGroups: PACKAGE_GROUPS,
  ListSubPackageGroups: PACKAGE_GROUPS,
  UpdatePackageGroup: PACKAGE_GROUPS,
  UpdatePackageGroupOriginConfiguration: PACKAGE_GROUPS,
  GetDomainPermissionsPolicy: RESOURCE_POLICY,
  PutDomainPermissionsPolicy: RESOURCE_POLICY,
  DeleteDomainPermissionsPolicy: RESOURCE_POLICY,
  GetRepositoryPermissionsPolicy: RESOURCE_POLICY,
  PutRepositoryPermissionsPolicy: RESOURCE_POLICY,
  DeleteRepositoryPermissionsPolicy: RESOURCE_POLICY,
  GetAuthorizationToken: "callers bring their identity provider's JWT (or `versiongate token` in development) and the gateway verifies it; it mints no tokens of its own",
  GetRepositoryEndpoint: "versiongate serves the version-lifecycle API, not the package managers' own protocols (npm, Maven, PyPI endpoints): there is no repository endpoint to hand out",
  ListTagsForResource: TAGS,
  TagResource: TAGS,
  UntagResource: TAGS,
};
