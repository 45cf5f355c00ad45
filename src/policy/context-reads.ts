/**
 * What a policy's conditions can read of the request's context: the top-level attributes it names,
 * or everything. The engine gives Cedar a list no policy of a request's slice reads as an empty one
 * (context-lists.ts), so that a 20,000-version DeletePackage does not cost Cedar 20,000 elements
 * carried across the JS/wasm boundary when no policy looks at them.
 *
 * Sound only if no read is ever missed: a `forbid` whose list was emptied under it would go
 * unmatched, a deny turned into an allow. So the answer comes from Cedar's own parse of the policy
 * (policyToJson / templateToJson), never from the text, whose comments and annotations may say
 * anything; the whole JSON of the conditions is walked generically; and only two shapes, seen in
 * Cedar 4's output, name an attribute: `context.a` (also `context["a"]`) is
 * `{".": {left: {Var: "context"}, attr: "a"}}`, and `context has a` is
 * `{"has": {left: {Var: "context"}, attr: "a"}}` (`context has a.b` gives `attr: ["a", "b"]`: it
 * reads `a`). Every other place `{Var: "context"}` appears (compared whole, in a record or a set,
 * given to a function, under a node not known here) reads all of it.
 */
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';

/** The top-level context attributes read, or 'all'. */
export type ContextReads = ReadonlySet<string> | 'all';

const NOTHING: ContextReads = new Set<string>();

/** What the conditions (Cedar's JSON `conditions`, or any part of a policy's JSON) read of `context`. */
export function conditionReads(conditions: unknown): ContextReads {
  const names = new Set<string>();
  return walk(conditions, names, 0) ? (names.size === 0 ? NOTHING : names) : 'all';
}

/** Deeper JSON than Cedar accepts in a policy is taken to read everything, not walked further. */
const MAX_DEPTH = 512;

/** Adds what the node names to `names`; false when it reads the whole context. */
function walk(node: unknown, names: Set<string>, depth: number): boolean {
  if (typeof node !== 'object' || node === null) return true;
  if (depth > MAX_DEPTH) return false;
  if (Array.isArray(node)) {
    for (const x of node) if (!walk(x, names, depth + 1)) return false;
    return true;
  }
  const attr = attributeRead(node);
  if (attr !== undefined) {
    names.add(attr);
    return true;
  }
  if (isContextVar(node)) return false;
  for (const value of Object.values(node)) if (!walk(value, names, depth + 1)) return false;
  return true;
}

/** The attribute read when the node is exactly `context.A` or `context has A` (A's first step); otherwise undefined. */
function attributeRead(node: object): string | undefined {
  const keys = Object.keys(node);
  if (keys.length !== 1 || (keys[0] !== '.' && keys[0] !== 'has')) return undefined;
  const op = (node as Record<string, unknown>)[keys[0]];
  if (typeof op !== 'object' || op === null || Array.isArray(op)) return undefined;
  const opKeys = Object.keys(op);
  if (opKeys.length !== 2 || !opKeys.includes('left') || !opKeys.includes('attr')) return undefined;
  const { left, attr } = op as { left: unknown; attr: unknown };
  if (typeof left !== 'object' || left === null || !isContextVar(left)) return undefined;
  if (typeof attr === 'string') return attr;
  // `context has a.b` (Cedar 4.3 on): only `has`, a path of at least one step.
  if (keys[0] === 'has' && Array.isArray(attr) && attr.length > 0 && attr.every((a) => typeof a === 'string')) return attr[0] as string;
  return undefined;
}

function isContextVar(node: object): boolean {
  const keys = Object.keys(node);
  return keys.length === 1 && keys[0] === 'Var' && (node as { Var: unknown }).Var === 'context';
}

/**
 * What a static policy (or a template: links read what their template reads) can read of the
 * context, from Cedar's parse of its text. A text Cedar does not parse here reads everything.
 */
export function policyContextReads(text: string, template: boolean): ContextReads {
  const json = template ? cedar.templateToJson(text) : cedar.policyToJson(text);
  if (json.type === 'failure') return 'all';
  // Cedar gives a list (empty without when/unless); anything else is not a shape known here.
  const conditions: unknown = json.json.conditions;
  return Array.isArray(conditions) ? conditionReads(conditions) : 'all';
}

/** What a set of policies reads together. */
export function unionOfReads(reads: Iterable<ContextReads>): ContextReads {
  let union: Set<string> | undefined;
  for (const r of reads) {
    if (r === 'all') return 'all';
    if (r.size === 0) continue;
    union ??= new Set();
    for (const name of r) union.add(name);
  }
  return union ?? NOTHING;
}
