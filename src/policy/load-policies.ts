/**
 * Reads the policies folder (schema.cedarschema and *.cedar), validates every policy strictly
 * against the schema, and produces a policy set ready to preparse. A set with any error is refused
 * as a whole; its diagnostics are data, sorted by file, line and column.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { policyTextProblem } from './policy-guard.ts';

export const SCHEMA_FILE = 'schema.cedarschema';

export interface PolicyDiagnostic {
  file: string;
  line: number;
  column: number;
  severity: 'error' | 'warning';
  message: string;
  help?: string;
  policyId?: string;
}

export interface PolicySource {
  file: string;
  line: number;
  column: number;
}

export interface CompiledPolicySet {
  schemaText: string;
  /** Policy id → policy text. An id is the policy's @id("…") annotation, else `<file>#<index>`. */
  policies: Record<string, string>;
  sources: Record<string, PolicySource>;
  files: string[];
  /** SHA-256 over the schema and every file: names the exact set a decision was made with. */
  hash: string;
  warnings: PolicyDiagnostic[];
}

export class PolicySetError extends Error {
  override readonly name = 'PolicySetError';
  constructor(readonly diagnostics: PolicyDiagnostic[]) {
    super(
      `the policy set is not valid (${diagnostics.filter((d) => d.severity === 'error').length} error(s)):\n` +
        diagnostics.map(formatDiagnostic).join('\n'),
    );
  }
}

export function formatDiagnostic(d: PolicyDiagnostic): string {
  const where = `${d.file}:${d.line}:${d.column}`;
  return `${where}: ${d.severity}: ${d.message}${d.help ? ` (help: ${d.help})` : ''}`;
}

export interface PolicyFileText {
  file: string;
  text: string;
}

/** Reads the folder; compilePolicySet does the checking. */
export function readPolicyDir(dir: string): { schemaText: string; files: PolicyFileText[] } {
  let schemaText: string;
  try {
    schemaText = readFileSync(join(dir, SCHEMA_FILE), 'utf8');
  } catch {
    throw new PolicySetError([{ file: SCHEMA_FILE, line: 1, column: 1, severity: 'error', message: `missing ${SCHEMA_FILE} in ${dir}` }]);
  }
  const files = readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.cedar'))
    .map((e) => e.name)
    .sort()
    .map((file) => ({ file, text: readFileSync(join(dir, file), 'utf8') }));
  return { schemaText, files };
}

export function loadPolicyDir(dir: string): CompiledPolicySet {
  const { schemaText, files } = readPolicyDir(dir);
  return compilePolicySet(schemaText, files);
}

export function compilePolicySet(schemaText: string, files: PolicyFileText[]): CompiledPolicySet {
  try {
    return compileChecked(schemaText, files);
  } catch (err) {
    if (err instanceof PolicySetError) throw err;
    // A trap or stack overflow inside Cedar: the guard let something through it could not process.
    // Refuse the set; the wasm instance may be unusable, so nothing else should be loaded in this process.
    throw new PolicySetError([
      { file: files[0]?.file ?? SCHEMA_FILE, line: 1, column: 1, severity: 'error', message: `Cedar could not process this policy set (${(err as Error).message}); restart before loading another set` },
    ]);
  }
}

function compileChecked(schemaText: string, files: PolicyFileText[]): CompiledPolicySet {
  const errors: PolicyDiagnostic[] = [];
  const at = (file: string, text: string, offset: number) => ({ file, ...lineColumn(text, offset) });

  const schemaProblem = policyTextProblem(schemaText);
  if (schemaProblem) throw new PolicySetError([{ file: SCHEMA_FILE, line: 1, column: 1, severity: 'error', message: `schema is ${schemaProblem}` }]);
  const schemaCheck = cedar.checkParseSchema(schemaText);
  if (schemaCheck.type === 'failure') {
    throw new PolicySetError(schemaCheck.errors.map((e) => ({ ...at(SCHEMA_FILE, schemaText, e.sourceLocations?.[0]?.start ?? 0), severity: 'error' as const, message: e.message, ...(e.help ? { help: e.help } : {}) })));
  }

  const policies: Record<string, string> = {};
  const sources: Record<string, PolicySource> = {};
  for (const { file, text } of files) {
    const problem = policyTextProblem(text);
    if (problem) {
      errors.push({ file, line: 1, column: 1, severity: 'error', message: `refused before parsing: ${problem}` });
      continue;
    }
    const parts = cedar.policySetTextToParts(text);
    if (parts.type === 'failure') {
      for (const e of parts.errors) errors.push({ ...at(file, text, e.sourceLocations?.[0]?.start ?? 0), severity: 'error', message: e.message, ...(e.help ? { help: e.help } : {}) });
      continue;
    }
    if (parts.policy_templates.length > 0) {
      errors.push({ file, line: 1, column: 1, severity: 'error', message: 'templates (policies with ?principal or ?resource) are not supported in this folder yet' });
    }
    let cursor = 0;
    parts.policies.forEach((policyText, index) => {
      const found = text.indexOf(policyText, cursor);
      const offset = found === -1 ? cursor : found;
      if (found !== -1) cursor = found + policyText.length;
      const json = cedar.policyToJson(policyText);
      const id = json.type === 'success' && json.json.annotations?.id ? json.json.annotations.id : `${file}#${index}`;
      if (policies[id] !== undefined) {
        errors.push({ ...at(file, text, offset), severity: 'error', message: `policy id "${id}" is used twice (also at ${sources[id]!.file}:${sources[id]!.line})` });
        return;
      }
      policies[id] = policyText;
      sources[id] = at(file, text, offset);
    });
  }
  if (errors.length > 0) throw new PolicySetError(sortDiagnostics(errors));

  const answer = cedar.validate({ schema: schemaText, policies: { staticPolicies: policies }, validationSettings: { mode: 'strict' } });
  if (answer.type === 'failure') {
    throw new PolicySetError(answer.errors.map((e) => ({ file: SCHEMA_FILE, line: 1, column: 1, severity: 'error' as const, message: e.message })));
  }
  const located = (policyId: string, e: cedar.DetailedError, severity: 'error' | 'warning'): PolicyDiagnostic => {
    const src = sources[policyId];
    const file = files.find((f) => f.file === src?.file);
    const base = src && file ? offsetFrom(file.text, src, e.sourceLocations?.[0]?.start ?? 0) : { line: 1, column: 1 };
    return { file: src?.file ?? SCHEMA_FILE, ...base, severity, message: e.message, policyId, ...(e.help ? { help: e.help } : {}) };
  };
  const validationErrors = answer.validationErrors.map((v) => located(v.policyId, v.error, 'error'));
  const warnings = answer.validationWarnings.map((v) => located(v.policyId, v.error, 'warning'));
  if (validationErrors.length > 0) throw new PolicySetError(sortDiagnostics([...validationErrors, ...warnings]));

  const hash = createHash('sha256');
  hash.update(`${SCHEMA_FILE}\0${schemaText}\0`);
  for (const { file, text } of files) hash.update(`${file}\0${text}\0`);
  return { schemaText, policies, sources, files: files.map((f) => f.file), hash: hash.digest('hex'), warnings: sortDiagnostics(warnings) };
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
