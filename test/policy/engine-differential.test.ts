/**
 * The gate for every optimisation of the engine: random policy sets (static policies, templates and
 * links; scopes with ==, in, is; like, when/unless, forbids, and policies that error when evaluated)
 * and random requests, decided by the sliced and cached engine and by one plain cedar-wasm
 * `isAuthorized` call over the whole set. They must agree on the decision (after the engine's
 * fail-closed rule: any error denies), the determining policies and the erroring policies.
 *
 * Seeded and replayable: the seed is printed; VERSIONGATE_SEED=<n> replays it. A failure prints the
 * set and the request. VERSIONGATE_DEEP=1 runs the long form (`npm run test:deep`).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import type { CedarValueJson, EntityJson } from '@cedar-policy/cedar-wasm/nodejs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PolicyEngine, type CedarCall } from '../../src/policy/engine.ts';
import type { TemplateLink } from '../../src/policy/links.ts';
import { SCHEMA_FILE, type CompiledPolicySet } from '../../src/policy/load-policies.ts';

/** The shipped policies folder (as test/helpers/gateway.ts names it, without loading the app). */
const REPO_POLICIES = resolve(import.meta.dirname, '../../policies');

const DEEP = process.env['VERSIONGATE_DEEP'] === '1';
const SEED = process.env['VERSIONGATE_SEED'] ? Number(process.env['VERSIONGATE_SEED']) : Math.floor(Math.random() * 2 ** 31);
/** Sets per run, and requests per set: sets × requests is the number of pairs compared. */
const SETS = DEEP ? 500 : 100;
const REQUESTS = DEEP ? 24 : 30;

const schemaText = readFileSync(join(REPO_POLICIES, SCHEMA_FILE), 'utf8');
/** The same schema in Cedar's JSON form: the reference call parses it each time, and JSON parses faster. */
const schemaJson = (() => {
  const json = cedar.schemaToJson(schemaText);
  if (json.type !== 'success') throw new Error('the shipped schema does not parse');
  return json.json;
})();

// A small universe, so that scopes and requests meet often.
const GROUPS = ['g0', 'g1', 'g2', 'g3', 'g4', 'g5'];
const USERS = ['u0', 'u1', 'u2', 'u3'];
const DOMAINS = ['d0', 'd1'];
const REPOS = ['r0', 'r1', 'r2'];
const NAMES = ['chalk', 'core', 'log4j'];
const ACTIONS = [
  'UpdatePackageVersionsStatus',
  'DisposePackageVersions',
  'DeletePackageVersions',
  'PublishPackageVersion',
  'ListPackageVersions',
  'DescribePackageVersion',
  'ListPackageVersionAssets',
  'GetPackageVersionAsset',
  'Resync',
  'ReadAuditLog',
  'SimulateAuthorization',
  'ReadPolicies',
] as const;
const ACTION_GROUPS = ['ReadPackageVersions', 'ReadPackageVersionMetadata'];
const PACKAGE_ACTIONS = new Set(ACTIONS.slice(0, 9));

const domainArn = (d: string) => `arn:aws:codeartifact:us-east-1:111122223333:domain/${d}`;
const repoArn = (d: string, r: string) => `arn:aws:codeartifact:us-east-1:111122223333:repository/${d}/${r}`;
const packageArn = (d: string, r: string, n: string) => `arn:aws:codeartifact:us-east-1:111122223333:package/${d}/${r}/npm//${n}`;
const lit = (type: string, id: string) => `${type}::${JSON.stringify(id)}`;

const arbUser = fc.constantFrom(...USERS);
const arbGroup = fc.constantFrom(...GROUPS);
const arbDomain = fc.constantFrom(...DOMAINS);
const arbRepo = fc.tuple(arbDomain, fc.constantFrom(...REPOS)).map(([d, r]) => repoArn(d, r));
const arbPackage = fc.tuple(arbDomain, fc.constantFrom(...REPOS), fc.constantFrom(...NAMES)).map(([d, r, n]) => packageArn(d, r, n));

const arbPrincipalScope = fc.oneof(
  { weight: 3, arbitrary: fc.constant('principal') },
  { weight: 2, arbitrary: arbUser.map((u) => `principal == ${lit('User', u)}`) },
  { weight: 4, arbitrary: arbGroup.map((g) => `principal in ${lit('Group', g)}`) },
  { weight: 1, arbitrary: fc.constant('principal is User') },
  { weight: 1, arbitrary: arbGroup.map((g) => `principal is User in ${lit('Group', g)}`) },
  { weight: 1, arbitrary: arbUser.map((u) => `principal in ${lit('User', u)}`) },
  { weight: 1, arbitrary: arbGroup.map((g) => `principal == ${lit('Group', g)}`) },
);
const arbActionScope = fc.oneof(
  { weight: 3, arbitrary: fc.constant('action') },
  { weight: 4, arbitrary: fc.constantFrom(...ACTIONS).map((a) => `action == ${lit('Action', a)}`) },
  { weight: 2, arbitrary: fc.constantFrom(...ACTION_GROUPS).map((a) => `action in ${lit('Action', a)}`) },
  { weight: 2, arbitrary: fc.uniqueArray(fc.constantFrom(...ACTIONS, ...ACTION_GROUPS), { minLength: 0, maxLength: 3 }).map((as) => `action in [${as.map((a) => lit('Action', a)).join(', ')}]`) },
);
const arbResourceScope = fc.oneof(
  { weight: 3, arbitrary: fc.constant('resource') },
  { weight: 1, arbitrary: arbPackage.map((p) => `resource == ${lit('Package', p)}`) },
  { weight: 3, arbitrary: arbRepo.map((r) => `resource in ${lit('Repository', r)}`) },
  { weight: 3, arbitrary: arbDomain.map((d) => `resource in ${lit('Domain', domainArn(d))}`) },
  { weight: 1, arbitrary: fc.constant('resource is Package') },
  { weight: 1, arbitrary: arbRepo.map((r) => `resource is Package in ${lit('Repository', r)}`) },
  { weight: 1, arbitrary: arbDomain.map((d) => `resource is Repository in ${lit('Domain', domainArn(d))}`) },
  { weight: 1, arbitrary: fc.constant(`resource == ${lit('AuditLog', 'versiongate')}`) },
  { weight: 1, arbitrary: fc.constant(`resource in ${lit('PolicySet', 'live')}`) },
);
/** Conditions: plain ones, and ones that error for some requests (missing attribute, wrong type, overflow). */
const arbCondition = fc.oneof(
  fc.constantFrom('true', 'false'),
  arbGroup.map((g) => `principal in ${lit('Group', g)}`),
  fc.constantFrom('"p*"', '"*a*"', '"chalk"', '"*"').map((p) => `resource.name like ${p}`),
  fc.constantFrom('"*test*"', '"urn:*"').map((p) => `principal.issuer like ${p}`),
  fc.constantFrom('Archived', 'Published').map((s) => `context.targetStatus == "${s}"`),
  fc.constant('context has targetStatus && context.targetStatus like "*ed"'),
  fc.constant('context has currentStatuses && context.currentStatuses.contains("Archived")'),
  fc.constant('resource is Package && resource.repository == "r1"'),
  fc.constant('resource.nope == 1'),
  fc.constant('principal.issuer > 1'),
  fc.constant('9223372036854775807 + 1 > 0'),
  arbRepo.map((r) => `resource in ${lit('Repository', r)}`),
);
const arbClauses = fc.array(fc.tuple(fc.constantFrom('when', 'unless'), arbCondition), { maxLength: 2 }).map((cs) => cs.map(([k, c]) => ` ${k} { ${c} }`).join(''));

const arbPolicy = fc.record({ effect: fc.constantFrom('permit', 'permit', 'forbid'), p: arbPrincipalScope, a: arbActionScope, r: arbResourceScope, clauses: arbClauses });

/** A template: one or both slots, in == or in form, with the other parts random. */
const arbTemplate = fc.record({
  effect: fc.constantFrom('permit', 'permit', 'forbid'),
  p: fc.constantFrom('principal == ?principal', 'principal in ?principal', 'principal is User in ?principal', null),
  a: arbActionScope,
  r: fc.constantFrom('resource in ?resource', 'resource == ?resource', 'resource is Package in ?resource', null),
  clauses: arbClauses,
});
const arbPrincipalValue = fc.oneof(arbUser.map((u) => ({ type: 'User', id: u })), arbGroup.map((g) => ({ type: 'Group', id: g })));
const arbResourceValue = fc.oneof(
  arbRepo.map((id) => ({ type: 'Repository', id })),
  arbDomain.map((d) => ({ type: 'Domain', id: domainArn(d) })),
  arbPackage.map((id) => ({ type: 'Package', id })),
);

interface GeneratedSet {
  set: CompiledPolicySet;
  text: string;
}

const arbSet: fc.Arbitrary<GeneratedSet> = fc
  .record({
    policies: fc.array(arbPolicy, { minLength: 0, maxLength: 30 }),
    templates: fc.array(arbTemplate, { maxLength: 2 }),
    links: fc.array(fc.record({ t: fc.nat(), principal: arbPrincipalValue, resource: arbResourceValue }), { maxLength: 12 }),
  })
  .map(({ policies, templates, links }) => {
    const render = (x: { effect: string; p: string | null; a: string; r: string | null; clauses: string }) =>
      `${x.effect} (${x.p ?? 'principal'}, ${x.a}, ${x.r ?? 'resource'})${x.clauses};`;
    const policyText = Object.fromEntries(policies.map((p, i) => [`p${i}`, `@id("p${i}")\n${render(p)}`]));
    const usable = templates.map((t, i) => ({ id: `t${i}`, t })).filter(({ t }) => t.p !== null || t.r !== null);
    const templateText = Object.fromEntries(usable.map(({ id, t }) => [id, `@id("${id}")\n${render(t)}`]));
    const linkList: TemplateLink[] =
      usable.length === 0
        ? []
        : links.map((l, i) => {
            const { id: template, t } = usable[l.t % usable.length]!;
            return { id: `l${i}`, template, principal: t.p ? l.principal : undefined, resource: t.r ? l.resource : undefined, file: 'links.json', line: i + 1 };
          });
    const text = [...Object.values(policyText), ...Object.values(templateText), JSON.stringify(linkList.map(({ id, template, principal, resource }) => ({ id, template, principal, resource })))].join('\n');
    const set: CompiledPolicySet = {
      schemaText,
      policies: policyText,
      templates: templateText,
      templateSlots: {},
      links: linkList,
      sources: {},
      files: [],
      hash: createHash('sha256').update(text).digest('hex'),
      warnings: [],
    };
    // fast-check prints a counterexample with this: the policies, not the whole schema.
    return { set, text, [fc.toStringMethod]: () => `policy set:\n${text}` };
  });

const STATUSES = ['Published', 'Unfinished', 'Unlisted', 'Archived', 'Disposed'];
const arbContextPool = fc.record({
  versions: fc.uniqueArray(fc.constantFrom('1.0.0', '2.0.0'), { maxLength: 2 }),
  currentStatuses: fc.uniqueArray(fc.constantFrom(...STATUSES), { maxLength: 3 }),
  targetStatus: fc.constantFrom('Published', 'Unlisted', 'Archived'),
  expectedStatus: fc.option(fc.constantFrom(...STATUSES), { nil: undefined }),
  status: fc.option(fc.constantFrom(...STATUSES), { nil: undefined }),
  version: fc.constantFrom('1.0.0', '2.0.0'),
  currentStatus: fc.option(fc.constantFrom(...STATUSES, 'Deleted'), { nil: undefined }),
  asset: fc.constantFrom('a.tgz', 'b.jar'),
  unfinished: fc.boolean(),
});
type ContextPool = typeof arbContextPool extends fc.Arbitrary<infer T> ? T : never;

function contextFor(action: string, c: ContextPool): Record<string, CedarValueJson> {
  const opt = (k: string, v: CedarValueJson | undefined) => (v === undefined ? {} : { [k]: v });
  switch (action) {
    case 'UpdatePackageVersionsStatus':
      return { versions: c.versions, currentStatuses: c.currentStatuses, targetStatus: c.targetStatus, ...opt('expectedStatus', c.expectedStatus) };
    case 'DisposePackageVersions':
    case 'DeletePackageVersions':
    case 'Resync':
      return { versions: c.versions, currentStatuses: c.currentStatuses, ...opt('expectedStatus', c.expectedStatus) };
    case 'ListPackageVersions':
      return { ...opt('status', c.status) };
    case 'DescribePackageVersion':
    case 'ListPackageVersionAssets':
      return { version: c.version, ...opt('currentStatus', c.currentStatus) };
    case 'GetPackageVersionAsset':
      return { version: c.version, asset: c.asset, ...opt('currentStatus', c.currentStatus) };
    case 'PublishPackageVersion':
      return { version: c.version, assetName: c.asset, unfinished: c.unfinished, ...opt('currentStatus', c.currentStatus) };
    default:
      return {};
  }
}

const arbRequest: fc.Arbitrary<CedarCall> = fc
  .record({
    user: fc.constantFrom(...USERS, 'u9'),
    groups: fc.uniqueArray(arbGroup, { maxLength: 5 }),
    issuer: fc.constantFrom('urn:versiongate:test', 'https://idp.example.com/'),
    action: fc.oneof({ weight: 20, arbitrary: fc.constantFrom(...ACTIONS) }, { weight: 1, arbitrary: fc.constantFrom(...ACTION_GROUPS) }),
    domain: arbDomain,
    repo: fc.constantFrom(...REPOS),
    name: fc.constantFrom(...NAMES),
    /** How the package's ancestors are given: as packageResource does, through the Repository entity, or both. */
    layout: fc.constantFrom('direct', 'chain', 'both'),
    /** Now and then a resource of the wrong type for the action, or a broken context: the request fails. */
    wrongResource: fc.nat(30),
    context: arbContextPool,
    breakContext: fc.nat(30),
  })
  .map((r) => {
    const principal = { type: 'User', id: r.user };
    const entities: EntityJson[] = [{ uid: principal, attrs: { issuer: r.issuer }, parents: r.groups.map((g) => ({ type: 'Group', id: g })) }];
    const repo = { type: 'Repository', id: repoArn(r.domain, r.repo) };
    const domain = { type: 'Domain', id: domainArn(r.domain) };
    let kind = PACKAGE_ACTIONS.has(r.action as never) ? 'package' : r.action === 'ReadAuditLog' ? (r.repo === 'r0' ? 'auditlog' : 'repository') : r.action.startsWith('Read') && !r.action.includes('Audit') && r.action !== 'ReadPolicies' ? 'package' : 'policyset';
    if (r.wrongResource === 0) kind = ['package', 'repository', 'auditlog', 'policyset'][r.repo.charCodeAt(1) % 4]!;
    let resource: { type: string; id: string };
    if (kind === 'package') {
      resource = { type: 'Package', id: packageArn(r.domain, r.repo, r.name) };
      const attrs = { arn: resource.id, domain: r.domain, domainOwner: '111122223333', repository: r.repo, format: 'npm', namespace: '', name: r.name };
      entities.push({ uid: resource, attrs, parents: r.layout === 'chain' ? [repo] : [repo, domain] });
      if (r.layout !== 'direct') entities.push({ uid: repo, attrs: {}, parents: [domain] });
    } else if (kind === 'repository') {
      resource = repo;
      entities.push({ uid: repo, attrs: {}, parents: [domain] });
    } else if (kind === 'auditlog') {
      resource = { type: 'AuditLog', id: 'versiongate' };
      entities.push({ uid: resource, attrs: {}, parents: [] });
    } else {
      resource = { type: 'PolicySet', id: 'live' };
      entities.push({ uid: resource, attrs: {}, parents: [] });
    }
    const context = contextFor(r.action, r.context);
    if (r.breakContext === 0) context['unexpected'] = 1;
    return { principal, action: { type: 'Action', id: r.action }, resource, context, entities };
  });

/** The requests for one set; printed by count only (the failing one is in the error message). */
const arbRequests = fc
  .array(arbRequest, { minLength: REQUESTS, maxLength: REQUESTS })
  .map((calls) => ({ calls, [fc.toStringMethod]: () => `${calls.length} requests` }));

interface Reference {
  failed: boolean;
  decision: 'allow' | 'deny';
  reason: string[];
  errorCount: number;
  errorPolicies: string[];
}

/** One plain cedar-wasm call over the whole set: the reference. */
function plainCedar(set: CompiledPolicySet, call: CedarCall): Reference {
  const answer = cedar.isAuthorized({
    ...call,
    schema: schemaJson,
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
  if (answer.type === 'failure') return { failed: true, decision: 'deny', reason: [], errorCount: answer.errors.length, errorPolicies: [] };
  const { decision, diagnostics } = answer.response;
  return { failed: false, decision, reason: diagnostics.reason, errorCount: diagnostics.errors.length, errorPolicies: diagnostics.errors.map((e) => e.policyId) };
}

const sorted = (xs: readonly string[]) => [...xs].sort();

/** Compares one decision with the reference; returns what differs, or undefined. */
function difference(engine: PolicyEngine, call: CedarCall, ref: Reference): string | undefined {
  const d = engine.evaluate(call);
  const problems: string[] = [];
  if (d.errors.length !== ref.errorCount) problems.push(`errors: ${d.errors.length} (${d.errors.join(' | ')}) vs Cedar's ${ref.errorCount}`);
  const errorPolicies = ref.failed ? [] : sorted(d.errors.map((e) => e.slice(0, e.indexOf(':'))));
  if (!ref.failed && errorPolicies.join(',') !== sorted(ref.errorPolicies).join(',')) problems.push(`erroring policies [${errorPolicies}] vs Cedar's [${sorted(ref.errorPolicies)}]`);
  if (ref.failed || ref.errorCount > 0) {
    // Fail closed: Cedar skips an erroring policy; the engine denies.
    if (d.decision !== 'deny' || d.denyKind !== 'error' || d.determiningPolicies.length > 0) problems.push(`expected an error deny, got ${d.decision} (${d.denyKind}) [${d.determiningPolicies}]`);
  } else {
    if (d.decision !== ref.decision) problems.push(`decision ${d.decision} vs Cedar's ${ref.decision}`);
    if (sorted(d.determiningPolicies).join(',') !== sorted(ref.reason).join(',')) problems.push(`determining [${sorted(d.determiningPolicies)}] vs Cedar's [${sorted(ref.reason)}]`);
    const kind = ref.decision === 'allow' ? undefined : ref.reason.length > 0 ? 'forbid' : 'no_permit';
    if (d.denyKind !== kind) problems.push(`denyKind ${d.denyKind} vs ${kind}`);
  }
  return problems.length > 0 ? `${problems.join('; ')}${d.cached ? ' (from the decision cache)' : ''}` : undefined;
}

describe('the sliced and cached engine agrees with plain Cedar over the whole set', () => {
  it(`${SETS} random sets × ${REQUESTS} random requests (seed ${SEED})`, () => {
    console.log(`engine differential: seed ${SEED} (replay with VERSIONGATE_SEED=${SEED}), ${SETS} sets × ${REQUESTS} requests${DEEP ? ' (deep)' : ''}`);
    let compared = 0;
    fc.assert(
      fc.property(arbSet, arbRequests, fc.constantFrom(0, 10_000), fc.constantFrom(4, 512), ({ set, text }, { calls }, decisionCacheSize, sliceCacheSize) => {
        const engine = new PolicyEngine(set, { decisionCacheSize, sliceCacheSize });
        // Each request twice (the second may come from the decision cache), and the first again at the end.
        const refs = calls.map((call) => plainCedar(set, call));
        for (const [i, call] of [...calls.entries(), ...calls.entries(), [0, calls[0]!] as const]) {
          const ref = refs[i]!;
          const diff = difference(engine, call, ref);
          compared++;
          if (diff) {
            const slice = engine.sliceOf(call).map((p) => p.id);
            throw new Error(`${diff}\n--- request\n${JSON.stringify(call, null, 1)}\n--- slice evaluated: [${slice}]\n--- policy set\n${text}`);
          }
        }
      }),
      { seed: SEED, numRuns: SETS },
    );
    expect(compared).toBeGreaterThanOrEqual(SETS * REQUESTS * 2);
    // Generous: the machine running it may be slow and busy; the deep form takes minutes.
  }, (DEEP ? 60 : 5) * 60_000);
});
