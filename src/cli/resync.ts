/**
 * `versiongate resync OWNER/REPO/IDENTIFIER [OWNER/REPO/IDENTIFIER …]`: the Cloudsmith CLI's
 * `cloudsmith resync`, against versiongate's Cloudsmith-shaped resync API.
 *
 * It schedules a resync and, like the Cloudsmith CLI, waits by default: it polls each version's
 * status every --wait-interval seconds, prints each change of progress on stderr, and when a sync
 * ends failed schedules it again, up to --sync-attempts syncs in all (the first one included, as
 * the Cloudsmith CLI counts them). Several identifiers go out as one bulk action per OWNER/REPO.
 * The final status objects are printed on stdout as JSON.
 *
 * These are not CodeArtifact operations, so there is no SDK to prove here: plain node:http, with the
 * client commands' connection (endpoint, token, timeouts) and usage rules.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import { ClientUsageError, parseClientArgs } from './client/args.ts';
import { CONNECTION_FLAGS, resolveConnection, type Connection } from './client/connection.ts';
import { RESYNC_FLAGS } from './resync-flags.ts';
import { synopsis, usageLines, wrap } from './usage.ts';

/** GET …/status/, as the gateway answers it (the Cloudsmith package status object). */
export interface SyncStatus {
  status?: number;
  status_str?: string;
  stage?: number;
  stage_str?: string;
  status_reason?: string | null;
  sync_progress?: number;
  is_sync_awaiting?: boolean;
  is_sync_in_flight?: boolean;
  is_sync_in_progress?: boolean;
  is_sync_completed?: boolean;
  is_sync_failed?: boolean;
  is_resyncable?: boolean;
  [field: string]: unknown;
}


const DEFAULT_WAIT_INTERVAL_S = 5;
const DEFAULT_SYNC_ATTEMPTS = 3;
/** The bulk action takes 1 to 100 identifiers. */
const BULK_LIMIT = 100;
/** Status polls are reads: retried on throttling, server errors and broken connections, as the client's reads are. */
const READ_ATTEMPTS = 3;

export interface ResyncIo {
  out(text: string): void;
  err(text: string): void;
}

const processIo: ResyncIo = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
};

/** One version named on the command line. */
interface Target {
  owner: string;
  repo: string;
  identifier: string;
  /** OWNER/REPO/IDENTIFIER, as given. */
  label: string;
}

/** An error answer (a Cloudsmith body {detail, fields?}) or a request that never got one. */
class RequestFailure extends Error {
  constructor(
    message: string,
    readonly status?: number,
    readonly retryable = false,
  ) {
    super(message);
  }
}

export async function runResync(args: readonly string[], env: NodeJS.ProcessEnv, io: ResyncIo = processIo): Promise<number> {
  try {
    const parsed = parseClientArgs(args, [...RESYNC_FLAGS, ...CONNECTION_FLAGS], Number.POSITIVE_INFINITY);
    if (parsed.help) {
      io.out(HELP);
      return 0;
    }
    if (parsed.values.wait !== undefined && parsed.values['wait-for-sync'] !== undefined) throw new ClientUsageError('give --wait or --wait-for-sync, not both');
    const wait = (parsed.values.wait ?? parsed.values['wait-for-sync'] ?? true) === true;
    const intervalMs = waitInterval(parsed.values['wait-interval'] as string | undefined);
    const attempts = (parsed.values['sync-attempts'] as number | undefined) ?? DEFAULT_SYNC_ATTEMPTS;
    if (attempts < 1) throw new ClientUsageError('--sync-attempts must be at least 1');
    const targets = parseTargets(parsed.positionals);
    const connection = resolveConnection(parsed.values, env);
    return await new Resync(connection, io, { wait, intervalMs, attempts }).run(targets);
  } catch (e) {
    if (e instanceof ClientUsageError) {
      const words = [...RESYNC_FLAGS, ...CONNECTION_FLAGS].filter((f) => !f.hidden).map(synopsis);
      io.err(`versiongate: ${e.message}\nUsage:\n${usageLines('resync', [...words, 'OWNER/REPO/IDENTIFIER...']).join('\n')}\nRun 'versiongate resync --help' for the details.\n`);
      return 2;
    }
    throw e;
  }
}

function waitInterval(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_WAIT_INTERVAL_S * 1000;
  const seconds = /^\d+(\.\d+)?$/.test(raw) ? Number(raw) : NaN;
  if (!(seconds > 0) || seconds > 3600) throw new ClientUsageError(`--wait-interval must be a number of seconds above 0 and up to 3600, such as 5 or 0.5, got '${raw}'`);
  return Math.round(seconds * 1000);
}

function parseTargets(positionals: readonly string[]): Target[] {
  if (positionals.length === 0) throw new ClientUsageError('resync needs at least one OWNER/REPO/IDENTIFIER, e.g. my_domain/my_repo/7jvagMH9vk7u');
  const seen = new Set<string>();
  return positionals.map((label) => {
    const parts = label.split('/');
    if (parts.length !== 3 || parts.some((p) => p === '')) {
      throw new ClientUsageError(`'${label}' is not OWNER/REPO/IDENTIFIER (the domain, the repository and the version's identifier, e.g. my_domain/my_repo/7jvagMH9vk7u)`);
    }
    if (seen.has(label)) throw new ClientUsageError(`${label} is given more than once`);
    seen.add(label);
    const [owner, repo, identifier] = parts as [string, string, string];
    return { owner, repo, identifier, label };
  });
}

interface Options {
  wait: boolean;
  intervalMs: number;
  attempts: number;
}

/** How one version ended: its last status (when one was seen) and whether that is a success. */
interface Outcome {
  status?: SyncStatus;
  /** Why it failed to be actioned, when the gateway said (a packages_failed_to_action entry). */
  failure?: unknown;
  ok: boolean;
}

class Resync {
  constructor(
    private readonly connection: Connection,
    private readonly io: ResyncIo,
    private readonly options: Options,
  ) {}

  async run(targets: Target[]): Promise<number> {
    const single = targets.length === 1;
    const outcomes = new Map<string, Outcome>();

    // Schedule: one call for one version, one bulk action per OWNER/REPO (and per 100) for several.
    const scheduled: Array<{ target: Target; status?: SyncStatus }> = [];
    if (single) {
      const target = targets[0]!;
      try {
        scheduled.push({ target, status: await this.resync(target) });
      } catch (e) {
        this.io.err(`versiongate: ${this.describe(e)}\n`);
        return 1;
      }
    } else {
      for (const group of groups(targets)) {
        for (const [target, result] of await this.bulkResync(group)) {
          if (result.ok) scheduled.push({ target });
          else outcomes.set(target.label, result);
        }
      }
    }

    if (this.options.wait) {
      const waited = await Promise.all(scheduled.map(({ target, status }) => this.follow(target, single, status)));
      scheduled.forEach(({ target }, i) => outcomes.set(target.label, waited[i]!));
    } else {
      for (const { target, status } of scheduled) outcomes.set(target.label, { ok: true, ...(status ? { status } : {}) });
    }

    const ok = [...outcomes.values()].every((o) => o.ok) && outcomes.size === targets.length;
    if (single) {
      const only = outcomes.get(targets[0]!.label);
      if (only?.status) this.io.out(json(only.status));
    } else {
      // In the order given; a version that failed to be actioned shows why, as the gateway said it.
      const report: Record<string, unknown> = {};
      for (const t of targets) {
        const o = outcomes.get(t.label);
        report[t.label] = o?.status ?? o?.failure ?? null;
      }
      this.io.out(json(report));
    }
    return ok ? 0 : 1;
  }

  /** Polls until the sync completes or fails; a failed sync is scheduled again while attempts remain. */
  private async follow(target: Target, single: boolean, scheduled: SyncStatus | undefined): Promise<Outcome> {
    const prefix = single ? '' : `${target.label}: `;
    let last: SyncStatus | undefined = scheduled;
    let shown = '';
    for (let attempt = 1; ; attempt++) {
      let status: SyncStatus;
      for (;;) {
        try {
          status = await this.status(target);
        } catch (e) {
          // Resync and reading a version's status are two permissions: a principal may hold the first
          // (a publisher, say) and not the second. The resync is scheduled all the same, and the
          // gateway syncs it; only its progress cannot be shown.
          if (e instanceof RequestFailure && e.status === 403) {
            this.io.err(`${target.label}: resync scheduled (identifier ${target.identifier}); you may not read its status\n`);
            return { ok: true, ...(last ? { status: last } : {}) };
          }
          this.io.err(`versiongate: ${prefix}${this.describe(e)}\n`);
          return { ok: false, ...(last ? { status: last } : {}) };
        }
        last = status;
        const line = progressLine(status);
        if (line !== shown) {
          this.io.err(`${target.label}: ${line}\n`);
          shown = line;
        }
        if (status.is_sync_completed === true) return { ok: true, status };
        if (status.is_sync_failed === true) break;
        await sleep(this.options.intervalMs);
      }
      const reason = status.status_reason ? `: ${status.status_reason}` : '';
      // The gateway says when another try cannot help (a Disposed or Deleted version, say).
      const retry = attempt < this.options.attempts && status.is_resyncable !== false;
      const next = retry ? 'resyncing' : status.is_resyncable === false ? 'not resyncable, giving up' : 'giving up';
      this.io.err(`${target.label}: sync failed${reason} (attempt ${attempt} of ${this.options.attempts}, ${next})\n`);
      if (!retry) return { ok: false, status };
      try {
        last = await this.resync(target);
        shown = '';
      } catch (e) {
        this.io.err(`versiongate: ${prefix}${this.describe(e)}\n`);
        // 400 is the wrong state: most likely the gateway's own retry has already put the sync back
        // in the queue, so its status is followed on, and this attempt counts. Anything else ends it.
        if (!(e instanceof RequestFailure && e.status === 400)) return { ok: false, status };
        await sleep(this.options.intervalMs);
      }
    }
  }

  private resync(t: Target): Promise<SyncStatus> {
    return this.request('POST', `/v1/packages/${enc(t.owner)}/${enc(t.repo)}/${enc(t.identifier)}/resync/`) as Promise<SyncStatus>;
  }

  private async status(t: Target): Promise<SyncStatus> {
    for (let attempt = 1; ; attempt++) {
      try {
        return asSyncStatus(await this.request('GET', `/v1/packages/${enc(t.owner)}/${enc(t.repo)}/${enc(t.identifier)}/status/`), this.connection.endpoint);
      } catch (e) {
        if (!(e instanceof RequestFailure && e.retryable) || attempt >= READ_ATTEMPTS) throw e;
        await sleep(Math.min(this.options.intervalMs, 1000));
      }
    }
  }

  /**
   * One bulk action for versions of one OWNER/REPO. An identifier in packages_failed_to_action has
   * failed; every other one was scheduled. An error answer to the whole call fails all of them.
   */
  private async bulkResync(group: Target[]): Promise<Array<[Target, Outcome]>> {
    const { owner, repo } = group[0]!;
    let answer: { packages_failed_to_action?: Record<string, unknown> };
    try {
      answer = (await this.request('POST', `/v1/bulk-action/${enc(owner)}/`, { action: 'Resync', identifiers: group.map((t) => t.identifier), repository: repo })) as typeof answer;
    } catch (e) {
      const message = this.describe(e);
      this.io.err(`versiongate: ${owner}/${repo}: ${message}\n`);
      return group.map((t) => [t, { ok: false, failure: { detail: message } }]);
    }
    const failed = answer?.packages_failed_to_action ?? {};
    return group.map((t) => {
      if (!Object.hasOwn(failed, t.identifier)) return [t, { ok: true }];
      const failure = failed[t.identifier];
      this.io.err(`versiongate: ${t.label}: ${failureText(failure)}\n`);
      return [t, { ok: false, failure }];
    });
  }

  /** A request with the bearer token: the answer's JSON object, or a RequestFailure saying why not. */
  private async request(method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
    const { endpoint } = this.connection;
    let answer: Answer;
    try {
      answer = await exchange(this.connection, method, path, body);
    } catch (e) {
      if (e instanceof SilenceError) throw new RequestFailure(e.describe(endpoint), undefined, true);
      throw new RequestFailure(`cannot complete the request to ${endpoint}: ${networkMessage(e)}`, undefined, true);
    }
    const { status, statusText, text } = answer;
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (status < 200 || status > 299) {
      const detail = errorDetail(parsed) ?? (text.trim().slice(0, 200) || statusText);
      throw new RequestFailure(`${status}: ${detail}`, status, status === 429 || status >= 500);
    }
    if (parsed === undefined || typeof parsed !== 'object' || parsed === null) {
      throw new RequestFailure(`${status}: the gateway's answer to ${method} ${path} is not a JSON object`, status);
    }
    return parsed;
  }

  private describe(e: unknown): string {
    if (e instanceof RequestFailure) return e.message;
    throw e;
  }
}

/** The flags of which a sync status sets one: the state it is in. */
const STATE_FLAGS = ['is_sync_awaiting', 'is_sync_in_flight', 'is_sync_in_progress', 'is_sync_completed', 'is_sync_failed'] as const;

/**
 * An answer that says what state the sync is in, or a failure saying it does not: waiting on an answer
 * with none of the state flags set (an endpoint that is not a versiongate, a proxy's page) polled for ever.
 */
function asSyncStatus(answer: unknown, endpoint: string): SyncStatus {
  const status = answer as SyncStatus | null;
  if (typeof status === 'object' && status !== null && !Array.isArray(status) && STATE_FLAGS.some((f) => status[f] === true)) return status;
  throw new RequestFailure(`the answer from ${endpoint} is not a sync status (none of ${STATE_FLAGS.join(', ')} is true)`);
}

/** OWNER/REPO groups of at most BULK_LIMIT, in the order first named. */
function groups(targets: readonly Target[]): Target[][] {
  const byRepo = new Map<string, Target[]>();
  for (const t of targets) {
    const key = `${t.owner}/${t.repo}`;
    byRepo.set(key, [...(byRepo.get(key) ?? []), t]);
  }
  const out: Target[][] = [];
  for (const list of byRepo.values()) for (let i = 0; i < list.length; i += BULK_LIMIT) out.push(list.slice(i, i + BULK_LIMIT));
  return out;
}

/** A Cloudsmith error body's detail, with its field errors when it has some. */
function errorDetail(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const { detail, fields, message } = body as { detail?: unknown; fields?: unknown; message?: unknown };
  const text = typeof detail === 'string' ? detail : typeof message === 'string' ? message : undefined;
  if (text === undefined) return undefined;
  if (typeof fields !== 'object' || fields === null || Object.keys(fields).length === 0) return text;
  const parts = Object.entries(fields as Record<string, unknown>).map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(' ') : String(v)}`);
  return `${text} (${parts.join('; ')})`;
}

function failureText(failure: unknown): string {
  if (typeof failure === 'string') return failure;
  if (typeof failure === 'object' && failure !== null) {
    const { reason, detail, status } = failure as { reason?: unknown; detail?: unknown; status?: unknown };
    const text = typeof reason === 'string' ? reason : typeof detail === 'string' ? detail : undefined;
    if (text !== undefined) return typeof status === 'number' ? `${status}: ${text}` : text;
  }
  return `failed to be actioned: ${JSON.stringify(failure)}`;
}

/** `Awaiting Sync / Waiting (0%)`: what the Cloudsmith CLI's progress bar shows, as one line. */
function progressLine(s: SyncStatus): string {
  const status = s.status_str ?? (s.is_sync_completed ? 'Completed' : s.is_sync_failed ? 'Failed' : 'Waiting');
  const stage = s.stage_str && !/unknown/i.test(s.stage_str) ? ` / ${s.stage_str}` : '';
  const progress = typeof s.sync_progress === 'number' ? ` (${s.sync_progress}%)` : '';
  return `${status}${stage}${progress}`;
}

/** An answer as it came: its status and its whole body as text. */
interface Answer {
  status: number;
  statusText: string;
  text: string;
}

/** A timeout that ended an exchange: which of the two, and after how long. */
class SilenceError extends Error {
  constructor(
    readonly phase: 'connect' | 'read',
    readonly ms: number,
  ) {
    super(`${phase} timeout after ${ms} ms`);
  }

  describe(endpoint: string): string {
    const seconds = this.ms / 1000;
    return this.phase === 'connect'
      ? `no connection to ${endpoint} within ${seconds} s (--cli-connect-timeout)`
      : `no answer from ${endpoint} for ${seconds} s (--cli-read-timeout)`;
  }
}

/**
 * One HTTP exchange under the two timeouts as the aws CLI has them: the connect timeout until the
 * connection is made, then the read timeout for each silence of the connection (waiting for the
 * answer, and between its bytes); 0 turns off that one only. node:http rather than fetch, which
 * has one deadline for both and could not tell a slow connect from a silent gateway.
 */
function exchange(connection: Connection, method: 'GET' | 'POST', path: string, body: unknown): Promise<Answer> {
  const { connectTimeoutMs, readTimeoutMs, token } = connection;
  const url = new URL(connection.endpoint + path);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const headers = {
    authorization: `Bearer ${token}`,
    accept: 'application/json',
    ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
    // A length, as fetch sends one, rather than node:http's chunked body for a POST without one.
    ...(method === 'POST' ? { 'content-length': String(Buffer.byteLength(payload ?? '')) } : {}),
  };
  return new Promise<Answer>((resolve, reject) => {
    let connectTimer: NodeJS.Timeout | undefined;
    const settle = () => clearTimeout(connectTimer);
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, { method, headers });
    req.once('socket', (socket) => {
      // A kept-alive socket is connected already: only the read timeout applies to it.
      if (!socket.connecting || connectTimeoutMs <= 0) return;
      connectTimer = setTimeout(() => req.destroy(new SilenceError('connect', connectTimeoutMs)), connectTimeoutMs);
      socket.once('connect', settle);
    });
    // Node arms it once the socket is connected, and it counts silence, not the whole exchange.
    if (readTimeoutMs > 0) req.setTimeout(readTimeoutMs, () => req.destroy(new SilenceError('read', readTimeoutMs)));
    req.once('error', (err) => {
      settle();
      reject(err);
    });
    req.once('response', (res) => {
      settle();
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.once('end', () => resolve({ status: res.statusCode ?? 0, statusText: res.statusMessage ?? '', text }));
      // A body cut off (the read timeout included) fails the request with the reason.
      res.once('error', reject);
    });
    req.end(payload);
  });
}

/** Why a connection failed, in the system's words (every address tried, for a name with several). */
function networkMessage(e: unknown): string {
  if (e instanceof AggregateError && e.errors.length > 0) return e.errors.map((x: Error) => x.message).join('; ');
  const err = e as NodeJS.ErrnoException;
  return err.message || err.code || String(e);
}

const enc = encodeURIComponent;
const json = (value: unknown) => JSON.stringify(value, null, 4) + '\n';

const HELP = `versiongate resync: schedule a resync of package versions and wait for it, as \`cloudsmith resync\` does.

A resync is a retry of a version's synchronisation: its stored assets are read again, their hashes
checked, its metadata extracted again and a new revision set. Cedar authorizes it as Action::"Resync".

Usage:
  versiongate resync [--wait | --no-wait] [--wait-interval <seconds>] [--sync-attempts <n>]
                     [--endpoint-url <value>] [--token <value>] OWNER/REPO/IDENTIFIER...

  OWNER/REPO/IDENTIFIER   The domain, the repository and the version's unique identifier, as
                          DescribePackageVersion shows it: my_domain/my_repo/7jvagMH9vk7u.
                          Several are scheduled with one bulk action per OWNER/REPO.

Options:
  --[no-]wait                        Wait for each sync to complete or fail (the default). --no-wait
                                     returns once the resync is scheduled (also --no-wait-for-sync).
  --wait-interval <seconds>          Seconds between two status polls; fractions are accepted.
                                     Default 5.
  --sync-attempts <n>                How many syncs to try, the first included, before giving up on
                                     a version whose sync fails: each failed sync is resynced again
                                     while attempts remain and the gateway says it is resyncable.
                                     Default 3.

Connection:
${CONNECTION_FLAGS.map((f) => `  --${f.name} <value>`.padEnd(37) + wrap(f.help, 100 - 37).join(`\n${' '.repeat(37)}`)).join('\n')}

Progress goes to stderr, one line each time a status, stage or progress changes. stdout gets the
final status object as JSON (for several identifiers, one object keyed by OWNER/REPO/IDENTIFIER,
holding the gateway's reason for one that failed to be actioned).

When the token may resync but not read a version's status (GET …/status/ answers 403), the resync
is scheduled and the gateway syncs it, but its progress cannot be followed: the command says
"resync scheduled (identifier …); you may not read its status" and counts it as scheduled.

Exit status: 0 every sync completed (with --no-wait: every resync was scheduled; or scheduled, with
a status the token may not read); 1 a sync ended
failed, an identifier failed to be actioned, an error answer ("versiongate: 403: …") or no
connection; 2 a usage error.
`;
