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
 */
import { didYouMean, nearest } from './cli/suggest.ts';

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

/** The names Kubernetes gives a Service's address (enableServiceLinks, on by default). */
const SERVICE_LINK_NAME = /^VERSIONGATE_(SERVICE_HOST|SERVICE_PORT(_[A-Z0-9_]+)?|PORT_\d+_(TCP|UDP|SCTP)(_PROTO|_PORT|_ADDR)?)$/;
/** VERSIONGATE_PORT as a service link sets it: `tcp://10.96.0.12:8080`. */
const SERVICE_LINK_VALUE = /^(tcp|udp|sctp):\/\/[^/]*:\d+$/;

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
    if (!name.startsWith('VERSIONGATE_') || value === undefined) continue;
    if (settings.has(name)) {
      if (name === 'VERSIONGATE_PORT' && SERVICE_LINK_VALUE.test(value)) {
        ignored.add(name);
        notices.push(`VERSIONGATE_PORT holds '${value}', a Kubernetes service link (a Service named versiongate), not a port: ignored; give the port with --port, or set enableServiceLinks: false on the pod`);
      }
      continue;
    }
    if (OTHER_VARIABLES.has(name) || SERVICE_LINK_NAME.test(name)) continue;
    if (nearest(name, settings).length > 0) misspelt.push(`${name} is not a setting${didYouMean(name, settings)}`);
    else notices.push(`${name} is not a setting versiongate reads: ignored`);
  }
  if (misspelt.length > 0) throw new EnvironmentError(`${misspelt.join('; ')}. Rename it, or unset it.`);
  return { ignored, notices };
}
