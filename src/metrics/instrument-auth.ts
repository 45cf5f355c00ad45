/**
 * Decorators for the authorizer and the token verifier: count Cedar decisions by action and
 * decision, and token verification failures by their stable reason code. They observe and rethrow;
 * they never change a decision or swallow a failure.
 */
import type { TokenVerifier } from '../auth/verify-token.ts';
import { ServiceUnavailableError, UnauthenticatedError } from '../errors.ts';
import { ACTION_NAMES, type Authorizer } from '../policy/engine.ts';
import type { Metrics } from './metrics.ts';

/**
 * Wraps the live-authorizer getter. The authorizer it returns may be swapped by a reload, so each
 * distinct one is wrapped once (a WeakMap, so a replaced set can be collected).
 */
/**
 * The action label: one of the gateway's actions, or `other`. A simulation (POST /v1/authorize) may
 * name any action, and anyone may simulate their own access: one series per name sent would let a
 * client grow /metrics without bound (2,000 requests made 2,000 series).
 */
const KNOWN_ACTIONS: ReadonlySet<string> = new Set(ACTION_NAMES);
const actionLabel = (action: string) => (KNOWN_ACTIONS.has(action) ? action : 'other');

export function instrumentAuthorizer(live: () => Authorizer, metrics: Metrics): () => Authorizer {
  const wrapped = new WeakMap<Authorizer, Authorizer>();
  return () => {
    const inner = live();
    let outer = wrapped.get(inner);
    if (!outer) {
      outer = {
        get policySet() {
          return inner.policySet;
        },
        authorize(request) {
          const decision = inner.authorize(request);
          metrics.decisions.inc({ action: request.action, decision: decision.decision });
          return decision;
        },
        evaluate(call) {
          const decision = inner.evaluate(call);
          metrics.decisions.inc({ action: actionLabel(call.action.id), decision: decision.decision });
          return decision;
        },
      };
      wrapped.set(inner, outer);
    }
    return outer;
  };
}

export function instrumentVerifier(verifier: TokenVerifier, metrics: Metrics): TokenVerifier {
  return {
    async verify(token) {
      try {
        return await verifier.verify(token);
      } catch (err) {
        metrics.tokenFailures.inc({ reason: failureReason(err) });
        throw err;
      }
    },
    remembered: (token) => verifier.remembered(token),
  };
}

/** The reason is a code from a closed set (jose's ERR_JWT_* and ours), never a message. */
function failureReason(err: unknown): string {
  if (err instanceof UnauthenticatedError && /^ERR_[A-Z0-9_]{1,64}$/.test(err.code)) return err.code;
  if (err instanceof ServiceUnavailableError) return 'KEY_SOURCE_UNAVAILABLE';
  return 'ERR_TOKEN_INVALID';
}
