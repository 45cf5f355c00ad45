/**
 * The lists in a request's context that Cedar can be given empty. cedar-wasm reads a JS array across
 * the JS/wasm boundary at a few microseconds an element: DeletePackage of a package of 20,000
 * versions spent ~190 ms of event loop in Cedar reading `versions`, which the shipped policies never
 * look at. A list that no policy of the request's slice reads (context-reads.ts) is given as `[]`.
 *
 * That leaves Cedar's answer as it was only if Cedar's request validation (`validateRequest`)
 * answers alike for both lists, so a list is emptied only when the schema declares the attribute, for
 * that action, as a Set of String, and the list is an array of well-formed strings: valid before and
 * after. A list of anything else (a number in it, a lone surrogate, which Cedar cannot read) is left
 * as it came, and refused as before. Where the schema is not plain about a type (a name that could
 * be an entity type or a common type, `String` shadowed by a declared type), nothing is emptied.
 */
import type { CedarValueJson } from '@cedar-policy/cedar-wasm/nodejs';
import type { ContextReads } from './context-reads.ts';
import { entityKey } from './links.ts';
import { schemaJson } from './schema-json.ts';

type TypeJson = { type?: unknown; name?: unknown; element?: unknown; attributes?: unknown };
type Namespace = { commonTypes?: Record<string, TypeJson>; entityTypes?: Record<string, unknown>; actions?: Record<string, { appliesTo?: { context?: TypeJson } | null }> };

/** Common-type references followed at most this deep (Cedar refuses cycles; this bounds the walk regardless). */
const MAX_REFERENCES = 16;

/**
 * Per action (its entity key, `Action::"DeletePackage"`), the context attributes the schema declares
 * as a Set of String. Actions with none are absent.
 */
export function stringSetAttributes(schemaText: string): ReadonlyMap<string, ReadonlySet<string>> {
  // Engines of one schema (a reload that changes policies only, a shadow candidate) share the answer.
  if (last?.schemaText === schemaText) return last.attributes;
  const schema = schemaJson(schemaText) as Record<string, Namespace>;
  const attributes = new Map<string, ReadonlySet<string>>();
  for (const [ns, def] of Object.entries(schema)) {
    for (const [name, action] of Object.entries(def.actions ?? {})) {
      const context = action.appliesTo?.context;
      const record = context === undefined ? undefined : resolve(schema, context, ns, 0);
      if (!record || record.type.type !== 'Record' || typeof record.type.attributes !== 'object' || record.type.attributes === null) continue;
      const names = new Set<string>();
      for (const [attr, t] of Object.entries(record.type.attributes as Record<string, TypeJson>)) {
        if (isStringSet(schema, t, record.ns)) names.add(attr);
      }
      if (names.size > 0) attributes.set(entityKey({ type: ns ? `${ns}::Action` : 'Action', id: name }), names);
    }
  }
  last = { schemaText, attributes };
  return attributes;
}
let last: { schemaText: string; attributes: ReadonlyMap<string, ReadonlySet<string>> } | undefined;

function isStringSet(schema: Record<string, Namespace>, t: TypeJson, ns: string): boolean {
  const set = resolve(schema, t, ns, 0);
  if (!set || set.type.type !== 'Set' || typeof set.type.element !== 'object' || set.type.element === null) return false;
  return resolve(schema, set.type.element as TypeJson, set.ns, 0)?.type.type === 'String';
}

const BUILTIN = new Set(['String', 'Long', 'Boolean', 'Set', 'Record', 'Entity', 'Extension']);

/**
 * The type with common-type references followed (with the namespace it was declared in), `String`
 * for Cedar's string type however spelt; undefined when the schema is not plain about what it is.
 */
function resolve(schema: Record<string, Namespace>, t: TypeJson, ns: string, depth: number): { type: TypeJson; ns: string } | undefined {
  if (depth > MAX_REFERENCES || typeof t !== 'object' || t === null || typeof t.type !== 'string') return undefined;
  const name = t.type === 'EntityOrCommon' ? t.name : t.type;
  if (typeof name !== 'string') return undefined;
  if (name === '__cedar::String') return { type: { type: 'String' }, ns };
  if (t.type === 'EntityOrCommon' || !BUILTIN.has(name)) {
    if (name === 'String') return stringShadowed(schema) ? undefined : { type: { type: 'String' }, ns };
    const found = commonType(schema, name, ns);
    return found && resolve(schema, found.type, found.ns, depth + 1);
  }
  if (name === 'String' && stringShadowed(schema)) return undefined;
  return { type: t, ns };
}

/** A type named `String` anywhere makes a bare `String` mean something other than Cedar's strings. */
function stringShadowed(schema: Record<string, Namespace>): boolean {
  return Object.values(schema).some((def) => Object.hasOwn(def.entityTypes ?? {}, 'String') || Object.hasOwn(def.commonTypes ?? {}, 'String'));
}

/** The one common type a name can mean from namespace `ns`; undefined when none, or when it could also be another type. */
function commonType(schema: Record<string, Namespace>, name: string, ns: string): { type: TypeJson; ns: string } | undefined {
  const at = name.lastIndexOf('::');
  const places: Array<[string, string]> = at >= 0 ? [[name.slice(0, at), name.slice(at + 2)]] : ns ? [[ns, name], ['', name]] : [['', name]];
  const common = places.filter(([n, id]) => Object.hasOwn(schema[n]?.commonTypes ?? {}, id));
  const entity = places.some(([n, id]) => Object.hasOwn(schema[n]?.entityTypes ?? {}, id));
  if (common.length !== 1 || entity) return undefined;
  const [n, id] = common[0]!;
  return { type: schema[n]!.commonTypes![id]!, ns: n };
}

// String.prototype.isWellFormed: Node 20 has it; the lib the sources are checked against (ES2023) does not declare it.
const isWellFormed = (String.prototype as unknown as { isWellFormed(this: string): boolean }).isWellFormed;

/**
 * The attributes of a context that Cedar could be given empty: each declared a Set of String (from
 * stringSetAttributes) and holding a non-empty array of well-formed strings. Undefined when none.
 */
export function emptiableLists(context: unknown, declared: ReadonlySet<string>): string[] | undefined {
  if (typeof context !== 'object' || context === null || Array.isArray(context)) return undefined;
  let found: string[] | undefined;
  for (const name of declared) {
    if (!Object.hasOwn(context, name)) continue;
    const list = (context as Record<string, unknown>)[name];
    if (!Array.isArray(list) || list.length === 0) continue;
    let strings = true;
    for (let i = 0; i < list.length && strings; i++) {
      const s: unknown = list[i];
      strings = typeof s === 'string' && isWellFormed.call(s);
    }
    if (strings) (found ??= []).push(name);
  }
  return found;
}

/**
 * The context with each of `lists` that `reads` does not name given as `[]`; the context itself when
 * that is none. Nothing else changes, and the attributes keep their order.
 */
export function withoutUnreadLists(context: Record<string, CedarValueJson>, lists: readonly string[], reads: ContextReads): Record<string, CedarValueJson> {
  if (reads === 'all') return context;
  const unread = lists.filter((name) => !reads.has(name));
  if (unread.length === 0) return context;
  const given = { ...context };
  for (const name of unread) given[name] = [];
  return given;
}
