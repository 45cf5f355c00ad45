import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import type { CedarValueJson } from '@cedar-policy/cedar-wasm/nodejs';
import { describe, expect, it } from 'vitest';
import type { Principal } from '../../src/auth/principal.ts';
import { PolicyEngine } from '../../src/policy/engine.ts';
import { auditLogResource, packageResource, principalEntities, userUid } from '../../src/policy/entities.ts';
import { compilePolicySet, loadPolicyDir, readPolicyDir, SCHEMA_FILE, type CompiledPolicySet } from '../../src/policy/load-policies.ts';
import { readTestCases, runPolicyTests } from '../../src/policy/run-tests.ts';
import type { ResolvedPackage } from '../../src/resource/package-arn.ts';
import { REPO_POLICIES } from '../helpers/gateway.ts';

const schemaText = readFileSync(join(REPO_POLICIES, SCHEMA_FILE), 'utf8');
const compile = (text: string): CompiledPolicySet => compilePolicySet(schemaText, [{ file: 'test.cedar', text }]);

const ISSUER = 'urn:versiongate:test';
const alice: Principal = { issuer: ISSUER, subject: 'alice', groups: ['release-managers'] };
const bob: Principal = { issuer: ISSUER, subject: 'bob', groups: [] };

const chalk = (repository: string): ResolvedPackage => ({
  region: 'us-east-1',
  domain: 'my_domain',
  domainOwner: '111122223333',
  repository,
  format: 'npm',
  namespace: '',
  name: 'chalk',
});
const myRepoChalk = packageResource(chalk('my_repo'));
const prodChalk = packageResource(chalk('prod'));

const archiveContext: Record<string, CedarValueJson> = { versions: ['4.1.0'], currentStatuses: ['Published'], targetStatus: 'Archived' };

const PERMIT_ALL_UPDATES = '@id("permit-all-updates")\npermit (principal, action == Action::"UpdatePackageVersionsStatus", resource);\n';
const OVERFLOWING_FORBID = '@id("overflowing-forbid")\nforbid (principal, action, resource) when { 9223372036854775807 + 1 > 0 };\n';

describe('entities', () => {
  it('the principal is a User in its groups, with its issuer', () => {
    expect(userUid(alice)).toEqual({ type: 'User', id: 'alice' });
    expect(principalEntities({ issuer: ISSUER, subject: 'carol', groups: ['a', 'b'] })).toEqual([
      { uid: { type: 'User', id: 'carol' }, attrs: { issuer: ISSUER }, parents: [{ type: 'Group', id: 'a' }, { type: 'Group', id: 'b' }] },
    ]);
  });

  it('the package is named by its ARN, with its repository and domain as direct parents', () => {
    const arn = 'arn:aws:codeartifact:us-east-1:111122223333:package/my_domain/my_repo/npm//chalk';
    expect(myRepoChalk.uid).toEqual({ type: 'Package', id: arn });
    expect(myRepoChalk.entities.find((e) => JSON.stringify(e.uid) === JSON.stringify(myRepoChalk.uid))).toEqual({
      uid: { type: 'Package', id: arn },
      attrs: { arn, domain: 'my_domain', domainOwner: '111122223333', repository: 'my_repo', format: 'npm', namespace: '', name: 'chalk' },
      parents: [
        { type: 'Repository', id: 'arn:aws:codeartifact:us-east-1:111122223333:repository/my_domain/my_repo' },
        { type: 'Domain', id: 'arn:aws:codeartifact:us-east-1:111122223333:domain/my_domain' },
      ],
    });
  });
});

describe('PolicyEngine.authorize fails closed', () => {
  it('an erroring forbid denies, even though Cedar alone would allow', () => {
    const set = compile(PERMIT_ALL_UPDATES + OVERFLOWING_FORBID);
    // The overflowing forbid passes strict validation: the error only shows when it is evaluated.
    expect(Object.keys(set.policies).sort()).toEqual(['overflowing-forbid', 'permit-all-updates']);
    expect(set.warnings).toEqual([]);

    // Cedar on its own skips the erroring forbid and allows.
    const plain = cedar.isAuthorized({
      principal: userUid(alice),
      action: { type: 'Action', id: 'UpdatePackageVersionsStatus' },
      resource: myRepoChalk.uid,
      context: archiveContext,
      entities: [...principalEntities(alice), ...myRepoChalk.entities],
      policies: { staticPolicies: set.policies },
    });
    expect(plain.type).toBe('success');
    if (plain.type !== 'success') return;
    expect(plain.response.decision).toBe('allow');
    expect(plain.response.diagnostics.errors.map((e) => e.policyId)).toEqual(['overflowing-forbid']);

    const engine = new PolicyEngine(set);
    const d = engine.authorize({ principal: alice, action: 'UpdatePackageVersionsStatus', resource: myRepoChalk, context: archiveContext });
    expect(d.decision).toBe('deny');
    expect(d.errors).toEqual(['overflowing-forbid: integer overflow while attempting to add the values `9223372036854775807` and `1`']);
    expect(d.policySetHash).toBe(set.hash);
  });

  it('an erroring deny does not name the permit as what determined it', () => {
    // determiningPolicies are documented as "the permits for an allow, the forbids for a deny":
    // the permit that Cedar would have allowed with did not determine this deny.
    const engine = new PolicyEngine(compile(PERMIT_ALL_UPDATES + OVERFLOWING_FORBID));
    const d = engine.authorize({ principal: alice, action: 'UpdatePackageVersionsStatus', resource: myRepoChalk, context: archiveContext });
    expect(d.decision).toBe('deny');
    expect(d.determiningPolicies).not.toContain('permit-all-updates');
  });

  it('a context missing targetStatus fails request validation: deny with errors', () => {
    const set = compile(PERMIT_ALL_UPDATES);
    const engine = new PolicyEngine(set);
    // The same request with targetStatus is allowed: only the context makes the difference.
    expect(engine.authorize({ principal: alice, action: 'UpdatePackageVersionsStatus', resource: myRepoChalk, context: archiveContext }).decision).toBe('allow');

    const d = engine.authorize({
      principal: alice,
      action: 'UpdatePackageVersionsStatus',
      resource: myRepoChalk,
      context: { versions: ['4.1.0'], currentStatuses: ['Published'] },
    });
    expect(d).toEqual({
      decision: 'deny',
      determiningPolicies: [],
      errors: ['while parsing context, expected the record to have an attribute `targetStatus`, but it does not'],
      policySetHash: set.hash,
      denyKind: 'error',
    });
  });

  it('a lone UTF-16 surrogate anywhere in a request is denied before Cedar, and the engine answers the next request', () => {
    const engine = new PolicyEngine(compile(PERMIT_ALL_UPDATES));
    // Cedar's JSON reader throws on one, and a throw marks the engine broken for every later request.
    const cases = [
      { principal: { ...alice, subject: 'alice\ud800' }, context: archiveContext },
      { principal: { ...alice, groups: ['release-managers\udc00'] }, context: archiveContext },
      { principal: alice, context: { ...archiveContext, versions: ['4.1.0\ud800'] } },
    ];
    for (const { principal, context } of cases) {
      const d = engine.authorize({ principal, action: 'UpdatePackageVersionsStatus', resource: myRepoChalk, context });
      expect(d).toMatchObject({ decision: 'deny', determiningPolicies: [], errors: ['the request holds a lone UTF-16 surrogate, which Cedar cannot read'], denyKind: 'error' });
      expect(engine.authorize({ principal: alice, action: 'UpdatePackageVersionsStatus', resource: myRepoChalk, context: archiveContext }).decision).toBe('allow');
    }
    // A well-formed pair of surrogates (one character outside the BMP) is no problem.
    expect(engine.authorize({ principal: { ...alice, subject: 'alice\u{1F600}' }, action: 'UpdatePackageVersionsStatus', resource: myRepoChalk, context: archiveContext }).decision).toBe('allow');
  });

  it('a call Cedar\'s JSON reader refuses (nested too deep) is denied alone: the engine answers the next request', () => {
    const engine = new PolicyEngine(compile(PERMIT_ALL_UPDATES));
    let deep: CedarValueJson = '4.1.0';
    for (let i = 0; i < 200; i++) deep = [deep];
    const d = engine.authorize({ principal: alice, action: 'UpdatePackageVersionsStatus', resource: myRepoChalk, context: { ...archiveContext, x: deep } });
    expect(d).toMatchObject({ decision: 'deny', determiningPolicies: [], denyKind: 'error' });
    expect(d.errors).toEqual([expect.stringMatching(/^policy engine failure: recursion limit exceeded/)]);
    expect(engine.authorize({ principal: alice, action: 'UpdatePackageVersionsStatus', resource: myRepoChalk, context: archiveContext }).decision).toBe('allow');
  });

  it('a trap or an overflowing wasm stack stops the engine: that request and every later one is denied', () => {
    // cedar-wasm cannot be made to trap on demand, so the engine is handed a Cedar call that fails
    // once the way a trapped instance does, and is the real one otherwise.
    // The lib is ES2023 without the DOM's, which is where TypeScript declares WebAssembly's errors.
    const { RuntimeError } = (globalThis as unknown as { WebAssembly: { RuntimeError: ErrorConstructor } }).WebAssembly;
    for (const failure of [new RuntimeError('unreachable'), new RangeError('Maximum call stack size exceeded')]) {
      let calls = 0;
      const engine = new PolicyEngine(compile(PERMIT_ALL_UPDATES), {
        decisionCacheSize: 0,
        statefulIsAuthorized: (call) => {
          if (++calls === 2) throw failure;
          return cedar.statefulIsAuthorized(call);
        },
      });
      const archive = () => engine.authorize({ principal: alice, action: 'UpdatePackageVersionsStatus', resource: myRepoChalk, context: archiveContext });
      expect(archive().decision).toBe('allow');
      expect(archive()).toMatchObject({ decision: 'deny', determiningPolicies: [], errors: [`policy engine failure: ${failure.message}`], denyKind: 'error' });
      // The instance may be corrupt: the engine no longer asks it, though the Cedar call would now answer.
      expect(archive()).toMatchObject({ decision: 'deny', errors: [`policy engine unavailable: ${failure.message}`], denyKind: 'error' });
      expect(calls).toBe(2);
    }
  });

  it('a plain Error from Cedar (a call it refuses) denies only that request', () => {
    let calls = 0;
    const engine = new PolicyEngine(compile(PERMIT_ALL_UPDATES), {
      decisionCacheSize: 0,
      statefulIsAuthorized: (call) => {
        if (++calls === 1) throw new Error('invalid unicode code point');
        return cedar.statefulIsAuthorized(call);
      },
    });
    const archive = () => engine.authorize({ principal: alice, action: 'UpdatePackageVersionsStatus', resource: myRepoChalk, context: archiveContext });
    expect(archive()).toMatchObject({ decision: 'deny', errors: ['policy engine failure: invalid unicode code point'], denyKind: 'error' });
    expect(archive().decision).toBe('allow');
  });

  it('a context attribute of the wrong type fails request validation: deny with errors', () => {
    const engine = new PolicyEngine(compile(PERMIT_ALL_UPDATES));
    const d = engine.authorize({
      principal: alice,
      action: 'UpdatePackageVersionsStatus',
      resource: myRepoChalk,
      context: { versions: ['4.1.0'], currentStatuses: ['Published'], targetStatus: 42 },
    });
    expect(d.decision).toBe('deny');
    expect(d.determiningPolicies).toEqual([]);
    expect(d.errors).toHaveLength(1);
    expect(d.errors[0]).toContain('targetStatus');
  });

  it('a resource of the wrong type for the action fails request validation: deny with errors', () => {
    const engine = new PolicyEngine(compile(PERMIT_ALL_UPDATES));
    const d = engine.authorize({ principal: alice, action: 'UpdatePackageVersionsStatus', resource: auditLogResource(), context: archiveContext });
    expect(d.decision).toBe('deny');
    expect(d.determiningPolicies).toEqual([]);
    expect(d.errors).toHaveLength(1);
  });
});

describe('PolicyEngine.authorize decisions', () => {
  const set = compile(
    [
      '@id("rm-curate")',
      'permit (principal in Group::"release-managers", action == Action::"UpdatePackageVersionsStatus", resource);',
      '@id("rm-unlist")',
      'permit (principal in Group::"release-managers", action == Action::"UpdatePackageVersionsStatus", resource) when { context.targetStatus == "Unlisted" };',
      '@id("no-archive-in-prod")',
      'forbid (principal, action == Action::"UpdatePackageVersionsStatus", resource in Repository::"arn:aws:codeartifact:us-east-1:111122223333:repository/my_domain/prod") when { context.targetStatus == "Archived" };',
      '@id("no-archive-in-prod-domain-wide")',
      'forbid (principal, action, resource is Package in Domain::"arn:aws:codeartifact:us-east-1:111122223333:domain/my_domain") when { resource.repository == "prod" && context has targetStatus && context.targetStatus == "Archived" };',
      '@id("auditors-read")',
      'permit (principal in Group::"auditors", action == Action::"ReadAuditLog", resource);',
      '',
    ].join('\n'),
  );
  const engine = new PolicyEngine(set);

  it('an allow lists the permits that allowed it', () => {
    const archive = engine.authorize({ principal: alice, action: 'UpdatePackageVersionsStatus', resource: myRepoChalk, context: archiveContext });
    expect(archive).toEqual({ decision: 'allow', determiningPolicies: ['rm-curate'], errors: [], policySetHash: set.hash });

    const unlist = engine.authorize({ principal: alice, action: 'UpdatePackageVersionsStatus', resource: myRepoChalk, context: { ...archiveContext, targetStatus: 'Unlisted' } });
    expect(unlist.decision).toBe('allow');
    expect([...unlist.determiningPolicies].sort()).toEqual(['rm-curate', 'rm-unlist']);
    expect(unlist.errors).toEqual([]);
  });

  it('a forbid deny lists the forbids that matched', () => {
    const d = engine.authorize({ principal: alice, action: 'UpdatePackageVersionsStatus', resource: prodChalk, context: archiveContext });
    expect(d.decision).toBe('deny');
    expect([...d.determiningPolicies].sort()).toEqual(['no-archive-in-prod', 'no-archive-in-prod-domain-wide']);
    expect(d.errors).toEqual([]);
    expect(d.policySetHash).toBe(set.hash);
  });

  it('a deny without any permit has no determining policies', () => {
    const d = engine.authorize({ principal: bob, action: 'UpdatePackageVersionsStatus', resource: myRepoChalk, context: archiveContext });
    expect(d).toEqual({ decision: 'deny', determiningPolicies: [], errors: [], policySetHash: set.hash, denyKind: 'no_permit' });

    const dispose = engine.authorize({
      principal: alice,
      action: 'DisposePackageVersions',
      resource: myRepoChalk,
      context: { versions: ['4.1.0'], currentStatuses: ['Published'] },
    });
    expect(dispose).toEqual({ decision: 'deny', determiningPolicies: [], errors: [], policySetHash: set.hash, denyKind: 'no_permit' });
  });

  it('group membership comes from the principal', () => {
    const auditor: Principal = { issuer: ISSUER, subject: 'dora', groups: ['auditors'] };
    expect(engine.authorize({ principal: auditor, action: 'ReadAuditLog', resource: auditLogResource(), context: {} })).toEqual({
      decision: 'allow',
      determiningPolicies: ['auditors-read'],
      errors: [],
      policySetHash: set.hash,
    });
    expect(engine.authorize({ principal: alice, action: 'ReadAuditLog', resource: auditLogResource(), context: {} })).toEqual({
      decision: 'deny',
      determiningPolicies: [],
      errors: [],
      policySetHash: set.hash,
      denyKind: 'no_permit',
    });
  });

  it('the engine exposes its policy set, and the hash is the compiled set\'s hash', () => {
    expect(engine.policySet).toBe(set);
    expect(set.hash).toMatch(/^[0-9a-f]{64}$/);
    const real = loadPolicyDir(REPO_POLICIES);
    const realEngine = new PolicyEngine(real);
    const d = realEngine.authorize({ principal: alice, action: 'UpdatePackageVersionsStatus', resource: myRepoChalk, context: archiveContext });
    expect(d).toEqual({ decision: 'allow', determiningPolicies: ['release-managers-curate-my-repo'], errors: [], policySetHash: real.hash });
    expect(real.hash).not.toBe(set.hash);
  });

  it('two engines on different sets in one process keep their own policies', () => {
    const permitAll = compile(PERMIT_ALL_UPDATES);
    const other = new PolicyEngine(permitAll);
    expect(other.authorize({ principal: bob, action: 'UpdatePackageVersionsStatus', resource: prodChalk, context: archiveContext })).toEqual({
      decision: 'allow',
      determiningPolicies: ['permit-all-updates'],
      errors: [],
      policySetHash: permitAll.hash,
    });
    // The first engine is unaffected.
    expect(engine.authorize({ principal: bob, action: 'UpdatePackageVersionsStatus', resource: prodChalk, context: archiveContext }).decision).toBe('deny');
  });
});

describe('PolicyEngine: a list no policy of the slice reads is given to Cedar empty', () => {
  const sam: Principal = { issuer: ISSUER, subject: 'sam', groups: ['security'] };
  /** The engine on `set`, with every call it makes to Cedar kept (the real Cedar answers them). */
  const watched = (set: CompiledPolicySet) => {
    const calls: cedar.StatefulAuthorizationCall[] = [];
    const engine = new PolicyEngine(set, {
      decisionCacheSize: 0,
      statefulIsAuthorized: (call) => {
        calls.push(call);
        return cedar.statefulIsAuthorized(call);
      },
    });
    return { engine, calls };
  };
  const sources = readPolicyDir(REPO_POLICIES);
  /** The shipped set with one more policy file. */
  const shippedWith = (text: string) => compilePolicySet(sources.schemaText, [...sources.files, { file: 'extra.cedar', text }], sources);
  const deleteChalk = (versions: CedarValueJson[], currentStatuses = ['Published']) =>
    ({ principal: sam, action: 'DeletePackage', resource: myRepoChalk, context: { versions, currentStatuses } }) as const;

  it('with the shipped policies, DeletePackage hands Cedar no versions, and every shipped DeletePackage case decides as it expects', () => {
    const { engine, calls } = watched(loadPolicyDir(REPO_POLICIES));
    const cases = readTestCases(REPO_POLICIES).filter((c) => c.call.action.id === 'DeletePackage');
    expect(cases.length).toBeGreaterThanOrEqual(4);
    const report = runPolicyTests(engine.policySet, cases, undefined, engine);
    expect(report.failures).toEqual([]);
    expect(report.passed).toBe(cases.length);
    expect(calls).toHaveLength(cases.length);
    // No shipped policy reads versions. Only the release managers' permit reads currentStatuses (they
    // delete only what is all Unfinished), and it is in the slice of release managers alone.
    for (const [i, call] of calls.entries()) {
      const { principal, context } = cases[i]!.call;
      const releaseManager = principal.id === 'rita';
      expect(call.context).toEqual({ versions: [], currentStatuses: releaseManager ? context['currentStatuses'] : [] });
    }
    expect(cases.filter((c) => c.call.principal.id === 'rita')).toHaveLength(2);

    const many = Array.from({ length: 20_000 }, (_, i) => `1.0.${i}`);
    expect(engine.authorize(deleteChalk(many))).toEqual({ decision: 'allow', determiningPolicies: ['security-may-delete'], errors: [], policySetHash: engine.policySet.hash });
    expect(calls.at(-1)!.context).toEqual({ versions: [], currentStatuses: [] });
  });

  it('a forbid that reads context.versions of DeletePackage sees the whole list: the version it names denies', () => {
    const { engine, calls } = watched(shippedWith('@id("keep-6-6-6")\nforbid (principal, action == Action::"DeletePackage", resource) when { context.versions.contains("6.6.6") };\n'));
    const versions = [...Array.from({ length: 999 }, (_, i) => `1.0.${i}`), '6.6.6'];
    expect(engine.authorize(deleteChalk(versions))).toMatchObject({ decision: 'deny', denyKind: 'forbid', determiningPolicies: ['keep-6-6-6'], errors: [] });
    // currentStatuses: read by no policy of sam's slice.
    expect(calls.at(-1)!.context).toEqual({ versions, currentStatuses: [] });
    expect(engine.authorize(deleteChalk(['1.0.0', '6.6.7']))).toMatchObject({ decision: 'allow', determiningPolicies: ['security-may-delete'] });
    // For an action the forbid does not name, the list is read by no policy of the slice: given empty.
    const dispose = engine.authorize({ principal: sam, action: 'DisposePackageVersions', resource: myRepoChalk, context: { versions: ['6.6.6'], currentStatuses: ['Archived'] } });
    expect(dispose).toMatchObject({ decision: 'allow', determiningPolicies: ['security-may-dispose'] });
    expect(calls.at(-1)!.context).toEqual({ versions: [], currentStatuses: [] });
  });

  it('a policy that reads the context whole (compared, or put in a record) keeps every list', () => {
    for (const [id, condition, allowed, denied] of [
      // Given empty, the lists would no longer equal the record, and the forbid would not match.
      ['keep-1-0-0', 'context == {"versions": ["1.0.0"], "currentStatuses": ["Published"]}', ['1.0.0'], ['1.0.1']],
      // Given empty, every package would look empty, and the forbid would match them all.
      ['no-empty-packages', '!{"c": context}.c.versions.isEmpty()', ['1.0.1'], []],
    ] as const) {
      const { engine, calls } = watched(shippedWith(`@id("${id}")\nforbid (principal, action == Action::"DeletePackage", resource) unless { ${condition} };\n`));
      // The policy is `unless`: it forbids when the condition is false.
      expect(engine.authorize(deleteChalk([...denied]))).toMatchObject({ decision: 'deny', denyKind: 'forbid', determiningPolicies: [id] });
      expect(engine.authorize(deleteChalk([...allowed]))).toMatchObject({ decision: 'allow', determiningPolicies: ['security-may-delete'] });
      expect(calls.at(-1)!.context).toEqual({ versions: allowed, currentStatuses: ['Published'] });
    }
  });

  it('an ill-typed list is given to Cedar as it came, and refused as before', () => {
    const { engine, calls } = watched(loadPolicyDir(REPO_POLICIES));
    const d = engine.authorize(deleteChalk(['4.1.0', 42]));
    expect(d).toMatchObject({ decision: 'deny', determiningPolicies: [], denyKind: 'error' });
    expect(d.errors).toHaveLength(1);
    expect(calls.at(-1)!.context).toEqual({ versions: ['4.1.0', 42], currentStatuses: [] });
    // A lone surrogate is not a string Cedar can read: refused before Cedar, as anywhere else in a request.
    expect(engine.authorize(deleteChalk(['4.1.0', '4.1.1\ud800']))).toMatchObject({ decision: 'deny', errors: ['the request holds a lone UTF-16 surrogate, which Cedar cannot read'] });
  });

  it('the decision cache is keyed by the call as made: a small call again is a hit; 20,000 versions (a key past the cache bound) are decided each time, without the list', () => {
    const sizes: number[] = [];
    const engine = new PolicyEngine(loadPolicyDir(REPO_POLICIES), {
      statefulIsAuthorized: (call) => {
        sizes.push((call.context as { versions: string[] }).versions.length);
        return cedar.statefulIsAuthorized(call);
      },
    });
    const many = (n: number) => Array.from({ length: n }, (_, i) => `2.0.${i}`);
    expect(engine.authorize(deleteChalk(many(3))).cached).toBeUndefined();
    expect(engine.authorize(deleteChalk(many(3)))).toMatchObject({ decision: 'allow', cached: true });
    expect(engine.authorize(deleteChalk(many(20_000)))).toMatchObject({ decision: 'allow' });
    expect(engine.authorize(deleteChalk(many(20_000)))).toMatchObject({ decision: 'allow' });
    expect(sizes).toEqual([0, 0, 0]);
  });
});
