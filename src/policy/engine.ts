/**
 * The policy engine: decide (slice, then cache) over a compiled set, failing closed. Allow only when
 * Cedar answers success, the decision is allow, and no policy errored: Cedar skips an erroring
 * policy, so an erroring `forbid` would otherwise turn a deny into an allow.
 *
 * A request is evaluated against the slice of the set whose scope can hold for it (policy-index.ts),
 * preparsed in cedar-wasm the first time it is needed, and whole decisions are cached per engine
 * (decision-cache.ts). A list in the context that no policy of the slice reads is given to Cedar
 * empty (context-lists.ts); the cache is keyed by the call as made. The differential test
 * (test/policy/engine-differential.test.ts) holds all of it to plain Cedar over the whole set and the
 * whole context.
 */
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import type { CedarValueJson, EntityJson } from '@cedar-policy/cedar-wasm/nodejs';
import { emptiableLists, stringSetAttributes, withoutUnreadLists } from './context-lists.ts';
import { policyContextReads, unionOfReads, type ContextReads } from './context-reads.ts';
import { decisionKey, DEFAULT_DECISION_CACHE_SIZE, GenerationalCache, Lru } from './decision-cache.ts';
import { entityKey, type EntityRef } from './links.ts';
import { actionParents, ancestry, headOf, parentsIn, PolicyIndex, scopeOf, uidOf, type IndexedPolicy, type PolicyHead } from './policy-index.ts';
import type { Principal } from '../auth/principal.ts';
import type { RequestMeta } from '../audit/build-record.ts';
import { principalEntities, userUid, type CedarResource, type EntityUid } from './entities.ts';
import type { CompiledPolicySet } from './load-policies.ts';
import { schemaJson } from './schema-json.ts';
import { releaseLater } from './wasm-release.ts';

/** Every action versiongate asks Cedar about (the schema's), as metrics may label them. */
export const ACTION_NAMES = [
  'UpdatePackageVersionsStatus',
  'DisposePackageVersions',
  'DeletePackageVersions',
  'PublishPackageVersion',
  'ListPackageVersions',
  'DescribePackageVersion',
  'ListPackageVersionAssets',
  'GetPackageVersionAsset',
  'Resync',
  'CopyPackageVersions',
  'ReadAuditLog',
  'SimulateAuthorization',
  'ReadPolicies',
  // The package operations.
  'DescribePackage',
  'ListPackages',
  'DeletePackage',
  'PutPackageOriginConfiguration',
  'GetPackageVersionReadme',
  'ListPackageVersionDependencies',
  // Tenancy (src/operations/tenancy-*.ts).
  'CreateDomain',
  'DescribeDomain',
  'ListDomains',
  'DeleteDomain',
  'CreateRepository',
  'DescribeRepository',
  'ListRepositories',
  'ListRepositoriesInDomain',
  'UpdateRepository',
  'DeleteRepository',
] as const;

export type ActionName = (typeof ACTION_NAMES)[number];

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
  /** Present (true) when the decision came from the engine's decision cache, not a fresh evaluation. */
  cached?: boolean;
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
/** Preparsed slices kept per engine; the least recently used is replaced beyond this. */
export const DEFAULT_SLICE_CACHE_SIZE = 512;

export interface PolicyEngineOptions {
  /** Decisions kept (whole Cedar answers, keyed by the call); 0 turns the cache off. */
  decisionCacheSize?: number | undefined;
  /** Preparsed slices kept in the wasm instance. */
  sliceCacheSize?: number | undefined;
  /**
   * The Cedar call that decides, cedar-wasm's own by default. A test hands in one that traps, to see
   * what the engine does when the instance fails (cedar-wasm's ESM exports cannot be replaced).
   */
  statefulIsAuthorized?: typeof cedar.statefulIsAuthorized | undefined;
}

type Outcome = { decision: 'allow' | 'deny'; reason: string[]; errors: string[] };

/**
 * A slice preparsed in the wasm instance, and what its policies read of the context together: worked
 * out the first time a request carrying a list needs it (each policy's reads once per engine), since
 * a policy's parse costs Cedar as much as preparsing it.
 */
interface Slice {
  id: string;
  reads?: ContextReads;
}

/**
 * What an engine no longer reachable held in the wasm instance: its slices, released a few per turn
 * (wasm-release.ts), and its share of the preparsed schema.
 */
const released = new FinalizationRegistry<{ ids: Set<string>; schemaText: string }>((held) => {
  releaseLater(held.ids);
  releaseSchema(held.schemaText);
});

/**
 * Preparsed schemas, one per schema text, shared by the engines that use it. Cedar takes 30-70 ms
 * to preparse the shipped schema, in one wasm call that holds the event loop; most reloads change
 * policies only, and then the new engine reuses the live engine's schema instead.
 */
const schemas = new Map<string, { name: string; users: number }>();
let schemaCounter = 0;

function acquireSchema(schemaText: string): string {
  const known = schemas.get(schemaText);
  if (known) {
    known.users++;
    return known.name;
  }
  const name = `schema-${++schemaCounter}`;
  const schema = cedar.preparseSchema(name, schemaJson(schemaText));
  if (schema.type === 'failure') throw new Error(`preparsing the schema failed: ${schema.errors.map((e) => e.message).join('; ')}`);
  schemas.set(schemaText, { name, users: 1 });
  return name;
}

function releaseSchema(schemaText: string): void {
  const known = schemas.get(schemaText);
  if (!known || --known.users > 0) return;
  schemas.delete(schemaText);
  releaseLater([], known.name);
}

/** How many preparsed schemas engines hold now (one per distinct schema text in use). */
export function preparsedSchemaCount(): number {
  return schemas.size;
}

export class PolicyEngine implements Authorizer {
  readonly #setId: string;
  readonly #schemaName: string;
  readonly #index: PolicyIndex;
  readonly #actionParents: Map<string, string[]>;
  /** Slice key (the slice's positions in the index) → its preparsed set; Map order is the LRU order. */
  readonly #slices: Lru<Slice>;
  /** Action key → the context attributes the schema declares as Set<String>: the lists Cedar may be given empty. */
  readonly #stringSets: ReadonlyMap<string, ReadonlySet<string>>;
  /** What each static policy and each template (for its links) reads of the context, as first asked. */
  readonly #policyReads = new Map<string, ContextReads>();
  readonly #templateReads = new Map<string, ContextReads>();
  /** The preparsed ids this engine holds in the wasm instance, released when it is collected. */
  readonly #held: { ids: Set<string>; schemaText: string };
  readonly #decisions: GenerationalCache<AuthorizationDecision>;
  #sliceIds = 0;
  #broken: string | undefined;
  readonly #cedarDecide: typeof cedar.statefulIsAuthorized;

  /** An engine whose index is built in steps, leaving the event loop free (reloads use it). */
  static async create(policySet: CompiledPolicySet, options: PolicyEngineOptions = {}, headParts?: readonly string[]): Promise<PolicyEngine> {
    return new PolicyEngine(policySet, options, await indexPolicySetInSteps(policySet, undefined, headParts));
  }

  constructor(
    readonly policySet: CompiledPolicySet,
    options: PolicyEngineOptions = {},
    index?: PolicyIndex,
  ) {
    const n = ++instanceCounter;
    this.#setId = `pset-${policySet.hash.slice(0, 16)}-${n}`;
    this.#index = index ?? indexPolicySet(policySet);
    this.#actionParents = actionParents(policySet.schemaText);
    this.#stringSets = stringSetAttributes(policySet.schemaText);
    this.#slices = new Lru(Math.max(1, options.sliceCacheSize ?? DEFAULT_SLICE_CACHE_SIZE));
    this.#decisions = new GenerationalCache(options.decisionCacheSize ?? DEFAULT_DECISION_CACHE_SIZE);
    this.#cedarDecide = options.statefulIsAuthorized ?? cedar.statefulIsAuthorized;
    // Last, so that an engine that fails to construct holds no share of a schema it cannot give back.
    this.#schemaName = acquireSchema(policySet.schemaText);
    this.#held = { ids: new Set(), schemaText: policySet.schemaText };
    released.register(this, this.#held);
  }

  /** Static policies that pin nothing in their scope: evaluated with every request. */
  get remainder(): readonly string[] {
    return this.#index.remainder;
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
   * Decides a call: from the decision cache when this exact call was decided before, otherwise with
   * Cedar over the slice of the set (static policies and template links) whose scope can hold for
   * it, preparsed once per distinct slice. Policies outside the slice can neither be satisfied nor
   * error (see policy-index.ts), so the answer is the one Cedar gives for the whole set. The lists of
   * the context that none of the slice's policies read are given to Cedar empty (context-lists.ts),
   * which leaves its answer as it is.
   */
  evaluate(call: CedarCall): AuthorizationDecision {
    const hash = this.policySet.hash;
    const fail = (errors: string[]): AuthorizationDecision => ({ decision: 'deny', determiningPolicies: [], errors, policySetHash: hash, denyKind: 'error' });
    if (this.#broken) return fail([`policy engine unavailable: ${this.#broken}`]);
    const key = this.#decisions.capacity > 0 ? decisionKey([call.principal, call.action, call.resource, call.context, call.entities]) : undefined;
    if (key !== undefined) {
      const hit = this.#decisions.get(key);
      if (hit) return copyDecision(hit, true);
    }
    const unreadable = unreadableByCedar(call);
    if (unreadable) return fail([unreadable]);
    let decision: AuthorizationDecision;
    try {
      // Lists emptied only on a miss: a hit costs what it did, and the key is of the call as made
      // (Cedar's answer to it is the answer to the call with its unread lists emptied).
      const action = uidOf(call.action);
      const declared = action && this.#stringSets.get(entityKey(action));
      const lists = declared ? emptiableLists(call.context, declared) : undefined;
      const slice = this.#sliceFor(call, lists !== undefined);
      const given = lists ? { ...call, context: withoutUnreadLists(call.context, lists, slice.reads!) } : call;
      decision = combine([this.#run(slice.id, given)], hash);
    } catch (err) {
      return fail([this.#failure(err)]);
    }
    if (key !== undefined) this.#decisions.set(key, copyDecision(decision, false));
    return decision;
  }

  /** What a call into Cedar that threw means for this request, and for the engine. */
  #failure(err: unknown): string {
    if (isRefusal(err)) return `policy engine failure: ${err.message}`;
    // A trap (WebAssembly.RuntimeError) or the wasm stack overflowing (RangeError) can leave the
    // instance unusable: from here on every request is denied.
    this.#broken = (err as Error).message;
    return `policy engine failure: ${this.#broken}`;
  }

  #run(setId: string, call: CedarCall): Outcome {
    return outcomeOf(this.#cedarDecide({ ...call, preparsedPolicySetId: setId, preparsedSchemaName: this.#schemaName, validateRequest: true }));
  }

  /** The policies (static and links) whose scope can hold for the call, in the index's order. */
  sliceOf(call: CedarCall): IndexedPolicy[] {
    return this.#lookup(call).map((i) => this.#index.policyAt(i));
  }

  #lookup(call: CedarCall): number[] {
    const parents = parentsIn(Array.isArray(call.entities) ? call.entities : []);
    const of = (uid: EntityUid, extra?: Map<string, string[]>) => {
      const ref = uidOf(uid);
      // A uid Cedar cannot read fails the request; an empty ancestry then leaves the slice smallest.
      if (!ref) return new Set<string>();
      return ancestry(ref, extra ? (k) => [...(extra.get(k) ?? []), ...(parents.get(k) ?? [])] : (k) => parents.get(k));
    };
    return this.#index.lookup({ principal: of(call.principal), action: of(call.action, this.#actionParents), resource: of(call.resource) });
  }

  /** The call's slice, preparsed the first time; with what it reads of the context when `withReads`. */
  #sliceFor(call: CedarCall, withReads: boolean): Slice {
    const positions = this.#lookup(call);
    const key = positions.join(',');
    const cached = this.#slices.get(key);
    if (cached) {
      if (withReads) cached.reads ??= this.#readsOf(positions);
      return cached;
    }
    // Reuse the evicted slice's id: preparsing under an existing id replaces it, so the wasm
    // instance holds at most sliceCacheSize slices per engine.
    const id = this.#slices.size >= this.#slices.capacity ? this.#slices.shift()![1].id : `${this.#setId}-slice-${++this.#sliceIds}`;
    const staticPolicies: Record<string, string> = {};
    const templates: Record<string, string> = {};
    const templateLinks: Array<{ templateId: string; newId: string; values: Record<string, EntityRef> }> = [];
    for (const i of positions) {
      const l = this.#index.linkAt(i);
      if (!l) {
        const id = this.#index.idAt(i);
        staticPolicies[id] = this.policySet.policies[id]!;
        continue;
      }
      templates[l.template] ??= this.policySet.templates[l.template]!;
      templateLinks.push({
        templateId: l.template,
        newId: l.id,
        values: { ...(l.principal ? { '?principal': l.principal } : {}), ...(l.resource ? { '?resource': l.resource } : {}) },
      });
    }
    const parsed = cedar.preparsePolicySet(id, { staticPolicies, templates, templateLinks });
    if (parsed.type === 'failure') throw new Error(`preparsing a slice of the policy set failed: ${parsed.errors.map((e) => e.message).join('; ')}`);
    this.#held.ids.add(id);
    const slice: Slice = { id };
    this.#slices.set(key, slice);
    if (withReads) slice.reads = this.#readsOf(positions);
    return slice;
  }

  /** What the policies at these positions (static and links) read of the context, together. */
  #readsOf(positions: readonly number[]): ContextReads {
    return unionOfReads(
      positions.map((i) => {
        const l = this.#index.linkAt(i);
        const id = l ? l.template : this.#index.idAt(i);
        const memo = l ? this.#templateReads : this.#policyReads;
        let reads = memo.get(id);
        if (reads === undefined) {
          reads = policyContextReads(l ? this.policySet.templates[id]! : this.policySet.policies[id]!, !!l);
          memo.set(id, reads);
        }
        return reads;
      }),
    );
  }
}

/** Every static policy and template link of the set, with its scope, in a stable order. */
function* indexEntries(set: CompiledPolicySet, headParts?: readonly string[]): Generator<IndexedPolicy> {
  const heads = set.heads ?? {};
  const fromParts = headParts ? headsFromParts(headParts) : undefined;
  const head = (id: string, text: string, template: boolean) => fromParts?.(id) ?? heads[id] ?? headOf(text, template);
  for (const id of Object.keys(set.policies)) yield { id, scope: scopeOf(head(id, set.policies[id]!, false)) };
  const templateHeads = new Map<string, PolicyHead>();
  for (const link of set.links) {
    let h = templateHeads.get(link.template);
    if (!h) templateHeads.set(link.template, (h = head(link.template, set.templates[link.template]!, true)));
    yield { id: link.id, link, scope: scopeOf(h, { '?principal': link.principal, '?resource': link.resource }) };
  }
}

/**
 * Heads that arrived as the JSON text of [id, head] entries (HeadParts), parsed a part at a time as
 * they are asked for: in the order the worker sent them, that is one part in memory at a time. Each
 * id is asked for once; one that no part holds is parsed from its text by the caller.
 */
export function headsFromParts(parts: readonly string[]): (id: string) => PolicyHead | undefined {
  const pending = new Map<string, PolicyHead>();
  let next = 0;
  return (id) => {
    for (;;) {
      const h = pending.get(id);
      if (h !== undefined) {
        pending.delete(id);
        return h;
      }
      if (next >= parts.length) return undefined;
      for (const [k, v] of JSON.parse(parts[next++]!) as Array<[string, PolicyHead]>) pending.set(k, v);
    }
  };
}

export function indexPolicySet(set: CompiledPolicySet, headParts?: readonly string[]): PolicyIndex {
  const index = new PolicyIndex();
  for (const entry of indexEntries(set, headParts)) index.add(entry);
  index.seal();
  return index;
}

/**
 * The same index, built in steps of at most `stepMs` with the event loop free in between: tens of
 * thousands of policies take longer to index than a request should ever wait. Short steps also keep
 * what a scavenge or a marking step finds new small, since each such pause lands between two steps.
 */
export async function indexPolicySetInSteps(set: CompiledPolicySet, stepMs = 2, headParts?: readonly string[]): Promise<PolicyIndex> {
  const index = new PolicyIndex();
  const turn = () => new Promise((resolve) => setImmediate(resolve));
  let started = performance.now();
  let n = 0;
  for (const entry of indexEntries(set, headParts)) {
    index.add(entry);
    if ((++n & 31) === 0 && performance.now() - started > stepMs) {
      await turn();
      started = performance.now();
    }
  }
  for (const _ of index.sealing()) await turn();
  index.seal();
  return index;
}

/**
 * A copy the caller may change without changing the cache. Spelled out, not spread: measured under a
 * steady stream of cache hits, `{ ...hit }` of a cached (old-generation) decision grew the old
 * generation by ~90 bytes per hit (the copies survived scavenges, for reasons inside V8), where this
 * literal, or Object.assign, grew it by nothing.
 */
function copyDecision(d: AuthorizationDecision, cached: boolean): AuthorizationDecision {
  const determiningPolicies = [...d.determiningPolicies];
  const errors = [...d.errors];
  const { decision, policySetHash, denyKind } = d;
  if (denyKind === undefined) return cached ? { decision, determiningPolicies, errors, policySetHash, cached } : { decision, determiningPolicies, errors, policySetHash };
  return cached ? { decision, determiningPolicies, errors, policySetHash, denyKind, cached } : { decision, determiningPolicies, errors, policySetHash, denyKind };
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
  const refused = (errors: string[]): AuthorizationDecision => ({ decision: 'deny', determiningPolicies: [], errors, policySetHash: set.hash, denyKind: 'error' });
  const unreadable = unreadableByCedar(call);
  if (unreadable) return refused([unreadable]);
  let answer: cedar.AuthorizationAnswer;
  try {
    answer = isAuthorizedUnprepared(set, call);
  } catch (err) {
    if (isRefusal(err)) return refused([`policy engine failure: ${err.message}`]);
    throw err;
  }
  return combine([outcomeOf(answer)], set.hash);
}

/** Cedar's answer as an outcome: a failure (the request did not validate) is a deny with its errors. */
function outcomeOf(answer: cedar.AuthorizationAnswer): Outcome {
  if (answer.type === 'failure') return { decision: 'deny', reason: [], errors: answer.errors.map((e) => e.message) };
  const { decision, diagnostics } = answer.response;
  return { decision, reason: diagnostics.reason, errors: diagnostics.errors.map((e) => `${e.policyId}: ${e.error.message}`) };
}

function isAuthorizedUnprepared(set: CompiledPolicySet, call: CedarCall): cedar.AuthorizationAnswer {
  return cedar.isAuthorized({
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
}

/**
 * Why Cedar could not read the call, caught before Cedar: its JSON reader throws on a lone UTF-16
 * surrogate (valid in JavaScript, and in JSON as "\ud800"). Undefined when there is no such reason.
 */
function unreadableByCedar(call: CedarCall): string | undefined {
  return holdsLoneSurrogate(call, 0) ? 'the request holds a lone UTF-16 surrogate, which Cedar cannot read' : undefined;
}

/**
 * A call cedar-wasm refused by throwing a plain Error (its JSON reader stops at a lone surrogate or
 * past serde_json's 128 levels of nesting): the instance is as it was, so the request alone is denied.
 */
function isRefusal(err: unknown): err is Error {
  return err instanceof Error && err.constructor === Error;
}

const LONE_SURROGATE = /\p{Cs}/u;

/** Whether a string anywhere in the value is not well-formed UTF-16 (nesting past 64 levels is not looked into). */
function holdsLoneSurrogate(v: unknown, depth: number): boolean {
  if (typeof v === 'string') return LONE_SURROGATE.test(v);
  if (typeof v !== 'object' || v === null || depth >= 64) return false;
  if (Array.isArray(v)) return v.some((x) => holdsLoneSurrogate(x, depth + 1));
  for (const [k, x] of Object.entries(v)) if (LONE_SURROGATE.test(k) || holdsLoneSurrogate(x, depth + 1)) return true;
  return false;
}
