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

/** A growable list of 32-bit integers: its storage is one typed array, which the GC never walks or copies. */
class IntList {
  #data = new Int32Array(16);
  length = 0;

  push(v: number): void {
    if (this.length === this.#data.length) {
      const next = new Int32Array(this.#data.length * 2);
      next.set(this.#data);
      this.#data = next;
    }
    this.#data[this.length++] = v;
  }

  at(i: number): number {
    return this.#data[i]!;
  }

  /** The items, in a typed array of their own length. */
  toArray(): Int32Array {
    return this.#data.slice(0, this.length);
  }
}

/** Per key id, the positions filed under it: one typed array of positions and one of offsets into it. */
interface Postings {
  start: Int32Array;
  positions: Int32Array;
}

const NO_KEYS = -1;

/**
 * Built once per policy set and kept for the set's life, so it is held in few objects: a large set's
 * index was ~13 small objects per policy, which every scavenge copied while a reload built it and
 * every full collection marked after. Keys (entity keys) are interned to numbers; each policy's scope
 * is a range of key numbers in one typed array, and the policies filed under each key are found
 * through typed arrays too (built by seal(), after the last add). The only per-key objects left are
 * the key strings themselves, once each, in the map that interns them.
 */
export class PolicyIndex {
  readonly #ids: string[] = [];
  readonly #links = new Map<number, TemplateLink>();
  readonly #keyIds = new Map<string, number>();
  readonly #keys: string[] = [];
  /** Per policy and dimension (3 per policy): where its keys start in #scopeKeys, and how many (NO_KEYS: pins nothing). */
  readonly #scopeStart = new IntList();
  readonly #scopeCount = new IntList();
  readonly #scopeKeys = new IntList();
  readonly #any: Record<Dimension, IntList> = { principal: new IntList(), action: new IntList(), resource: new IntList() };
  readonly #remainder: string[] = [];
  #postings: Record<Dimension, Postings> | undefined;
  #anyArrays: Record<Dimension, Int32Array> | undefined;
  #stamp = new Uint32Array(0);
  #generation = 0;

  constructor(policies: readonly IndexedPolicy[] = []) {
    for (const p of policies) this.add(p);
    this.seal();
  }

  get size(): number {
    return this.#ids.length;
  }

  /** Policies that pin nothing in any dimension: evaluated with every request. */
  get remainder(): readonly string[] {
    return this.#remainder;
  }

  idAt(i: number): string {
    return this.#ids[i]!;
  }

  linkAt(i: number): TemplateLink | undefined {
    return this.#links.get(i);
  }

  /** The policy at a position, as it was added (rebuilt: for tests and explanations, not the hot path). */
  policyAt(i: number): IndexedPolicy {
    const dim = (d: number): string[] | null => {
      const count = this.#scopeCount.at(3 * i + d);
      if (count === NO_KEYS) return null;
      const start = this.#scopeStart.at(3 * i + d);
      return Array.from({ length: count }, (_, k) => this.#keys[this.#scopeKeys.at(start + k)]!);
    };
    const link = this.#links.get(i);
    return { id: this.#ids[i]!, ...(link ? { link } : {}), scope: { principal: dim(0), action: dim(1), resource: dim(2) } };
  }

  /** Files one more policy (an index is built, then sealed, before it is used: see indexPolicySetInSteps). */
  add(p: IndexedPolicy): void {
    const i = this.#ids.length;
    this.#ids.push(p.id);
    if (p.link) this.#links.set(i, p.link);
    const scope = p.scope;
    for (let d = 0; d < DIMENSIONS.length; d++) {
      const dimension = DIMENSIONS[d]!;
      const keys = scope[dimension];
      this.#scopeStart.push(this.#scopeKeys.length);
      if (keys === null) {
        this.#scopeCount.push(NO_KEYS);
        this.#any[dimension].push(i);
        continue;
      }
      let count = 0;
      for (let k = 0; k < keys.length; k++) {
        const key = keys[k]!;
        // A key listed twice (`action in [A, A]`) is filed once.
        if (keys.indexOf(key) !== k) continue;
        let id = this.#keyIds.get(key);
        if (id === undefined) {
          id = this.#keys.length;
          this.#keys.push(key);
          this.#keyIds.set(key, id);
        }
        this.#scopeKeys.push(id);
        count++;
      }
      this.#scopeCount.push(count);
    }
    if (scope.principal === null && scope.action === null && scope.resource === null) this.#remainder.push(p.id);
    this.#postings = undefined;
  }

  /** Builds the lookup tables from what was added (lookup() seals an index that is not). */
  seal(): void {
    for (const _ of this.sealing());
  }

  /**
   * seal() in pieces, one per dimension and pass over the policies: a caller that must not hold the
   * event loop (indexPolicySetInSteps) lets other work run between them.
   */
  *sealing(): Generator<void> {
    if (this.#postings) return;
    const n = this.#ids.length;
    const keyCount = this.#keys.length;
    const built: Postings[] = [];
    for (let d = 0; d < DIMENSIONS.length; d++) {
      const start = new Int32Array(keyCount + 1);
      for (let i = 0; i < n; i++) {
        const count = this.#scopeCount.at(3 * i + d);
        const from = this.#scopeStart.at(3 * i + d);
        for (let k = 0; k < count; k++) start[this.#scopeKeys.at(from + k) + 1]!++;
      }
      for (let k = 0; k < keyCount; k++) start[k + 1]! += start[k]!;
      yield;
      const positions = new Int32Array(start[keyCount]!);
      const fill = start.slice(0, keyCount);
      // Positions ascending within each key: policies are visited in order.
      for (let i = 0; i < n; i++) {
        const count = this.#scopeCount.at(3 * i + d);
        const from = this.#scopeStart.at(3 * i + d);
        for (let k = 0; k < count; k++) positions[fill[this.#scopeKeys.at(from + k)]!++] = i;
      }
      built.push({ start, positions });
      yield;
    }
    // Nothing was added meanwhile (add() clears the tables, and nothing else sets them): the tables are whole.
    if (built.length === DIMENSIONS.length && this.#ids.length === n && this.#keys.length === keyCount) {
      this.#postings = { principal: built[0]!, action: built[1]!, resource: built[2]! };
      this.#anyArrays = { principal: this.#any.principal.toArray(), action: this.#any.action.toArray(), resource: this.#any.resource.toArray() };
    }
  }

  /**
   * The positions (ascending) of the policies whose scope can hold for a request whose principal,
   * action and resource have these ancestries (each including the entity itself). The dimension with
   * the fewest candidates is walked; each candidate is checked against the other two.
   */
  lookup(anc: Record<Dimension, ReadonlySet<string>>): number[] {
    // Checked here, not in seal(): seal() starts a generator, which a sealed index's every lookup would allocate.
    if (!this.#postings) this.seal();
    const postings = this.#postings!;
    const any = this.#anyArrays!;
    // The ancestries as key numbers; a key no policy names cannot select anything.
    const ids: number[][] = [[], [], []];
    let best = 0;
    let bestCount = Infinity;
    for (let d = 0; d < DIMENSIONS.length; d++) {
      const dimension = DIMENSIONS[d]!;
      let count = any[dimension].length;
      for (const key of anc[dimension]) {
        const id = this.#keyIds.get(key);
        if (id === undefined) continue;
        ids[d]!.push(id);
        count += postings[dimension].start[id + 1]! - postings[dimension].start[id]!;
      }
      if (count < bestCount) [best, bestCount] = [d, count];
    }
    // A generation stamp per policy dedupes candidates filed under several keys, without a Set.
    if (this.#stamp.length !== this.#ids.length) this.#stamp = new Uint32Array(this.#ids.length);
    if (++this.#generation === 0xffffffff) {
      this.#stamp.fill(0);
      this.#generation = 1;
    }
    const gen = this.#generation;
    const found: number[] = [];
    const holds = (i: number, d: number): boolean => {
      const count = this.#scopeCount.at(3 * i + d);
      if (count === NO_KEYS) return true;
      const from = this.#scopeStart.at(3 * i + d);
      for (let k = 0; k < count; k++) if (ids[d]!.includes(this.#scopeKeys.at(from + k))) return true;
      return false;
    };
    const consider = (i: number) => {
      if (this.#stamp[i] === gen) return;
      this.#stamp[i] = gen;
      for (let d = 0; d < 3; d++) if (d !== best && !holds(i, d)) return;
      found.push(i);
    };
    const bestDimension = DIMENSIONS[best]!;
    for (const i of any[bestDimension]) consider(i);
    const { start, positions } = postings[bestDimension];
    for (const id of ids[best]!) for (let k = start[id]!; k < start[id + 1]!; k++) consider(positions[k]!);
    return found.sort((a, b) => a - b);
  }
}
