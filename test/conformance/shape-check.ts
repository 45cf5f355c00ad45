/**
 * Values against model shapes: does a response value have the type the model declares (as
 * REST-JSON encodes it), and which values sit just inside or just outside a shape's constraints.
 */
import type { ServiceModel, Shape } from './service-model.ts';
import { bodyMembers } from './wire.ts';

/** Members the gateway answers with that the model does not declare, each with its reason. */
export interface Extension {
  shape: string;
  member: string;
  why: string;
}

/**
 * Every place where `value` does not match `shapeName` as REST-JSON encodes it in a body: undeclared
 * members, missing required members, wrong JSON types, values outside an enum, non-integers.
 */
export function typeProblems(model: ServiceModel, shapeName: string, value: unknown, path: string, extensions: readonly Extension[] = []): string[] {
  const shape = model.shapes[shapeName];
  if (!shape) return [`${path}: the model has no shape ${shapeName}`];
  const problems: string[] = [];
  const expect = (ok: boolean, what: string) => {
    if (!ok) problems.push(`${path}: ${JSON.stringify(value)?.slice(0, 80)} is not ${what} (${shapeName})`);
    return ok;
  };
  switch (shape.type) {
    case 'structure': {
      if (!expect(isObject(value), 'a JSON object')) break;
      const members = bodyMembers(shape);
      const object = value as Record<string, unknown>;
      for (const [key, member] of Object.entries(object)) {
        const declared = members.get(key);
        if (!declared) {
          if (!extensions.some((e) => e.shape === shapeName && e.member === key)) problems.push(`${path}.${key}: not a member of ${shapeName}`);
          continue;
        }
        problems.push(...typeProblems(model, declared.ref.shape, member, `${path}.${key}`, extensions));
      }
      for (const required of shape.required ?? []) {
        const wire = shape.members?.[required]?.locationName ?? required;
        if (members.has(wire) && object[wire] === undefined) problems.push(`${path}.${wire}: required by ${shapeName}, missing`);
      }
      break;
    }
    case 'list':
      if (!expect(Array.isArray(value), 'a JSON array')) break;
      (value as unknown[]).forEach((item, i) => problems.push(...typeProblems(model, shape.member!.shape, item, `${path}[${i}]`, extensions)));
      break;
    case 'map':
      if (!expect(isObject(value), 'a JSON object (map)')) break;
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        problems.push(...typeProblems(model, shape.key!.shape, k, `${path} key`, extensions));
        problems.push(...typeProblems(model, shape.value!.shape, v, `${path}[${JSON.stringify(k)}]`, extensions));
      }
      break;
    case 'string':
      if (!expect(typeof value === 'string', 'a string')) break;
      if (shape.enum) expect(shape.enum.includes(value as string), `one of ${shape.enum.join(', ')}`);
      break;
    case 'integer':
    case 'long':
      expect(Number.isInteger(value), 'an integer');
      break;
    case 'double':
    case 'float':
      expect(typeof value === 'number', 'a number');
      break;
    case 'boolean':
      expect(typeof value === 'boolean', 'a boolean');
      break;
    case 'timestamp':
      // REST-JSON bodies carry timestamps as epoch seconds unless the shape says otherwise.
      if (shape.timestampFormat === 'iso8601') expect(typeof value === 'string' && !Number.isNaN(Date.parse(value as string)), 'an ISO 8601 timestamp');
      else expect(typeof value === 'number' && Number.isFinite(value), 'a timestamp in epoch seconds');
      break;
    case 'blob':
      expect(typeof value === 'string' && /^[A-Za-z0-9+/]*={0,2}$/.test(value as string), 'base64 text');
      break;
  }
  return problems;
}

function isObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A shape's value constraints, possibly changed by a documented deviation. */
export interface Constraints {
  pattern?: string | undefined;
  min?: number | undefined;
  max?: number | undefined;
  enum?: string[] | undefined;
}

export function constraintsOf(shape: Shape): Constraints {
  return { pattern: shape.pattern, min: shape.min, max: shape.max, enum: shape.enum };
}

/** Whether a string satisfies the constraints (the model's patterns match the whole value). */
export function satisfies(c: Constraints, value: string): boolean {
  if (c.enum && !c.enum.includes(value)) return false;
  const length = [...value].length;
  if (c.min !== undefined && length < c.min) return false;
  if (c.max !== undefined && length > c.max) return false;
  return c.pattern === undefined || new RegExp(`^(?:${c.pattern})$`, 'u').test(value);
}

/** Characters tried, one at a time, to push a valid value outside a pattern. */
const INTRUDERS = ['_', 'A', '-', '.', '#', '/', ' ', '%', '*', '\u0007', 'é'];
const FILLERS = ['a', '0', 'x', 'A', '1'];

/**
 * Strings just outside `c`, made from `valid` (which satisfies it): one character short of the
 * minimum, one over the maximum, and single-character changes the pattern refuses.
 */
export function stringsOutside(c: Constraints, valid: string): Array<{ value: string; why: string }> {
  const out: Array<{ value: string; why: string }> = [];
  const add = (value: string, why: string) => {
    if (!satisfies(c, value) && !out.some((o) => o.value === value)) out.push({ value, why });
  };
  if (c.enum) {
    add(`${valid}X`, 'not in the enum');
    return out;
  }
  const filler = fillerFor(c, valid);
  if (c.min !== undefined && c.min > 0) add([...valid].slice(0, c.min - 1).join(''), `shorter than ${c.min}`);
  if (c.max !== undefined) add(valid + filler.repeat(Math.max(1, c.max + 1 - [...valid].length)), `longer than ${c.max}`);
  if (c.pattern !== undefined) {
    const patterned: Array<{ value: string; why: string }> = [];
    for (const ch of INTRUDERS) {
      const middle = Math.max(1, Math.floor(valid.length / 2));
      for (const candidate of [valid.slice(0, middle) + ch + valid.slice(middle + 1), ch + valid.slice(1), valid.slice(0, -1) + ch]) {
        if (!satisfies({ ...c, pattern: undefined }, candidate)) continue; // keep the length inside: only the pattern fails
        if (satisfies(c, candidate) || patterned.some((p) => p.value === candidate)) continue;
        patterned.push({ value: candidate, why: `${JSON.stringify(ch)} against the pattern ${c.pattern}` });
        break;
      }
    }
    out.push(...patterned.slice(0, 4));
  }
  return out;
}

/** Strings just inside `c`: the shortest and the longest allowed, built from `valid`. */
export function stringsInside(c: Constraints, valid: string): Array<{ value: string; why: string }> {
  if (c.enum) return c.enum.map((value) => ({ value, why: 'an enum value' }));
  const out: Array<{ value: string; why: string }> = [];
  const filler = fillerFor(c, valid);
  const chars = [...valid];
  if (c.min !== undefined) {
    for (const candidate of [chars.slice(0, c.min).join('') + filler.repeat(Math.max(0, c.min - chars.length)), filler.repeat(c.min)]) {
      if (c.min > 0 && satisfies(c, candidate)) {
        out.push({ value: candidate, why: `the minimum length, ${c.min}` });
        break;
      }
    }
  }
  if (c.max !== undefined) {
    const candidate = valid + filler.repeat(Math.max(0, c.max - chars.length));
    if (satisfies(c, candidate) && [...candidate].length === c.max) out.push({ value: candidate, why: `the maximum length, ${c.max}` });
  }
  return out;
}

/** A character that can be repeated at the end of `valid` and keep it inside the pattern. */
function fillerFor(c: Constraints, valid: string): string {
  return FILLERS.find((f) => satisfies({ pattern: c.pattern }, valid + f + f)) ?? 'a';
}
