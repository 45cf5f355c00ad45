/**
 * Template links: "team X curates repository Y", "user Z may resync package P". They live in
 * links.json and links/*.json beside the templates, as a JSON array:
 *   [{ "id": "payments-curate-payments", "template": "team-curates-repository",
 *      "principal": "Group::\"payments\"", "resource": "Repository::\"arn:…:repository/d/payments\"" }]
 * `principal` / `resource` are Cedar entity literals or {"type": …, "id": …}; `id` defaults to
 * `<template>(<principal id>, <resource id>)`.
 *
 * Links are indexed with the static policies (policy-index.ts): a request evaluates only the links
 * whose slots name its principal or resource, or their ancestors.
 */
import type { PolicyDiagnostic } from './load-policies.ts';

export interface EntityRef {
  type: string;
  id: string;
}

export interface TemplateLink {
  id: string;
  template: string;
  principal?: EntityRef | undefined;
  resource?: EntityRef | undefined;
  /** Where it was written, for diagnostics. */
  file: string;
  line: number;
}

const LITERAL = /^([A-Za-z_][A-Za-z0-9_]*(?:::[A-Za-z_][A-Za-z0-9_]*)*)::"((?:[^"\\]|\\.)*)"$/;

export function parseEntityRef(value: unknown): EntityRef | undefined {
  if (typeof value === 'string') {
    const m = LITERAL.exec(value.trim());
    if (!m) return undefined;
    try {
      return { type: m[1]!, id: JSON.parse(`"${m[2]}"`) as string };
    } catch {
      return undefined;
    }
  }
  if (value && typeof value === 'object' && typeof (value as EntityRef).type === 'string' && typeof (value as EntityRef).id === 'string') {
    return { type: (value as EntityRef).type, id: (value as EntityRef).id };
  }
  return undefined;
}

/**
 * `Type::"id"`, as one flat string: the policy index keeps one per entity a policy names (tens of
 * thousands in a large set), and a template literal would keep each as a chain of three strings.
 */
/**
 * Why a policy id given by hand is refused, or undefined. An id is printed in the audit, by explain
 * and in test reasons: an empty one would silently become `<file>#<index>`, and a control or format
 * character (a newline, a zero-width space) prints as two lines or as another policy's id.
 */
export function policyIdProblem(id: string): string | undefined {
  if (id === '') return 'is empty';
  if (/[\p{Cc}\p{Cf}]/u.test(id)) return `holds a control or format character (${JSON.stringify(id)})`;
  return undefined;
}

export const entityKey = (e: EntityRef) => [e.type, '::', JSON.stringify(e.id)].join('');

/** The line each top-level array element starts on, so diagnostics can point into the file. */
function elementLines(text: string): number[] {
  const lines: number[] = [];
  let depth = 0;
  let line = 1;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '\n') line++;
    else if (ch === '"') {
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++;
    } else if (ch === '[' || ch === '{') {
      if (depth === 1) lines.push(line);
      depth++;
    } else if (ch === ']' || ch === '}') depth--;
  }
  return lines;
}

export function parseLinkFile(file: string, text: string, errors: PolicyDiagnostic[]): TemplateLink[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    errors.push({ file, line: 1, column: 1, severity: 'error', message: `not valid JSON: ${(err as Error).message}` });
    return [];
  }
  if (!Array.isArray(parsed)) {
    errors.push({ file, line: 1, column: 1, severity: 'error', message: 'a links file is a JSON array of {id?, template, principal?, resource?}' });
    return [];
  }
  const lines = elementLines(text);
  const links: TemplateLink[] = [];
  parsed.forEach((item: unknown, index) => {
    const line = lines[index] ?? 1;
    const fail = (message: string): void => {
      errors.push({ file, line, column: 1, severity: 'error', message: `link ${index + 1}: ${message}` });
    };
    if (!item || typeof item !== 'object' || Array.isArray(item)) return fail('must be an object');
    const o = item as Record<string, unknown>;
    const unknown = Object.keys(o).filter((k) => !['id', 'template', 'principal', 'resource'].includes(k));
    if (unknown.length > 0) return fail(`unknown field(s) ${unknown.join(', ')}`);
    if (typeof o.template !== 'string' || o.template === '') return fail('needs "template", the @id of a template');
    const principal = o.principal === undefined ? undefined : parseEntityRef(o.principal);
    if (o.principal !== undefined && !principal) return fail(`"principal" must be an entity such as "Group::\\"payments\\"", got ${JSON.stringify(o.principal)}`);
    const resource = o.resource === undefined ? undefined : parseEntityRef(o.resource);
    if (o.resource !== undefined && !resource) return fail(`"resource" must be an entity such as "Repository::\\"arn:…\\"", got ${JSON.stringify(o.resource)}`);
    if (o.id !== undefined && (typeof o.id !== 'string' || o.id === '')) return fail('"id" must be a non-empty string');
    const badId = typeof o.id === 'string' ? policyIdProblem(o.id) : undefined;
    if (badId) return fail(`"id" ${badId}`);
    const id = (o.id as string | undefined) ?? `${o.template}(${principal?.id ?? ''}, ${resource?.id ?? ''})`;
    links.push({ id, template: o.template, principal, resource, file, line });
  });
  return links;
}
