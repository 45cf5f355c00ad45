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
 *
 * Either form is read strictly: a field a case does not know, at any level but the claims, the
 * context and an entity's attributes, is refused with the file, the case and the field named.
 */
import type { CedarValueJson, EntityJson } from '@cedar-policy/cedar-wasm/nodejs';
import { checkDomainName, checkDomainOwner, checkRepositoryName, parseCoordinates } from '../resource/coordinates.ts';
import { claimsProblem, type Principal } from '../auth/principal.ts';
import { auditLogResource, domainResource, packageResource, policySetResource, principalEntities, registryResource, repositoryResource, userUid, type CedarResource, type EntityUid } from './entities.ts';
import type { CedarCall } from './engine.ts';
import { parseEntityRef } from './links.ts';

export interface PolicyTestCase {
  file: string;
  index: number;
  name: string;
  call: CedarCall;
  expected: { decision: 'allow' | 'deny'; reason?: string[] | undefined; errors?: number | undefined; denyKind?: 'forbid' | 'no_permit' | undefined };
}

/** A test file or case that cannot be read; `file` is the test file's name under the policy folder. */
export class TestCaseError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(message);
  }
}

const DEFAULT_REGION = 'us-east-1';
const DEFAULT_ISSUER = 'urn:versiongate:test';

export function parseTestFile(file: string, text: string, groupsClaim = 'groups'): PolicyTestCase[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new TestCaseError(file, `${file}: not valid JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(parsed)) throw new TestCaseError(file, `${file}: a test file is a JSON array of cases`);
  return parsed.map((raw, index) => {
    const where = `${file} case ${index + 1}`;
    if (!isRecord(raw)) throw new TestCaseError(file, `${where}: must be an object`);
    const c = raw;
    const name = typeof c.name === 'string' ? c.name : `case ${index + 1}`;
    try {
      if (c.name !== undefined && typeof c.name !== 'string') throw new Error('"name" must be a string');
      return 'request' in c ? cedarCliCase(file, index, name, c) : versiongateCase(file, index, name, c, groupsClaim);
    } catch (err) {
      throw new TestCaseError(file, `${where} (${name}): ${(err as Error).message}`);
    }
  });
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A key a case does not know is refused, never ignored: a typo ("reasons", "denykind", "namspace")
 * would otherwise drop what it was meant to check, and the case would pass whatever the policies do.
 */
function refuseUnknownKeys(obj: Record<string, unknown>, known: readonly string[], where: string): void {
  const unknown = Object.keys(obj).filter((k) => !known.includes(k));
  if (unknown.length > 0) {
    const prefix = where ? `"${where}" has` : 'has';
    throw new Error(`${prefix} unknown field(s) ${unknown.map((k) => JSON.stringify(k)).join(', ')} (known: ${known.join(', ')})`);
  }
}

function objectField(c: Record<string, unknown>, key: string, known: readonly string[]): Record<string, unknown> {
  const v = c[key];
  if (!isRecord(v)) throw new Error(`"${key}" must be an object`);
  refuseUnknownKeys(v, known, key);
  return v;
}

function decisionOf(v: unknown): 'allow' | 'deny' {
  if (v === 'allow' || v === 'deny') return v;
  throw new Error(`"decision" must be "allow" or "deny", got ${JSON.stringify(v)}`);
}

function reasonOf(v: unknown): string[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || !v.every((r) => typeof r === 'string')) throw new Error(`"reason" must be an array of policy ids, got ${JSON.stringify(v)}`);
  return v;
}

function contextOf(v: unknown): Record<string, CedarValueJson> {
  if (v === undefined) return {};
  if (!isRecord(v)) throw new Error('"context" must be an object');
  return v as Record<string, CedarValueJson>;
}

function uid(v: unknown, what: string): EntityUid {
  const ref = parseEntityRef(v);
  if (!ref) throw new Error(`"${what}" must be an entity such as "User::\\"alice\\"", got ${JSON.stringify(v)}`);
  return ref;
}

const CEDAR_CLI_KEYS = ['name', 'request', 'entities', 'decision', 'reason', 'num_errors', 'has_error'] as const;
const CEDAR_CLI_REQUEST_KEYS = ['principal', 'action', 'resource', 'context'] as const;
const ENTITY_KEYS = ['uid', 'attrs', 'parents', 'tags'] as const;

/**
 * The errors a Cedar-CLI case expects. The Cedar CLI's files (and every example here) give
 * num_errors, so an absent one means 0: otherwise a deny that comes from an error (a misspelt action,
 * an entity without its required attributes) would pass a case that expects a clean deny.
 */
function expectedErrors(c: Record<string, unknown>): number {
  if (c.num_errors !== undefined && c.has_error !== undefined) throw new Error('give "num_errors" or the older "has_error", not both');
  if (c.has_error !== undefined) {
    if (typeof c.has_error !== 'boolean') throw new Error(`"has_error" must be true or false, got ${JSON.stringify(c.has_error)}`);
    return c.has_error ? 1 : 0;
  }
  if (c.num_errors === undefined) return 0;
  if (typeof c.num_errors !== 'number' || !Number.isInteger(c.num_errors) || c.num_errors < 0) throw new Error(`"num_errors" must be a whole number of 0 or more, got ${JSON.stringify(c.num_errors)}`);
  return c.num_errors;
}

function cedarCliEntities(v: unknown): EntityJson[] {
  if (!Array.isArray(v)) throw new Error('"entities" must be an array (entities given as a file path are not supported)');
  return v.map((e, i) => {
    const where = `entities[${i}]`;
    if (!isRecord(e)) throw new Error(`"${where}" must be an object`);
    refuseUnknownKeys(e, ENTITY_KEYS, where);
    uid(e.uid, `${where}.uid`);
    if (e.parents !== undefined && !Array.isArray(e.parents)) throw new Error(`"${where}.parents" must be an array of entities`);
    return e as unknown as EntityJson;
  });
}

function cedarCliCase(file: string, index: number, name: string, c: Record<string, unknown>): PolicyTestCase {
  refuseUnknownKeys(c, CEDAR_CLI_KEYS, '');
  const req = objectField(c, 'request', CEDAR_CLI_REQUEST_KEYS);
  const entities = cedarCliEntities(c.entities);
  return {
    file,
    index,
    name,
    call: {
      principal: uid(req.principal, 'principal'),
      action: uid(req.action, 'action'),
      resource: uid(req.resource, 'resource'),
      context: contextOf(req.context),
      // Action entities come from the schema; the CLI's files often list them too.
      entities: entities.filter((e) => (e.uid as EntityUid)?.type !== 'Action' && !String((e.uid as EntityUid)?.type).endsWith('::Action')),
    },
    expected: { decision: decisionOf(c.decision), reason: reasonOf(c.reason), errors: expectedErrors(c) },
  };
}

const VERSIONGATE_KEYS = ['name', 'claims', 'action', 'package', 'repository', 'domain', 'resource', 'region', 'context', 'decision', 'reason', 'denyKind'] as const;

function versiongateCase(file: string, index: number, name: string, c: Record<string, unknown>, groupsClaim: string): PolicyTestCase {
  refuseUnknownKeys(c, VERSIONGATE_KEYS, '');
  const principal = principalOf(c.claims, groupsClaim);
  if (typeof c.action !== 'string') throw new Error('"action" must be an action name such as "UpdatePackageVersionsStatus"');
  if (c.region !== undefined && typeof c.region !== 'string') throw new Error('"region" must be a string such as "us-east-1"');
  const resource = resourceOf(c, (c.region as string | undefined) ?? DEFAULT_REGION);
  const denyKind = c.denyKind;
  if (denyKind !== undefined && denyKind !== 'forbid' && denyKind !== 'no_permit') throw new Error('"denyKind" must be "forbid" or "no_permit"');
  return {
    file,
    index,
    name,
    call: {
      principal: userUid(principal),
      action: { type: 'Action', id: c.action },
      resource: resource.uid,
      context: contextOf(c.context),
      entities: [...principalEntities(principal), ...resource.entities],
    },
    expected: { decision: decisionOf(c.decision), reason: reasonOf(c.reason), errors: 0, denyKind: denyKind as 'forbid' | 'no_permit' | undefined },
  };
}

/**
 * The principal as a verified token with these claims would make it. The claims stay open (a token
 * carries more than versiongate reads), but what it reads is held to a token's rules: a subject or
 * group no token could carry (a control character, an empty name) tests nothing real.
 */
export function principalOf(claims: unknown, groupsClaim: string): Principal {
  if (!isRecord(claims) || claims.sub === undefined) throw new Error('"claims" must hold at least "sub" (the principal as token claims)');
  // The configured claim, as real tokens carry it; `groups` otherwise, so the shipped cases (and any
  // written before the claim was configured) keep working when VERSIONGATE_GROUPS_CLAIM changes.
  const claimName = claims[groupsClaim] !== undefined ? groupsClaim : 'groups';
  const problem = claimsProblem(claims.sub, claims[claimName], claimName);
  if (problem) throw new Error(`"claims": ${problem}, as a real token's would be refused`);
  if (claims.iss !== undefined && typeof claims.iss !== 'string') throw new Error('"claims.iss" must be a string');
  const groups = (claims[claimName] as string[] | undefined) ?? [];
  return { issuer: (claims.iss as string | undefined) ?? DEFAULT_ISSUER, subject: claims.sub as string, groups: [...new Set(groups)] };
}

const PACKAGE_KEYS = ['domain', 'domainOwner', 'repository', 'format', 'namespace', 'package'] as const;
const REPOSITORY_KEYS = ['domain', 'domainOwner', 'repository'] as const;
const DOMAIN_KEYS = ['domain', 'domainOwner'] as const;
const RESOURCE_KINDS = ['package', 'repository', 'domain', 'resource'] as const;

function resourceOf(c: Record<string, unknown>, region: string): CedarResource {
  const given = RESOURCE_KINDS.filter((k) => c[k] !== undefined);
  if (given.length !== 1) throw new Error('give exactly one of "package" (coordinates), "repository", "domain", or "resource": "AuditLog::\\"versiongate\\"", "PolicySet::\\"live\\"" or "Registry::\\"versiongate\\""');
  if (given[0] === 'package') {
    const p = stringFields(objectField(c, 'package', PACKAGE_KEYS), 'package');
    const coords = parseCoordinates({ domain: p.domain ?? '', domainOwner: p.domainOwner, repository: p.repository ?? '', format: p.format ?? '', namespace: p.namespace, package: p.package ?? '' });
    if (!coords.domainOwner) throw new Error('"package.domainOwner" is required');
    return packageResource({ region, ...coords, domainOwner: coords.domainOwner });
  }
  if (given[0] === 'repository') {
    const r = stringFields(objectField(c, 'repository', REPOSITORY_KEYS), 'repository');
    if (!r.domain || !r.domainOwner || !r.repository) throw new Error('"repository" needs domain, domainOwner and repository');
    // Names no request could carry would test a resource that never reaches the policies.
    return repositoryResource(region, checkDomainOwner(r.domainOwner), checkDomainName(r.domain), checkRepositoryName(r.repository));
  }
  if (given[0] === 'domain') {
    const d = stringFields(objectField(c, 'domain', DOMAIN_KEYS), 'domain');
    if (!d.domain || !d.domainOwner) throw new Error('"domain" needs domain and domainOwner');
    return domainResource(region, checkDomainOwner(d.domainOwner), checkDomainName(d.domain));
  }
  if (c.resource === 'Registry::"versiongate"') return registryResource();
  if (c.resource === 'AuditLog::"versiongate"') return auditLogResource();
  if (c.resource === 'PolicySet::"live"') return policySetResource();
  throw new Error(`"resource" must be "AuditLog::\\"versiongate\\"", "PolicySet::\\"live\\"" or "Registry::\\"versiongate\\"", got ${JSON.stringify(c.resource)}`);
}

function stringFields(o: Record<string, unknown>, where: string): Record<string, string | undefined> {
  for (const [k, v] of Object.entries(o)) if (typeof v !== 'string') throw new Error(`"${where}.${k}" must be a string`);
  return o as Record<string, string | undefined>;
}
