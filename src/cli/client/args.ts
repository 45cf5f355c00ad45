/**
 * Arguments the way the aws CLI reads them, so that a command copied from the CodeArtifact
 * documentation works with `versiongate` in place of `aws codeartifact`:
 *
 * - `--flag value` or `--flag=value`;
 * - a list takes every following word up to the next `--flag` (`--versions 4.1.0 4.1.1`), or one
 *   JSON array (`--versions '["4.1.0","4.1.1"]'`); commas do not split it, as in the aws CLI;
 * - a map takes the shorthand `k1=v1,k2=v2` (a value keeps any further `=`, such as a base64
 *   revision's padding) or one JSON object;
 * - a boolean member is `--unfinished` or `--no-unfinished`; a switch such as `--no-paginate` is
 *   only present or absent;
 * - a `multiple` flag (versiongate's own, such as `token --group`) takes one word each time it is
 *   given, and collects them.
 *
 * Every `versiongate` command is parsed here, the server's and the operator's as well as the
 * client commands, so they all take their flags the same way.
 *
 * Stricter than the aws CLI in one way: a flag given twice (other than a `multiple` one) is a usage error, not "the last wins",
 * since silently dropping one of two `--versions` lists could change the wrong versions.
 */

import { didYouMean } from '../suggest.ts';

export type FlagType = 'string' | 'integer' | 'list' | 'map' | 'boolean' | 'switch' | 'multiple';

export interface FlagSpec {
  /** Without the leading dashes, as the aws CLI spells it: `domain-owner`. */
  readonly name: string;
  readonly type: FlagType;
  readonly required?: boolean;
  /** Accepted but left out of --help, as the aws CLI hides a paginated call's raw token flags. */
  readonly hidden?: boolean;
  readonly help: string;
  /**
   * A list of structures with this one member (CreateRepository's upstreams): each word is the aws
   * CLI's shorthand `repositoryName=my_repo`, or one JSON array of such objects, which may be empty.
   * The value is the list of the members' values.
   */
  readonly member?: string;
}

export type FlagValue = string | number | boolean | string[] | Record<string, string>;
export type FlagValues = Record<string, FlagValue | undefined>;

export interface ParsedArgs {
  values: FlagValues;
  positionals: string[];
  help: boolean;
}

/** A mistake in how the command was called: exit 2 with the message and a pointer to --help. */
export class ClientUsageError extends Error {}

export function parseClientArgs(args: readonly string[], flags: readonly FlagSpec[], maxPositionals: number): ParsedArgs {
  const byName = new Map(flags.map((f) => [f.name, f]));
  const values: FlagValues = {};
  const positionals: string[] = [];
  let help = false;

  const set = (spec: FlagSpec, value: FlagValue) => {
    if (values[spec.name] !== undefined) throw new ClientUsageError(`--${spec.name} is given more than once`);
    values[spec.name] = value;
  };

  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--help' || arg === '-h') {
      help = true;
      continue;
    }
    if (!arg.startsWith('--')) {
      positionals.push(arg);
      if (positionals.length > maxPositionals) {
        throw new ClientUsageError(maxPositionals === 0 ? `unexpected argument '${arg}'` : `unexpected argument '${arg}' (the command takes ${maxPositionals})`);
      }
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    const inline = eq === -1 ? undefined : arg.slice(eq + 1);

    const spec = byName.get(name);
    if (!spec) {
      // `--no-unfinished` is the false side of the boolean member `unfinished`.
      const positive = name.startsWith('no-') ? byName.get(name.slice(3)) : undefined;
      if (positive?.type === 'boolean' && inline === undefined) {
        set(positive, false);
        continue;
      }
      const known = flags.filter((f) => !f.hidden).flatMap((f) => (f.type === 'boolean' ? [f.name, `no-${f.name}`] : [f.name]));
      throw new ClientUsageError(`unknown option '--${name}'${didYouMean(name, [...known, 'help'], (n) => `'--${n}'`)}`);
    }

    if (spec.type === 'boolean' || spec.type === 'switch') {
      if (inline !== undefined) throw new ClientUsageError(`--${name} takes no value`);
      set(spec, true);
      continue;
    }

    // The words this flag takes: its inline value, or the next word (every next word for a list).
    const words: string[] = [];
    if (inline !== undefined) words.push(inline);
    else {
      while (i + 1 < args.length && !args[i + 1]!.startsWith('--')) {
        words.push(args[++i]!);
        if (spec.type !== 'list') break;
      }
    }
    if (words.length === 0) throw new ClientUsageError(`--${name} needs a value`);
    if (spec.type === 'multiple') values[spec.name] = [...((values[spec.name] as string[] | undefined) ?? []), words[0]!];
    else set(spec, convert(spec, words));
  }

  if (!help) {
    const missing = flags.filter((f) => f.required && values[f.name] === undefined).map((f) => `--${f.name}`);
    if (missing.length > 0) throw new ClientUsageError(`the following arguments are required: ${missing.join(', ')}`);
  }
  return { values, positionals, help };
}

function convert(spec: FlagSpec, words: string[]): FlagValue {
  const name = `--${spec.name}`;
  const word = words[0]!;
  switch (spec.type) {
    case 'string':
      return word;
    case 'integer':
      if (!/^[0-9]+$/.test(word) || !Number.isSafeInteger(Number(word))) throw new ClientUsageError(`${name} must be a whole number, got '${word}'`);
      return Number(word);
    case 'list':
      if (spec.member !== undefined) return structureList(name, spec.member, words);
      if (words.length === 1 && word.trimStart().startsWith('[')) return jsonList(name, word);
      return words;
    case 'map':
      return word.trimStart().startsWith('{') ? jsonMap(name, word) : shorthandMap(name, word);
    default:
      throw new Error(`unexpected flag type ${spec.type}`);
  }
}

function parseJson(name: string, text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new ClientUsageError(`${name} is not valid JSON: ${(err as Error).message}`);
  }
}

function jsonList(name: string, text: string): string[] {
  const value = parseJson(name, text);
  if (!Array.isArray(value) || value.length === 0 || !value.every((v) => typeof v === 'string')) {
    throw new ClientUsageError(`${name} must be a JSON array of strings`);
  }
  return value as string[];
}

function structureList(name: string, member: string, words: string[]): string[] {
  if (words.length === 1 && words[0]!.trimStart().startsWith('[')) {
    const value = parseJson(name, words[0]!);
    const ok = (v: unknown) => typeof v === 'object' && v !== null && Object.keys(v).length === 1 && typeof (v as Record<string, unknown>)[member] === 'string';
    if (!Array.isArray(value) || !value.every(ok)) throw new ClientUsageError(`${name} must be a JSON array of objects such as {"${member}": "NAME"}`);
    return value.map((v: Record<string, string>) => v[member]!);
  }
  return words.map((w) => {
    if (!w.startsWith(`${member}=`) || w.length === member.length + 1) throw new ClientUsageError(`${name} expects ${member}=NAME for each item, got '${w}'`);
    return w.slice(member.length + 1);
  });
}

function jsonMap(name: string, text: string): Record<string, string> {
  const value = parseJson(name, text);
  if (typeof value !== 'object' || value === null || Array.isArray(value) || !Object.values(value).every((v) => typeof v === 'string')) {
    throw new ClientUsageError(`${name} must be a JSON object of strings`);
  }
  return value as Record<string, string>;
}

/** `4.1.0=25/Uj…=,4.0.0=E3lh…=`: pairs split at commas, each at its first `=`. */
function shorthandMap(name: string, text: string): Record<string, string> {
  const map: Record<string, string> = {};
  for (const pair of text.split(',')) {
    const eq = pair.indexOf('=');
    const key = eq === -1 ? '' : pair.slice(0, eq).trim();
    const value = eq === -1 ? '' : pair.slice(eq + 1).trim();
    if (!key || !value) throw new ClientUsageError(`${name} expects KEY=VALUE pairs separated by commas, got '${pair}'`);
    if (Object.hasOwn(map, key)) throw new ClientUsageError(`${name} names ${key} more than once`);
    map[key] = value;
  }
  return map;
}
