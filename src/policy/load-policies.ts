/**
 * Reads the policies folder (schema.cedarschema and *.cedar), validates every policy strictly
 * against the schema, and produces a policy set ready to preparse. A set with any error is refused
 * as a whole; its diagnostics are data, sorted by file, line and column.
 */
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { parseLinkFile, policyIdProblem, type TemplateLink } from './links.ts';
import { policySetHash, PolicySetError, readPolicyDir, SCHEMA_FILE, TEMPLATE_DIR, type PolicyDiagnostic, type PolicyFileText, type PolicySources } from './policy-files.ts';
import { policyTextProblem, schemaTextProblem } from './policy-guard.ts';
import { convertSchema } from './schema-json.ts';
import { locateInFile } from './statement-offsets.ts';
import type { PolicyHead } from './policy-index.ts';

// Reading the folder needs no Cedar (policy-files.ts): the start reads it before Cedar is loaded.
export { formatDiagnostic, LINKS_DIR, LINKS_FILE, MAX_LINKS_FILE_BYTES, policySetHash, PolicySetError, readPolicyDir, SCHEMA_FILE, TEMPLATE_DIR } from './policy-files.ts';
export type { PolicyDiagnostic, PolicyFileText, PolicySources } from './policy-files.ts';

export interface PolicySource {
  file: string;
  line: number;
  column: number;
}

export interface TemplateSlots {
  principal: boolean;
  resource: boolean;
}

export interface CompiledPolicySet {
  schemaText: string;
  /** Policy id → policy text. An id is the policy's @id("…") annotation, else `<file>#<index>`. */
  policies: Record<string, string>;
  /** Template id (its @id) → template text. */
  templates: Record<string, string>;
  templateSlots: Record<string, TemplateSlots>;
  /**
   * Each static policy's and template's scope, from Cedar's parse at compile time, for the engine's
   * index (policy-index.ts). Absent in a set built by hand: the engine then parses the scopes itself.
   */
  heads?: Record<string, PolicyHead>;
  links: TemplateLink[];
  sources: Record<string, PolicySource>;
  /** Every file that makes the set: *.cedar, templates/*.cedar, links files. */
  files: string[];
  /** SHA-256 over the schema and every file: names the exact set a decision was made with. */
  hash: string;
  warnings: PolicyDiagnostic[];
}

export function loadPolicyDir(dir: string): CompiledPolicySet {
  const sources = readPolicyDir(dir);
  return compilePolicySet(sources.schemaText, sources.files, sources);
}

export function compilePolicySet(schemaText: string, files: PolicyFileText[], extra: Pick<PolicySources, 'templates' | 'links'> = {}): CompiledPolicySet {
  try {
    return compileChecked(schemaText, files, extra.templates ?? [], extra.links ?? []);
  } catch (err) {
    if (err instanceof PolicySetError) throw err;
    throw new PolicySetError([isRefusal(err) ? refusalDiagnostic(err, files) : trapDiagnostic(err, files)]);
  }
}

/**
 * cedar-wasm refuses input its JSON reader cannot take by throwing a plain Error: serde_json stops
 * past 128 levels of nesting (a schema type nested deeply: each record level is two), or at a string
 * that is not well-formed UTF-16. The instance is as it was; only this set is refused.
 */
function isRefusal(err: unknown): err is Error {
  return err instanceof Error && err.constructor === Error;
}

function refusalDiagnostic(err: Error, files: PolicyFileText[]): PolicyDiagnostic {
  // The schema is the only part of the set Cedar is given as nested JSON; policies go as text.
  if (/recursion limit/i.test(err.message)) {
    return { file: SCHEMA_FILE, line: 1, column: 1, severity: 'error', message: `Cedar could not read the schema (${err.message}): a type nests too deeply; nest it less` };
  }
  return { file: files[0]?.file ?? SCHEMA_FILE, line: 1, column: 1, severity: 'error', message: `Cedar could not read this policy set (${err.message})` };
}

/**
 * A trap or stack overflow inside Cedar (WebAssembly.RuntimeError, RangeError): the guard let
 * something through Cedar could not process, and the wasm instance may be unusable, so nothing else
 * should be loaded in this process.
 */
function trapDiagnostic(err: unknown, files: PolicyFileText[]): PolicyDiagnostic {
  return { file: files[0]?.file ?? SCHEMA_FILE, line: 1, column: 1, severity: 'error', message: `Cedar could not process this policy set (${(err as Error).message}); restart before loading another set` };
}

function compileChecked(schemaText: string, files: PolicyFileText[], templateFiles: PolicyFileText[], linkFiles: PolicyFileText[]): CompiledPolicySet {
  const errors: PolicyDiagnostic[] = [];
  const at = (file: string, text: string, offset: number) => ({ file, ...lineColumn(text, offset) });

  const schemaProblem = schemaTextProblem(schemaText);
  if (schemaProblem) throw new PolicySetError([{ file: SCHEMA_FILE, line: 1, column: 1, severity: 'error', message: `schema is ${schemaProblem}` }]);
  // Parsed once, here; Cedar is given the JSON form from then on (schema-json.ts).
  const schemaCheck = convertSchema(schemaText);
  if (schemaCheck.type === 'failure') {
    throw new PolicySetError(schemaCheck.errors.map((e) => ({ ...at(SCHEMA_FILE, schemaText, e.sourceLocations?.[0]?.start ?? 0), severity: 'error' as const, message: e.message, ...(e.help ? { help: e.help } : {}) })));
  }

  const policies: Record<string, string> = {};
  const heads: Record<string, PolicyHead> = {};
  const sources: Record<string, PolicySource> = {};
  for (const { file, text } of files) {
    const parts = splitFile(file, text, errors, at);
    if (!parts) continue;
    if (parts.templates.length > 0) {
      errors.push({ file, line: 1, column: 1, severity: 'error', message: `templates (policies with ?principal or ?resource) belong in ${TEMPLATE_DIR}/` });
    }
    parts.policies.forEach(({ text: policyText, offset }, index) => {
      const json = cedar.policyToJson(policyText);
      const given = json.type === 'success' ? json.json.annotations?.id : undefined;
      const badId = given === undefined || given === null ? undefined : policyIdProblem(given);
      if (badId) {
        errors.push({ ...at(file, text, offset), severity: 'error', message: `@id ${badId}` });
        return;
      }
      const id = given ?? `${file}#${index}`;
      if (policies[id] !== undefined) {
        errors.push({ ...at(file, text, offset), severity: 'error', message: `policy id "${id}" is used twice (also at ${sources[id]!.file}:${sources[id]!.line})` });
        return;
      }
      policies[id] = policyText;
      sources[id] = at(file, text, offset);
      if (json.type === 'success') heads[id] = { principal: json.json.principal, action: json.json.action, resource: json.json.resource };
    });
  }
  const templates: Record<string, string> = {};
  const templateSlots: Record<string, TemplateSlots> = {};
  for (const { file, text } of templateFiles) {
    const parts = splitFile(file, text, errors, at);
    if (!parts) continue;
    if (parts.policies.length > 0) errors.push({ file, line: 1, column: 1, severity: 'error', message: `${TEMPLATE_DIR}/ holds templates only: move static policies to the folder above` });
    for (const { text: templateText, offset } of parts.templates) {
      const json = cedar.templateToJson(templateText);
      const id = json.type === 'success' ? json.json.annotations?.id : undefined;
      if (id === undefined || id === null) {
        errors.push({ ...at(file, text, offset), severity: 'error', message: 'a template needs an @id("…"): links name it' });
        continue;
      }
      const badId = policyIdProblem(id);
      if (badId) {
        errors.push({ ...at(file, text, offset), severity: 'error', message: `@id ${badId}` });
        continue;
      }
      if (policies[id] !== undefined || templates[id] !== undefined) {
        errors.push({ ...at(file, text, offset), severity: 'error', message: `policy id "${id}" is used twice (also at ${sources[id]!.file}:${sources[id]!.line})` });
        continue;
      }
      templates[id] = templateText;
      sources[id] = at(file, text, offset);
      const j = json.type === 'success' ? json.json : undefined;
      templateSlots[id] = { principal: !!j && 'slot' in j.principal, resource: !!j && 'slot' in j.resource };
      if (j) heads[id] = { principal: j.principal, action: j.action, resource: j.resource };
    }
  }

  const links: TemplateLink[] = [];
  for (const { file, text } of linkFiles) links.push(...parseLinkFile(file, text, errors));
  for (const link of links) {
    const fail = (message: string) => errors.push({ file: link.file, line: link.line, column: 1, severity: 'error', message: `link "${link.id}": ${message}` });
    const slots = templateSlots[link.template];
    if (!slots) {
      fail(`no template with @id("${link.template}") in ${TEMPLATE_DIR}/`);
      continue;
    }
    if (slots.principal !== !!link.principal) fail(slots.principal ? 'the template has ?principal: give "principal"' : 'the template has no ?principal: remove "principal"');
    if (slots.resource !== !!link.resource) fail(slots.resource ? 'the template has ?resource: give "resource"' : 'the template has no ?resource: remove "resource"');
    if (policies[link.id] !== undefined || templates[link.id] !== undefined || sources[link.id] !== undefined) {
      fail(`the id is used twice (also at ${sources[link.id]!.file}:${sources[link.id]!.line})`);
      continue;
    }
    sources[link.id] = { file: link.file, line: link.line, column: 1 };
  }
  if (errors.length > 0) throw new PolicySetError(sortDiagnostics(errors));

  const templateLinks = links.map((l) => ({
    templateId: l.template,
    newId: l.id,
    values: { ...(l.principal ? { '?principal': l.principal } : {}), ...(l.resource ? { '?resource': l.resource } : {}) },
  }));
  const answer = cedar.validate({ schema: schemaCheck.json, policies: { staticPolicies: policies, templates, templateLinks }, validationSettings: { mode: 'strict' } });
  if (answer.type === 'failure') {
    throw new PolicySetError(answer.errors.map((e) => ({ file: SCHEMA_FILE, line: 1, column: 1, severity: 'error' as const, message: e.message })));
  }
  const located = (policyId: string, e: cedar.DetailedError, severity: 'error' | 'warning'): PolicyDiagnostic => {
    const src = sources[policyId];
    const file = [...files, ...templateFiles].find((f) => f.file === src?.file);
    const base = src && file ? offsetFrom(file.text, src, e.sourceLocations?.[0]?.start ?? 0) : src ? { line: src.line, column: src.column } : { line: 1, column: 1 };
    return { file: src?.file ?? SCHEMA_FILE, ...base, severity, message: e.message, policyId, ...(e.help ? { help: e.help } : {}) };
  };
  const isLink = new Set(links.map((l) => l.id));
  // A link that can never apply (say, a Package given where the template expects a Group) is only a
  // warning for Cedar; for a link it is always a mistake, so it is an error here.
  const validationErrors = [
    ...answer.validationErrors.map((v) => located(v.policyId, v.error, 'error')),
    ...answer.validationWarnings.filter((v) => isLink.has(v.policyId)).map((v) => located(v.policyId, v.error, 'error')),
  ];
  const warnings = answer.validationWarnings.filter((v) => !isLink.has(v.policyId)).map((v) => located(v.policyId, v.error, 'warning'));
  if (validationErrors.length > 0) throw new PolicySetError(sortDiagnostics([...validationErrors, ...warnings]));

  const allFiles = [...files, ...templateFiles, ...linkFiles];
  return {
    schemaText,
    policies,
    templates,
    templateSlots,
    heads,
    links,
    sources,
    files: allFiles.map((f) => f.file),
    hash: policySetHash({ schemaText, files, templates: templateFiles, links: linkFiles }),
    warnings: sortDiagnostics(warnings),
  };
}

type Locate = (file: string, text: string, offset: number) => { file: string; line: number; column: number };

/**
 * Guards a file's text, then splits it into its policies and templates, each with its offset in the
 * file (for diagnostics). Problems are collected in `errors`; undefined means the file was refused.
 */
function splitFile(file: string, text: string, errors: PolicyDiagnostic[], at: Locate) {
  const problem = policyTextProblem(text);
  if (problem) {
    errors.push({ file, line: 1, column: 1, severity: 'error', message: `refused before parsing: ${problem}` });
    return undefined;
  }
  const parts = cedar.policySetTextToParts(text);
  if (parts.type === 'failure') {
    for (const e of parts.errors) errors.push({ ...at(file, text, e.sourceLocations?.[0]?.start ?? 0), severity: 'error', message: e.message, ...(e.help ? { help: e.help } : {}) });
    return undefined;
  }
  // Cedar returns each policy's own text, but not in file order (statement-offsets.ts).
  return { policies: locateInFile(text, parts.policies), templates: locateInFile(text, parts.policy_templates) };
}

function sortDiagnostics(list: PolicyDiagnostic[]): PolicyDiagnostic[] {
  return [...list].sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column);
}

function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, column: offset - before.lastIndexOf('\n') };
}

/** A Cedar offset is relative to the policy's own text; place it in the file. */
function offsetFrom(fileText: string, src: PolicySource, offsetInPolicy: number): { line: number; column: number } {
  const lines = fileText.split('\n');
  let start = 0;
  for (let i = 0; i < src.line - 1; i++) start += lines[i]!.length + 1;
  return lineColumn(fileText, start + src.column - 1 + offsetInPolicy);
}
