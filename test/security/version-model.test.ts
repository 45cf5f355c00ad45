/**
 * Model-based test of a version's life cycle: fast-check's fc.commands runs random sequences of
 * PublishPackageVersion (new assets, the same asset again, other bytes under a taken name, unfinished
 * or not, a wrong declared SHA-256), UpdatePackageVersionsStatus (with and without expected status
 * and revisions, current or stale), DisposePackageVersions, DeletePackageVersions, the three resyncs
 * (Cloudsmith's single resync and bulk action by identifier, the CodeArtifact-shaped batch), the sync
 * status, DescribePackageVersion and ListPackageVersions against the app, and a step that runs the
 * sync worker. The reference model (version-rules.ts) is written from the documents' rules.
 *
 * After every step the gateway's answer must be the model's, and so must the stored state: each
 * version's row (status, revision, identifier, how many assets) and its sync job, read from the store.
 *
 * Resync is asynchronous: a resync only schedules the version's sync job, and the server's worker
 * pool runs it later. Here the app runs no pool; the `sync` step drives the worker in-process until
 * no job is due (TestGateway.sync), so when a sync happens is a step of the sequence like any other,
 * fast-check chooses it, and nothing waits on a clock. Between a resync and that step the model and
 * the status endpoint say "awaiting" (and a second resync is refused); after it, "completed" with a
 * new revision, or "failed" for a version disposed or deleted meanwhile.
 *
 * The model runs on each store: SQLite, then PostgreSQL (its blobs in the database).
 *
 * Each sequence runs on a package of its own (its first version added through the store, as a seed
 * would, the other two never published yet), so one gateway serves every run. `npm test`: MODEL_RUNS_TEST sequences; deep: 1,000.
 * A failure prints the seed, the path and the shrunk commands (with their replayPath); replay it with
 * VERSIONGATE_FUZZ_SEED, VERSIONGATE_FUZZ_PATH and VERSIONGATE_MODEL_REPLAY_PATH.
 */
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PackageKey } from '../../src/store/store.ts';
import { blobHeld } from '../helpers/blobs.ts';
import { testGateway, type TestGateway } from '../helpers/gateway.ts';
import { expectedFailures, expectedPublish, resyncable, syncOutcome, type Model, type Status, type SyncState } from './version-rules.ts';

const DEEP = process.env.VERSIONGATE_DEEP === '1';
const MODEL_RUNS_TEST = 60;
const RUNS = DEEP ? 1_000 : MODEL_RUNS_TEST;
const SEED = process.env.VERSIONGATE_FUZZ_SEED ? Number(process.env.VERSIONGATE_FUZZ_SEED) : undefined;
const PATH = process.env.VERSIONGATE_FUZZ_PATH;
const REPLAY_PATH = process.env.VERSIONGATE_MODEL_REPLAY_PATH;
const VERSIONS = ['1.0.0', '1.1.0', '2.0.0'] as const;
const OWNER = 'my_domain';
const REPO = 'my_repo';
/** A well-formed identifier that names nothing. */
const UNKNOWN_IDENTIFIER = 'zzzzzzzzzzzz';
const WRONG_STATE = 'The package is in the wrong state for the requested operation.';

/** The model: the statuses and revisions (version-rules.ts), and what publish and resync add. */
interface LifeModel extends Model {
  /** The identifier each version's row has, present or deleted (a deleted version keeps it); none if never published. */
  identifiers: Map<string, string>;
  /** Identifiers of versions deleted and then published again: they name nothing any more. */
  retired: string[];
  /** Each present version's assets: name → SHA-256. A disposed or deleted version has none. */
  assets: Map<string, Map<string, string>>;
  /** Each version's sync (present or deleted). */
  sync: Map<string, SyncState>;
}

interface Real {
  gw: TestGateway;
  token: string;
  key: PackageKey;
  query: string;
  /** Blob keys this sequence's assets ever had: those of assets no longer stored must be off the disk. */
  blobKeys: Set<string>;
}

type Failed = Record<string, { errorCode: string }>;
interface ChangeAnswer {
  successfulVersions: Record<string, { revision: string; status: string }>;
  failedVersions: Failed;
}

/** How often each outcome came up across the run: printed at the end, so a run shows what it reached. */
const tally = new Map<string, number>();
const seen = (outcome: string) => tally.set(outcome, (tally.get(outcome) ?? 0) + 1);

const codes = (f: Failed) => Object.fromEntries(Object.entries(f).map(([v, e]) => [v, e.errorCode]));
const statusOf = (m: LifeModel, v: string): Status | 'Deleted' => m.versions.get(v)?.status ?? 'Deleted';

/**
 * The stored state must be the model's after every step: each version's row, its assets (name and
 * SHA-256, their bytes on disk) and its sync job, read from the store (not through the API, which the
 * steps themselves check); and the bytes of every asset this sequence no longer has are gone.
 */
async function expectStoredState(m: LifeModel, r: Real, after: string): Promise<void> {
  const live = new Set<string>();
  for (const v of VERSIONS) {
    const snapshot = await r.gw.store.readVersion(r.key, v);
    const row = snapshot.version;
    const state = m.versions.get(v);
    const where = `after ${after}: stored ${v}`;
    if (!m.identifiers.has(v)) {
      expect(row, `${where}: never published`).toBeNull();
      continue;
    }
    if (!row) throw new Error(`${where}: no row`);
    if (state) expect({ status: row.status, revision: row.revision }, where).toEqual(state);
    else expect(row.status, where).toBe('Deleted');
    expect(row.identifier, `${where}: identifier`).toBe(m.identifiers.get(v));
    expect(row.assetCount, `${where}: assets`).toBe(m.assets.get(v)?.size ?? 0);
    const assets = await r.gw.store.listAssets(row.id, undefined, 10);
    expect(Object.fromEntries(assets.map((a) => [a.name, a.sha256])), `${where}: assets`).toEqual(Object.fromEntries(m.assets.get(v) ?? []));
    for (const a of assets) {
      r.blobKeys.add(a.blobKey);
      live.add(a.blobKey);
    }
    const job = await r.gw.store.readSyncJob(row.id);
    expect(job?.state, `${where}: sync`).toBe(m.sync.get(v));
  }
  for (const k of r.blobKeys) expect(await blobHeld(r.gw.blobs, k), `after ${after}: bytes of blob ${k} held`).toBe(live.has(k));
}

/** Every step checks its answer against the model, updates the model, then compares the store. */
abstract class Step implements fc.AsyncCommand<LifeModel, Real> {
  check = () => true;
  abstract step(m: LifeModel, r: Real): Promise<void>;
  abstract toString(): string;
  async run(m: LifeModel, r: Real): Promise<void> {
    await this.step(m, r);
    await expectStoredState(m, r, this.toString());
  }
}

class ChangeCommand extends Step {
  constructor(
    readonly kind: 'update' | 'dispose' | 'delete',
    readonly versions: string[],
    readonly target: 'Published' | 'Unlisted' | 'Archived',
    readonly expectedStatus: Status | undefined,
    readonly revisionMode: 'none' | 'current' | 'stale',
  ) {
    super();
  }
  async step(m: LifeModel, r: Real): Promise<void> {
    const revisions: Record<string, string> = {};
    if (this.revisionMode !== 'none') {
      for (const v of this.versions) {
        const rev = this.revisionMode === 'current' ? m.versions.get(v)?.revision : m.stale.get(v);
        if (rev) revisions[v] = rev;
      }
    }
    const path = { update: 'update_status', dispose: 'dispose', delete: 'delete' }[this.kind];
    const body = {
      versions: this.versions,
      ...(this.kind === 'update' ? { targetStatus: this.target } : {}),
      ...(this.expectedStatus ? { expectedStatus: this.expectedStatus } : {}),
      ...(Object.keys(revisions).length > 0 ? { versionRevisions: revisions } : {}),
    };
    const res = await r.gw.post(`/v1/package/versions/${path}?${r.query}`, body, r.token);
    const text = await res.text();
    expect(res.status, text).toBe(200);
    const answer = JSON.parse(text) as ChangeAnswer;
    const target: Status | undefined = this.kind === 'update' ? this.target : this.kind === 'dispose' ? 'Disposed' : undefined;
    const failures = expectedFailures(m, this.versions, this.kind, target, this.expectedStatus, revisions);
    expect(codes(answer.failedVersions)).toEqual(failures);
    if (Object.keys(failures).length > 0) {
      for (const c of new Set(Object.values(failures))) if (c !== 'SKIPPED') seen(`${this.kind} ${c}`);
      expect(answer.successfulVersions).toEqual({});
      return;
    }
    for (const v of this.versions) seen(`${this.kind} ${m.versions.get(v)!.status} → ${target ?? 'Deleted'}`);
    expect(Object.keys(answer.successfulVersions).sort()).toEqual([...this.versions].sort());
    for (const v of this.versions) {
      const before = m.versions.get(v)!;
      const got = answer.successfulVersions[v]!;
      if (this.kind !== 'update') m.assets.set(v, new Map()); // dispose and delete remove the assets
      if (this.kind === 'delete') {
        m.stale.set(v, before.revision);
        m.versions.delete(v);
        m.assets.delete(v);
        continue;
      }
      expect(got.status).toBe(target);
      if (before.status === target) {
        expect(got.revision, `asking ${v} for the status it has changes nothing`).toBe(before.revision);
      } else {
        expect(got.revision).not.toBe(before.revision);
        m.stale.set(v, before.revision);
        m.versions.set(v, { status: target!, revision: got.revision });
        // Setting an Unfinished version Published finishes its upload: its sync starts, as the last asset's would.
        if (before.status === 'Unfinished') m.sync.set(v, 'awaiting');
      }
    }
  }
  toString = () => `${this.kind}(${this.versions.join(',')}${this.kind === 'update' ? ` → ${this.target}` : ''}${this.expectedStatus ? `, expected ${this.expectedStatus}` : ''}, revisions ${this.revisionMode})`;
}

class PublishCommand extends Step {
  constructor(
    readonly version: string,
    readonly asset: 'a.bin' | 'b.bin',
    readonly content: 0 | 1,
    readonly unfinished: boolean,
    readonly wrongSha: boolean,
  ) {
    super();
  }
  async step(m: LifeModel, r: Real): Promise<void> {
    const bytes = Buffer.from(`${this.asset} content ${this.content}\n`);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const declared = this.wrongSha ? createHash('sha256').update('other bytes').digest('hex') : sha256;
    const state = m.versions.get(this.version);
    const want = expectedPublish(state && { status: state.status, assets: m.assets.get(this.version)! }, this.asset, declared, this.unfinished, !this.wrongSha);
    const res = await r.gw.app.request(
      `/v1/package/version/publish?${r.query}&version=${this.version}&asset=${this.asset}${this.unfinished ? '&unfinished=true' : ''}`,
      { method: 'POST', body: bytes, headers: { authorization: `Bearer ${r.token}`, 'content-type': 'application/octet-stream', 'x-amz-content-sha256': declared } },
    );
    const text = await res.text();
    seen(`publish ${want.kind}${want.kind === 'refused' ? ` ${want.http}` : ''} (${state?.status ?? 'absent'}${this.unfinished ? ', unfinished' : ''})`);
    if (want.kind === 'refused') {
      expect(res.status, text).toBe(want.http);
      expect(res.headers.get('x-amzn-errortype'), text).toBe(want.http === 409 ? 'ConflictException' : 'ValidationException');
      return;
    }
    expect(res.status, text).toBe(200);
    const answer = JSON.parse(text) as { version: string; versionRevision: string; status: string; asset: { name: string; hashes: Record<string, string> } };
    expect(answer.version).toBe(this.version);
    expect(answer.status).toBe(want.status);
    expect({ name: answer.asset.name, sha256: answer.asset.hashes['SHA-256'] }).toEqual({ name: this.asset, sha256 });
    if (want.kind === 'unchanged') {
      expect(answer.versionRevision, 'the same asset again changes nothing').toBe(state!.revision);
      return;
    }
    expect(answer.versionRevision).not.toBe(state?.revision ?? m.stale.get(this.version));
    if (state) m.stale.set(this.version, state.revision);
    m.versions.set(this.version, { status: want.status, revision: answer.versionRevision });
    // Every publish that changes the version puts its sync awaiting.
    m.sync.set(this.version, 'awaiting');
    if (want.kind === 'created') {
      // A version created again is a new version: a new identifier, and the deleted one's names nothing.
      const old = m.identifiers.get(this.version);
      const described = await describeVersion(r, this.version);
      expect(described.status, described.text).toBe(200);
      const identifier = described.body!.identifier;
      expect(identifier).not.toBe(old);
      expect(m.retired).not.toContain(identifier);
      if (old) m.retired.push(old);
      m.identifiers.set(this.version, identifier);
      m.assets.set(this.version, new Map([[this.asset, sha256]]));
    } else {
      m.assets.get(this.version)!.set(this.asset, sha256);
    }
  }
  toString = () => `publish(${this.version}, ${this.asset}#${this.content}${this.unfinished ? ', unfinished' : ''}${this.wrongSha ? ', wrong sha256' : ''})`;
}

/** Which identifier a Cloudsmith-shaped step names: a version's (present or deleted), a retired one, or none known. */
type IdentifierPick = (typeof VERSIONS)[number] | 'retired' | 'unknown';

/** What an identifier names in the model: a version (present or deleted), or nothing. */
function resolvePick(m: LifeModel, pick: IdentifierPick): { identifier: string; version: string | undefined } {
  if (pick === 'unknown') return { identifier: UNKNOWN_IDENTIFIER, version: undefined };
  if (pick === 'retired') {
    const last = m.retired[m.retired.length - 1];
    return { identifier: last ?? UNKNOWN_IDENTIFIER, version: undefined };
  }
  const identifier = m.identifiers.get(pick);
  return identifier ? { identifier, version: pick } : { identifier: UNKNOWN_IDENTIFIER, version: undefined };
}

/** Cloudsmith's answer to a resync of one identifier, from the model; the model is updated when it is accepted. */
function resyncByIdentifier(m: LifeModel, version: string | undefined): 'scheduled' | 'not-found' | 'wrong-state' {
  if (version === undefined) return 'not-found';
  if (!resyncable(statusOf(m, version), m.sync.get(version)!)) return 'wrong-state';
  m.sync.set(version, 'awaiting');
  return 'scheduled';
}

interface SyncStatusBody {
  identifier: string;
  version: string;
  status: number;
  is_sync_awaiting: boolean;
  is_sync_completed: boolean;
  is_sync_failed: boolean;
  is_resyncable: boolean;
  detail?: string;
}
const SYNC_CODES: Record<SyncState, number> = { awaiting: 1, completed: 3, failed: 4 };

function expectSyncStatus(body: SyncStatusBody, m: LifeModel, version: string, identifier: string): void {
  const sync = m.sync.get(version)!;
  expect({ identifier: body.identifier, version: body.version, status: body.status, awaiting: body.is_sync_awaiting, completed: body.is_sync_completed, failed: body.is_sync_failed, resyncable: body.is_resyncable }).toEqual({
    identifier,
    version,
    status: SYNC_CODES[sync],
    awaiting: sync === 'awaiting',
    completed: sync === 'completed',
    failed: sync === 'failed',
    resyncable: resyncable(statusOf(m, version), sync),
  });
}

class ResyncCommand extends Step {
  private named = '';
  constructor(readonly pick: IdentifierPick) {
    super();
  }
  async step(m: LifeModel, r: Real): Promise<void> {
    const { identifier, version } = resolvePick(m, this.pick);
    this.named = identifier;
    const res = await r.gw.post(`/v1/packages/${OWNER}/${REPO}/${identifier}/resync/`, '', r.token);
    const text = await res.text();
    const body = JSON.parse(text) as SyncStatusBody;
    const want = resyncByIdentifier(m, version);
    seen(`resync ${want}`);
    if (want === 'not-found') {
      expect({ status: res.status, body }, text).toEqual({ status: 404, body: { detail: 'Not found.' } });
    } else if (want === 'wrong-state') {
      expect({ status: res.status, body }, text).toEqual({ status: 400, body: { detail: WRONG_STATE } });
    } else {
      expect(res.status, text).toBe(200);
      expectSyncStatus(body, m, version!, identifier);
    }
  }
  toString = () => `resync(${this.pick}${this.named ? ` ${this.named}` : ''})`;
}

class BulkResyncCommand extends Step {
  private named: string[] = [];
  constructor(readonly picks: IdentifierPick[]) {
    super();
  }
  async step(m: LifeModel, r: Real): Promise<void> {
    const resolved = this.picks.map((p) => resolvePick(m, p));
    this.named = resolved.map((p) => p.identifier);
    const res = await r.gw.post(`/v1/bulk-action/${OWNER}/`, { action: 'Resync', identifiers: this.named, repository: REPO }, r.token);
    const text = await res.text();
    expect(res.status, text).toBe(200);
    // Each identifier on its own, in order, once (the same identifier twice is one).
    const actioned: string[] = [];
    const failed: Record<string, { reason: string }> = {};
    const once = new Set<string>();
    for (const { identifier, version } of resolved) {
      if (once.has(identifier)) continue;
      once.add(identifier);
      const outcome = resyncByIdentifier(m, version);
      seen(`bulk resync ${outcome}`);
      if (outcome === 'scheduled') actioned.push(identifier);
      else failed[identifier] = { reason: outcome === 'not-found' ? 'Not found.' : WRONG_STATE };
    }
    expect(JSON.parse(text)).toEqual({ action: 'Resync', packages_actioned: actioned, packages_failed_to_action: failed });
  }
  toString = () => `bulk-resync(${this.picks.join(',')}${this.named.length ? ` ${this.named.join(',')}` : ''})`;
}

class BatchResyncCommand extends Step {
  constructor(readonly versions: string[]) {
    super();
  }
  async step(m: LifeModel, r: Real): Promise<void> {
    const res = await r.gw.post(`/v1/package/versions/resync?${r.query}`, { versions: this.versions }, r.token);
    const text = await res.text();
    expect(res.status, text).toBe(200);
    const answer = JSON.parse(text) as ChangeAnswer;
    // All or nothing, like the other batches: a version absent is NOT_FOUND, one that cannot be resynced MISMATCHED_STATUS.
    const failures: Record<string, string> = {};
    for (const v of this.versions) {
      const state = m.versions.get(v);
      if (!state) failures[v] = 'NOT_FOUND';
      else if (!resyncable(state.status, m.sync.get(v)!)) failures[v] = 'MISMATCHED_STATUS';
    }
    if (Object.keys(failures).length > 0) for (const v of this.versions) failures[v] ??= 'SKIPPED';
    seen(`batch resync ${Object.keys(failures).length > 0 ? 'refused' : 'scheduled'}`);
    expect(codes(answer.failedVersions), text).toEqual(failures);
    if (Object.keys(failures).length > 0) {
      expect(answer.successfulVersions).toEqual({});
      return;
    }
    // Scheduling changes neither status nor revision: the sync, when it completes, gives the new revision.
    expect(answer.successfulVersions).toEqual(Object.fromEntries(this.versions.map((v) => [v, m.versions.get(v)!])));
    for (const v of this.versions) m.sync.set(v, 'awaiting');
  }
  toString = () => `batch-resync(${this.versions.join(',')})`;
}

/** The sync worker runs every job due now to its end, in-process: the asynchronous half of publish and resync. */
class SyncCommand extends Step {
  async step(m: LifeModel, r: Real): Promise<void> {
    const due = VERSIONS.filter((v) => m.sync.get(v) === 'awaiting' && syncOutcome(statusOf(m, v)) !== 'waits');
    const ran = await r.gw.sync();
    expect(ran, `jobs run (due: ${due.join(', ') || 'none'})`).toBe(due.length);
    for (const v of due) {
      seen(`sync ${syncOutcome(statusOf(m, v))} (${statusOf(m, v)})`);
      if (syncOutcome(statusOf(m, v)) === 'fails') {
        m.sync.set(v, 'failed');
        continue;
      }
      m.sync.set(v, 'completed');
      // The new revision is the gateway's to choose: the model learns it from DescribePackageVersion,
      // and it must be new. Every other version's revision is checked unchanged by the store comparison.
      const before = m.versions.get(v)!;
      const described = await describeVersion(r, v);
      expect(described.status, described.text).toBe(200);
      expect(described.body!.status).toBe(before.status);
      expect(described.body!.revision, `a completed sync gives ${v} a new revision`).not.toBe(before.revision);
      m.stale.set(v, before.revision);
      m.versions.set(v, { status: before.status, revision: described.body!.revision });
    }
  }
  toString = () => 'sync()';
}

class SyncStatusCommand extends Step {
  private named = '';
  constructor(readonly pick: IdentifierPick) {
    super();
  }
  async step(m: LifeModel, r: Real): Promise<void> {
    const { identifier, version } = resolvePick(m, this.pick);
    this.named = identifier;
    const res = await r.gw.get(`/v1/packages/${OWNER}/${REPO}/${identifier}/status/`, r.token);
    const text = await res.text();
    if (version === undefined) {
      expect({ status: res.status, body: JSON.parse(text) }, text).toEqual({ status: 404, body: { detail: 'Not found.' } });
      return;
    }
    // A deleted version keeps its identifier, and its sync status can still be read.
    expect(res.status, text).toBe(200);
    expectSyncStatus(JSON.parse(text) as SyncStatusBody, m, version, identifier);
  }
  toString = () => `sync-status(${this.pick}${this.named ? ` ${this.named}` : ''})`;
}

interface Described {
  status: number;
  text: string;
  body?: { status: string; revision: string; identifier: string };
}
async function describeVersion(r: Real, version: string): Promise<Described> {
  const res = await r.gw.get(`/v1/package/version?${r.query}&version=${version}`, r.token);
  const text = await res.text();
  return { status: res.status, text, ...(res.status === 200 ? { body: (JSON.parse(text) as { packageVersion: Described['body'] }).packageVersion } : {}) };
}

class DescribeCommand extends Step {
  constructor(readonly version: string) {
    super();
  }
  async step(m: LifeModel, r: Real): Promise<void> {
    const got = await describeVersion(r, this.version);
    const state = m.versions.get(this.version);
    if (!state) {
      expect(got.status, got.text).toBe(404);
      return;
    }
    expect(got.status, got.text).toBe(200);
    expect({ status: got.body!.status, revision: got.body!.revision, identifier: got.body!.identifier }).toEqual({ ...state, identifier: m.identifiers.get(this.version) });
  }
  toString = () => `describe(${this.version})`;
}

class ListCommand extends Step {
  constructor(readonly status: Status | undefined) {
    super();
  }
  async step(m: LifeModel, r: Real): Promise<void> {
    const res = await r.gw.post(`/v1/package/versions?${r.query}${this.status ? `&status=${this.status}` : ''}`, {}, r.token);
    const body = (await res.json()) as { versions?: Array<{ version: string; status: string; revision: string; identifier: string }> };
    expect(res.status, JSON.stringify(body)).toBe(200);
    const got = Object.fromEntries(body.versions!.map((v) => [v.version, { status: v.status, revision: v.revision, identifier: v.identifier }]));
    // Unlisted versions are left out unless asked for by status (as npm view leaves them out).
    const want = Object.fromEntries(
      [...m.versions].filter(([, s]) => (this.status ? s.status === this.status : s.status !== 'Unlisted')).map(([v, s]) => [v, { ...s, identifier: m.identifiers.get(v) }]),
    );
    expect(got).toEqual(want);
  }
  toString = () => `list(${this.status ?? 'default'})`;
}

const STATUS = fc.constantFrom<Status>('Published', 'Unfinished', 'Unlisted', 'Archived', 'Disposed');
// An expected status one time in four: given, it mostly mismatches, and the change is refused.
const EXPECTED = fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: STATUS });
const REVISION_MODE = fc.constantFrom('none', 'current', 'stale') as fc.Arbitrary<'none' | 'current' | 'stale'>;
const subset = fc.subarray([...VERSIONS], { minLength: 1 });
const version = fc.constantFrom(...VERSIONS);
// Mostly versions' own identifiers, so that most resyncs reach the rules rather than the 404.
const PICK = fc.constantFrom<IdentifierPick>(...VERSIONS, ...VERSIONS, ...VERSIONS, 'retired', 'unknown');
const update = fc
  .tuple(subset, fc.constantFrom('Published', 'Unlisted', 'Archived') as fc.Arbitrary<'Published' | 'Unlisted' | 'Archived'>, EXPECTED, REVISION_MODE)
  .map(([vs, t, e, rm]) => new ChangeCommand('update', vs, t, e, rm));
// Two asset names with two contents each: the same asset again, other bytes under a taken name, and a second asset all come up.
const publish = fc
  .tuple(version, fc.constantFrom<'a.bin' | 'b.bin'>('a.bin', 'b.bin'), fc.constantFrom<0 | 1>(0, 1), fc.boolean(), fc.constantFrom(false, false, false, true))
  .map(([v, a, c, u, w]) => new PublishCommand(v, a, c, u, w));
// fc.commands draws each command from one of these alike: publish and update are listed more than
// once so that versions are created, filled and moved through every status often enough for the rarer
// rules (a retried asset on an Archived version, an Unfinished version refused Unlisted) to come up.
const commands = [
  publish,
  publish,
  publish,
  update,
  update,
  fc.tuple(subset, EXPECTED, REVISION_MODE).map(([vs, e, rm]) => new ChangeCommand('dispose', vs, 'Published', e, rm)),
  // DeletePackageVersions takes an expected status but no revisions (CodeArtifact's shape).
  fc.tuple(subset, EXPECTED).map(([vs, e]) => new ChangeCommand('delete', vs, 'Published', e, 'none')),
  PICK.map((p) => new ResyncCommand(p)),
  fc.array(PICK, { minLength: 1, maxLength: 4 }).map((ps) => new BulkResyncCommand(ps)),
  subset.map((vs) => new BatchResyncCommand(vs)),
  // The worker runs often enough that resyncs find versions synced, not still awaiting.
  fc.constant(null).map(() => new SyncCommand()),
  fc.constant(null).map(() => new SyncCommand()),
  PICK.map((p) => new SyncStatusCommand(p)),
  version.map((v) => new DescribeCommand(v)),
  fc.option(STATUS, { nil: undefined }).map((s) => new ListCommand(s)),
];

describe.each(['sqlite', 'postgres'] as const)('the version life cycle against its model on %s', (engine) => {
  let gw: TestGateway;
  let token: string;
  beforeAll(async () => {
    gw = await testGateway({ engine });
    tally.clear(); // each store's outcomes of its own
    token = await gw.token('model', ['release-managers', 'security', 'publishers']);
  });
  afterAll(() => gw?.close());

  /** The blob keys the assets name, and the blob keys whose bytes the blob store holds. */
  const blobKeys = async (): Promise<{ stored: Set<string>; held: string[] }> => {
    if (engine === 'postgres') {
      const pool = (gw.store as unknown as { pool: pg.Pool }).pool;
      const stored = new Set((await pool.query<{ k: string }>('SELECT blob_key AS k FROM assets')).rows.map((r) => r.k));
      return { stored, held: (await pool.query<{ k: string }>('SELECT blob_key AS k FROM blobs')).rows.map((r) => r.k) };
    }
    const db = new Database(join(gw.dataDir, 'data', 'versiongate.db'), { readonly: true });
    const stored = new Set((db.prepare('SELECT blob_key AS k FROM assets').all() as Array<{ k: string }>).map((a) => a.k));
    db.close();
    const blobDir = join(gw.dataDir, 'data', 'blobs');
    const held = readdirSync(blobDir, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .flatMap((d) => readdirSync(join(blobDir, d.name)));
    return { stored, held };
  };

  it(`agrees with the model over ${RUNS} random sequences of publish, status changes, dispose, delete, resync and sync`, async () => {
    // The demo's synced versions are not this test's: nothing of theirs may be due when a sync step runs.
    await gw.sync();
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.commands(commands, { maxCommands: 30, size: 'max', ...(REPLAY_PATH ? { replayPath: REPLAY_PATH } : {}) }), async (cmds) => {
        run++;
        const key: PackageKey = { domainOwner: '111122223333', domain: OWNER, repository: REPO, format: 'generic', namespace: 'model', name: `pkg-${run}` };
        const model: LifeModel = { versions: new Map(), stale: new Map(), identifiers: new Map(), retired: [], assets: new Map(), sync: new Map() };
        // The first version as a seed adds it (Published, no assets, its sync awaiting); the others are
        // free numbers, so that publishes create versions, fill them and meet them in every status.
        const seeded = VERSIONS[0];
        const revision = `seed-${run}`;
        await gw.store.addVersion({ key, version: seeded, status: 'Published', revision, assets: [] });
        model.versions.set(seeded, { status: 'Published', revision });
        model.identifiers.set(seeded, (await gw.store.readVersion(key, seeded)).version!.identifier);
        model.assets.set(seeded, new Map());
        model.sync.set(seeded, 'awaiting');
        const query = `domain=${OWNER}&domain-owner=111122223333&repository=${REPO}&format=generic&namespace=model&package=pkg-${run}`;
        try {
          await fc.asyncModelRun(() => ({ model, real: { gw, token, key, query, blobKeys: new Set() } }), cmds);
        } finally {
          // The next sequence's sync steps count only its own jobs.
          await gw.sync();
        }
      }),
      { numRuns: RUNS, ...(SEED !== undefined ? { seed: SEED } : {}), ...(PATH ? { path: PATH } : {}), verbose: 1 },
    );
    // Refused uploads (a conflict, a wrong SHA-256) and removed assets leave no bytes behind: the blob
    // store holds exactly the bytes of the assets stored, the demo's and every sequence's.
    const { stored, held: onDisk } = await blobKeys();
    expect(onDisk.filter((f) => !stored.has(f)), 'bytes no asset has').toEqual([]);
    expect([...stored].filter((k) => !onDisk.includes(k)), 'assets whose bytes are gone').toEqual([]);
    const steps = [...tally.values()].reduce((a, b) => a + b, 0);
    console.log(`model on ${engine}: ${run} sequences, ${steps} state-changing steps checked; outcomes:\n${[...tally].sort().map(([k, n]) => `  ${k}: ${n}`).join('\n')}`);
  }, DEEP ? 3_600_000 : 300_000);
});
