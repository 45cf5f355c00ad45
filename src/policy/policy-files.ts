/**
 * The policy folder's files, read (schema.cedarschema, *.cedar, templates/, links files, tests/),
 * their hash, and the diagnostics a set is refused with: everything about a policy set that needs no
 * Cedar, so that a start can read the folder and look up the record of its checks
 * (checked-set-cache.ts) before Cedar is loaded. load-policies.ts does the checking.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const SCHEMA_FILE = 'schema.cedarschema';
export const TEMPLATE_DIR = 'templates';
export const LINKS_FILE = 'links.json';
export const LINKS_DIR = 'links';
/** Links files are data (entity ids), never parsed as Cedar text: they may be large. */
export const MAX_LINKS_FILE_BYTES = 64 * 1024 * 1024;
export const TESTS_DIR = 'tests';

export interface PolicyDiagnostic {
  file: string;
  line: number;
  column: number;
  severity: 'error' | 'warning';
  message: string;
  help?: string;
  policyId?: string;
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

export interface PolicySources {
  schemaText: string;
  files: PolicyFileText[];
  templates?: PolicyFileText[] | undefined;
  links?: PolicyFileText[] | undefined;
}

const cedarFilesIn = (dir: string, prefix = ''): PolicyFileText[] =>
  existsSync(dir)
    ? readdirSync(dir, { withFileTypes: true })
        .filter((e) => e.isFile() && e.name.endsWith('.cedar'))
        .map((e) => e.name)
        .sort()
        .map((name) => ({ file: prefix + name, text: readFileSync(join(dir, name), 'utf8') }))
    : [];

/** Reads the folder; compilePolicySet does the checking. */
export function readPolicyDir(dir: string): PolicySources {
  let schemaText: string;
  try {
    schemaText = readFileSync(join(dir, SCHEMA_FILE), 'utf8');
  } catch {
    throw new PolicySetError([{ file: SCHEMA_FILE, line: 1, column: 1, severity: 'error', message: `missing ${SCHEMA_FILE} in ${dir}` }]);
  }
  const linkFiles: PolicyFileText[] = [];
  const readLinks = (path: string, name: string) => {
    if (statSync(path).size > MAX_LINKS_FILE_BYTES) {
      throw new PolicySetError([{ file: name, line: 1, column: 1, severity: 'error', message: `larger than ${MAX_LINKS_FILE_BYTES} bytes: split it into files under ${LINKS_DIR}/` }]);
    }
    linkFiles.push({ file: name, text: readFileSync(path, 'utf8') });
  };
  if (existsSync(join(dir, LINKS_FILE))) readLinks(join(dir, LINKS_FILE), LINKS_FILE);
  if (existsSync(join(dir, LINKS_DIR))) {
    for (const name of readdirSync(join(dir, LINKS_DIR)).filter((n) => n.endsWith('.json')).sort()) readLinks(join(dir, LINKS_DIR, name), `${LINKS_DIR}/${name}`);
  }
  return { schemaText, files: cedarFilesIn(dir), templates: cedarFilesIn(join(dir, TEMPLATE_DIR), `${TEMPLATE_DIR}/`), links: linkFiles };
}

/** The text of every tests/*.json file, by its name under the policy folder, in name order. */
export function readTestFiles(policyDir: string): PolicyFileText[] {
  const dir = join(policyDir, TESTS_DIR);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => ({ file: `${TESTS_DIR}/${f}`, text: readFileSync(join(dir, f), 'utf8') }));
}

/** SHA-256 over the schema and every file of the set, in order: CompiledPolicySet.hash. */
export function policySetHash(sources: PolicySources): string {
  const hash = createHash('sha256');
  hash.update(`${SCHEMA_FILE}\0${sources.schemaText}\0`);
  for (const { file, text } of [...sources.files, ...(sources.templates ?? []), ...(sources.links ?? [])]) hash.update(`${file}\0${text}\0`);
  return hash.digest('hex');
}
