/**
 * The decision cache's key of an authorization request is built from the principal's and the
 * resource's kept encodings (src/policy/request-key.ts). It must be exactly the key decisionKey
 * makes of the whole call, or the cache would merge requests Cedar tells apart (or miss for nothing).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Principal } from '../../src/auth/principal.ts';
import { decisionKey } from '../../src/policy/decision-cache.ts';
import { PolicyEngine } from '../../src/policy/engine.ts';
import { packageResource, principalEntities, repositoryResource, userUid, type CedarResource } from '../../src/policy/entities.ts';
import { loadPolicyDir } from '../../src/policy/load-policies.ts';
import { principalPart, requestKey, resourcePart } from '../../src/policy/request-key.ts';
import { resolve } from 'node:path';

const REPO_POLICIES = resolve(import.meta.dirname, '../../policies');

/** What decisionKey makes of the call engine.authorize hands Cedar. */
function wholeCallKey(principal: Principal, action: string, resource: CedarResource, context: Record<string, unknown>): string | undefined {
  const actionUid = { type: 'Action', id: action };
  return decisionKey([userUid(principal), actionUid, resource.uid, context, [...principalEntities(principal), ...resource.entities]]);
}

const name = fc.string({ minLength: 1, maxLength: 12 });
const principals = fc.record({ issuer: fc.string(), subject: fc.string(), groups: fc.array(fc.string(), { maxLength: 5 }), frozen: fc.boolean() }).map(({ frozen, ...p }) => (frozen ? Object.freeze({ ...p, groups: Object.freeze(p.groups) as string[] }) : p));
const resources = fc.oneof(
  fc.record({ domain: name, domainOwner: fc.stringMatching(/^\d{12}$/), repository: name, format: fc.constantFrom('npm', 'maven', 'pypi'), namespace: fc.string({ maxLength: 8 }), name }).map((c) => packageResource({ region: 'us-east-1', ...c })),
  fc.record({ owner: fc.stringMatching(/^\d{12}$/), domain: name, repository: name }).map((r) => repositoryResource('us-east-1', r.owner, r.domain, r.repository)),
);
// JSON values, and the values JSON would change or drop (the key must then be undefined).
const contexts = fc.dictionary(fc.string({ maxLength: 6 }), fc.oneof(fc.jsonValue(), fc.constantFrom(undefined, Number.NaN, -0, Number.POSITIVE_INFINITY), fc.date()), { maxKeys: 4 });

describe('the decision cache key of a request', () => {
  it('is the key decisionKey makes of the whole call, for any principal, resource and context', () => {
    fc.assert(
      fc.property(principals, fc.constantFrom('UpdatePackageVersionsStatus', 'ListPackageVersions'), resources, contexts, (principal, action, resource, context) => {
        const expected = wholeCallKey(principal, action, resource, context);
        // Twice: the second is answered from the kept encodings of a frozen principal or resource.
        for (let i = 0; i < 2; i++) {
          expect(requestKey(principalPart(principal), { type: 'Action', id: action }, resourcePart(resource), context as never)).toBe(expected);
        }
      }),
      { numRuns: 1_000, seed: 20261206 },
    );
  });

  it('shares one frozen resource per package, and builds a new one when anything it was made from differs', () => {
    const chalk = { region: 'us-east-1', domain: 'my_domain', domainOwner: '111122223333', repository: 'my_repo', format: 'npm' as const, namespace: '', name: 'chalk' };
    const first = packageResource(chalk);
    expect(packageResource({ ...chalk })).toBe(first);
    expect(Object.isFrozen(first.entities[0]!.attrs)).toBe(true);
    expect(() => (first.entities as unknown[]).push({})).toThrow(TypeError);
    // The same ARN given with other attributes (a PackageRef names its ARN itself) is not the shared one.
    const other = packageResource({ ...chalk, namespace: 'x', arn: first.uid.id, repositoryArn: 'arn:aws:codeartifact:us-east-1:111122223333:repository/my_domain/my_repo', domainArn: 'arn:aws:codeartifact:us-east-1:111122223333:domain/my_domain' });
    expect(other).not.toBe(first);
    expect(other.entities[0]!.attrs).toMatchObject({ namespace: 'x' });
  });

  it('never answers one principal with another’s cached decision', () => {
    const engine = new PolicyEngine(loadPolicyDir(REPO_POLICIES));
    const resource = packageResource({ region: 'us-east-1', domain: 'my_domain', domainOwner: '111122223333', repository: 'my_repo', format: 'npm', namespace: '', name: 'chalk' });
    const context = { versions: ['4.1.0'], currentStatuses: ['Published'], targetStatus: 'Archived' };
    const curator = Object.freeze({ issuer: 'i', subject: 'rita', groups: Object.freeze(['release-managers']) as string[] });
    const developer = Object.freeze({ issuer: 'i', subject: 'rita', groups: Object.freeze(['developers']) as string[] });
    expect(engine.authorize({ principal: curator, action: 'UpdatePackageVersionsStatus', resource, context }).decision).toBe('allow');
    expect(engine.authorize({ principal: curator, action: 'UpdatePackageVersionsStatus', resource, context })).toMatchObject({ decision: 'allow', cached: true });
    expect(engine.authorize({ principal: developer, action: 'UpdatePackageVersionsStatus', resource, context })).toMatchObject({ decision: 'deny' });
    expect(engine.authorize({ principal: developer, action: 'UpdatePackageVersionsStatus', resource, context }).cached).toBe(true);
  });
});
