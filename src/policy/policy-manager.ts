/**
 * The live policy set, its safe replacement, and the shadow candidate.
 *
 * A reload (a change under policies/, SIGHUP, or a call) reads the folder, validates it strictly and
 * runs its tests, in a worker thread (reload-worker.ts) so that requests keep being decided
 * meanwhile. Only if both pass does it replace the live set, in one assignment: a request is
 * judged by the set it read at its start, never half of each. Otherwise the live set stays and the
 * failure is logged, counted and shown in status(). policies/candidate/ (same layout), when present,
 * is loaded beside it and evaluated in shadow, never enforced; its loads and refusals are logged and
 * reported through onLoad too (ReloadOutcome.set), so that shadow evaluation never stops unseen.
 */
import { existsSync, readdirSync, realpathSync, statSync, watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import type { Clock } from '../clock.ts';
import type { Logger } from '../log.ts';
import { checkOffThread } from './check-off-thread.ts';
import { indexPolicySet, PolicyEngine, type Authorizer, type PolicyEngineOptions } from './engine.ts';
import { checkKey, codeVersion, readCheckedSet, writeCheckedSet, type CheckInputs } from './checked-set-cache.ts';
import { CANDIDATE_DIR } from './policy-files.ts';
import { compilePolicySet, formatDiagnostic, LINKS_DIR, LINKS_FILE, loadPolicyDir, PolicySetError, readPolicyDir, SCHEMA_FILE, TEMPLATE_DIR, type CompiledPolicySet } from './load-policies.ts';
import { failureDiagnostic, parseTestFilesOfSet, readTestFiles, runPolicyTests, TESTS_DIR } from './run-tests.ts';
import { runReloadJob, type ReloadAnswer } from './reload-worker.ts';
import { rememberSchemaJson, schemaJson } from './schema-json.ts';
import { shadowing, type Disagreement } from './shadow.ts';

export { CANDIDATE_DIR } from './policy-files.ts';

/**
 * The folders a reload reads, under the policy folder ('' is the folder itself), with the names in
 * each that it reads: the only ones watched and polled, so that changes anywhere else cost nothing.
 * The candidate's tests are not run, so candidate/tests/ is not among them. `..data` is how a
 * Kubernetes ConfigMap volume swaps every file at once.
 */
const READ_FOLDERS: ReadonlyArray<readonly [string, (name: string) => boolean]> = (() => {
  const root = (n: string) => n === SCHEMA_FILE || n === LINKS_FILE || n.endsWith('.cedar') || n === '..data';
  const cedar = (n: string) => n.endsWith('.cedar');
  const json = (n: string) => n.endsWith('.json');
  return [
    ['', root],
    [TEMPLATE_DIR, cedar],
    [LINKS_DIR, json],
    [TESTS_DIR, json],
    [CANDIDATE_DIR, root],
    [`${CANDIDATE_DIR}/${TEMPLATE_DIR}`, cedar],
    [`${CANDIDATE_DIR}/${LINKS_DIR}`, json],
  ];
})();

/**
 * A watch-triggered reload waits until two looks at the folder, this long apart, agree, so that a
 * save in progress is not read part-way; after this many looks that disagree it reads it anyway.
 */
const SETTLE_MS = 150;
const MAX_SETTLE_LOOKS = 20;

export type ReloadTrigger = 'start' | 'watch' | 'signal' | 'api';

export interface ReloadOutcome {
  at: string;
  trigger: ReloadTrigger;
  /** 'removed': only of the candidate, whose folder is gone (shadow evaluation stopped). */
  outcome: 'loaded' | 'unchanged' | 'refused' | 'removed';
  hash?: string | undefined;
  errors: string[];
  /**
   * 'candidate': the load of policies/candidate/, reported through onLoad beside the live set's so
   * that it is audited and counted too; its files and errors are named under candidate/.
   */
  set?: 'candidate' | undefined;
}

export interface PolicyStatus {
  hash: string;
  loadedAt: string;
  files: string[];
  policies: Array<{ id: string; kind: 'static' | 'template' | 'link'; file: string; line: number }>;
  counts: { policies: number; templates: number; links: number };
  lastReload: ReloadOutcome | null;
  reloads: { loaded: number; refused: number };
  candidate: { hash: string; loadedAt: string; files: string[] } | { error: string } | null;
}

export interface PolicyManagerOptions {
  dir: string;
  clock: Clock;
  logger: Logger;
  /** Called for every load attempt (metrics, audit). */
  onLoad?: (outcome: ReloadOutcome, set?: CompiledPolicySet) => void;
  /** Called for every shadow disagreement. */
  onDisagreement?: (d: Disagreement) => void;
  /** Include link ids in status() up to this many (tens of thousands would swamp the answer). */
  maxListedLinks?: number;
  /** The token claim test cases give groups in (VERSIONGATE_GROUPS_CLAIM). */
  groupsClaim?: string;
  /** Decisions each engine (live, candidate) caches; 0 turns the cache off. Default 10,000. */
  decisionCacheSize?: number;
  /**
   * Check reloads in a worker thread (default), so the event loop keeps answering requests while a
   * set is validated, compiled and tested. false checks them on the calling thread.
   */
  reloadInWorker?: boolean;
  /** A reload whose checks take longer is refused (default RELOAD_WORKER_TIMEOUT_MS). */
  reloadTimeoutMs?: number;
  /**
   * Where the set that passed its checks at start is recorded (checked-set-cache.ts), so that a start
   * with the same inputs and code reuses them. Undefined: every start checks in full.
   */
  checkedSetCache?: string | undefined;
}

/** Validates a folder and runs its tests: what a set must pass to become live. */
export function checkPolicyDir(dir: string, groupsClaim?: string, options: PolicyEngineOptions = {}): { set: CompiledPolicySet; engine: PolicyEngine } {
  return checkInputs(readCheckInputs(dir, groupsClaim), options);
}

function readCheckInputs(dir: string, groupsClaim: string | undefined): CheckInputs {
  return { sources: readPolicyDir(dir), tests: readTestFiles(dir), groupsClaim };
}

/** The checks of checkPolicyDir, over inputs already read (so what is checked is what was keyed). */
function checkInputs(inputs: CheckInputs, options: PolicyEngineOptions): { set: CompiledPolicySet; engine: PolicyEngine } {
  const { sources } = inputs;
  const set = compilePolicySet(sources.schemaText, sources.files, sources);
  const engine = new PolicyEngine(set, options);
  const report = runPolicyTests(set, parseTestFilesOfSet(inputs.tests, inputs.groupsClaim), undefined, engine);
  if (report.failed > 0) throw new PolicySetError(report.failures.map(failureDiagnostic));
  return { set, engine };
}

/** What the start-up check needs (a PolicyManager's options, or a worker's job). */
export interface StartCheckOptions {
  dir: string;
  groupsClaim?: string | undefined;
  checkedSetCache?: string | undefined;
  decisionCacheSize?: number | undefined;
  /** Something went wrong that costs only time (the record could not be written…). */
  warn(message: string, err: unknown): void;
}

/**
 * The start-up check: in full, unless the data directory records that this exact set, with these
 * exact tests, passed under this exact code (checked-set-cache.ts). A set that passes is recorded.
 * `engine` is the one the set's tests ran on, when they ran.
 */
export function checkAtStart(o: StartCheckOptions): { set: CompiledPolicySet; engine?: PolicyEngine; checks: StartChecks } {
  const options = { decisionCacheSize: o.decisionCacheSize };
  const inputs = readCheckInputs(o.dir, o.groupsClaim);
  const file = o.checkedSetCache;
  if (file === undefined) return { ...checkInputs(inputs, options), checks: 'ran' };
  let key: string;
  try {
    key = checkKey(inputs, codeVersion());
  } catch (err) {
    // The running code could not be read to be named: nothing is reused or recorded.
    o.warn('cannot name the running code; the policy set is checked in full and not recorded', err);
    return { ...checkInputs(inputs, options), checks: 'ran' };
  }
  const recorded = readCheckedSet(file, key, inputs.sources);
  if (recorded) {
    rememberSchemaJson(recorded.set.schemaText, recorded.schemaJson);
    return { set: recorded.set, checks: 'reused' };
  }
  const checked = checkInputs(inputs, options);
  // The schema's JSON form, which the checks just made, is recorded too, so a restart need not parse the text.
  const failed = writeCheckedSet(file, key, { set: checked.set, schemaJson: schemaJson(checked.set.schemaText) });
  if (failed) o.warn(`could not record the checked policy set in ${file}; the next start checks it again`, failed);
  return { ...checked, checks: 'ran' };
}

/** Whether the start-up checks ran, or were those recorded for the same inputs and code. */
export type StartChecks = 'ran' | 'reused';

export class PolicyManager {
  #live: PolicyEngine;
  #loadedAt: string;
  #candidate: PolicyEngine | undefined;
  #candidateStatus: PolicyStatus['candidate'] = null;
  #view: Authorizer;
  #lastReload: ReloadOutcome | null = null;
  #reloads = { loaded: 0, refused: 0 };
  /** One non-recursive watch per folder of READ_FOLDERS that exists, by its path under the folder, with the folder it resolved to. */
  #watchers = new Map<string, { real: string; watcher: FSWatcher }>();
  #watching = false;
  #timer: NodeJS.Timeout | undefined;
  #poll: NodeJS.Timeout | undefined;
  /** The poll's last look at the folder. */
  #fingerprint = '';
  /**
   * The folder as the last reload found it (its fingerprint, taken before it read the folder), when
   * that reload loaded it, found it unchanged, or refused it for what it holds: a watch-triggered
   * reload of the same folder would say the same again (and a refusal logged, counted and audited
   * twice). Undefined after a refusal that was not the set's fault (a worker that failed).
   */
  #lastLook: string | undefined;
  #settleLooks = 0;
  #watchBusy = false;
  #watchAgain = false;
  #reloading: Promise<ReloadOutcome> | undefined;

  private constructor(
    private readonly o: PolicyManagerOptions,
    live: PolicyEngine,
    /** Whether the live set's checks ran at start or were reused (see checkAtStart). */
    readonly startChecks: StartChecks,
  ) {
    this.#live = live;
    this.#loadedAt = o.clock.now().toISOString();
    // At start the candidate is loaded here, on this thread, as the live set was.
    const candidate = loadCandidateDir(o.dir);
    try {
      if (candidate && 'errors' in candidate) throw new ReloadRefused(candidate.errors);
      if (candidate) {
        this.#candidate = new PolicyEngine(candidate.set, { decisionCacheSize: o.decisionCacheSize });
        this.#candidateStatus = { hash: candidate.set.hash, loadedAt: this.#loadedAt, files: candidate.set.files };
        this.#reportCandidate('start', this.#loadedAt, null, candidate.set);
      }
    } catch (err) {
      this.#candidateStatus = { error: errorsOf(err).join('\n') };
      this.#reportCandidate('start', this.#loadedAt, null, errorsOf(err));
    }
    this.#view = this.#compose();
  }

  /** Loads the live set at start: an invalid set or failing tests stop the start (PolicySetError). */
  static start(o: PolicyManagerOptions): PolicyManager {
    const at = o.clock.now().toISOString();
    let checked: ReturnType<typeof checkAtStart>;
    try {
      checked = checkAtStart({ ...o, warn: (message, err) => o.logger.warn(message, { err }) });
    } catch (err) {
      o.onLoad?.({ at, trigger: 'start', outcome: 'refused', errors: errorsOf(err) });
      throw err;
    }
    o.onLoad?.({ at, trigger: 'start', outcome: 'loaded', hash: checked.set.hash, errors: [] }, checked.set);
    return new PolicyManager(o, checked.engine ?? new PolicyEngine(checked.set, { decisionCacheSize: o.decisionCacheSize }), checked.checks);
  }

  /**
   * Loads the live set at start from the answer of the start's check run in a worker thread
   * (checkOffThread with a `start` job, begun by the caller at `at`, so that its thread could do
   * other work meanwhile): the same checks as start()'s, refused alike (PolicySetError when the set
   * is at fault). Whatever went wrong with the worker refuses the start too.
   */
  static startChecked(o: PolicyManagerOptions, answer: ReloadAnswer, at: string): PolicyManager {
    const { live } = answer;
    if ('errors' in live || !live.start) {
      const errors = 'errors' in live ? live.errors : ['the policy check in its worker thread did not say how it checked the set'];
      o.onLoad?.({ at, trigger: 'start', outcome: 'refused', errors });
      throw 'diagnostics' in live && live.diagnostics ? new PolicySetError(live.diagnostics) : new Error(errors.join('\n'));
    }
    const { set, start } = live;
    for (const w of start.warnings) o.logger.warn(w);
    // This thread's Cedar reads the schema from the JSON form the worker made, not from the text again.
    rememberSchemaJson(set.schemaText, start.schemaJson);
    const engine = new PolicyEngine(set, { decisionCacheSize: o.decisionCacheSize }, indexPolicySet(set, live.headParts));
    o.onLoad?.({ at, trigger: 'start', outcome: 'loaded', hash: set.hash, errors: [] }, set);
    return new PolicyManager(o, engine, start.checks);
  }

  /** What operations ask: the live set, with the candidate in shadow when there is one. */
  authorizer(): Authorizer {
    return this.#view;
  }

  get live(): PolicyEngine {
    return this.#live;
  }

  /** Re-reads the folder; concurrent calls share one reload. */
  reload(trigger: ReloadTrigger): Promise<ReloadOutcome> {
    return this.#reloadWith(trigger, undefined);
  }

  #reloadWith(trigger: ReloadTrigger, look: string | undefined): Promise<ReloadOutcome> {
    this.#reloading ??= Promise.resolve()
      .then(() => this.#reload(trigger, look ?? folderFingerprint(this.o.dir)))
      .finally(() => (this.#reloading = undefined));
    return this.#reloading;
  }

  /** `look`: the folder's fingerprint, taken before the folder is read. */
  async #reload(trigger: ReloadTrigger, look: string): Promise<ReloadOutcome> {
    const at = this.o.clock.now().toISOString();
    const job = { dir: this.o.dir, groupsClaim: this.o.groupsClaim };
    // Validation, compilation and the set's tests run in a worker thread with its own Cedar; the
    // live engine keeps answering meanwhile. Its failure, whatever it is, refuses the reload.
    const answer: ReloadAnswer = this.o.reloadInWorker === false ? runReloadJob(job) : await checkOffThread(job, this.o.reloadTimeoutMs);
    let outcome: ReloadOutcome;
    let loaded: CompiledPolicySet | undefined;
    try {
      if ('errors' in answer.live) throw new ReloadRefused(answer.live.errors);
      const set = answer.live.set;
      if (set.hash === this.#live.policySet.hash) {
        outcome = { at, trigger, outcome: 'unchanged', hash: set.hash, errors: [] };
      } else {
        // WASM state is per thread: this thread's Cedar parses the schema again and indexes the set;
        // slices of it are preparsed when requests first need them.
        const engine = await this.#engine(set, answer.live.headParts);
        // The swap: one assignment. Requests that already took the old view finish with it.
        this.#live = engine;
        this.#loadedAt = at;
        this.#reloads.loaded++;
        loaded = set;
        outcome = { at, trigger, outcome: 'loaded', hash: set.hash, errors: [] };
        this.o.logger.info('policy set reloaded', { trigger, hash: set.hash });
      }
    } catch (err) {
      this.#reloads.refused++;
      outcome = { at, trigger, outcome: 'refused', errors: errorsOf(err) };
      this.o.logger.warn('policy set refused; the live set stays', { trigger, errors: outcome.errors.slice(0, 20) });
    }
    if (answer.candidate !== undefined) await this.#adoptCandidate(answer.candidate, trigger, at);
    this.#view = this.#compose();
    // One edit reaches the watcher twice (fs.watch at once, then the 2 s poll that sees the new
    // fingerprint): the second finds the set it just loaded. That is no news, and must not hide the load.
    const echo = trigger === 'watch' && outcome.outcome === 'unchanged' && this.#lastReload?.outcome === 'loaded' && this.#lastReload.hash === outcome.hash;
    if (!echo) this.#lastReload = outcome;
    this.#lastLook = outcome.outcome !== 'refused' || ('diagnostics' in answer.live && answer.live.diagnostics) ? look : undefined;
    if (outcome.outcome !== 'unchanged') this.o.onLoad?.(outcome, loaded);
    return outcome;
  }

  #engine(set: CompiledPolicySet, headParts?: readonly string[]): Promise<PolicyEngine> {
    return PolicyEngine.create(set, { decisionCacheSize: this.o.decisionCacheSize }, headParts);
  }

  async #adoptCandidate(candidate: NonNullable<ReloadAnswer['candidate']> | null, trigger: ReloadTrigger, at: string): Promise<void> {
    const before = this.#candidateStatus;
    if (candidate === null) {
      this.#candidate = undefined;
      this.#candidateStatus = null;
      if (before !== null) {
        this.o.logger.info('policies/candidate/ was removed; nothing is evaluated in shadow', { trigger });
        // Audited as its load was: `policy diff` must not go on reading "evaluated since" after this.
        this.o.onLoad?.({ at, trigger, outcome: 'removed', set: 'candidate', errors: [] });
      }
      return;
    }
    try {
      if ('errors' in candidate) throw new ReloadRefused(candidate.errors);
      const { set } = candidate;
      if (this.#candidate?.policySet.hash !== set.hash) this.#candidate = await this.#engine(set, candidate.headParts);
      this.#candidateStatus = { hash: set.hash, loadedAt: this.o.clock.now().toISOString(), files: set.files };
      this.#reportCandidate(trigger, at, before, set);
    } catch (err) {
      this.#candidate = undefined;
      this.#candidateStatus = { error: errorsOf(err).join('\n') };
      this.#reportCandidate(trigger, at, before, errorsOf(err));
    }
  }

  /**
   * A candidate that loads, or stops loading, is logged and reported through onLoad (so audited as a
   * LoadPolicySet record and counted), as a live set is: a candidate that fails to load ends shadow
   * evaluation, and that must not go unnoticed while `policy diff` shows no disagreements. A reload
   * that finds the candidate as it was reports nothing again.
   */
  #reportCandidate(trigger: ReloadTrigger, at: string, before: PolicyStatus['candidate'], result: CompiledPolicySet | string[]): void {
    if (Array.isArray(result)) {
      const errors = result.map(underCandidateDir);
      if (before && 'error' in before && before.error === result.join('\n')) return;
      this.o.logger.warn('candidate policy set refused; nothing is evaluated in shadow', { trigger, errors: errors.slice(0, 20) });
      this.o.onLoad?.({ at, trigger, outcome: 'refused', set: 'candidate', errors });
      return;
    }
    if (before && 'hash' in before && before.hash === result.hash) return;
    this.o.logger.info('candidate policy set loaded; evaluated in shadow', { trigger, hash: result.hash });
    this.o.onLoad?.({ at, trigger, outcome: 'loaded', set: 'candidate', hash: result.hash, errors: [] }, { ...result, files: result.files.map((f) => `${CANDIDATE_DIR}/${f}`) });
  }

  #compose(): Authorizer {
    const live = this.#live;
    const candidate = this.#candidate;
    return candidate && this.o.onDisagreement ? shadowing(live, candidate, this.o.onDisagreement) : live;
  }

  /**
   * Watches the folders a reload reads (READ_FOLDERS), and reloads shortly after changes settle.
   * Each is watched on its own, not recursively: Node 20's recursive fs.watch on Linux walks and
   * watches every folder below, so thousands of files written anywhere under the folder held up the
   * event loop for seconds. A folder that is a symbolic link is watched where it leads, and watched
   * again when that changes (a ConfigMap's update). fs.watch on Linux also stops reporting a file once
   * it was replaced by a rename (mv, git checkout, editors that save that way), so a cheap poll of
   * every read file's size, modification time and inode backs it up, and adds watches for folders
   * that appear.
   */
  watch(debounceMs = 300, pollMs = 2_000, settleMs = SETTLE_MS): void {
    if (this.#watching) return;
    this.#watching = true;
    const soon = () => {
      clearTimeout(this.#timer);
      this.#timer = setTimeout(() => void this.#watchReload(soon, settleMs), debounceMs);
    };
    this.#syncWatchers(soon);
    this.#fingerprint = folderFingerprint(this.o.dir);
    this.#poll = setInterval(() => {
      this.#syncWatchers(soon);
      const now = folderFingerprint(this.o.dir);
      if (now !== this.#fingerprint) {
        this.#fingerprint = now;
        soon();
      }
    }, pollMs);
    this.#poll.unref();
  }

  /**
   * A reload the watch asked for: once two looks at the folder agree (a save in progress changes
   * what the second sees), and only if the folder is not as the last reload found it.
   */
  async #watchReload(soon: () => void, settleMs: number): Promise<void> {
    // One at a time: a change seen meanwhile is looked at once this one is done.
    if (this.#watchBusy) {
      this.#watchAgain = true;
      return;
    }
    this.#watchBusy = true;
    try {
      await this.#settledReload(soon, settleMs);
    } finally {
      this.#watchBusy = false;
    }
    if (this.#watchAgain && this.#watching) {
      this.#watchAgain = false;
      soon();
    }
  }

  async #settledReload(soon: () => void, settleMs: number): Promise<void> {
    // A reload already under way may have read the folder before this change: look after it.
    await this.#reloading?.catch(() => undefined);
    if (!this.#watching) return;
    this.#syncWatchers(soon);
    const first = folderFingerprint(this.o.dir);
    await new Promise((resolve) => setTimeout(resolve, settleMs));
    if (!this.#watching) return;
    const look = folderFingerprint(this.o.dir);
    if (look !== first && this.#settleLooks < MAX_SETTLE_LOOKS) {
      this.#settleLooks++;
      soon();
      return;
    }
    this.#settleLooks = 0;
    this.#fingerprint = look; // what the poll has now seen
    if (look === this.#lastLook) return;
    await this.#reloadWith('watch', look);
  }

  /** Watches each folder of READ_FOLDERS that exists, where it leads now; drops watches of folders gone or moved. */
  #syncWatchers(soon: () => void): void {
    for (const [rel] of READ_FOLDERS) {
      const path = join(this.o.dir, rel);
      let real: string | undefined;
      try {
        real = realpathSync(path);
        if (!statSync(real).isDirectory()) real = undefined;
      } catch {
        real = undefined;
      }
      const current = this.#watchers.get(rel);
      if (current && current.real === real) continue;
      current?.watcher.close();
      this.#watchers.delete(rel);
      if (real === undefined) continue;
      try {
        const watcher = watch(real, soon);
        // A folder removed or replaced ends its watch; the next poll watches what is there then.
        watcher.on('error', () => {
          watcher.close();
          if (this.#watchers.get(rel)?.watcher === watcher) this.#watchers.delete(rel);
        });
        this.#watchers.set(rel, { real, watcher });
      } catch (err) {
        if (rel === '') this.o.logger.warn('policy folder watch failed; the poll and SIGHUP still reload', { err });
      }
    }
  }

  close(): void {
    this.#watching = false;
    clearTimeout(this.#timer);
    clearInterval(this.#poll);
    for (const { watcher } of this.#watchers.values()) watcher.close();
    this.#watchers.clear();
  }

  status(): PolicyStatus {
    const set = this.#live.policySet;
    const max = this.o.maxListedLinks ?? 1000;
    const src = (id: string) => ({ file: set.sources[id]?.file ?? '?', line: set.sources[id]?.line ?? 0 });
    return {
      hash: set.hash,
      loadedAt: this.#loadedAt,
      files: set.files,
      policies: [
        ...Object.keys(set.policies).map((id) => ({ id, kind: 'static' as const, ...src(id) })),
        ...Object.keys(set.templates).map((id) => ({ id, kind: 'template' as const, ...src(id) })),
        ...set.links.slice(0, max).map((l) => ({ id: l.id, kind: 'link' as const, file: l.file, line: l.line })),
      ],
      counts: { policies: Object.keys(set.policies).length, templates: Object.keys(set.templates).length, links: set.links.length },
      lastReload: this.#lastReload,
      reloads: { ...this.#reloads },
      candidate: this.#candidateStatus,
    };
  }
}

/**
 * Every file a reload reads (READ_FOLDERS), by name, with the size, modification time and inode of
 * what it leads to (symbolic links followed): changes when any of them does, a ConfigMap's swap of
 * `..data` included. A folder or file that cannot be looked at counts as its error.
 */
function folderFingerprint(dir: string): string {
  const parts: string[] = [];
  for (const [rel, reads] of READ_FOLDERS) {
    const folder = join(dir, rel);
    let names: string[];
    try {
      names = readdirSync(folder);
    } catch (err) {
      parts.push(`${rel}/\0${(err as NodeJS.ErrnoException).code ?? 'error'}`);
      continue;
    }
    for (const name of names) {
      if (!reads(name)) continue;
      try {
        const st = statSync(join(folder, name));
        parts.push(`${rel}/${name}\0${st.size}\0${st.mtimeMs}\0${st.ctimeMs}\0${st.ino}`);
      } catch (err) {
        parts.push(`${rel}/${name}\0${(err as NodeJS.ErrnoException).code ?? 'error'}`);
      }
    }
  }
  return parts.sort().join('\n');
}

/** Errors already formatted (by the worker thread), carried as one error. */
class ReloadRefused extends Error {
  constructor(readonly errors: string[]) {
    super(errors.join('\n'));
  }
}

/** policies/candidate/, loaded on this thread (at start): null when there is none. */
function loadCandidateDir(dir: string): NonNullable<ReloadAnswer['candidate']> | null {
  const candidate = join(dir, CANDIDATE_DIR);
  if (!existsSync(candidate)) return null;
  try {
    return { set: loadPolicyDir(candidate) };
  } catch (err) {
    return { errors: errorsOf(err) };
  }
}

/** A candidate's error, named under the policy folder: `candidate/x.cedar:3:1: …`, or `candidate/: …`. */
function underCandidateDir(error: string): string {
  return /^[^\s:]+:\d+:\d+: /.test(error) ? `${CANDIDATE_DIR}/${error}` : `${CANDIDATE_DIR}/: ${error}`;
}

function errorsOf(err: unknown): string[] {
  if (err instanceof ReloadRefused) return err.errors;
  if (err instanceof PolicySetError) return err.diagnostics.map(formatDiagnostic);
  return [(err as Error).message];
}
