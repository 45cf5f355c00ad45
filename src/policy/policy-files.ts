/**
 * The policy folder's files, read (schema.cedarschema, *.cedar, templates/, links files, tests/),
 * their hash, and the diagnostics a set is refused with: everything about a policy set that needs no
 * Cedar, so that a start can read the folder and look up the record of its checks
 * (checked-set-cache.ts) before Cedar is loaded. load-policies.ts does the checking.
 *
 * Reading fails closed: a file of the set that cannot be read as it is meant (a symbolic link to
 * nothing or in a loop, a folder or a device where a file should be, bytes that are not UTF-8, a
 * policy file with no policy in it) refuses the whole set, naming the file, rather than being left
 * out. Symbolic links are followed, files and folders alike (Kubernetes delivers a ConfigMap's files
 * as links through `..data`); only the folders the set is read from are looked at, so the hidden
 * timestamped copies a ConfigMap keeps beside them are never read twice.
 */
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync, statSync, type Stats } from 'node:fs';
import { join } from 'node:path';

export const SCHEMA_FILE = 'schema.cedarschema';
export const TEMPLATE_DIR = 'templates';
export const LINKS_FILE = 'links.json';
export const LINKS_DIR = 'links';
/** Links files are data (entity ids), never parsed as Cedar text: they may be large. */
export const MAX_LINKS_FILE_BYTES = 64 * 1024 * 1024;
export const TESTS_DIR = 'tests';
/** The shadow set, in the same layout, evaluated beside the live set and never enforced. */
export const CANDIDATE_DIR = 'candidate';

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

/** A file of the set, found but not read: its name under the policy folder, its path and its size. */
export interface PolicyFileEntry {
  file: string;
  path: string;
  size: number;
  kind: 'schema' | 'policy' | 'template' | 'links' | 'test';
}

const problem = (file: string, message: string, line = 1, column = 1): PolicyDiagnostic => ({ file, line, column, severity: 'error', message });

/** Why stat failed on a directory entry, in words; undefined when it is an editor's lock file to leave alone. */
function statFailure(path: string, name: string, err: NodeJS.ErrnoException): string | undefined {
  if (err.code === 'ELOOP') return 'is a symbolic link in a loop';
  if (err.code === 'ENOENT') {
    let link: string | undefined;
    try {
      if (lstatSync(path).isSymbolicLink()) link = readlinkSync(path);
    } catch {
      /* removed meanwhile */
    }
    if (link === undefined) return 'was removed while the folder was read';
    // Emacs marks a file being edited with a dangling link `.#<name>` to user@host.pid: not a policy file.
    if (name.startsWith('.#')) return undefined;
    return `is a symbolic link to ${link}, which does not exist`;
  }
  return `cannot be read (${err.code ?? err.message})`;
}

/**
 * The files of one folder of the set whose names end in `ext`, by name, following symbolic links.
 * A folder that does not exist has none; anything amiss is a problem, never a file left out.
 */
function listFolder(dir: string, prefix: string, ext: string, kind: PolicyFileEntry['kind'], problems: PolicyDiagnostic[]): PolicyFileEntry[] {
  const label = prefix === '' ? '.' : prefix.slice(0, -1);
  try {
    lstatSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
  }
  let names: string[];
  try {
    if (!statSync(dir).isDirectory()) {
      problems.push(problem(label, 'is not a folder'));
      return [];
    }
    names = readdirSync(dir);
  } catch (err) {
    const why = statFailure(dir, label, err as NodeJS.ErrnoException);
    problems.push(problem(label, why ?? 'cannot be read'));
    return [];
  }
  const out: PolicyFileEntry[] = [];
  for (const name of names.filter((n) => n.endsWith(ext)).sort()) {
    const path = join(dir, name);
    const file = prefix + name;
    let st: Stats;
    try {
      st = statSync(path);
    } catch (err) {
      const why = statFailure(path, name, err as NodeJS.ErrnoException);
      if (why) problems.push(problem(file, why));
      continue;
    }
    if (st.isFile()) out.push({ file, path, size: st.size, kind });
    else problems.push(problem(file, st.isDirectory() ? `is a folder, not a ${ext} file` : 'is not a regular file'));
  }
  return out;
}

/** One file of the set by its name (schema.cedarschema, links.json), following a symbolic link; undefined when there is none. */
function oneFile(dir: string, name: string, kind: PolicyFileEntry['kind'], problems: PolicyDiagnostic[]): PolicyFileEntry | undefined {
  const path = join(dir, name);
  let st: Stats;
  try {
    st = statSync(path);
  } catch (err) {
    const why = statFailure(path, name, err as NodeJS.ErrnoException);
    if (why && !why.startsWith('was removed')) problems.push(problem(name, why));
    return undefined;
  }
  if (st.isFile()) return { file: name, path, size: st.size, kind };
  problems.push(problem(name, st.isDirectory() ? 'is a folder, not a file' : 'is not a regular file'));
  return undefined;
}

/**
 * Every file the set is read from (the schema, *.cedar, templates/, links files, and tests/ when
 * `tests`), found and checked (see listFolder) but not read. Throws a PolicySetError naming every
 * problem.
 */
export function listPolicyFiles(dir: string, options: { tests?: boolean } = {}): PolicyFileEntry[] {
  const problems: PolicyDiagnostic[] = [];
  const schema = oneFile(dir, SCHEMA_FILE, 'schema', problems);
  if (!schema && problems.length === 0) problems.push(problem(SCHEMA_FILE, `missing ${SCHEMA_FILE} in ${dir}`));
  const links = oneFile(dir, LINKS_FILE, 'links', problems);
  const entries: PolicyFileEntry[] = [
    ...(schema ? [schema] : []),
    ...listFolder(dir, '', '.cedar', 'policy', problems),
    ...listFolder(join(dir, TEMPLATE_DIR), `${TEMPLATE_DIR}/`, '.cedar', 'template', problems),
    ...(links ? [links] : []),
    ...listFolder(join(dir, LINKS_DIR), `${LINKS_DIR}/`, '.json', 'links', problems),
    ...(options.tests ? listFolder(join(dir, TESTS_DIR), `${TESTS_DIR}/`, '.json', 'test', problems) : []),
  ];
  if (problems.length > 0) throw new PolicySetError(problems);
  return entries;
}

/** Text as UTF-8, BOM kept (as readFileSync(…, 'utf8') gave it); invalid bytes are refused, never replaced. */
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The text of a file of the set, or a problem naming the line and column of the first byte that is not UTF-8. */
export function decodePolicyFile(file: string, bytes: Uint8Array): PolicyFileText | PolicyDiagnostic {
  try {
    return { file, text: utf8.decode(bytes) };
  } catch {
    return problem(file, 'is not UTF-8 text: save it as UTF-8', ...firstInvalidByte(bytes));
  }
}

/** Line and column of the first byte that is not UTF-8 (a newline is never part of a multi-byte character). */
function firstInvalidByte(bytes: Uint8Array): [number, number] {
  let start = 0;
  for (let line = 1; start <= bytes.length; line++) {
    let end = bytes.indexOf(0x0a, start);
    if (end < 0) end = bytes.length;
    const text = bytes.subarray(start, end);
    try {
      utf8.decode(text);
    } catch {
      const stream = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
      let decoded = '';
      for (let i = 0; i < text.length; i++) {
        try {
          decoded += stream.decode(text.subarray(i, i + 1), { stream: true });
        } catch {
          return [line, decoded.length + 1];
        }
      }
      return [line, decoded.length + 1];
    }
    start = end + 1;
  }
  return [1, 1];
}

/**
 * A policy file in which every line is blank or a comment holds no policy: most likely one caught
 * part-way through a save (truncated, then written), which as an empty set would drop its forbids.
 */
export function holdsNoPolicy(text: string): boolean {
  return text.split('\n').every((line) => {
    const t = line.trim();
    return t === '' || t.startsWith('//');
  });
}

/** A policy or template file that holds no policy refuses the set (see holdsNoPolicy). */
export function emptyPolicyFileProblem(kind: PolicyFileEntry['kind'], f: PolicyFileText): PolicyDiagnostic | undefined {
  if ((kind !== 'policy' && kind !== 'template') || !holdsNoPolicy(f.text)) return undefined;
  return problem(
    f.file,
    'holds no policy (it is empty, or only blank lines and comments). A file saved part-way would otherwise go live as no policies at all: to drop its policies, remove the file',
  );
}

/**
 * The problems a reload finds in a set's files before Cedar sees them, for a set given as texts
 * (POST /v1/policies/check): a policy file with no policy, and a name given twice, which a folder
 * cannot hold (and which would run a test file's cases twice).
 */
export function suppliedFileProblems(files: ReadonlyArray<PolicyFileText & { kind: PolicyFileEntry['kind'] }>): PolicyDiagnostic[] {
  const problems: PolicyDiagnostic[] = [];
  const seen = new Set<string>();
  for (const f of files) {
    if (seen.has(f.file)) problems.push(problem(f.file, 'is given twice: a folder holds one file of each name'));
    seen.add(f.file);
    const empty = emptyPolicyFileProblem(f.kind, f);
    if (empty) problems.push(empty);
  }
  return problems;
}

function readEntries(entries: PolicyFileEntry[], problems: PolicyDiagnostic[]): Array<PolicyFileText & { kind: PolicyFileEntry['kind'] }> {
  const out: Array<PolicyFileText & { kind: PolicyFileEntry['kind'] }> = [];
  for (const e of entries) {
    if (e.kind === 'links' && e.size > MAX_LINKS_FILE_BYTES) {
      problems.push(problem(e.file, `larger than ${MAX_LINKS_FILE_BYTES} bytes: split it into files under ${LINKS_DIR}/`));
      continue;
    }
    let bytes: Buffer;
    try {
      bytes = readFileSync(e.path);
    } catch (err) {
      problems.push(problem(e.file, `cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`));
      continue;
    }
    const read = decodePolicyFile(e.file, bytes);
    if ('message' in read) problems.push(read);
    else {
      const empty = emptyPolicyFileProblem(e.kind, read);
      if (empty) problems.push(empty);
      else out.push({ ...read, kind: e.kind });
    }
  }
  return out;
}

/** Reads the folder; compilePolicySet does the checking. */
export function readPolicyDir(dir: string): PolicySources {
  const problems: PolicyDiagnostic[] = [];
  const read = readEntries(listPolicyFiles(dir), problems);
  if (problems.length > 0) throw new PolicySetError(problems);
  const of = (kind: PolicyFileEntry['kind']): PolicyFileText[] => read.filter((f) => f.kind === kind).map(({ file, text }) => ({ file, text }));
  return { schemaText: of('schema')[0]!.text, files: of('policy'), templates: of('template'), links: of('links') };
}

/** The text of every tests/*.json file, by its name under the policy folder, in name order. */
export function readTestFiles(policyDir: string): PolicyFileText[] {
  const problems: PolicyDiagnostic[] = [];
  const entries = listFolder(join(policyDir, TESTS_DIR), `${TESTS_DIR}/`, '.json', 'test', problems);
  const read = problems.length > 0 ? [] : readEntries(entries, problems);
  if (problems.length > 0) throw new PolicySetError(problems);
  return read.map(({ file, text }) => ({ file, text }));
}

/** SHA-256 over the schema and every file of the set, in order: CompiledPolicySet.hash. */
export function policySetHash(sources: PolicySources): string {
  const hash = createHash('sha256');
  hash.update(`${SCHEMA_FILE}\0${sources.schemaText}\0`);
  for (const { file, text } of [...sources.files, ...(sources.templates ?? []), ...(sources.links ?? [])]) hash.update(`${file}\0${text}\0`);
  return hash.digest('hex');
}
