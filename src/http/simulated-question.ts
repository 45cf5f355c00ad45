/**
 * A simulated request's question (action, one resource, context) as POST /v1/authorize and its batch
 * form take it, the Cedar resource it names, and the answer someone asking about their own access
 * gets.
 */
import { z } from '@hono/zod-openapi';
import { ValidationError } from '../errors.ts';
import { auditLogResource, domainResource, packageResource, policySetResource, registryResource, repositoryResource, type CedarResource } from '../policy/entities.ts';
import type { Explanation } from '../policy/explain.ts';
import { checkDomainName, checkDomainOwner, parseCoordinates } from '../resource/coordinates.ts';
import { measureContext } from './context-bounds.ts';

export const packageSchema = z
  .object({ domain: z.string(), domainOwner: z.string(), repository: z.string(), format: z.string(), namespace: z.string().optional(), package: z.string() })
  .strict();

/**
 * How large a simulated request's context may be, as JSON. Cedar reads a context at ~0.45 ms a KiB on
 * the event loop, and anyone may ask about their own access: a 700 KB context held the gateway for
 * 275 ms. The contexts the gateway builds itself hold at most 100 versions, a few KiB.
 */
export const MAX_SIMULATED_CONTEXT_CHARS = 32 * 1024;

/** What a simulated request asks: the action, one resource, and the context (the single and the batch form's). */
export const questionFields = {
  action: z.string().regex(/^[A-Za-z]{1,64}$/, 'must be an action name such as UpdatePackageVersionsStatus'),
  package: packageSchema.optional(),
  repository: z.object({ domain: z.string(), domainOwner: z.string(), repository: z.string() }).strict().optional(),
  domain: z.object({ domain: z.string(), domainOwner: z.string() }).strict().optional(),
  resource: z.enum(['AuditLog::"versiongate"', 'PolicySet::"live"', 'Registry::"versiongate"']).optional(),
  context: z
    .record(z.string(), z.unknown())
    .superRefine((ctx, check) => {
      const measured = measureContext(ctx, MAX_SIMULATED_CONTEXT_CHARS);
      if ('problem' in measured) check.addIssue({ code: 'custom', message: measured.problem });
    })
    .optional(),
};
type QuestionResource = Pick<z.infer<z.ZodObject<typeof questionFields>>, 'package' | 'repository' | 'domain' | 'resource'>;

/**
 * An answer about the caller's own access, which anyone may ask: the decision, why, and the ids of
 * the policies that determined it (the console shows them as the reason a button is disabled), but
 * not where those policies are written nor which set version decided: the security team's bench
 * tells those, and only to those allowed to ask about anyone.
 */
export function ownAccessAnswer(e: Explanation): Omit<Explanation, 'determiningPolicies' | 'policySetHash'> & { determiningPolicies: Array<{ id: string }> } {
  return { decision: e.decision, because: e.because, determiningPolicies: e.determiningPolicies.map(({ id }) => ({ id })), errors: e.errors };
}

export function resourceOf(body: QuestionResource, region: string): CedarResource {
  const given = [body.package, body.repository, body.domain, body.resource].filter((x) => x !== undefined).length;
  if (given !== 1) throw new ValidationError('give exactly one of "package" (coordinates), "repository", "domain" or "resource"');
  if (body.package) {
    const p = body.package;
    const coords = parseCoordinates({ domain: p.domain, domainOwner: p.domainOwner, repository: p.repository, format: p.format, namespace: p.namespace, package: p.package });
    return packageResource({ region, ...coords, domainOwner: coords.domainOwner! });
  }
  if (body.repository) {
    const r = parseCoordinates({ domain: body.repository.domain, domainOwner: body.repository.domainOwner, repository: body.repository.repository, format: 'generic', namespace: 'x', package: 'x' });
    return repositoryResource(region, r.domainOwner!, r.domain, r.repository);
  }
  if (body.domain) {
    return domainResource(region, checkDomainOwner(body.domain.domainOwner), checkDomainName(body.domain.domain));
  }
  if (body.resource === 'Registry::"versiongate"') return registryResource();
  return body.resource === 'PolicySet::"live"' ? policySetResource() : auditLogResource();
}
