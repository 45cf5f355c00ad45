/**
 * The Cedar entity model (no namespace):
 *   User::"<sub>" in Group::"<name>" for each group in the token;
 *   Package::"<package ARN>" in Repository::"<repository ARN>" in Domain::"<domain ARN>".
 * The Package lists its Domain as a direct parent too, so `resource in Domain::…` holds without
 * Cedar recomputing the closure through the Repository.
 */
import type { CedarValueJson, EntityJson, EntityUidJson } from '@cedar-policy/cedar-wasm/nodejs';
import type { Principal } from '../auth/principal.ts';
import { arnsFor, type ResolvedPackage } from '../resource/package-arn.ts';

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

export function packageResource(p: ResolvedPackage): CedarResource {
  const arns = arnsFor(p);
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
    entities: [
      { uid, attrs, parents: [repository, domain] },
      { uid: repository, attrs: { arn: arns.repository, domain: p.domain, domainOwner: p.domainOwner, name: p.repository }, parents: [domain] },
      { uid: domain, attrs: { arn: arns.domain, name: p.domain, owner: p.domainOwner }, parents: [] },
    ],
  };
}

/** The whole audit log as one resource, for reads that span every repository. */
export function auditLogResource(): CedarResource {
  const uid = { type: 'AuditLog', id: 'versiongate' };
  return { uid, entities: [{ uid, attrs: {}, parents: [] }] };
}
