/**
 * Domains and repositories in CodeArtifact's wire shapes: DomainDescription, DomainSummary,
 * RepositoryDescription and RepositorySummary (timestamps in epoch seconds, as REST-JSON sends them).
 * Members versiongate has nothing true to say about are left out, never made up: a domain has no KMS
 * encryptionKey and no s3BucketArn, and a repository no externalConnections (none can be associated).
 */
import { domainArn, repositoryArn } from '../resource/package-arn.ts';
import type { DomainDetail, DomainRecord, RepositoryDetail } from '../store/store.ts';

const seconds = (iso: string) => Date.parse(iso) / 1000;

export function domainSummary(region: string, d: DomainRecord, status: 'Active' | 'Deleted' = 'Active') {
  return { name: d.name, owner: d.owner, arn: domainArn(region, d.owner, d.name), status, createdTime: seconds(d.createdAt) };
}

export function domainDescription(region: string, d: DomainDetail, status: 'Active' | 'Deleted' = 'Active') {
  return { ...domainSummary(region, d, status), repositoryCount: d.repositoryCount, assetSizeBytes: d.assetSizeBytes };
}

export function repositorySummary(region: string, r: RepositoryDetail) {
  return {
    name: r.name,
    // CodeArtifact's administrator account is the account that owns the repository; in versiongate
    // every repository belongs to its domain's owner.
    administratorAccount: r.domainOwner,
    domainName: r.domain,
    domainOwner: r.domainOwner,
    arn: repositoryArn(region, r.domainOwner, r.domain, r.name),
    ...(r.description !== null ? { description: r.description } : {}),
    createdTime: seconds(r.createdAt),
  };
}

export function repositoryDescription(region: string, r: RepositoryDetail) {
  return {
    ...repositorySummary(region, r),
    upstreams: r.upstreams.map((repositoryName) => ({ repositoryName })),
    externalConnections: [] as never[],
  };
}
