/**
 * Versions and assets in CodeArtifact's wire shapes (PackageVersionSummary, PackageVersionDescription,
 * AssetSummary), as @aws-sdk/client-codeartifact deserializes them.
 */
import type { PackageFormat } from '../resource/formats.ts';
import { displayName } from '../resource/package-arn.ts';
import type { VersionStatus } from './statuses.ts';

export interface VersionFacts {
  version: string;
  /** The permanent identifier (versiongate's own member: the AWS SDK ignores members it does not know). */
  identifier: string;
  status: VersionStatus;
  revision: string;
  /** ISO 8601. */
  publishedAt: string;
}

export interface PackageFacts {
  repository: string;
  format: PackageFormat;
  namespace: string;
  name: string;
}

export interface AssetFacts {
  name: string;
  size: number;
  md5: string;
  sha1: string;
  sha256: string;
  sha512: string;
}

/**
 * Every version here was published to the repository itself (through this API, or loaded by an
 * operator): none came through an upstream or an external connection.
 */
export function originOf(pkg: PackageFacts) {
  return { domainEntryPoint: { repositoryName: pkg.repository }, originType: 'INTERNAL' as const };
}

/** When the version was published, as REST-JSON sends timestamps: epoch seconds. */
export function publishedTime(v: Pick<VersionFacts, 'publishedAt'>): number {
  return Date.parse(v.publishedAt) / 1000;
}

export function versionSummary(pkg: PackageFacts, v: VersionFacts) {
  return { version: v.version, identifier: v.identifier, revision: v.revision, status: v.status, origin: originOf(pkg) };
}

/** What the last completed sync extracted (CodeArtifact's own members; absent when unknown). */
export interface MetadataFacts {
  summary: string | null;
  homePage: string | null;
  sourceCodeRepository: string | null;
  licenses: string[] | null;
}

export function versionDescription(pkg: PackageFacts, v: VersionFacts, m?: MetadataFacts) {
  return {
    format: pkg.format,
    ...(pkg.namespace ? { namespace: pkg.namespace } : {}),
    packageName: pkg.name,
    displayName: displayName(pkg.format, pkg.namespace, pkg.name),
    version: v.version,
    identifier: v.identifier,
    publishedTime: publishedTime(v),
    revision: v.revision,
    status: v.status,
    origin: originOf(pkg),
    ...(m?.summary ? { summary: m.summary } : {}),
    ...(m?.homePage ? { homePage: m.homePage } : {}),
    ...(m?.sourceCodeRepository ? { sourceCodeRepository: m.sourceCodeRepository } : {}),
    ...(m?.licenses ? { licenses: m.licenses.map((name) => ({ name })) } : {}),
  };
}

/** The hash names are CodeArtifact's HashAlgorithm values. */
export function assetSummary(a: AssetFacts) {
  return { name: a.name, size: a.size, hashes: { MD5: a.md5, 'SHA-1': a.sha1, 'SHA-256': a.sha256, 'SHA-512': a.sha512 } };
}

/** The members every package response starts with; the namespace only when there is one. */
export function packageMembers(pkg: PackageFacts) {
  return { format: pkg.format, ...(pkg.namespace ? { namespace: pkg.namespace } : {}), package: pkg.name };
}
