/**
 * Shadow evaluation: a candidate policy set judges every request beside the live one and is never
 * enforced. Where the two disagree, the disagreement is reported (and recorded in the audit by the
 * caller), so a team sees what a change would do to real traffic before promoting it.
 */
import type { AuthorizationDecision, AuthorizationRequest, Authorizer, CedarCall } from './engine.ts';

export interface Disagreement {
  request: AuthorizationRequest;
  live: AuthorizationDecision;
  candidate: AuthorizationDecision;
}

export function shadowing(live: Authorizer, candidate: Authorizer, onDisagreement: (d: Disagreement) => void): Authorizer {
  return {
    get policySet() {
      return live.policySet;
    },
    authorize(request) {
      const decision = live.authorize(request);
      // The candidate can never change the answer, and its failure never fails the request.
      try {
        const other = candidate.authorize(request);
        if (other.decision !== decision.decision) onDisagreement({ request, live: decision, candidate: other });
      } catch {
        /* a broken candidate is reported by its own load status */
      }
      return decision;
    },
    evaluate(call: CedarCall) {
      return live.evaluate(call);
    },
  };
}
