/**
 * Readiness: may this process take traffic now? Ready when it is serving (not starting, not
 * stopping), the store answers a query, a policy set is loaded, and the key source is usable.
 * For a JWKS URL, usable means keys can be fetched now; that check costs a round trip to the
 * identity provider, so its result is kept for KEY_CHECK_CACHE_MS (jose also refetches at most once
 * per 30 s cooldown).
 */
import { errors, type FlattenedJWSInput } from 'jose';
import { KeySourceUnavailable, type KeySource } from './auth/key-source.ts';
import type { Lifecycle } from './lifecycle.ts';
import type { Logger } from './log.ts';
import type { Authorizer } from './policy/engine.ts';
import type { Store } from './store/store.ts';
import { within } from './within.ts';

export const KEY_CHECK_CACHE_MS = 5_000;
/**
 * A store that has not answered by then is failing. A database that hangs (stopped, or behind a
 * network that drops packets without a reset) never answers: the probe is still answered, 503, and
 * the load balancer takes the replica out rather than waiting on it.
 */
export const STORE_CHECK_TIMEOUT_MS = 2_000;
/** A kid no identity provider issues: looking it up forces jose to consult (and if stale, refetch) the key set. */
const PROBE_KID = 'versiongate-readiness-probe';

export type CheckStatus = 'ok' | 'failing';

export interface ReadinessReport {
  ready: boolean;
  checks: {
    lifecycle: Lifecycle['state'];
    store: CheckStatus;
    policySet: CheckStatus;
    keySource?: CheckStatus;
  };
}

export interface ReadinessDeps {
  lifecycle: Lifecycle;
  store: Store;
  authorizer: () => Authorizer;
  /** Absent when the app was built without one (tests): the check is then not reported. */
  keySource?: KeySource | undefined;
  logger: Logger;
  /** Monotonic milliseconds. */
  now?: () => number;
  /** STORE_CHECK_TIMEOUT_MS unless given. */
  storeTimeoutMs?: number;
}

export function createReadiness(deps: ReadinessDeps): () => Promise<ReadinessReport> {
  const now = deps.now ?? (() => performance.now());
  let keyCheck: { at: number; result: Promise<CheckStatus> } | undefined;
  // The ping in flight, shared by the probes that arrive meanwhile: against a hung database each probe
  // would otherwise leave one more query (and pooled connection) waiting.
  let ping: Promise<void> | undefined;
  const pingStore = () => (ping ??= deps.store.ping().finally(() => (ping = undefined)));

  const checkKeys = (keySource: KeySource): Promise<CheckStatus> => {
    // The pending promise is cached too, so concurrent probes share one lookup.
    if (!keyCheck || now() - keyCheck.at >= KEY_CHECK_CACHE_MS) keyCheck = { at: now(), result: probeKeySource(keySource, deps.logger) };
    return keyCheck.result;
  };

  return async function readiness() {
    const [store, keySource] = await Promise.all([checkStore(pingStore, deps.storeTimeoutMs ?? STORE_CHECK_TIMEOUT_MS, deps.logger), deps.keySource ? checkKeys(deps.keySource) : undefined]);
    const policySet = checkPolicySet(deps.authorizer, deps.logger);
    const checks: ReadinessReport['checks'] = { lifecycle: deps.lifecycle.state, store, policySet, ...(keySource ? { keySource } : {}) };
    const ready = checks.lifecycle === 'serving' && store === 'ok' && policySet === 'ok' && keySource !== 'failing';
    return { ready, checks };
  };
}

async function checkStore(ping: () => Promise<void>, timeoutMs: number, logger: Logger): Promise<CheckStatus> {
  const answered = ping().then(
    (): CheckStatus => 'ok',
    (err: unknown): CheckStatus => {
      logger.debug('readiness: the store does not answer', { err });
      return 'failing';
    },
  );
  return (await within(timeoutMs, answered)) ?? 'failing';
}

function checkPolicySet(authorizer: () => Authorizer, logger: Logger): CheckStatus {
  try {
    const set = authorizer().policySet;
    return typeof set?.hash === 'string' ? 'ok' : 'failing';
  } catch (err) {
    logger.debug('readiness: no policy set is loaded', { err });
    return 'failing';
  }
}

async function probeKeySource(keySource: KeySource, logger: Logger): Promise<CheckStatus> {
  const token: FlattenedJWSInput = { payload: '', signature: '' };
  try {
    await keySource.getKey({ alg: 'ES256', kid: PROBE_KID }, token);
    return 'ok';
  } catch (err) {
    // "No such key" means the key set was obtained and searched: usable. Only a failure to get keys fails.
    if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys) return 'ok';
    if (err instanceof KeySourceUnavailable) {
      logger.debug('readiness: the key source is unavailable', { err });
      return 'failing';
    }
    logger.debug('readiness: unexpected answer from the key source', { err });
    return 'failing';
  }
}
