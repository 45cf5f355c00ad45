/**
 * The decision cache's key of an authorization request (engine.authorize): the very string
 * decisionKey gives for the request's call, built from parts encoded once. Encoding the whole call,
 * ~1 KB of JSON, on every request was most of what a cached decision cost (JSON.stringify ~2.4 µs of
 * ~3.5, ~4% of an update's event loop). But a verified token's principal is frozen and comes back
 * from the token cache as the same object, and a package's resource is shared while the package is
 * asked about (entities.ts): their parts are encoded once per object. Only the action and the
 * context are encoded per request. A part that is not frozen is encoded every time, as before.
 */
import type { CedarValueJson, EntityJson } from '@cedar-policy/cedar-wasm/nodejs';
import type { Principal } from '../auth/principal.ts';
import { jsonFaithful, MAX_KEY_LENGTH } from './decision-cache.ts';
import { deepFreeze, principalEntities, userUid, type CedarResource, type EntityUid } from './entities.ts';

/** A principal or resource as it appears in a call, and its encoding; null when JSON cannot hold it faithfully. */
interface Part {
  uid: EntityUid;
  entities: readonly EntityJson[];
  /** JSON of the uid, and of the entities without the list's brackets (they join the others' in the call). */
  encoded: { uid: string; entities: string } | null;
}

const encodedOnce = new WeakMap<object, Part>();

/** The principal's uid and entities as a call holds them, with their encoding. */
export function principalPart(principal: Principal): Part {
  const kept = encodedOnce.get(principal);
  if (kept) return kept;
  const part = encode(userUid(principal), principalEntities(principal));
  // Only a principal that can never change may be answered from its first encoding; what is kept is
  // handed to every later call of that principal, so nothing may change it either.
  if (Object.isFrozen(principal) && Object.isFrozen(principal.groups)) encodedOnce.set(principal, deepFreeze(part));
  return part;
}

export function resourcePart(resource: CedarResource): Part {
  const kept = encodedOnce.get(resource);
  if (kept) return kept;
  const part = encode(resource.uid, resource.entities);
  if (isDeepFrozen(resource)) encodedOnce.set(resource, part);
  return part;
}

/**
 * decisionKey([principal.uid, action, resource.uid, context, [...principal.entities, ...resource.entities]]),
 * from the parts' kept encodings: the same text JSON.stringify makes of that array.
 */
export function requestKey(principal: Part, action: EntityUid, resource: Part, context: Record<string, CedarValueJson>): string | undefined {
  if (!principal.encoded || !resource.encoded || !jsonFaithful(action, 1) || !jsonFaithful(context, 1)) return undefined;
  const entities = principal.encoded.entities && resource.encoded.entities ? `${principal.encoded.entities},${resource.encoded.entities}` : principal.encoded.entities || resource.encoded.entities;
  const key = `[${principal.encoded.uid},${JSON.stringify(action)},${resource.encoded.uid},${JSON.stringify(context)},[${entities}]]`;
  return key.length <= MAX_KEY_LENGTH ? key : undefined;
}

function encode(uid: EntityUid, entities: readonly EntityJson[]): Part {
  // Depths as in the call's key: the uid is an element of it, each entity an element of its list.
  const faithful = jsonFaithful(uid, 1) && jsonFaithful(entities, 1);
  return { uid, entities, encoded: faithful ? { uid: JSON.stringify(uid), entities: JSON.stringify(entities).slice(1, -1) } : null };
}

function isDeepFrozen(v: unknown): boolean {
  if (typeof v !== 'object' || v === null) return true;
  if (!Object.isFrozen(v)) return false;
  for (const k of Object.keys(v)) if (!isDeepFrozen((v as Record<string, unknown>)[k])) return false;
  return true;
}
