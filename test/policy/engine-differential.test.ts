/**
 * The gate for every optimisation of the engine: random policy sets (static policies, templates and
 * links; scopes with ==, in, is; like, when/unless, forbids, and policies that error when evaluated)
 * and random requests, decided by the sliced and cached engine and by one plain cedar-wasm
 * `isAuthorized` call over the whole set and the whole context. They must agree on the decision
 * (after the engine's fail-closed rule: any error denies), the determining policies and the erroring
 * policies. Contexts carry the lists the schema declares Set<String> (0 to 5 elements, now and then
 * one that is ill-typed), and conditions read them every way Cedar allows, or not at all: the engine
 * gives Cedar a list no policy of the slice reads as [] (context-lists.ts), and any read it missed
 * shows here as a decision plain Cedar does not make.
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
  // With Set<String> lists in their context (as the first four and ListPackageVersions have).
  'DeletePackage',
  'CopyPackageVersions',
  'CreateRepository',
  'UpdateRepository',
] as const;
const ACTION_GROUPS = ['ReadPackageVersions', 'ReadPackageVersionMetadata'];
const PACKAGE_ACTIONS = new Set<string>([...ACTIONS.slice(0, 9), 'DeletePackage', 'CopyPackageVersions']);

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
const STATUSES = ['Published', 'Unfinished', 'Unlisted', 'Archived', 'Disposed'];
/** The context's lists (Set<String> in the schema), what each may hold, and the actions whose context always has it. */
const LISTS: Record<string, { values: string[]; holders: string[] }> = {
  versions: { values: ['1.0.0', '2.0.0', '6.6.6'], holders: ['UpdatePackageVersionsStatus', 'DisposePackageVersions', 'DeletePackageVersions', 'Resync', 'DeletePackage', 'CopyPackageVersions'] },
  currentStatuses: { values: STATUSES, holders: ['UpdatePackageVersionsStatus', 'DisposePackageVersions', 'DeletePackageVersions', 'Resync', 'DeletePackage', 'CopyPackageVersions'] },
  destinationStatuses: { values: [...STATUSES, 'Deleted'], holders: ['CopyPackageVersions'] },
  upstreams: { values: ['npmjs', 'r0', 'r1'], holders: ['CreateRepository'] },
  // Optional where it appears (ListPackageVersions).
  include: { values: ['publishedTime', 'sync'], holders: [] },
};
const setLiteral = (vs: readonly string[]) => `[${vs.map((v) => JSON.stringify(v)).join(', ')}]`;
/** One read of a list, as an expression that errors when the context lacks it. */
const arbListRead = fc.constantFrom(...Object.keys(LISTS)).chain((a) => {
  const value = fc.constantFrom(...LISTS[a]!.values);
  const values = fc.uniqueArray(value, { minLength: 1, maxLength: 3 }).map(setLiteral);
  return fc.tuple(
    fc.constant(a),
    fc.oneof(
      value.map((v) => `context.${a}.contains(${JSON.stringify(v)})`),
      value.map((v) => `context["${a}"].contains(${JSON.stringify(v)})`),
      values.map((vs) => `context.${a}.containsAll(${vs})`),
      values.map((vs) => `context.${a}.containsAny(${vs})`),
      values.map((vs) => `${vs}.containsAll(context.${a})`),
      fc.constant(`context.${a}.isEmpty()`),
      values.map((vs) => `context.${a} == ${vs}`),
    ),
  );
});
/**
 * A condition on a list, read every way Cedar can read one: by name (., [""], has, a path), or the
 * context whole. Most are guarded by the action (or `has`), so that they decide rather than error:
 * a slice with an erroring policy denies whatever the lists hold.
 */
const arbListCondition = fc.oneof(
  { weight: 4, arbitrary: arbListRead.map(([a, read]) => (LISTS[a]!.holders.length > 0 ? `action in [${LISTS[a]!.holders.map((h) => lit('Action', h)).join(', ')}] && ${read}` : `context has ${a} && ${read}`)) },
  { weight: 2, arbitrary: arbListRead.map(([a, read]) => `context has ${a} && ${read}`) },
  { weight: 1, arbitrary: arbListRead.map(([, read]) => read) },
  { weight: 1, arbitrary: fc.constantFrom(...Object.keys(LISTS)).map((a) => `context has ${a}`) },
  { weight: 1, arbitrary: fc.constantFrom(...Object.keys(LISTS)).map((a) => `context has ${a}.first`) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      'action == Action::"DeletePackage" && context == {"versions": [], "currentStatuses": []}',
      'action == Action::"DeletePackage" && context == {"versions": ["1.0.0"], "currentStatuses": ["Published"]}',
      'context != {}',
      'context has versions && {"c": context}.c.versions.isEmpty()',
      '[context].contains({"versions": [], "currentStatuses": []})',
      'if context has versions then context else {}',
    ),
  },
);
/** Conditions: plain ones, ones on the context's lists, and ones that error for some requests (missing attribute, wrong type, overflow). */
const arbCondition = fc.oneof(
  { weight: 5, arbitrary: arbListCondition },
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

type PolicyParts = { effect: string; p: string | null; a: string; r: string | null; clauses: string };

const setOf = (policy: fc.Arbitrary<PolicyParts>, template: fc.Arbitrary<PolicyParts>, sizes: { policies: number; templates: number; links: number }): fc.Arbitrary<GeneratedSet> =>
  fc
    .record({
      policies: fc.array(policy, { minLength: 0, maxLength: sizes.policies }),
      templates: fc.array(template, { maxLength: sizes.templates }),
      links: fc.array(fc.record({ t: fc.nat(), principal: arbPrincipalValue, resource: arbResourceValue }), { maxLength: sizes.links }),
    })
    .map(({ policies, templates, links }) => {
      const render = (x: PolicyParts) => `${x.effect} (${x.p ?? 'principal'}, ${x.a}, ${x.r ?? 'resource'})${x.clauses};`;
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

const arbSet = setOf(arbPolicy, arbTemplate, { policies: 30, templates: 2, links: 12 });

/** The actions whose context has lists. */
const LIST_ACTIONS = [...new Set([...Object.values(LISTS).flatMap((l) => l.holders), 'UpdateRepository', 'ListPackageVersions'])];
const arbListActionScope = fc.oneof(
  fc.constant('action'),
  fc.constantFrom(...LIST_ACTIONS).map((a) => `action == ${lit('Action', a)}`),
  fc.uniqueArray(fc.constantFrom(...LIST_ACTIONS), { minLength: 1, maxLength: 3 }).map((as) => `action in [${as.map((a) => lit('Action', a)).join(', ')}]`),
);
/** Mostly conditions on the lists; some policies have none, so that a forbid on a list has a permit to overrule. */
const arbListClauses = fc
  .array(fc.tuple(fc.constantFrom('when', 'unless'), fc.oneof({ weight: 6, arbitrary: arbListCondition }, { weight: 1, arbitrary: arbGroup.map((g) => `principal in ${lit('Group', g)}`) })), { maxLength: 2 })
  .map((cs) => cs.map(([k, c]) => ` ${k} { ${c} }`).join(''));
const arbListPolicy = fc.record({ effect: fc.constantFrom('permit', 'permit', 'forbid'), p: arbPrincipalScope, a: arbListActionScope, r: arbResourceScope, clauses: arbListClauses });
const arbListTemplate = arbTemplate.chain((t) => fc.record({ a: arbListActionScope, clauses: arbListClauses }).map((x) => ({ ...t, ...x })));
/** Few policies, so that a list is often read by one policy of a slice alone (and a read missed shows). */
const arbListSet = setOf(arbListPolicy, arbListTemplate, { policies: 8, templates: 1, links: 6 });

/** A list of 0 to 5 elements, duplicates allowed (Cedar reads a set). */
const arbList = (values: readonly string[]) => fc.array(fc.constantFrom(...values), { maxLength: 5 });
const arbContextPool = fc.record({
  versions: arbList(LISTS['versions']!.values),
  currentStatuses: arbList(LISTS['currentStatuses']!.values),
  destinationStatuses: arbList(LISTS['destinationStatuses']!.values),
  upstreams: arbList(LISTS['upstreams']!.values),
  include: fc.option(arbList(LISTS['include']!.values), { nil: undefined }),
  /** UpdateRepository: whether the request replaces the upstreams (the list is optional there). */
  replacesUpstreams: fc.boolean(),
  allowOverwrite: fc.boolean(),
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
    case 'SimulateAuthorization':
      return { ownAccess: c.unfinished };
    case 'ListPackageVersions':
      return { ...opt('status', c.status), ...opt('include', c.include) };
    case 'DeletePackage':
      return { versions: c.versions, currentStatuses: c.currentStatuses };
    case 'CopyPackageVersions':
      return {
        versions: c.versions,
        currentStatuses: c.currentStatuses,
        sourcePackage: packageArn('d0', 'r0', 'chalk'),
        sourceRepository: repoArn('d0', 'r0'),
        destinationStatuses: c.destinationStatuses,
        allowOverwrite: c.allowOverwrite,
        includeFromUpstream: c.unfinished,
      };
    case 'CreateRepository':
      return { repository: 'r9', upstreams: c.upstreams };
    case 'UpdateRepository':
      return { ...opt('upstreams', c.replacesUpstreams ? c.upstreams : undefined), description: c.allowOverwrite };
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

/** The kind of resource the schema has an action apply to; the read groups (refused as a request's action) get a package. */
function resourceKind(action: string, repo: string): string {
  if (PACKAGE_ACTIONS.has(action)) return 'package';
  if (action === 'CreateRepository') return 'domain';
  if (action === 'UpdateRepository') return 'repository';
  if (action === 'ReadAuditLog') return repo === 'r0' ? 'auditlog' : 'repository';
  return action.startsWith('Read') && !action.includes('Audit') && action !== 'ReadPolicies' ? 'package' : 'policyset';
}

const requestOf = (action: fc.Arbitrary<string>): fc.Arbitrary<CedarCall> =>
  fc
    .record({
      user: fc.constantFrom(...USERS, 'u9'),
      groups: fc.uniqueArray(arbGroup, { maxLength: 5 }),
      issuer: fc.constantFrom('urn:versiongate:test', 'https://idp.example.com/'),
      action,
      domain: arbDomain,
      repo: fc.constantFrom(...REPOS),
      name: fc.constantFrom(...NAMES),
      /** How the package's ancestors are given: as packageResource does, through the Repository entity, or both. */
      layout: fc.constantFrom('direct', 'chain', 'both'),
      /** Now and then a resource of the wrong type for the action, or a broken context: the request fails. */
      wrongResource: fc.nat(30),
      context: arbContextPool,
      breakContext: fc.nat(30),
      /** Now and then a number in one of the context's lists: Cedar must refuse it as before. */
      illTyped: fc.nat(12),
    })
    .map((r) => {
      const principal = { type: 'User', id: r.user };
      const entities: EntityJson[] = [{ uid: principal, attrs: { issuer: r.issuer }, parents: r.groups.map((g) => ({ type: 'Group', id: g })) }];
      const repo = { type: 'Repository', id: repoArn(r.domain, r.repo) };
      const domain = { type: 'Domain', id: domainArn(r.domain) };
      let kind = resourceKind(r.action, r.repo);
      if (r.wrongResource === 0) kind = ['package', 'repository', 'auditlog', 'policyset', 'domain'][(r.repo.charCodeAt(1) + r.name.length) % 5]!;
      let resource: { type: string; id: string };
      if (kind === 'package') {
        resource = { type: 'Package', id: packageArn(r.domain, r.repo, r.name) };
        const attrs = { arn: resource.id, domain: r.domain, domainOwner: '111122223333', repository: r.repo, format: 'npm', namespace: '', name: r.name };
        entities.push({ uid: resource, attrs, parents: r.layout === 'chain' ? [repo] : [repo, domain] });
        if (r.layout !== 'direct') entities.push({ uid: repo, attrs: {}, parents: [domain] });
      } else if (kind === 'repository') {
        resource = repo;
        entities.push({ uid: repo, attrs: {}, parents: [domain] });
      } else if (kind === 'domain') {
        resource = domain;
        entities.push({ uid: domain, attrs: {}, parents: [] });
      } else if (kind === 'auditlog') {
        resource = { type: 'AuditLog', id: 'versiongate' };
        entities.push({ uid: resource, attrs: {}, parents: [] });
      } else {
        resource = { type: 'PolicySet', id: 'live' };
        entities.push({ uid: resource, attrs: {}, parents: [] });
      }
      const context = contextFor(r.action, r.context);
      if (r.breakContext === 0) context['unexpected'] = 1;
      const list = Object.keys(context).find((k) => Array.isArray(context[k]));
      if (r.illTyped === 0 && list) context[list] = [...(context[list] as CedarValueJson[]), 7];
      return { principal, action: { type: 'Action', id: r.action }, resource, context, entities };
    });

/** The requests for one set; printed by count only (the failing one is in the error message). */
const requestsOf = (request: fc.Arbitrary<CedarCall>) =>
  fc.array(request, { minLength: REQUESTS, maxLength: REQUESTS }).map((calls) => ({ calls, [fc.toStringMethod]: () => `${calls.length} requests` }));
const arbRequests = requestsOf(requestOf(fc.oneof({ weight: 20, arbitrary: fc.constantFrom(...ACTIONS) }, { weight: 1, arbitrary: fc.constantFrom(...ACTION_GROUPS) })));
const arbListRequests = requestsOf(requestOf(fc.constantFrom(...LIST_ACTIONS)));

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

/**
 * Runs the engine and plain Cedar over random sets and requests; throws at the first disagreement,
 * with the request, the slice and the set. Counts the non-empty lists Cedar was given empty, and
 * given as they came.
 */
function agreeOn(sets: fc.Arbitrary<GeneratedSet>, requests: ReturnType<typeof requestsOf>) {
  let compared = 0;
  const lists = { emptied: 0, kept: 0 };
  let asked: CedarCall | undefined;
  const watch: typeof cedar.statefulIsAuthorized = (call) => {
    for (const [name, value] of Object.entries(call.context)) {
      const original = asked?.context[name];
      if (Array.isArray(original) && original.length > 0) lists[Array.isArray(value) && value.length === 0 ? 'emptied' : 'kept']++;
    }
    return cedar.statefulIsAuthorized(call);
  };
  fc.assert(
    fc.property(sets, requests, fc.constantFrom(0, 10_000), fc.constantFrom(4, 512), ({ set, text }, { calls }, decisionCacheSize, sliceCacheSize) => {
      const engine = new PolicyEngine(set, { decisionCacheSize, sliceCacheSize, statefulIsAuthorized: watch });
      // Each request twice (the second may come from the decision cache), and the first again at the end.
      const refs = calls.map((call) => plainCedar(set, call));
      for (const [i, call] of [...calls.entries(), ...calls.entries(), [0, calls[0]!] as const]) {
        const ref = refs[i]!;
        asked = call;
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
  return { compared, lists };
}

describe('the sliced and cached engine agrees with plain Cedar over the whole set and the whole context', () => {
  // Generous timeouts: the machine running it may be slow and busy; the deep form takes minutes.
  const timeout = (DEEP ? 60 : 5) * 60_000;

  it(`${SETS} random sets × ${REQUESTS} random requests (seed ${SEED})`, () => {
    console.log(`engine differential: seed ${SEED} (replay with VERSIONGATE_SEED=${SEED}), ${SETS} sets × ${REQUESTS} requests${DEEP ? ' (deep)' : ''}`);
    const { compared } = agreeOn(arbSet, arbRequests);
    expect(compared).toBeGreaterThanOrEqual(SETS * REQUESTS * 2);
  }, timeout);

  it(`${SETS} random sets of policies on the context's lists × ${REQUESTS} requests carrying lists (seed ${SEED})`, () => {
    const { compared, lists } = agreeOn(arbListSet, arbListRequests);
    expect(compared).toBeGreaterThanOrEqual(SETS * REQUESTS * 2);
    console.log(`engine differential, lists: non-empty lists given to Cedar empty ${lists.emptied} times, as they came ${lists.kept} times`);
    // Both, many times over, or the lists went untested.
    expect(lists.emptied).toBeGreaterThan(SETS * 5);
    expect(lists.kept).toBeGreaterThan(SETS * 5);
  }, timeout);
});
