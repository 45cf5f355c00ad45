/**
 * The Cedar entity model (no namespace):
 *   User::"<sub>" in Group::"<name>" for each group in the token;
 *   Package::"<package ARN>" in Repository::"<repository ARN>" in Domain::"<domain ARN>".
 * The Package lists its Domain as a direct parent too, so `resource in Domain::…` holds without
 * the Repository entity being sent.
 */
import type { CedarValueJson, EntityJson, EntityUidJson } from '@cedar-policy/cedar-wasm/nodejs';
import type { Principal } from '../auth/principal.ts';
import { arnsFor, domainArn, repositoryArn, type PackageRef, type ResolvedPackage } from '../resource/package-arn.ts';

export type EntityUid = { type: string; id: string };

export interface CedarResource {
  uid: EntityUid;
  entities: EntityJson[];
}

export function userUid(principal: Principal): EntityUid {
  return { type: 'User', id: principal.subject };
}

export function principalEntities(principal: Principal): EntityJson[] {
  const parents: EntityUidJson[] = principal.groups.map((g) => ({ type: 'Group', id: g }));
  return [{ uid: userUid(principal), attrs: { issuer: principal.issuer }, parents }];
}

/** The package as Cedar's resource; a PackageRef's ARNs are used as they are. */
export function packageResource(p: ResolvedPackage | PackageRef): CedarResource {
  const arns = 'arn' in p ? { package: p.arn, repository: p.repositoryArn, domain: p.domainArn } : arnsFor(p);
  const domain: EntityUid = { type: 'Domain', id: arns.domain };
  const repository: EntityUid = { type: 'Repository', id: arns.repository };
  const uid: EntityUid = { type: 'Package', id: arns.package };
  const attrs: Record<string, CedarValueJson> = {
    arn: arns.package,
    domain: p.domain,
    domainOwner: p.domainOwner,
    repository: p.repository,
    format: p.format,
    namespace: p.namespace,
    name: p.name,
  };
  return {
    uid,
    // Only the Package entity is sent: `resource in Repository::…` and `resource in Domain::…` hold
    // through its direct parents, and no policy expression can reach the Repository's or Domain's own
    // attributes from the request. Each entity costs Cedar ~15–20 µs per call; measured in bench/,
    // dropping those two took a decision from ~205 to ~160 µs p50. The package's own attributes
    // (domain, domainOwner, repository, …) carry everything a policy needs.
    entities: [{ uid, attrs, parents: [repository, domain] }],
  };
}

/** A repository as a resource of its own (reading its audit records), in its domain. */
export function repositoryResource(region: string, domainOwner: string, domain: string, repository: string): CedarResource {
  const uid = { type: 'Repository', id: repositoryArn(region, domainOwner, domain, repository) };
  return { uid, entities: [{ uid, attrs: {}, parents: [{ type: 'Domain', id: domainArn(region, domainOwner, domain) }] }] };
}

/** A domain as a resource of its own (describing it, creating a repository in it). */
export function domainResource(region: string, domainOwner: string, domain: string): CedarResource {
  const uid = { type: 'Domain', id: domainArn(region, domainOwner, domain) };
  return { uid, entities: [{ uid, attrs: {}, parents: [] }] };
}

/** The registry as a whole, for the listings that span every domain (ListDomains, ListRepositories). */
export function registryResource(): CedarResource {
  const uid = { type: 'Registry', id: 'versiongate' };
  return { uid, entities: [{ uid, attrs: {}, parents: [] }] };
}

/** The whole audit log as one resource, for reads that span every repository. */
export function auditLogResource(): CedarResource {
  const uid = { type: 'AuditLog', id: 'versiongate' };
  return { uid, entities: [{ uid, attrs: {}, parents: [] }] };
}

/** The live policy set, for the test bench and the policy listing. */
export function policySetResource(): CedarResource {
  const uid = { type: 'PolicySet', id: 'live' };
  return { uid, entities: [{ uid, attrs: {}, parents: [] }] };
}
