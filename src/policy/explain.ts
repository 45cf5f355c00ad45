/**
 * Explains one decision: the decision, the policies that determined it (with where they are
 * written), any errors, and whether a deny came from a forbid or from no permit at all.
 */
import type { AuthorizationDecision } from './engine.ts';
import type { CompiledPolicySet } from './load-policies.ts';

export interface Explanation {
  decision: 'allow' | 'deny';
  /** For a deny: "forbid" (a forbid matched), "no_permit" (nothing permits it) or "error". */
  because: 'permit' | 'forbid' | 'no_permit' | 'error';
  determiningPolicies: Array<{ id: string; file: string; line: number }>;
  errors: string[];
  policySetHash: string;
}

export function explain(set: CompiledPolicySet, d: AuthorizationDecision): Explanation {
  return {
    decision: d.decision,
    because: d.decision === 'allow' ? 'permit' : (d.denyKind ?? 'no_permit'),
    determiningPolicies: d.determiningPolicies.map((id) => ({ id, file: set.sources[id]?.file ?? '?', line: set.sources[id]?.line ?? 0 })),
    errors: d.errors,
    policySetHash: d.policySetHash,
  };
}

export function describeExplanation(e: Explanation): string {
  const where = (p: Explanation['determiningPolicies'][number]) => `${p.id} (${p.file}:${p.line})`;
  const lines = [
    e.decision === 'allow'
      ? `ALLOW: permitted by ${e.determiningPolicies.map(where).join(', ')}`
      : e.because === 'forbid'
        ? `DENY: forbidden by ${e.determiningPolicies.map(where).join(', ')}`
        : e.because === 'error'
          ? 'DENY: evaluation failed (a policy errored, or the request does not fit the schema), so the request is denied (fail closed)'
          : 'DENY: no policy permits this request',
  ];
  for (const err of e.errors) lines.push(`  error: ${err}`);
  return lines.join('\n');
}
