/**
 * `audit verify --state`: the registry as it stands, compared with what the audit log says it should
 * be. The chain proves the log was not edited; this shows a version edited around the log (a status
 * or revision changed, a row deleted or added straight in the database, with no record).
 *
 * For every version, its status and revision must be the `after` of the newest applied record that
 * changed it (`changes`). A version the log has must still be there, unless its package, repository
 * or domain was deleted after that record (DeletePackage, DeleteRepository and DeleteDomain remove
 * the rows, Deleted ones included; DeletePackageVersions keeps a Deleted row). A version no record
 * names is reported too: every path that writes a version (publish, status changes, dispose, delete,
 * copy, a sync's new revision, `seed demo` creating or restoring one) commits its record, with the
 * state it leaves, in the same transaction. (A `seed demo` older than its records created the demo's
 * versions with none: such a version is reported like any other row no record explains, with a
 * hint, until its first sync records it.)
 *
 * The gateway keeps changing versions while this runs. So the versions are read between two reads
 * of the log's head, H0 and H1, and only then is the chain walked: the state expected is the one the
 * records up to H0 leave; a version that a record in (H0, H1] touches may have been read before or
 * after that change, and is "unverifiable: changed while the check ran" rather than a false alarm.
 * Records after H1 changed rows after they were read, so they do not count. The records used are
 * those of the chain walk itself: the state is reported only when the chain verified.
 */
import { isDemoVersion } from '../registry/demo-versions.ts';
import type { VersionStatus } from '../registry/statuses.ts';
import type { AuditChainEntry, AuditLogStore, KeptAuditHead, PackageKey, VersionStore } from '../store/store.ts';
import { timeSlices } from '../time-slices.ts';
import { verifyChain, type VerifyOptions, type VerifyResult } from './verify-chain.ts';

export interface VersionStateText {
  status: VersionStatus;
  revision: string;
}

/** One version whose state the log does not explain. */
export interface StateDiscrepancy {
  /** domain/repository/format/namespace/package@version (an empty namespace leaves `//`). */
  version: string;
  domainOwner: string;
  /** The row as stored; null when the store has no such version. */
  store: VersionStateText | null;
  /** The state the log leaves it in; null when no record names it. */
  log: VersionStateText | null;
  /** The record the log's state comes from (or that removed it); null when no record names it. */
  seq: number | null;
  problem: string;
}

/** A version whose state cannot be checked against the log, and why: never a failure. */
export interface UnverifiableVersion {
  version: string;
  domainOwner: string;
  store: VersionStateText | null;
  reason: string;
}

export interface StateResult {
  ok: boolean;
  /** Version rows compared (Deleted ones included). */
  versions: number;
  /** How many versions differ; `discrepancies` lists the first `listLimit` of them. */
  discrepancyCount: number;
  discrepancies: StateDiscrepancy[];
  unverifiableCount: number;
  unverifiable: UnverifiableVersion[];
}

export interface VerifyStateOptions extends VerifyOptions {
  /**
   * How many discrepancies and unverifiable versions to keep (the rest are counted). A registry
   * rewritten wholesale has one per version: each kept is an object of a few hundred bytes, and the
   * gateway answers only the first hundred anyway. Unbounded by default (the CLI prints them all).
   */
  listLimit?: number;
}

export interface VerifyStateResult extends VerifyResult {
  /** null when the chain is broken: a log that was edited says nothing about the registry. */
  state: StateResult | null;
}

/** Version rows read at a time (keyset by row id). */
const PAGE = 1_000;
/** As the chain walk: the event loop gets a turn every SLICE_MS. */
const SLICE_MS = 8;

/** The chain walk, then the registry's state against the records it verified. */
export async function verifyChainAndState(
  store: Pick<AuditLogStore, 'readAuditChain' | 'strayAuditVersion' | 'auditHead'> & Pick<VersionStore, 'readVersionStates'> & Partial<KeptAuditHead>,
  options: VerifyStateOptions = {},
): Promise<VerifyStateResult> {
  const slices = timeSlices(SLICE_MS);
  const before = (await store.auditHead())?.seq ?? 0;
  // Version key → `STATUS\tREVISION`: a row as two strings (its coordinates are in the key), since a
  // registry of a million versions is held whole while the log is walked.
  const rows = new Map<string, string>();
  /** Keys found on more than one row (the unique index dropped): each row beyond the first. */
  const duplicates: Array<{ key: string; state: string }> = [];
  for (let after = 0; ; ) {
    const page = await store.readVersionStates(after, PAGE);
    if (page.length === 0) break;
    for (const v of page) {
      await slices.due();
      const key = versionKey(packageText(v.key), v.version);
      const state = `${v.status}\t${v.revision}`;
      if (rows.has(key)) duplicates.push({ key, state });
      else rows.set(key, state);
    }
    after = page[page.length - 1]!.id;
  }
  const through = (await store.auditHead())?.seq ?? 0;

  const log = new LogState(before, through);
  // The walk's own batches feed the log's state: only a walk that ends intact reports it, so every
  // record used was verified (those past a break are read, then dropped with the state).
  const chain = await verifyChain(
    {
      readAuditChain: async (afterSeq, limit) => {
        const batch = await store.readAuditChain(afterSeq, limit);
        for (const entry of batch) {
          await slices.due();
          try {
            log.note(entry);
          } catch {
            // A field that is no longer JSON: the walk reports the record as changed, and no state.
          }
        }
        return batch;
      },
      strayAuditVersion: (lastSeq) => store.strayAuditVersion(lastSeq),
      // PostgreSQL's own head (audit_head): a log emptied or cut short there fails this walk as verify's.
      ...(store.keptAuditHead ? { keptAuditHead: () => store.keptAuditHead!() } : {}),
    },
    options,
  );
  if (!chain.ok) return { ...chain, state: null };
  return { ...chain, state: await compare(rows, duplicates, log, slices, options.listLimit ?? Infinity) };
}

/** A version as the log leaves it: `SEQ\tSTATUS\tREVISION`, its coordinates in its key. */
type LoggedVersion = string;

/** What the records say, up to `before` (the state) and in (before, through] (versions in flux). */
class LogState {
  readonly versions = new Map<string, LoggedVersion>();
  /** The newest DeletePackage / DeleteRepository / DeleteDomain applied, by package, repository and domain text. */
  readonly removals = new Map<string, { seq: number; action: string }>();
  /** Versions, packages, repositories and domains a record in (before, through] changed or removed. */
  readonly changing = new Set<string>();

  constructor(
    readonly before: number,
    readonly through: number,
  ) {}

  /** The version's state as the log leaves it, and the record that left it so. */
  version(key: string): { state: VersionStateText; seq: number } | undefined {
    const text = this.versions.get(key);
    if (text === undefined) return undefined;
    const [seq, status, revision] = text.split('\t') as [string, VersionStatus, string];
    return { state: { status, revision }, seq: Number(seq) };
  }

  note(entry: AuditChainEntry): void {
    if (entry.seq > this.through) return;
    const e = entry.encoded;
    // The cheap tests first: most records (reads, denials, policy loads) change nothing.
    if (e.outcome !== '"applied"') return;
    const action = JSON.parse(e.action) as string;
    const removal = REMOVALS[action];
    if (e.changes === '[]' && !removal) return;
    const resource = JSON.parse(e.resource) as unknown;
    if (typeof resource !== 'string') return;
    const inFlux = entry.seq > this.before;
    if (removal) {
      const removed = removal(resource);
      if (removed !== undefined) {
        if (inFlux) this.changing.add(removed);
        else this.removals.set(removed, { seq: entry.seq, action });
      }
    }
    const pkg = packageOfArn(resource);
    if (pkg === undefined) return;
    for (const change of JSON.parse(e.changes) as Array<{ version?: unknown; after?: { status?: unknown; revision?: unknown } }>) {
      if (typeof change.version !== 'string' || typeof change.after?.status !== 'string' || typeof change.after.revision !== 'string') continue;
      const key = versionKey(pkg, change.version);
      if (inFlux) this.changing.add(key);
      else this.versions.set(key, `${entry.seq}\t${change.after.status}\t${change.after.revision}`);
    }
  }

  /** The newest deletion of the package, its repository or its domain, if any. */
  removalOf(pkg: string): { seq: number; action: string } | undefined {
    let newest: { seq: number; action: string } | undefined;
    for (const scope of scopesOf(pkg)) {
      const r = this.removals.get(scope);
      if (r && (!newest || r.seq > newest.seq)) newest = r;
    }
    return newest;
  }

  /** Whether a record in (before, through] changed the version or removed its package, repository or domain. */
  changed(pkg: string, key: string): boolean {
    return this.changing.has(key) || scopesOf(pkg).some((s) => this.changing.has(s));
  }
}

async function compare(
  rows: Map<string, string>,
  duplicates: ReadonlyArray<{ key: string; state: string }>,
  log: LogState,
  slices: ReturnType<typeof timeSlices>,
  listLimit: number,
): Promise<StateResult> {
  const discrepancies: StateDiscrepancy[] = [];
  const unverifiable: UnverifiableVersion[] = [];
  let discrepancyCount = 0;
  let unverifiableCount = 0;
  // Built only for the first listLimit of each: the rest are counted.
  const differ = (make: () => StateDiscrepancy) => {
    if (discrepancyCount++ < listLimit) discrepancies.push(make());
  };
  const cannotCheck = (make: () => UnverifiableVersion) => {
    if (unverifiableCount++ < listLimit) unverifiable.push(make());
  };
  const changedMeanwhile = 'it changed while the check ran (a record after the versions were first read): run the check again';

  for (const d of duplicates) {
    await slices.due();
    const { pkg, version } = splitKey(d.key);
    differ(() => ({ version: label(pkg, version), domainOwner: ownerOf(pkg), store: stateOf(d.state), log: null, seq: null, problem: `the store holds more than one row for this version (this one: ${describe(stateOf(d.state))}): a version has one row, unless the database's unique index was dropped` }));
  }

  for (const [key, stored] of rows) {
    await slices.due();
    const { pkg, version } = splitKey(key);
    const state = stateOf(stored);
    const name = () => ({ version: label(pkg, version), domainOwner: ownerOf(pkg) });
    if (log.changed(pkg, key)) {
      cannotCheck(() => ({ ...name(), store: state, reason: changedMeanwhile }));
      continue;
    }
    const logged = log.version(key);
    const removed = log.removalOf(pkg);
    if (removed && (!logged || removed.seq >= logged.seq)) {
      differ(() => ({ ...name(), store: state, log: logged?.state ?? null, seq: removed.seq, problem: `the store has it (${describe(state)}), but the log says ${removed.action} removed it at record ${removed.seq}, and no record since created it${olderSeedHint(pkg, version, state)}` }));
      continue;
    }
    if (!logged) {
      differ(() => ({ ...name(), store: state, log: null, seq: null, problem: `the store has it (${describe(state)}), but no audit record created or changed it${olderSeedHint(pkg, version, state)}` }));
      continue;
    }
    const problems: string[] = [];
    if (state.status !== logged.state.status) problems.push(`its status is ${state.status} in the store, but ${logged.state.status} in the log`);
    if (state.revision !== logged.state.revision) problems.push(`its revision is ${state.revision} in the store, but ${logged.state.revision || '(none)'} in the log`);
    if (problems.length > 0) differ(() => ({ ...name(), store: state, log: logged.state, seq: logged.seq, problem: `${problems.join('; ')} (record ${logged.seq})` }));
  }

  for (const key of log.versions.keys()) {
    await slices.due();
    if (rows.has(key)) continue;
    const { pkg, version } = splitKey(key);
    const logged = log.version(key)!;
    const name = () => ({ version: label(pkg, version), domainOwner: ownerOf(pkg) });
    if (log.changed(pkg, key)) {
      cannotCheck(() => ({ ...name(), store: null, reason: changedMeanwhile }));
      continue;
    }
    const removed = log.removalOf(pkg);
    if (removed && removed.seq >= logged.seq) continue;
    differ(() => ({
      ...name(),
      store: null,
      log: logged.state,
      seq: logged.seq,
      problem: `the store has no such version, but the log says it is ${describe(logged.state)} (record ${logged.seq})${logged.state.status === 'Deleted' ? ': a deleted version keeps its row until its package or repository is deleted' : ''}`,
    }));
  }
  return { ok: discrepancyCount === 0, versions: rows.size + duplicates.length, discrepancyCount, discrepancies, unverifiableCount, unverifiable };
}

function stateOf(text: string): VersionStateText {
  const [status, revision] = text.split('\t') as [VersionStatus, string];
  return { status, revision };
}

/**
 * Why a store seeded by an older release may have such a row: its `seed demo` created the demo's
 * versions Published with no record, and only their first sync recorded them. Only a hint: the row is
 * reported all the same, since a row inserted under a demo version's name looks just like it.
 */
function olderSeedHint(pkg: string, version: string, state: VersionStateText): string {
  if (state.status !== 'Published' || !isDemoVersion(keyOf(pkg), version)) return '';
  return '; it is a demo version, and an older `seed demo` (before it recorded what it creates) created those with no record: on a store seeded by one, this is expected until the version\'s first sync records it (reseed, or ignore it)';
}

function describe(s: VersionStateText): string {
  return `${s.status}, revision ${s.revision || '(none)'}`;
}

// --- Names. A package is keyed `OWNER:DOMAIN/REPOSITORY/FORMAT/NAMESPACE/NAME`, as its ARN ends, so
// the key from a row and the one from a record's resource are the same text whatever region the
// gateway had when it wrote the record (the region is a setting; the log keeps the old ARNs).

/** The package's text from its coordinates. */
function packageText(k: PackageKey): string {
  return `${k.domainOwner}:${k.domain}/${k.repository}/${k.format}/${k.namespace}/${k.name}`;
}

const PACKAGE_ARN = /^arn:aws:codeartifact:[^:]*:(\d{12}):package\/(.+)$/;
const REPOSITORY_ARN = /^arn:aws:codeartifact:[^:]*:(\d{12}):repository\/([^/]+\/[^/]+)$/;
const DOMAIN_RESOURCE = /^Domain::"arn:aws:codeartifact:[^:]*:(\d{12}):domain\/([^/"]+)"$/;

/** The package's text from its ARN; undefined for a resource that is no package. */
function packageOfArn(resource: string): string | undefined {
  const m = PACKAGE_ARN.exec(resource);
  return m ? `${m[1]}:${m[2]}` : undefined;
}

/** How each deleting action names what it removed, as the package's scopes (scopesOf) are keyed. */
const REMOVALS: Record<string, (resource: string) => string | undefined> = {
  DeletePackage: packageOfArn,
  DeleteRepository: (resource) => {
    const m = REPOSITORY_ARN.exec(resource);
    return m ? `${m[1]}:${m[2]}/` : undefined;
  },
  DeleteDomain: (resource) => {
    const m = DOMAIN_RESOURCE.exec(resource);
    return m ? `${m[1]}:${m[2]}/` : undefined;
  },
};

/** The package itself, its repository (`OWNER:DOMAIN/REPOSITORY/`) and its domain (`OWNER:DOMAIN/`). */
function scopesOf(pkg: string): string[] {
  const domainEnd = pkg.indexOf('/');
  const repositoryEnd = pkg.indexOf('/', domainEnd + 1);
  return [pkg, pkg.slice(0, repositoryEnd + 1), pkg.slice(0, domainEnd + 1)];
}

function versionKey(pkg: string, version: string): string {
  // A newline is in no package name nor version the gateway accepts, so the two parts stay apart.
  return `${pkg}\n${version}`;
}

function splitKey(key: string): { pkg: string; version: string } {
  const at = key.indexOf('\n');
  return { pkg: key.slice(0, at), version: key.slice(at + 1) };
}

/** The coordinates back from the package's text (no part holds ':' before the domain, nor '/'). */
function keyOf(pkg: string): PackageKey {
  const colon = pkg.indexOf(':');
  const [domain, repository, format, namespace, name] = pkg.slice(colon + 1).split('/') as [string, string, PackageKey['format'], string, string];
  return { domainOwner: pkg.slice(0, colon), domain, repository, format, namespace, name };
}

function ownerOf(pkg: string): string {
  return pkg.slice(0, pkg.indexOf(':'));
}

/** domain/repository/format/namespace/package@version. */
function label(pkg: string, version: string): string {
  return `${pkg.slice(pkg.indexOf(':') + 1)}@${version}`;
}

/** A version as the state check and the start's warnings name it: domain/repository/format/namespace/package@version. */
export function versionLabel(key: PackageKey, version: string): string {
  return label(packageText(key), version);
}
