/**
 * versiongate against CodeArtifact's published service model (the aws CLI's botocore copy): for
 * every operation the running gateway serves at a model operation's method and URI, real HTTP
 * requests built from the model check the URI, the query and header names, the required members,
 * the input constraints, the output members and their types, and the errors. Nothing here is
 * written per operation except the small fixture table (fixtures.ts) for resources a call needs.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintDevToken } from '../../src/auth/dev-key.ts';
import { systemClock } from '../../src/clock.ts';
import { parseConfig } from '../../src/config.ts';
import { silentLogger } from '../../src/log.ts';
import { startGateway, type Gateway } from '../../src/main.ts';
import { REPO_POLICIES } from '../helpers/gateway.ts';
import { seedSynced } from '../helpers/seed-synced.ts';
import { ABSENT, type Call, CONSTRAINT_DEVIATIONS, EXTENSIONS, FIXTURES, NO_INSIDE_CHECK, NOT_FOUND_UNREACHABLE, NOT_IMPLEMENTED_WHY, QUERY_EXTENSIONS, REQUEST_EXTENSIONS, SHAPE_DEFAULTS, UNDECLARED_ERRORS } from './fixtures.ts';
import { operationRows, operationsTable, readmeTable } from './operations-table.ts';
import { type Constraints, constraintsOf, satisfies, stringsInside, stringsOutside, typeProblems } from './shape-check.ts';
import { loadServiceModel, type Operation, type ServiceModel, type Shape, type ShapeRef } from './service-model.ts';
import { errorType, type Input, inputShape, send, serialize, type WireResponse } from './wire.ts';

const README = resolve(import.meta.dirname, '../../README.md');

// Every check runs with a principal Cedar lets do anything (forbid policies still apply), so what
// is refused is refused by validation or by the registry, never by the shipped policies.
const CONFORMANCE_POLICY = `@id("conformance-may-do-anything")
permit (principal in Group::"conformance", action, resource);
`;

interface OpenApiRoute {
  method: string;
  path: string;
  operationId?: string;
  parameters: Array<{ name: string; in: string }>;
  /** The JSON body's members, when the route takes a JSON object. */
  bodyMembers?: string[];
}

interface OpenApiSchema {
  $ref?: string;
  properties?: Record<string, unknown>;
}

let model: ServiceModel;
let gateway: Gateway;
let dir: string;
let allowedToken: string;
let deniedToken: string;
let routes: OpenApiRoute[];
/** The model operations the gateway serves, by name. */
let implemented: Map<string, Operation>;

beforeAll(async () => {
  model = loadServiceModel(); // throws with install instructions when there is no model: never skips
  dir = mkdtempSync(join(tmpdir(), 'vg-conformance-'));
  cpSync(REPO_POLICIES, join(dir, 'policies'), { recursive: true });
  writeFileSync(join(dir, 'policies', 'conformance.cedar'), CONFORMANCE_POLICY);
  const config = parseConfig({ env: {}, flags: { port: '0', 'data-dir': join(dir, 'data'), 'policy-dir': join(dir, 'policies') }, dev: true });
  gateway = await startGateway(config, { logger: silentLogger });
  await seedSynced(gateway, join(dir, 'data'));
  const mint = (groups: string[]) =>
    mintDevToken({ key: gateway.devKey!, issuer: config.auth.issuer, audience: config.auth.audience, subject: 'conformance', groups, groupsClaim: 'groups', ttlSeconds: 3600, clock: systemClock });
  allowedToken = await mint(['conformance']);
  deniedToken = await mint([]);

  const doc = (await (await fetch(new URL('/openapi.json', gateway.url))).json()) as {
    paths: Record<string, Record<string, { operationId?: string; parameters?: Array<{ name: string; in: string }>; requestBody?: { content?: Record<string, { schema?: OpenApiSchema }> } }>>;
    components?: { schemas?: Record<string, OpenApiSchema> };
  };
  const resolveSchema = (schema: OpenApiSchema | undefined) => (schema?.$ref ? doc.components?.schemas?.[schema.$ref.replace('#/components/schemas/', '')] : schema);
  routes = Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => {
      const properties = resolveSchema(op.requestBody?.content?.['application/json']?.schema)?.properties;
      return { method: method.toUpperCase(), path, ...(op.operationId ? { operationId: op.operationId } : {}), parameters: op.parameters ?? [], ...(properties ? { bodyMembers: Object.keys(properties) } : {}) };
    }),
  );
  implemented = new Map();
  for (const op of Object.values(model.operations)) if (routeOf(op)) implemented.set(op.name, op);
}, 120_000);

afterAll(async () => {
  await gateway?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Paths compared with their labels blanked: `/v1/x/{name}` and `/v1/x/{other+}` are one route. */
const routeKey = (method: string, path: string) => `${method.toUpperCase()} ${path.split('?', 1)[0]!.replace(/\{[^}]+\}/g, '{}')}`;
const routeOf = (op: Operation) => routes.find((r) => routeKey(r.method, r.path) === routeKey(op.http.method, op.http.requestUri));

// ---- building inputs from the model ----

function shapeOf(ref: ShapeRef): Shape {
  return model.shapes[ref.shape]!;
}

/** A valid value for a member: the fixture's, the shape default, or one made from the shape. */
function validValue(op: Operation, name: string, ref: ShapeRef): unknown {
  const fixture = FIXTURES[op.name]?.input;
  if (fixture && name in fixture) return fixture[name];
  return defaultFor(ref.shape);
}

function defaultFor(shapeName: string): unknown {
  if (shapeName in SHAPE_DEFAULTS) return SHAPE_DEFAULTS[shapeName];
  const shape = model.shapes[shapeName]!;
  switch (shape.type) {
    case 'string':
      return shape.enum ? shape.enum[0] : 'conformance';
    case 'integer':
    case 'long':
      return shape.min ?? 1;
    case 'boolean':
      return false;
    case 'list':
      return [defaultFor(shape.member!.shape)];
    case 'map':
      return {};
    case 'structure':
      return Object.fromEntries((shape.required ?? []).map((m) => [m, defaultFor(shape.members![m]!.shape)]));
    default:
      return 'conformance';
  }
}

/** The required members' valid values for the seeded registry, without the operation's fixture. */
function seededInput(op: Operation): Input {
  const shape = inputShape(model, op);
  const input: Input = {};
  for (const name of shape.required ?? []) input[name] = defaultFor(shape.members![name]!.shape);
  return input;
}

/** The operation's fixture input: every required member, plus the fixture's own. */
function fixtureInput(op: Operation): Input {
  const shape = inputShape(model, op);
  const input: Input = {};
  for (const name of shape.required ?? []) input[name] = validValue(op, name, shape.members![name]!);
  return { ...input, ...FIXTURES[op.name]?.input };
}

/** The model's constraints on a shape, as versiongate applies them for this input (CONSTRAINT_DEVIATIONS). */
function constraintsFor(shapeName: string, input: Input, member?: string): Constraints {
  let c = constraintsOf(model.shapes[shapeName]!);
  for (const d of CONSTRAINT_DEVIATIONS) {
    if (d.shape === shapeName && (d.member === undefined || d.member === member) && (d.format === undefined || d.format === input['format'])) c = { ...c, ...d.change };
  }
  return c;
}

interface Variant {
  member: string;
  why: string;
  input: Input;
}

/** Inputs that change one member to a value just outside (or just inside) its constraints. */
function variants(op: Operation, side: 'outside' | 'inside'): Variant[] {
  const base = fixtureInput(op);
  const shape = inputShape(model, op);
  const out: Variant[] = [];
  for (const [name, ref] of Object.entries(shape.members ?? {})) {
    const target = shapeOf(ref);
    const valid = name in base ? base[name] : validValue(op, name, ref);
    const inText = ref.location === 'querystring' || ref.location === 'header' || ref.location === 'uri';
    const put = (value: unknown, why: string) => out.push({ member: name, why, input: { ...base, [name]: value } });
    for (const { value, why } of scalarValues(ref.shape, valid, base, side, inText, name)) {
      if (ref.location === 'header' && typeof value === 'string' && !/^[\x20-\x7e]*$/.test(value)) continue; // no client can send it
      put(value, why);
    }
    if (side === 'outside' && !inText && shape.payload !== name) {
      const wrong = wrongJsonType(target);
      if (wrong) put(wrong.value, wrong.why);
    }
    if (target.type === 'list' && Array.isArray(valid)) {
      const element = valid[0];
      const many = (n: number) => Array.from({ length: n }, (_, i) => (typeof element === 'string' ? `${element}.${i}` : element));
      const { min, max } = constraintsFor(ref.shape, base, name);
      if (side === 'outside') {
        if (max !== undefined) put(many(max + 1), `${max + 1} elements, over the maximum ${max}`);
        if (min !== undefined && min > 0) put(many(min - 1), `${min - 1} elements, under the minimum ${min}`);
      } else {
        // A list versiongate refuses whenever it is not empty (NO_INSIDE_CHECK) has no inside but none.
        if (max !== undefined && !(ref.shape in NO_INSIDE_CHECK)) put(many(max), `${max} elements, the maximum`);
        put(many(min ?? 0), `${min ?? 0} elements, the minimum`);
      }
      for (const { value, why } of scalarValues(target.member!.shape, element, base, side, false)) put([value], `an element ${why}`);
    }
    if (target.type === 'structure' && valid && typeof valid === 'object' && !Array.isArray(valid)) {
      for (const [inner, innerRef] of Object.entries(target.members ?? {})) {
        const innerValid = (valid as Input)[inner] ?? defaultFor(innerRef.shape);
        for (const { value, why } of scalarValues(innerRef.shape, innerValid, base, side, false, inner)) put({ ...(valid as Input), [inner]: value }, `${inner} ${why}`);
      }
    }
    if (target.type === 'map' && side === 'outside') {
      // A map keyed by versions (versionRevisions) must name a listed version: its value is checked only then.
      const key = Array.isArray(base['versions']) ? (base['versions'] as unknown[])[0] : defaultFor(target.key!.shape);
      const value = defaultFor(target.value!.shape);
      for (const o of scalarValues(target.key!.shape, key, base, side, false)) put({ [String(o.value)]: value }, `a key ${o.why}`);
      for (const o of scalarValues(target.value!.shape, value, base, side, false)) put({ [String(key)]: o.value }, `a value ${o.why}`);
    }
  }
  return out;
}

/** A JSON value of another type than the shape's, for a body member. */
function wrongJsonType(shape: Shape): { value: unknown; why: string } | undefined {
  switch (shape.type) {
    case 'string':
      return { value: 12, why: 'a number, not a string' };
    case 'list':
      return { value: 'x', why: 'a string, not a list' };
    case 'map':
    case 'structure':
      return { value: ['x'], why: `a list, not a ${shape.type}` };
    case 'integer':
    case 'long':
    case 'boolean':
      return { value: 'x', why: `a string, not a ${shape.type}` };
    default:
      return undefined;
  }
}

/** Values of a scalar shape just outside or just inside, made from a valid one. */
function scalarValues(shapeName: string, valid: unknown, input: Input, side: 'outside' | 'inside', inText: boolean, member?: string): Array<{ value: unknown; why: string }> {
  const shape = model.shapes[shapeName]!;
  switch (shape.type) {
    case 'string': {
      if (typeof valid !== 'string') return [];
      if (side === 'inside' && shapeName in NO_INSIDE_CHECK) return [];
      const c = constraintsFor(shapeName, input, member);
      return side === 'outside' ? stringsOutside(c, valid) : stringsInside(c, valid);
    }
    case 'integer':
    case 'long': {
      const values: Array<{ value: unknown; why: string }> = [];
      if (side === 'outside') {
        if (shape.min !== undefined) values.push({ value: shape.min - 1, why: `under the minimum ${shape.min}` });
        if (shape.max !== undefined) values.push({ value: shape.max + 1, why: `over the maximum ${shape.max}` });
        if (inText) values.push({ value: 'x', why: 'not an integer' });
      } else {
        if (shape.min !== undefined) values.push({ value: shape.min, why: `the minimum ${shape.min}` });
        if (shape.max !== undefined) values.push({ value: shape.max, why: `the maximum ${shape.max}` });
      }
      return values;
    }
    case 'boolean':
      if (side === 'inside') return [true, false].map((value) => ({ value, why: String(value) }));
      return inText ? [{ value: 'maybe', why: 'not a boolean' }] : [];
    default:
      return [];
  }
}

// ---- calling the gateway and judging its answers ----

/** One model-level call over real HTTP, with the problems its answer has against the model. */
async function call(op: Operation, input: Input, token = allowedToken): Promise<{ res: WireResponse; problems: string[] }> {
  const res = await send(gateway.url, serialize(model, op, input), token);
  return { res, problems: answerProblems(op, res) };
}

/** Runs a fixture's steps; false when a step's operation is one this machine's (older) model does not have. */
async function runCalls(calls: Call[] | undefined, problems: string[]): Promise<boolean> {
  for (const c of calls ?? []) {
    const op = implemented.get(c.operation);
    if (!op) {
      if (model.operations[c.operation] || !routes.some((r) => r.operationId === c.operation)) {
        problems.push(`fixture step ${c.operation} is not implemented by the gateway`);
        continue;
      }
      console.warn(`${model.file} has no ${c.operation}: a check that needs it first is not made`);
      return false;
    }
    const { res, problems: p } = await call(op, c.input);
    problems.push(...p.map((x) => `fixture step ${c.operation}: ${x}`));
    if (res.status >= 300) problems.push(`fixture step ${c.operation} failed: ${res.status} ${res.text.slice(0, 200)}`);
  }
  return true;
}

/** What is wrong with an answer against the model: its output when it succeeded, its error otherwise. */
function answerProblems(op: Operation, res: WireResponse): string[] {
  const where = `${op.name} → ${res.status}`;
  // REST-JSON answers carry the request id the SDK reports as $metadata.requestId.
  if (!res.headers.get('x-amzn-requestid')) return [`${where}: no x-amzn-RequestId header`];
  if (res.status >= 200 && res.status < 300) {
    const problems: string[] = [];
    const expected = op.http.responseCode ?? 200;
    if (res.status !== expected) problems.push(`${where}: the model answers ${expected}`);
    if (!op.output) return problems;
    const shape = model.shapes[op.output.shape]!;
    for (const [name, ref] of Object.entries(shape.members ?? {})) {
      if (ref.location === 'header' && !res.headers.has(ref.locationName ?? name)) problems.push(`${where}: header ${ref.locationName ?? name} (${name}) missing`);
    }
    const payload = shape.payload ? shape.members![shape.payload]! : undefined;
    if (payload && shapeOf(payload).type === 'blob') return problems; // the body is the bytes
    problems.push(...typeProblems(model, op.output.shape, res.json, where, EXTENSIONS));
    return problems;
  }
  const type = errorType(res);
  if (!type) return [`${where}: no x-amzn-ErrorType header; body ${res.text.slice(0, 200)}`];
  const declared = (op.errors ?? []).map((e) => e.shape);
  if (!declared.includes(type) && UNDECLARED_ERRORS[op.name]?.[type] === undefined) return [`${where}: ${type} is not an error the model declares for ${op.name} (${declared.join(', ')}): ${res.text.slice(0, 200)}`];
  const problems: string[] = [];
  const status = model.shapes[type]!.error?.httpStatusCode;
  if (status !== res.status) problems.push(`${where}: the model answers ${type} with ${status}`);
  problems.push(...typeProblems(model, type, res.json, `${where} ${type}`));
  return problems;
}

const show = (v: unknown) => {
  const text = JSON.stringify(v, (_k, x: unknown) => (x instanceof Uint8Array ? `<${x.length} bytes>` : x));
  return text.length > 60 ? `${text.slice(0, 57)}…(${text.length})` : text;
};

function expectNoProblems(problems: string[]): void {
  expect(problems, problems.join('\n')).toEqual([]);
}

const sorted = () => [...implemented.values()].sort((a, b) => a.name.localeCompare(b.name));

describe("versiongate against CodeArtifact's service model", () => {
  it('finds the model and serves some of its operations at their method and URI', () => {
    expect(model.protocol).toBe('rest-json');
    expect(implemented.size, `no model operation is served by the gateway (model: ${model.file})`).toBeGreaterThan(0);
    // A route named for a model operation must be at that operation's method and URI.
    const misplaced = routes.filter((r) => r.operationId && model.operations[r.operationId] && !implemented.has(r.operationId));
    expect(misplaced.map((r) => `${r.operationId} at ${r.method} ${r.path}, the model has ${routeKey(model.operations[r.operationId!]!.http.method, model.operations[r.operationId!]!.http.requestUri)}`)).toEqual([]);
  });

  it('declares exactly the query and header names the model declares, and the documented extensions (QUERY_EXTENSIONS)', () => {
    const problems: string[] = [];
    for (const op of sorted()) {
      const route = routeOf(op)!;
      const wanted = Object.entries(inputShape(model, op).members ?? {})
        .filter(([, ref]) => ref.location === 'querystring' || ref.location === 'header')
        .map(([name, ref]) => `${ref.location === 'header' ? 'header' : 'query'} ${(ref.locationName ?? name).toLowerCase()}`);
      const served = route.parameters.filter((p) => p.in === 'query' || p.in === 'header').map((p) => `${p.in} ${p.name.toLowerCase()}`);
      const extensions = QUERY_EXTENSIONS.filter((e) => e.shape === op.input?.shape).map((e) => `query ${e.member.toLowerCase()}`);
      for (const w of wanted) if (!served.includes(w)) problems.push(`${op.name}: the model's ${w} is not a parameter of the gateway's route`);
      for (const s of served) if (!wanted.includes(s) && !extensions.includes(s)) problems.push(`${op.name}: the gateway's ${s} is not in the model (add it to QUERY_EXTENSIONS, with why, if it is meant)`);
      for (const e of extensions) if (!served.includes(e) || wanted.includes(e)) problems.push(`${op.name}: QUERY_EXTENSIONS lists ${e}, which is ${wanted.includes(e) ? 'in the model now: remove it' : 'not taken by the gateway'}`);
    }
    for (const e of QUERY_EXTENSIONS) if (![...implemented.values()].some((op) => op.input?.shape === e.shape)) problems.push(`QUERY_EXTENSIONS: no implemented operation takes ${e.shape}`);
    expectNoProblems(problems);
  });

  it('takes exactly the JSON body members the model declares, and the documented extensions (REQUEST_EXTENSIONS)', () => {
    const problems: string[] = [];
    for (const op of sorted()) {
      const served = routeOf(op)!.bodyMembers;
      if (served === undefined) continue; // no JSON body (none, or the asset's bytes)
      const shape = inputShape(model, op);
      const wanted = Object.entries(shape.members ?? {}).filter(([name, ref]) => ref.location === undefined && name !== shape.payload).map(([name]) => name);
      const extensions = REQUEST_EXTENSIONS.filter((e) => e.shape === op.input?.shape).map((e) => e.member);
      for (const w of wanted) if (!served.includes(w)) problems.push(`${op.name}: the model's body member ${w} is not taken by the gateway`);
      for (const m of served) if (!wanted.includes(m) && !extensions.includes(m)) problems.push(`${op.name}: the gateway takes a body member ${m} the model does not declare (add it to REQUEST_EXTENSIONS, with why, if it is meant)`);
      for (const e of extensions) if (!served.includes(e) || wanted.includes(e)) problems.push(`${op.name}: REQUEST_EXTENSIONS lists ${e}, which is ${wanted.includes(e) ? "in the model now: remove it" : 'not taken by the gateway'}`);
    }
    for (const e of REQUEST_EXTENSIONS) if (![...implemented.values()].some((op) => op.input?.shape === e.shape)) problems.push(`REQUEST_EXTENSIONS: no implemented operation takes ${e.shape}`);
    expectNoProblems(problems);
  });

  it('answers each operation with the members and types the model declares', async () => {
    const problems: string[] = [];
    for (const op of sorted()) {
      if (!(await runCalls(FIXTURES[op.name]?.before, problems))) continue;
      const { res, problems: p } = await call(op, fixtureInput(op));
      problems.push(...p);
      if (res.status !== (op.http.responseCode ?? 200)) problems.push(`${op.name} did not succeed with its fixture input: ${res.status} ${res.text.slice(0, 300)} (add or fix its entry in test/conformance/fixtures.ts)`);
    }
    expectNoProblems(problems);
  });

  it('hands out page tokens that its next call accepts', async () => {
    const problems: string[] = [];
    let paged = 0;
    for (const op of sorted()) {
      const members = Object.entries(inputShape(model, op).members ?? {});
      const token = members.find(([, r]) => r.shape === 'PaginationToken')?.[0];
      const size = members.find(([n]) => n === 'maxResults')?.[0];
      if (!token || !size) continue;
      const first = await call(op, { ...fixtureInput(op), [size]: 1 });
      problems.push(...first.problems);
      const next = (first.res.json as { nextToken?: string } | undefined)?.nextToken;
      if (next === undefined) continue; // a single page: nothing to follow
      paged++;
      const second = await call(op, { ...fixtureInput(op), [size]: 1, [token]: next });
      problems.push(...second.problems);
      if (second.res.status !== 200) problems.push(`${op.name} refused its own nextToken: ${second.res.status} ${second.res.text.slice(0, 150)}`);
    }
    expect(paged, 'no operation had a second page to follow').toBeGreaterThan(0);
    expectNoProblems(problems);
  });

  it('answers a request without a bearer token 401 UnauthorizedException in the error envelope (the README says why the model has no such error)', async () => {
    const problems: string[] = [];
    for (const op of sorted()) {
      const res = await send(gateway.url, serialize(model, op, fixtureInput(op)), undefined);
      if (res.status !== 401 || errorType(res) !== 'UnauthorizedException' || typeof (res.json as { message?: unknown } | undefined)?.message !== 'string') {
        problems.push(`${op.name} without a token: ${res.status} ${errorType(res)} ${res.text.slice(0, 150)}`);
      }
    }
    expectNoProblems(problems);
  });

  it('refuses a request without a required member with ValidationException', async () => {
    const problems: string[] = [];
    for (const op of sorted()) {
      for (const member of inputShape(model, op).required ?? []) {
        const input = fixtureInput(op);
        delete input[member];
        const { res, problems: p } = await call(op, input);
        problems.push(...p);
        if (res.status !== 400 || errorType(res) !== 'ValidationException') problems.push(`${op.name} without ${member}: ${res.status} ${errorType(res)}`);
      }
    }
    expectNoProblems(problems);
  });

  it("refuses values just outside the model's patterns, lengths and ranges with ValidationException", async () => {
    const problems: string[] = [];
    let checked = 0;
    for (const op of sorted()) {
      for (const v of variants(op, 'outside')) {
        const { res, problems: p } = await call(op, v.input);
        checked++;
        problems.push(...p);
        if (res.status !== 400 || errorType(res) !== 'ValidationException') problems.push(`${op.name} ${v.member}=${show(v.input[v.member])} (${v.why}): ${res.status} ${errorType(res)} ${res.text.slice(0, 150)}`);
      }
    }
    expect(checked).toBeGreaterThan(implemented.size);
    expectNoProblems(problems);
  });

  it('never refuses values just inside them as invalid', async () => {
    const problems: string[] = [];
    for (const op of sorted()) {
      for (const v of variants(op, 'inside')) {
        const { res, problems: p } = await call(op, v.input);
        problems.push(...p);
        if (errorType(res) === 'ValidationException') problems.push(`${op.name} ${v.member}=${show(v.input[v.member])} (${v.why}) was refused: ${res.text.slice(0, 200)}`);
      }
    }
    expectNoProblems(problems);
  });

  it("still departs from the model where the README says it does, and only there", async () => {
    const problems: string[] = [];
    for (const d of CONSTRAINT_DEVIATIONS) {
      const takes = (o: Operation) =>
        Object.entries(inputShape(model, o).members ?? {}).find(([n, r]) => r.shape === d.shape && (d.member === undefined || n === d.member))?.[0];
      const op = sorted().find((o) => takes(o) !== undefined && (d.format === undefined || fixtureInput(o)['format'] === d.format));
      if (!op) {
        problems.push(`no implemented operation takes a ${d.shape}${d.member ? ` as ${d.member}` : ''}${d.format ? ` in format ${d.format}` : ''}: remove the deviation`);
        continue;
      }
      const input = fixtureInput(op);
      const member = takes(op)!;
      const modelC = constraintsOf(model.shapes[d.shape]!);
      const gatewayC = constraintsFor(d.shape, input, member);
      // A wider rule accepts a value the model refuses; a narrower one refuses a value the model accepts.
      const [outer, inner] = d.kind === 'wider' ? [gatewayC, modelC] : [modelC, gatewayC];
      let between: Array<{ value: unknown; why: string }>;
      if (model.shapes[d.shape]!.type === 'list') {
        const element = (input[member] as unknown[])[0];
        const fits = (c: Constraints, n: number) => n >= (c.min ?? 0) && (c.max === undefined || n <= c.max);
        const lengths = [inner.min, outer.min, inner.max, outer.max].flatMap((n) => (n === undefined ? [] : [n - 1, n, n + 1])).filter((n) => n >= 0);
        between = [...new Set(lengths)].filter((n) => fits(outer, n) && !fits(inner, n)).map((n) => ({ value: Array.from({ length: n }, () => element), why: `${n} elements` }));
      } else {
        const valid = String(input[member] ?? defaultFor(d.shape));
        between = [{ value: valid, why: 'the fixture value' }, ...stringsOutside(inner, valid), ...stringsInside(outer, valid)].filter(
          (v) => satisfies(outer, v.value) && !satisfies(inner, v.value),
        );
      }
      if (between.length === 0) problems.push(`${d.shape}: found no value between the model's rule and versiongate's`);
      for (const v of between.slice(0, 2)) {
        const { res } = await call(op, { ...input, [member]: v.value });
        const refused = errorType(res) === 'ValidationException';
        if (refused !== (d.kind === 'narrower')) problems.push(`${d.shape} ${show(v.value)} (${v.why}): ${d.kind === 'wider' ? 'refused' : 'accepted'}, so the deviation no longer holds: ${res.status} ${res.text.slice(0, 150)}`);
      }
    }
    expectNoProblems(problems);
  });

  it('answers AccessDeniedException, ResourceNotFoundException and ConflictException where the model declares them', async () => {
    const problems: string[] = [];
    for (const op of sorted()) {
      const declared = (op.errors ?? []).map((e) => e.shape);
      const input = fixtureInput(op);
      if (declared.includes('AccessDeniedException')) {
        // Asked about the seeded resources: a fixture's own (a domain made to be deleted) may be gone by now.
        const { res, problems: p } = await call(op, FIXTURES[op.name]?.before ? seededInput(op) : input, deniedToken);
        problems.push(...p);
        if (errorType(res) !== 'AccessDeniedException') problems.push(`${op.name} for a principal no policy permits: ${res.status} ${errorType(res)}`);
      }
      // CreateDomain would create the very domain the others need to be absent: not even tried.
      if (declared.includes('ResourceNotFoundException') && !(op.name in NOT_FOUND_UNREACHABLE)) {
        let provoked = 0;
        for (const [name, ref] of Object.entries(inputShape(model, op).members ?? {})) {
          const absent = ABSENT[ref.shape];
          if (absent === undefined || !(name in input)) continue;
          const { res, problems: p } = await call(op, { ...input, [name]: absent });
          problems.push(...p);
          // Some absent names are not lookups (publishing creates the package): any declared answer will do, one must be a 404.
          if (errorType(res) === 'ResourceNotFoundException') provoked++;
        }
        if (provoked === 0) problems.push(`${op.name}: no absent domain, repository, package, version or asset gave ResourceNotFoundException`);
      }
      for (const [type, how] of Object.entries(FIXTURES[op.name]?.provoke ?? {})) {
        if (!(await runCalls(how.before, problems))) continue;
        const { res, problems: p } = await call(op, { ...fixtureInput(op), ...how.input });
        problems.push(...p);
        if (errorType(res) !== type) problems.push(`${op.name} fixture for ${type}: ${res.status} ${errorType(res)} ${res.text.slice(0, 150)}`);
      }
    }
    expectNoProblems(problems);
  });

  it('gives a reason for every model operation it does not implement', () => {
    const unexplained = Object.keys(model.operations).filter((name) => !implemented.has(name) && !NOT_IMPLEMENTED_WHY[name]);
    expect(unexplained, 'add each to NOT_IMPLEMENTED_WHY in test/conformance/fixtures.ts, with an honest reason').toEqual([]);
  });

  it("has the README's table of CodeArtifact operations right", () => {
    const expected = operationsTable(model, new Set(implemented.keys()));
    const actual = readmeTable(readFileSync(README, 'utf8'));
    const message = `README.md's table of CodeArtifact operations is out of date; replace it (markers included) with:\n\n${expected}\n`;
    const readmeRows = operationRows(actual ?? '');
    const modelRows = operationRows(expected);
    const beyondModel = [...readmeRows.keys()].filter((name) => !modelRows.has(name));
    if (actual !== undefined && beyondModel.length > 0 && [...modelRows.keys()].every((name) => readmeRows.has(name))) {
      // The README was made from a newer model than this machine's (Debian's awscli is older than
      // botocore's latest): the rows this model has are checked, and the operations it does not know,
      // and the list of implemented ones, are taken from the README as they are.
      console.warn(`${model.file} predates the README's table: not checked against it: ${beyondModel.join(', ')}`);
      const known = (block: string) => block.split('\n').filter((line) => !beyondModel.some((name) => line.startsWith(`| ${name} |`)));
      expect(known(actual), message).toEqual(known(expected));
      return;
    }
    expect(actual, message).toBe(expected);
  });
});
