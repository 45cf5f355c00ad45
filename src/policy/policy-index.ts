/**
 * The policy index: which policies can apply to a request, from their scope alone.
 *
 * Cedar evaluates a policy as `principal-constraint && action-constraint && resource-constraint &&
 * conditions`, and no scope constraint can error (`==`, `in` and `is` on entities never do). So a
 * policy whose scope is false for a request is neither satisfied nor erroring: leaving it out of the
 * evaluation changes neither the decision, nor the determining policies, nor the errors (the
 * slicing theorem of cedar-spec). A scope constraint `== E` or `in E` (also `is T in E`) can hold
 * only when E is the request's entity or one of its ancestors in the entities given to Cedar; so each
 * policy is filed under the E of each dimension it pins, and a request collects the policies filed
 * under its entities' ancestries, plus those that pin nothing in a dimension (`principal`, `is T`
 * alone, only when/unless). Filing a policy under more keys than it can match is always safe; what
 * must never happen is leaving out one that could match, so anything unrecognised pins nothing.
 *
 * The scope comes from Cedar's own parse (policyToJson / templateToJson), never from the text.
 */
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import type { EntityJson, EntityUidJson, PolicyJson } from '@cedar-policy/cedar-wasm/nodejs';
import { entityKey, type EntityRef, type TemplateLink } from './links.ts';
import { schemaJson } from './schema-json.ts';

/** The scope part of Cedar's JSON form of a policy or template: what the index needs, clonable. */
export type PolicyHead = Pick<PolicyJson, 'principal' | 'action' | 'resource'>;

/** Per dimension: the entity keys one of which must be the request's entity or an ancestor; null pins nothing. */
export interface PolicyScope {
  principal: string[] | null;
  action: string[] | null;
  resource: string[] | null;
}

export interface IndexedPolicy {
  id: string;
  /** Set for a template link; a static policy otherwise. */
  link?: TemplateLink | undefined;
  scope: PolicyScope;
}

/** {type, id} from either form of Cedar's entity JSON; undefined when it is neither. */
export function uidOf(e: EntityUidJson | undefined): EntityRef | undefined {
  if (!e || typeof e !== 'object') return undefined;
  const inner = '__entity' in e ? e.__entity : e;
  return inner && typeof inner.type === 'string' && typeof inner.id === 'string' ? { type: inner.type, id: inner.id } : undefined;
}

type Slots = Partial<Record<'?principal' | '?resource', EntityRef | undefined>>;

/** The keys a principal or resource constraint pins, or null; slots take the link's values. */
function entityKeys(c: unknown, slots: Slots): string[] | null {
  if (!c || typeof c !== 'object') return null;
  const o = c as { op?: string; entity?: EntityUidJson; slot?: string; in?: { entity?: EntityUidJson; slot?: string } };
  const target = o.op === '==' || o.op === 'in' ? o : o.op === 'is' ? o.in : undefined;
  if (!target) return null;
  const uid = target.slot !== undefined ? slots[target.slot as keyof Slots] : uidOf(target.entity);
  return uid ? [entityKey(uid)] : null;
}

function actionKeys(c: unknown): string[] | null {
  if (!c || typeof c !== 'object') return null;
  const o = c as { op?: string; entity?: EntityUidJson; entities?: EntityUidJson[] };
  if ((o.op === '==' || o.op === 'in') && o.entity !== undefined) {
    const uid = uidOf(o.entity);
    return uid ? [entityKey(uid)] : null;
  }
  if (o.op === 'in' && Array.isArray(o.entities)) {
    const uids = o.entities.map(uidOf);
    // `action in []` never holds: an empty list files the policy under nothing, which is sound.
    return uids.every((u) => u !== undefined) ? uids.map((u) => entityKey(u!)) : null;
  }
  return null;
}

export function scopeOf(head: PolicyHead, slots: Slots = {}): PolicyScope {
  return { principal: entityKeys(head.principal, slots), action: actionKeys(head.action), resource: entityKeys(head.resource, slots) };
}

/** Cedar's parse of a policy's (or template's) scope; throws when Cedar cannot parse it. */
export function headOf(text: string, template = false): PolicyHead {
  const json = template ? cedar.templateToJson(text) : cedar.policyToJson(text);
  if (json.type === 'failure') throw new Error(`parsing a policy's scope failed: ${json.errors.map((e) => e.message).join('; ')}`);
  return { principal: json.json.principal, action: json.json.action, resource: json.json.resource };
}

/**
 * Action groups from the schema: action key → the keys of the groups it is directly in. Cedar takes
 * the action hierarchy from the schema, so a request's action ancestry is walked here, not in the
 * request's entities (which are walked too: a superset is always safe).
 */
export function actionParents(schemaText: string): Map<string, string[]> {
  // Engines of one set (a reload, a shadow candidate with the same schema) share the answer.
  if (lastActionParents?.schemaText === schemaText) return lastActionParents.parents;
  const parents = new Map<string, string[]>();
  for (const [ns, def] of Object.entries(schemaJson(schemaText))) {
    const actionType = ns ? `${ns}::Action` : 'Action';
    for (const [name, action] of Object.entries(def.actions ?? {})) {
      const list = (action.memberOf ?? []).map((m) => entityKey({ type: m.type ? (m.type.includes('::') || !ns ? m.type : `${ns}::${m.type}`) : actionType, id: m.id }));
      parents.set(entityKey({ type: actionType, id: name }), list);
    }
  }
  lastActionParents = { schemaText, parents };
  return parents;
}
let lastActionParents: { schemaText: string; parents: Map<string, string[]> } | undefined;

/** The entity and everything above it, as entityKey strings: Cedar's `in` is true exactly for these. */
export function ancestry(uid: EntityRef, parentsOf: (key: string) => readonly string[] | undefined): Set<string> {
  const seen = new Set<string>();
  const queue = [entityKey(uid)];
  while (queue.length > 0) {
    const key = queue.pop()!;
    if (seen.has(key)) continue;
    seen.add(key);
    for (const p of parentsOf(key) ?? []) queue.push(p);
  }
  return seen;
}

/** Entity key → its parents' keys, from the entities of one call. */
export function parentsIn(entities: readonly EntityJson[]): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const e of entities) {
    const uid = uidOf(e?.uid);
    if (!uid) continue;
    const parents: string[] = [];
    for (const p of Array.isArray(e.parents) ? e.parents : []) {
      const pu = uidOf(p);
      if (pu) parents.push(entityKey(pu));
    }
    // A uid listed twice makes Cedar refuse the request; either way, keep every parent named.
    const had = map.get(entityKey(uid));
    map.set(entityKey(uid), had ? [...had, ...parents] : parents);
  }
  return map;
}

const DIMENSIONS = ['principal', 'action', 'resource'] as const;
type Dimension = (typeof DIMENSIONS)[number];

export class PolicyIndex {
  readonly #policies: IndexedPolicy[] = [];
  readonly #byKey: Record<Dimension, Map<string, number[]>> = { principal: new Map(), action: new Map(), resource: new Map() };
  readonly #any: Record<Dimension, number[]> = { principal: [], action: [], resource: [] };
  readonly #remainder: string[] = [];
  #stamp = new Uint32Array(0);
  #generation = 0;

  constructor(policies: readonly IndexedPolicy[] = []) {
    for (const p of policies) this.add(p);
  }

  get policies(): readonly IndexedPolicy[] {
    return this.#policies;
  }

  /** Policies that pin nothing in any dimension: evaluated with every request. */
  get remainder(): readonly string[] {
    return this.#remainder;
  }

  /** Files one more policy (an index is built before it is used: see indexPolicySetInSteps). */
  add(p: IndexedPolicy): void {
    const i = this.#policies.length;
    this.#policies.push(p);
    const scope = p.scope;
    for (const d of DIMENSIONS) {
      const keys = scope[d];
      if (keys === null) {
        this.#any[d].push(i);
        continue;
      }
      const map = this.#byKey[d];
      for (let k = 0; k < keys.length; k++) {
        const key = keys[k]!;
        // A key listed twice (`action in [A, A]`) is filed once.
        if (keys.indexOf(key) !== k) continue;
        const list = map.get(key);
        if (list) list.push(i);
        else map.set(key, [i]);
      }
    }
    if (scope.principal === null && scope.action === null && scope.resource === null) this.#remainder.push(p.id);
  }

  /**
   * The positions (ascending) of the policies whose scope can hold for a request whose principal,
   * action and resource have these ancestries (each including the entity itself). The dimension with
   * the fewest candidates is walked; each candidate is checked against the other two.
   */
  lookup(anc: Record<Dimension, ReadonlySet<string>>): number[] {
    let best: Dimension = 'principal';
    let bestCount = Infinity;
    for (const d of DIMENSIONS) {
      let n = this.#any[d].length;
      for (const k of anc[d]) n += this.#byKey[d].get(k)?.length ?? 0;
      if (n < bestCount) [best, bestCount] = [d, n];
    }
    // A generation stamp per policy dedupes candidates filed under several keys, without a Set.
    if (this.#stamp.length !== this.#policies.length) this.#stamp = new Uint32Array(this.#policies.length);
    if (++this.#generation === 0xffffffff) {
      this.#stamp.fill(0);
      this.#generation = 1;
    }
    const gen = this.#generation;
    const found: number[] = [];
    const consider = (i: number) => {
      if (this.#stamp[i] === gen) return;
      this.#stamp[i] = gen;
      const s = this.#policies[i]!.scope;
      if (DIMENSIONS.every((d) => d === best || s[d] === null || s[d].some((k) => anc[d].has(k)))) found.push(i);
    };
    for (const i of this.#any[best]) consider(i);
    for (const k of anc[best]) for (const i of this.#byKey[best].get(k) ?? []) consider(i);
    return found.sort((a, b) => a - b);
  }
}
