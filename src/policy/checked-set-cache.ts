/**
 * A record of the last policy set that passed every check at start (strict validation, the engine's
 * index, the set's own tests), so that a restart with exactly the same inputs does not pay for
 * checks it already passed. Checking the shipped set is most of what `serve` does before it listens.
 *
 * It fails closed: the record is used only when its key is the key of what is on disk now, and
 * the key covers every input a check reads (the schema, every policy, template and links file, every
 * test file, the groups claim the tests are read with) and the code that checks them (versiongate's
 * version, cedar-wasm's version and a hash of the running code itself). A record that is missing,
 * unreadable, truncated, of another format, of another key, or whose payload does not match its
 * digest is ignored, and the set is checked in full. Only a set that passed is ever written.
 *
 * It lives in the data directory, beside the database and the development key: whoever can write
 * there can already change far more than this record, so it carries a digest against corruption,
 * not a signature.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import type { SchemaJson } from '@cedar-policy/cedar-wasm/nodejs';
import { packageRoot, packageVersion } from '../package-root.ts';
import type { CompiledPolicySet } from './load-policies.ts';
import { policySetHash, type PolicyFileText, type PolicySources } from './policy-files.ts';

export { CHECKED_SET_FILE } from './checked-set-file.ts';
/** Changes whenever the record's layout does: an older record is then of another format, so ignored. */
const FORMAT = 'versiongate-checked-policy-set/3';

/** Everything a start-up check of the set reads: the set's files and its tests' files. */
export interface CheckInputs {
  sources: PolicySources;
  tests: PolicyFileText[];
  groupsClaim?: string | undefined;
}

/**
 * The key of one check: the code that checks (codeVersion()) and every input, each file by name
 * and exact text, lengths included so that no two different inputs can run together into one.
 */
export function checkKey(inputs: CheckInputs, code: string): string {
  const h = createHash('sha256');
  const part = (label: string, text: string) => h.update(`${label}\0${Buffer.byteLength(text)}\0${text}\0`);
  part('format', FORMAT);
  part('code', code);
  part('groups-claim', inputs.groupsClaim ?? '');
  part('schema', inputs.sources.schemaText);
  for (const [kind, list] of [
    ['policy', inputs.sources.files],
    ['template', inputs.sources.templates ?? []],
    ['links', inputs.sources.links ?? []],
    ['test', inputs.tests],
  ] as const) {
    part(`${kind}s`, String(list.length));
    for (const f of list) {
      part(`${kind}-name`, f.file);
      part(`${kind}-text`, f.text);
    }
  }
  return h.digest('hex');
}

let code: string | undefined;

/**
 * The checking code's identity: versiongate's and cedar-wasm's versions, and a hash of every file of
 * the code that runs (dist/ when built, src/ when run from the sources), so that a rebuilt or edited
 * checker never trusts what an older one passed, whatever the version numbers say.
 */
export function codeVersion(): string {
  if (code !== undefined) return code;
  const here = fileURLToPath(import.meta.url);
  const dir = here.endsWith('.ts') ? join(packageRoot(), 'src') : dirname(here);
  const h = createHash('sha256');
  for (const file of filesUnder(dir)) h.update(`${relative(dir, file)}\0`).update(readFileSync(file)).update('\0');
  return (code = `versiongate ${packageVersion()}; cedar-wasm ${cedarVersion()}; code ${h.digest('hex')}`);
}

/**
 * The installed cedar-wasm's version, from its package.json beside the code that loads (its exports
 * do not list the manifest): read, not asked of Cedar, so that naming the code does not load Cedar.
 */
function cedarVersion(): string {
  const entry = createRequire(join(packageRoot(), 'package.json')).resolve('@cedar-policy/cedar-wasm/nodejs');
  return (JSON.parse(readFileSync(join(dirname(entry), '..', 'package.json'), 'utf8')) as { version: string }).version;
}

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(path));
    else if (e.isFile()) out.push(path);
  }
  return out.sort();
}

export interface CheckedSet {
  set: CompiledPolicySet;
  /** Cedar's JSON form of the set's schema (schema-json.ts): what parsing the text again would give. */
  schemaJson: SchemaJson<string>;
}

/**
 * The set recorded under this key, or undefined on any doubt. The set must also be the one the
 * sources name (its hash is recomputed from them): the record can only stand for these files.
 */
export function readCheckedSet(file: string, key: string, sources: PolicySources): CheckedSet | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const newline = text.indexOf('\n');
  if (newline < 0) return undefined;
  const payload = text.slice(newline + 1);
  let record: { set?: unknown; schemaJson?: unknown };
  try {
    const h = JSON.parse(text.slice(0, newline)) as { format?: unknown; key?: unknown; digest?: unknown };
    if (h.format !== FORMAT || h.key !== key || h.digest !== sha256(payload)) return undefined;
    record = JSON.parse(payload) as typeof record;
  } catch {
    return undefined;
  }
  const { set, schemaJson } = record;
  if (!isSetShaped(set) || set.schemaText !== sources.schemaText || set.hash !== policySetHash(sources)) return undefined;
  if (typeof schemaJson !== 'object' || schemaJson === null || Array.isArray(schemaJson)) return undefined;
  return { set, schemaJson: schemaJson as SchemaJson<string> };
}

/**
 * Records a set that passed its checks under their key. Written to a temporary file and renamed, so
 * a reader sees the old record or the new one, never half of one. Failing to write costs only the
 * next start's time, so it is reported to the caller, never thrown.
 */
export function writeCheckedSet(file: string, key: string, { set, schemaJson }: CheckedSet): Error | undefined {
  const payload = JSON.stringify({ set, schemaJson });
  const temporary = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(temporary, `${JSON.stringify({ format: FORMAT, key, digest: sha256(payload) })}\n${payload}`, { mode: 0o600 });
    renameSync(temporary, file);
    return undefined;
  } catch (err) {
    rmSync(temporary, { force: true });
    return err as Error;
  }
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

function isSetShaped(v: unknown): v is CompiledPolicySet {
  const s = v as Partial<CompiledPolicySet> | null;
  const isRecord = (r: unknown) => typeof r === 'object' && r !== null && !Array.isArray(r);
  return (
    isRecord(s) &&
    typeof s!.schemaText === 'string' &&
    typeof s!.hash === 'string' &&
    isRecord(s!.policies) &&
    isRecord(s!.templates) &&
    isRecord(s!.templateSlots) &&
    isRecord(s!.heads) &&
    isRecord(s!.sources) &&
    Array.isArray(s!.links) &&
    Array.isArray(s!.files) &&
    Array.isArray(s!.warnings)
  );
}
