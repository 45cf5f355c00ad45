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
import { GenerationalCache } from './decision-cache.ts';

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

/**
 * Package resources shared between the requests that ask about the same package, frozen: the decision
 * cache then encodes each once (request-key.ts), not on every request. A kept one is handed out only
 * when every value it was built from is the same.
 */
const sharedResources = new GenerationalCache<{ resource: CedarResource; from: string[] }>(2_000);

/** The package as Cedar's resource; a PackageRef's ARNs are used as they are. */
export function packageResource(p: ResolvedPackage | PackageRef): CedarResource {
  const arns = 'arn' in p ? { package: p.arn, repository: p.repositoryArn, domain: p.domainArn } : arnsFor(p);
  const from = [arns.repository, arns.domain, p.domain, p.domainOwner, p.repository, p.format, p.namespace, p.name];
  const shared = sharedResources.get(arns.package);
  if (shared && shared.from.every((v, i) => v === from[i])) return shared.resource;
  const resource = deepFreeze(buildPackageResource(p, arns));
  sharedResources.set(arns.package, { resource, from });
  return resource;
}

function buildPackageResource(p: ResolvedPackage, arns: { package: string; repository: string; domain: string }): CedarResource {
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

/** Freezes a value and everything it holds (a value shared between requests). */
export function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
    for (const k of Object.keys(v)) deepFreeze((v as Record<string, unknown>)[k]);
    Object.freeze(v);
  }
  return v;
}
