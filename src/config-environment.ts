/**
 * The VERSIONGATE_* variables of the environment that are not settings. A flag that is mistyped is
 * refused (`--prot`); a variable that is mistyped would otherwise be ignored without a word, and a
 * security setting spelt wrong (VERSIONGATE_MAX_TOKEN_AG) silently left the bound off. So:
 *
 * - a name within a couple of edits of a setting's is refused, naming the setting;
 * - any other unknown VERSIONGATE_* name is reported (the gateway logs it at start), not refused:
 *   tooling of one's own may share the prefix;
 * - Kubernetes' service links are left alone. A Service named `versiongate` gives every pod of the
 *   namespace VERSIONGATE_SERVICE_HOST, VERSIONGATE_PORT_8080_TCP… and VERSIONGATE_PORT=tcp://10.…:8080,
 *   which is not a port: that value is ignored (and said), so the gateway still starts on its own port.
 *   One named `versiongate-metrics` (or `versiongate-x`) gives VERSIONGATE_METRICS_SERVICE_HOST,
 *   VERSIONGATE_X_PORT=tcp://… and the like, left alone too.
 *
 * "Near" is a couple of edits (cli/suggest.ts), the same words in another order
 * (VERSIONGATE_TOKEN_MAX_AGE), the start of a setting's name (VERSIONGATE_DATABASE, VERSIONGATE_JWKS),
 * its words shortened (VERSIONGATE_DB_URL, VERSIONGATE_MAX_CONNS), or any of these in lower case
 * (versiongate_port): each would leave a setting at its default.
 */
import { didYouMeanOneOf, nearest } from './cli/suggest.ts';

/** Read by the client commands and the tests rather than by the settings. */
const OTHER_VARIABLES = new Set([
  'VERSIONGATE_ENDPOINT',
  'VERSIONGATE_TOKEN',
  'VERSIONGATE_CHROMIUM',
  'VERSIONGATE_DEEP',
  'VERSIONGATE_SEED',
  'VERSIONGATE_FUZZ_PATH',
  'VERSIONGATE_FUZZ_SEED',
  'VERSIONGATE_KILL_CYCLES',
  'VERSIONGATE_KILL_TRACE',
  'VERSIONGATE_MODEL_REPLAY_PATH',
]);

/**
 * The names Kubernetes gives the address of a Service named `versiongate` or `versiongate-…`
 * (enableServiceLinks, on by default), but for `…_PORT` itself, which is one only with a link's value.
 */
const SERVICE_LINK_NAME = /^VERSIONGATE(_[A-Z0-9_]+?)?_(SERVICE_HOST|SERVICE_PORT(_[A-Z0-9_]+)?|PORT_\d+_(TCP|UDP|SCTP)(_PROTO|_PORT|_ADDR)?)$/;
const SERVICE_PORT_NAME = /^VERSIONGATE(_[A-Z0-9_]+)?_PORT$/;
/** A service link's value, as VERSIONGATE_PORT or VERSIONGATE_X_PORT get it: `tcp://10.96.0.12:8080`. */
const SERVICE_LINK_VALUE = /^(tcp|udp|sctp):\/\/[^/]*:\d+$/;

const PREFIX = 'VERSIONGATE_';
const words = (name: string) => name.slice(PREFIX.length).split('_').filter(Boolean).sort().join('_');

/** The settings a mistyped name most likely meant, or none when it is near none of them. */
function meant(name: string, settings: ReadonlySet<string>): string[] {
  const upper = name.toUpperCase();
  if (upper !== name && settings.has(upper)) return [upper];
  const near = nearest(upper, settings);
  if (near.length > 0) return near;
  const sameWords = [...settings].filter((s) => words(s) === words(upper));
  if (sameWords.length > 0) return sameWords;
  // The start of a setting's name, a whole word at least (VERSIONGATE_JWKS, not VERSIONGATE_J).
  const starts = upper.length > PREFIX.length + 2 ? [...settings].filter((s) => s.startsWith(`${upper}_`)) : [];
  if (starts.length > 0) return starts;
  return [...settings].filter((s) => abbreviates(upper, s));
}

/**
 * Whether `name` is `setting` with words shortened, word for word in the same order (DB for DATABASE,
 * CONNS for CONNECTIONS, TOK for TOKEN): each of its words starts as the setting's does and has its
 * letters in order within it, and at least one word is shortened.
 */
function abbreviates(name: string, setting: string): boolean {
  const mine = name.slice(PREFIX.length).split('_');
  const theirs = setting.slice(PREFIX.length).split('_');
  if (mine.length !== theirs.length || name === setting) return false;
  return mine.every((word, i) => isShortFor(word, theirs[i]!));
}

function isShortFor(word: string, full: string): boolean {
  if (word.length === 0 || word[0] !== full[0] || word.length > full.length) return false;
  let at = 0;
  for (const letter of word) {
    at = full.indexOf(letter, at) + 1;
    if (at === 0) return false;
  }
  return true;
}

export interface EnvironmentCheck {
  /** Variables whose value is not to be read as the setting of that name (a service link's VERSIONGATE_PORT). */
  ignored: Set<string>;
  /** What the gateway says at start about the environment: unknown names, ignored values. */
  notices: string[];
}

export class EnvironmentError extends Error {}

/**
 * Checks the environment's VERSIONGATE_* names against the settings' (`settingNames`, e.g.
 * VERSIONGATE_PORT). Throws EnvironmentError for a near miss of a setting.
 */
export function checkEnvironment(env: Record<string, string | undefined>, settingNames: readonly string[]): EnvironmentCheck {
  const settings = new Set(settingNames);
  const ignored = new Set<string>();
  const notices: string[] = [];
  const misspelt: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (!name.toUpperCase().startsWith(PREFIX) || value === undefined) continue;
    if (settings.has(name)) {
      if (name === 'VERSIONGATE_PORT' && SERVICE_LINK_VALUE.test(value)) {
        ignored.add(name);
        notices.push(`VERSIONGATE_PORT holds '${value}', a Kubernetes service link (a Service named versiongate), not a port: ignored; give the port with --port, or set enableServiceLinks: false on the pod`);
      }
      continue;
    }
    if (OTHER_VARIABLES.has(name) || SERVICE_LINK_NAME.test(name) || (SERVICE_PORT_NAME.test(name) && SERVICE_LINK_VALUE.test(value))) continue;
    const candidates = meant(name, settings);
    if (candidates.length > 0) misspelt.push(`${name} is not a setting${didYouMeanOneOf(candidates)}`);
    else notices.push(`${name} is not a setting versiongate reads: ignored`);
  }
  if (misspelt.length > 0) throw new EnvironmentError(`${misspelt.join('; ')}. Rename it, or unset it.`);
  return { ignored, notices };
}
