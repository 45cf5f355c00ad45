/**
 * Policy test cases as data, in policies/tests/*.json: a JSON array of cases in either form.
 *
 * The Cedar CLI's run-tests form:
 *   { "name"?, "request": { "principal": "User::\"alice\"", "action": "Action::\"…\"", "resource": "…",
 *     "context": {} }, "entities": [ … ], "decision": "allow", "reason": ["policy-id"], "num_errors": 0 }
 * (older files say "has_error": false instead of num_errors).
 *
 * The versiongate form, which reads like a real request:
 *   { "name", "claims": { "sub": "alice", "groups": ["release-managers"] }, "action": "UpdatePackageVersionsStatus",
 *     "package": { "domain", "domainOwner", "repository", "format", "namespace"?, "package" }
 *       (or "repository": { "domain", "domainOwner", "repository" }, or "domain": { "domain", "domainOwner" },
 *       or "resource": "AuditLog::\"versiongate\"" or "Registry::\"versiongate\""),
 *     "context": { … }, "decision": "deny", "reason"?: [ … ], "denyKind"?: "forbid" | "no_permit" }
 */
import type { CedarValueJson, EntityJson } from '@cedar-policy/cedar-wasm/nodejs';
import { parseCoordinates } from '../resource/coordinates.ts';
import { packageResource, policySetResource, repositoryResource, auditLogResource, domainResource, registryResource, type CedarResource, type EntityUid } from './entities.ts';
import type { CedarCall } from './engine.ts';
import { parseEntityRef } from './links.ts';

export interface PolicyTestCase {
  file: string;
  index: number;
  name: string;
  call: CedarCall;
  expected: { decision: 'allow' | 'deny'; reason?: string[] | undefined; errors?: number | undefined; denyKind?: 'forbid' | 'no_permit' | undefined };
}

export class TestCaseError extends Error {}

const DEFAULT_REGION = 'us-east-1';
const DEFAULT_ISSUER = 'urn:versiongate:test';

export function parseTestFile(file: string, text: string, groupsClaim = 'groups'): PolicyTestCase[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new TestCaseError(`${file}: not valid JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(parsed)) throw new TestCaseError(`${file}: a test file is a JSON array of cases`);
  return parsed.map((raw, index) => {
    const where = `${file} case ${index + 1}`;
    if (!raw || typeof raw !== 'object') throw new TestCaseError(`${where}: must be an object`);
    const c = raw as Record<string, unknown>;
    const name = typeof c.name === 'string' ? c.name : `case ${index + 1}`;
    try {
      return 'request' in c ? cedarCliCase(file, index, name, c) : versiongateCase(file, index, name, c, groupsClaim);
    } catch (err) {
      throw new TestCaseError(`${where} (${name}): ${(err as Error).message}`);
    }
  });
}

function decisionOf(v: unknown): 'allow' | 'deny' {
  if (v === 'allow' || v === 'deny') return v;
  throw new Error(`"decision" must be "allow" or "deny", got ${JSON.stringify(v)}`);
}

function uid(v: unknown, what: string): EntityUid {
  const ref = parseEntityRef(v);
  if (!ref) throw new Error(`"${what}" must be an entity such as "User::\\"alice\\"", got ${JSON.stringify(v)}`);
  return ref;
}

function cedarCliCase(file: string, index: number, name: string, c: Record<string, unknown>): PolicyTestCase {
  const req = c.request as Record<string, unknown>;
  if (!req || typeof req !== 'object') throw new Error('"request" must be an object');
  const entities = c.entities;
  if (!Array.isArray(entities)) throw new Error('"entities" must be an array (entities given as a file path are not supported)');
  const reason = c.reason;
  if (reason !== undefined && (!Array.isArray(reason) || !reason.every((r) => typeof r === 'string'))) throw new Error('"reason" must be an array of policy ids');
  const errors = typeof c.num_errors === 'number' ? c.num_errors : typeof c.has_error === 'boolean' ? (c.has_error ? 1 : 0) : undefined;
  return {
    file,
    index,
    name,
    call: {
      principal: uid(req.principal, 'principal'),
      action: uid(req.action, 'action'),
      resource: uid(req.resource, 'resource'),
      context: (req.context ?? {}) as Record<string, CedarValueJson>,
      // Action entities come from the schema; the CLI's files often list them too.
      entities: (entities as EntityJson[]).filter((e) => (e.uid as EntityUid)?.type !== 'Action' && !String((e.uid as EntityUid)?.type).endsWith('::Action')),
    },
    expected: { decision: decisionOf(c.decision), reason: reason as string[] | undefined, errors },
  };
}

function versiongateCase(file: string, index: number, name: string, c: Record<string, unknown>, groupsClaim: string): PolicyTestCase {
  const claims = c.claims as Record<string, unknown> | undefined;
  if (!claims || typeof claims.sub !== 'string') throw new Error('"claims" must hold at least "sub" (the principal as token claims)');
  // The configured claim, as real tokens carry it; `groups` otherwise, so the shipped cases (and any
  // written before the claim was configured) keep working when VERSIONGATE_GROUPS_CLAIM changes.
  const groups = claims[groupsClaim] ?? claims.groups ?? [];
  if (!Array.isArray(groups) || !groups.every((g) => typeof g === 'string')) throw new Error(`"claims.${groupsClaim}" must be an array of group names`);
  if (typeof c.action !== 'string') throw new Error('"action" must be an action name such as "UpdatePackageVersionsStatus"');
  const region = typeof c.region === 'string' ? c.region : DEFAULT_REGION;
  const resource = resourceOf(c, region);
  const principalUid = { type: 'User', id: claims.sub };
  const denyKind = c.denyKind;
  if (denyKind !== undefined && denyKind !== 'forbid' && denyKind !== 'no_permit') throw new Error('"denyKind" must be "forbid" or "no_permit"');
  return {
    file,
    index,
    name,
    call: {
      principal: principalUid,
      action: { type: 'Action', id: c.action },
      resource: resource.uid,
      context: (c.context ?? {}) as Record<string, CedarValueJson>,
      entities: [
        { uid: principalUid, attrs: { issuer: typeof claims.iss === 'string' ? claims.iss : DEFAULT_ISSUER }, parents: (groups as string[]).map((g) => ({ type: 'Group', id: g })) },
        ...resource.entities,
      ],
    },
    expected: { decision: decisionOf(c.decision), reason: c.reason as string[] | undefined, errors: 0, denyKind: denyKind as 'forbid' | 'no_permit' | undefined },
  };
}

function resourceOf(c: Record<string, unknown>, region: string): CedarResource {
  if (c.package) {
    const p = c.package as Record<string, string | undefined>;
    const coords = parseCoordinates({ domain: p.domain ?? '', domainOwner: p.domainOwner, repository: p.repository ?? '', format: p.format ?? '', namespace: p.namespace, package: p.package ?? '' });
    if (!coords.domainOwner) throw new Error('"package.domainOwner" is required');
    return packageResource({ region, ...coords, domainOwner: coords.domainOwner });
  }
  if (c.repository) {
    const r = c.repository as Record<string, string>;
    if (!r.domain || !r.domainOwner || !r.repository) throw new Error('"repository" needs domain, domainOwner and repository');
    return repositoryResource(region, r.domainOwner, r.domain, r.repository);
  }
  if (c.domain) {
    const d = c.domain as Record<string, string>;
    if (!d.domain || !d.domainOwner) throw new Error('"domain" needs domain and domainOwner');
    return domainResource(region, d.domainOwner, d.domain);
  }
  if (c.resource === 'Registry::"versiongate"') return registryResource();
  if (c.resource === 'AuditLog::"versiongate"') return auditLogResource();
  if (c.resource === 'PolicySet::"live"') return policySetResource();
  throw new Error('give "package" (coordinates), "repository", or "resource": "AuditLog::\\"versiongate\\"" or "PolicySet::\\"live\\""');
}
