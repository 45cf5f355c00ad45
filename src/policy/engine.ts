/**
 * The policy engine: a compiled set parsed once into cedar-wasm's cache, and `authorize`, which
 * fails closed. Allow only when Cedar answers success, the decision is allow, and no policy errored:
 * Cedar skips an erroring policy, so an erroring `forbid` would otherwise turn a deny into an allow.
 */
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import type { CedarValueJson, EntityJson } from '@cedar-policy/cedar-wasm/nodejs';
import { entityKey, LinkIndex } from './links.ts';
import type { Principal } from '../auth/principal.ts';
import type { RequestMeta } from '../audit/build-record.ts';
import { principalEntities, userUid, type CedarResource, type EntityUid } from './entities.ts';
import type { CompiledPolicySet } from './load-policies.ts';

export type ActionName =
  | 'UpdatePackageVersionsStatus'
  | 'DisposePackageVersions'
  | 'DeletePackageVersions'
  | 'PublishPackageVersion'
  | 'ListPackageVersions'
  | 'DescribePackageVersion'
  | 'ListPackageVersionAssets'
  | 'GetPackageVersionAsset'
  | 'Resync'
  | 'ReadAuditLog'
  | 'SimulateAuthorization'
  | 'ReadPolicies';

export interface AuthorizationRequest {
  principal: Principal;
  /** The request this decision belongs to, for records written beside it (shadow disagreements). */
  meta?: RequestMeta | undefined;
  action: ActionName;
  resource: CedarResource;
  context: Record<string, CedarValueJson>;
}

export interface AuthorizationDecision {
  decision: 'allow' | 'deny';
  /** Policies that determined the decision (the permits for an allow, the forbids for a deny). */
  determiningPolicies: string[];
  /** Evaluation or request errors. Any error makes the decision deny. */
  errors: string[];
  policySetHash: string;
  /** Why a deny: a forbid matched, no permit matched, or something could not be evaluated. */
  denyKind?: 'forbid' | 'no_permit' | 'error';
}

/** A request already in Cedar's terms (the Cedar CLI's test format and the explain command use it). */
export interface CedarCall {
  principal: EntityUid;
  action: EntityUid;
  resource: EntityUid;
  context: Record<string, CedarValueJson>;
  entities: EntityJson[];
}

export interface Authorizer {
  authorize(request: AuthorizationRequest): AuthorizationDecision;
  evaluate(call: CedarCall): AuthorizationDecision;
  readonly policySet: CompiledPolicySet;
}

let instanceCounter = 0;
/** Preparsed link slices kept per engine; the least recently used is replaced beyond this. */
const SLICE_CACHE_SIZE = 512;

type Outcome = { decision: 'allow' | 'deny'; reason: string[]; errors: string[] };

export class PolicyEngine implements Authorizer {
  readonly #setId: string;
  readonly #schemaName: string;
  readonly #links: LinkIndex;
  /** Slice key (sorted link ids) → preparsed set id; Map order is the LRU order. */
  readonly #slices = new Map<string, string>();
  #sliceIds = 0;
  #broken: string | undefined;

  constructor(readonly policySet: CompiledPolicySet) {
    const n = ++instanceCounter;
    this.#setId = `pset-${policySet.hash.slice(0, 16)}-${n}`;
    this.#schemaName = `schema-${policySet.hash.slice(0, 16)}-${n}`;
    const schema = cedar.preparseSchema(this.#schemaName, policySet.schemaText);
    if (schema.type === 'failure') throw new Error(`preparsing the schema failed: ${schema.errors.map((e) => e.message).join('; ')}`);
    const set = cedar.preparsePolicySet(this.#setId, { staticPolicies: policySet.policies });
    if (set.type === 'failure') throw new Error(`preparsing the policies failed: ${set.errors.map((e) => e.message).join('; ')}`);
    this.#links = new LinkIndex(policySet.links);
  }

  authorize(request: AuthorizationRequest): AuthorizationDecision {
    return this.evaluate({
      principal: userUid(request.principal),
      action: { type: 'Action', id: request.action },
      resource: request.resource.uid,
      context: request.context,
      entities: [...principalEntities(request.principal), ...request.resource.entities],
    });
  }

  /**
   * The static policies are one preparsed set. Template links are evaluated only when they can
   * apply: the links whose slots name the principal or resource (or their ancestors) form a small
   * set of their own, preparsed once and cached. The two answers combine exactly as Cedar combines
   * policies: any forbid denies, otherwise any permit allows, and any error denies.
   */
  evaluate(call: CedarCall): AuthorizationDecision {
    const hash = this.policySet.hash;
    const fail = (errors: string[]): AuthorizationDecision => ({ decision: 'deny', determiningPolicies: [], errors, policySetHash: hash, denyKind: 'error' });
    if (this.#broken) return fail([`policy engine unavailable: ${this.#broken}`]);
    try {
      const outcomes = [this.#run(this.#setId, call)];
      const slice = this.#sliceFor(call);
      if (slice) outcomes.push(this.#run(slice, call));
      return combine(outcomes, hash);
    } catch (err) {
      // A trap inside the wasm instance can leave it unusable: from here on every request is denied.
      this.#broken = (err as Error).message;
      return fail([`policy engine failure: ${this.#broken}`]);
    }
  }

  #run(setId: string, call: CedarCall): Outcome {
    const answer = cedar.statefulIsAuthorized({ ...call, preparsedPolicySetId: setId, preparsedSchemaName: this.#schemaName, validateRequest: true });
    if (answer.type === 'failure') return { decision: 'deny', reason: [], errors: answer.errors.map((e) => e.message) };
    const { decision, diagnostics } = answer.response;
    return { decision, reason: diagnostics.reason, errors: diagnostics.errors.map((e) => `${e.policyId}: ${e.error.message}`) };
  }

  #sliceFor(call: CedarCall): string | undefined {
    if (this.#links.size === 0) return undefined;
    const links = this.#links.lookup(ancestry(call.principal, call.entities), ancestry(call.resource, call.entities));
    if (links.length === 0) return undefined;
    const key = links.map((l) => l.id).sort().join('\n');
    const cached = this.#slices.get(key);
    if (cached) {
      this.#slices.delete(key);
      this.#slices.set(key, cached);
      return cached;
    }
    // Reuse the evicted slice's id: preparsing under an existing id replaces it, so the wasm
    // instance holds at most SLICE_CACHE_SIZE slices per engine.
    let id: string;
    if (this.#slices.size >= SLICE_CACHE_SIZE) {
      const [oldest, oldId] = this.#slices.entries().next().value as [string, string];
      this.#slices.delete(oldest);
      id = oldId;
    } else {
      id = `${this.#setId}-slice-${++this.#sliceIds}`;
    }
    const templates = Object.fromEntries([...new Set(links.map((l) => l.template))].map((t) => [t, this.policySet.templates[t]!]));
    const templateLinks = links.map((l) => ({
      templateId: l.template,
      newId: l.id,
      values: { ...(l.principal ? { '?principal': l.principal } : {}), ...(l.resource ? { '?resource': l.resource } : {}) },
    }));
    const parsed = cedar.preparsePolicySet(id, { staticPolicies: {}, templates, templateLinks });
    if (parsed.type === 'failure') throw new Error(`preparsing template links failed: ${parsed.errors.map((e) => e.message).join('; ')}`);
    this.#slices.set(key, id);
    return id;
  }
}

/** The entity and everything above it in the given entities, as entityKey strings. */
function ancestry(uid: EntityUid, entities: readonly EntityJson[]): Set<string> {
  const parentsOf = new Map<string, EntityUid[]>();
  for (const e of entities) parentsOf.set(entityKey(e.uid as EntityUid), (e.parents as EntityUid[]) ?? []);
  const seen = new Set<string>();
  const queue: EntityUid[] = [uid];
  while (queue.length > 0) {
    const next = queue.pop()!;
    const key = entityKey(next);
    if (seen.has(key)) continue;
    seen.add(key);
    queue.push(...(parentsOf.get(key) ?? []));
  }
  return seen;
}

function combine(outcomes: Outcome[], policySetHash: string): AuthorizationDecision {
  const errors = outcomes.flatMap((o) => o.errors);
  // No policy determined an error-deny: the permits in `reason` would have allowed it, and the
  // erroring policies are named in `errors`.
  if (errors.length > 0) return { decision: 'deny', determiningPolicies: [], errors, policySetHash, denyKind: 'error' };
  // A deny with reasons means forbids matched (Cedar lists the determining forbids).
  const forbids = outcomes.filter((o) => o.decision === 'deny').flatMap((o) => o.reason);
  if (forbids.length > 0) return { decision: 'deny', determiningPolicies: forbids, errors: [], policySetHash, denyKind: 'forbid' };
  const permits = outcomes.filter((o) => o.decision === 'allow').flatMap((o) => o.reason);
  if (permits.length > 0) return { decision: 'allow', determiningPolicies: permits, errors: [], policySetHash };
  return { decision: 'deny', determiningPolicies: [], errors: [], policySetHash, denyKind: 'no_permit' };
}

/**
 * One evaluation of a set that is not preparsed: for policy sets supplied to the test bench, which
 * must not grow the wasm instance's cache of preparsed sets. The same fail-closed rule applies.
 */
export function evaluateUnprepared(set: CompiledPolicySet, call: CedarCall): AuthorizationDecision {
  const answer = cedar.isAuthorized({
    ...call,
    schema: set.schemaText,
    validateRequest: true,
    policies: {
      staticPolicies: set.policies,
      templates: set.templates,
      templateLinks: set.links.map((l) => ({
        templateId: l.template,
        newId: l.id,
        values: { ...(l.principal ? { '?principal': l.principal } : {}), ...(l.resource ? { '?resource': l.resource } : {}) },
      })),
    },
  });
  if (answer.type === 'failure') return { decision: 'deny', determiningPolicies: [], errors: answer.errors.map((e) => e.message), policySetHash: set.hash, denyKind: 'error' };
  const { decision, diagnostics } = answer.response;
  return combine([{ decision, reason: diagnostics.reason, errors: diagnostics.errors.map((e) => `${e.policyId}: ${e.error.message}`) }], set.hash);
}
