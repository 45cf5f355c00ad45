/**
 * The policy engine: a compiled set parsed once into cedar-wasm's cache, and `authorize`, which
 * fails closed. Allow only when Cedar answers success, the decision is allow, and no policy errored:
 * Cedar skips an erroring policy, so an erroring `forbid` would otherwise turn a deny into an allow.
 */
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import type { CedarValueJson, EntityJson } from '@cedar-policy/cedar-wasm/nodejs';
import type { Principal } from '../auth/principal.ts';
import { principalEntities, userUid, type CedarResource } from './entities.ts';
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
  | 'ReadAuditLog';

export interface AuthorizationRequest {
  principal: Principal;
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
}

export interface Authorizer {
  authorize(request: AuthorizationRequest): AuthorizationDecision;
  readonly policySet: CompiledPolicySet;
}

let instanceCounter = 0;

export class PolicyEngine implements Authorizer {
  readonly #setId: string;
  readonly #schemaName: string;
  #broken: string | undefined;

  constructor(readonly policySet: CompiledPolicySet) {
    const n = ++instanceCounter;
    this.#setId = `pset-${policySet.hash.slice(0, 16)}-${n}`;
    this.#schemaName = `schema-${policySet.hash.slice(0, 16)}-${n}`;
    const schema = cedar.preparseSchema(this.#schemaName, policySet.schemaText);
    if (schema.type === 'failure') throw new Error(`preparsing the schema failed: ${schema.errors.map((e) => e.message).join('; ')}`);
    const set = cedar.preparsePolicySet(this.#setId, { staticPolicies: policySet.policies });
    if (set.type === 'failure') throw new Error(`preparsing the policies failed: ${set.errors.map((e) => e.message).join('; ')}`);
  }

  authorize(request: AuthorizationRequest): AuthorizationDecision {
    const hash = this.policySet.hash;
    const deny = (errors: string[]): AuthorizationDecision => ({ decision: 'deny', determiningPolicies: [], errors, policySetHash: hash });
    if (this.#broken) return deny([`policy engine unavailable: ${this.#broken}`]);

    const entities: EntityJson[] = [...principalEntities(request.principal), ...request.resource.entities];
    let answer: cedar.AuthorizationAnswer;
    try {
      answer = cedar.statefulIsAuthorized({
        principal: userUid(request.principal),
        action: { type: 'Action', id: request.action },
        resource: request.resource.uid,
        context: request.context,
        entities,
        preparsedPolicySetId: this.#setId,
        preparsedSchemaName: this.#schemaName,
        validateRequest: true,
      });
    } catch (err) {
      // A trap inside the wasm instance can leave it unusable: from here on every request is denied.
      this.#broken = (err as Error).message;
      return deny([`policy engine failure: ${this.#broken}`]);
    }
    if (answer.type === 'failure') return deny(answer.errors.map((e) => e.message));

    const { decision, diagnostics } = answer.response;
    const errors = diagnostics.errors.map((e) => `${e.policyId}: ${e.error.message}`);
    // No policy determined an error-deny: the permits in `reason` would have allowed it, and the
    // erroring policies are named in `errors`.
    if (errors.length > 0) return { decision: 'deny', determiningPolicies: [], errors, policySetHash: hash };
    return { decision, determiningPolicies: diagnostics.reason, errors: [], policySetHash: hash };
  }
}
