/**
 * The reference model of package version statuses, written from the documents rather than from
 * src/registry, so the gateway is checked against the rules as they are documented:
 *
 * - status changes, dispose and delete: the seed document "Atualizar o status da versão do pacote"
 *   (/work/shared/seeds, CodeArtifact's UpdatePackageVersionsStatus page);
 * - publish: the README's PublishPackageVersion section (CodeArtifact's publish semantics for generic
 *   packages; the seeds do not cover publishing);
 * - resync and sync: the seed document "Package Resynchronization" (Cloudsmith) and the README's
 *   "Synchronisation and resync".
 *
 * Shared by the model-based and the race tests.
 */
export type Status = 'Published' | 'Unfinished' | 'Unlisted' | 'Archived' | 'Disposed';

export interface Model {
  /** Present versions only; a deleted version is absent. */
  versions: Map<string, { status: Status; revision: string }>;
  /** Revisions a version once had and no longer has. */
  stale: Map<string, string>;
}

/** The reference: which versions fail with which code, from the seed document's rules. */
export function expectedFailures(m: Model, versions: string[], kind: 'update' | 'dispose' | 'delete', target: Status | undefined, expectedStatus: Status | undefined, revisions: Record<string, string>): Record<string, string> {
  const failed: Record<string, string> = {};
  for (const v of versions) {
    const state = m.versions.get(v);
    if (!state) failed[v] = 'NOT_FOUND';
    else if (revisions[v] !== undefined && revisions[v] !== state.revision) failed[v] = 'MISMATCHED_REVISION';
    else if (expectedStatus !== undefined && expectedStatus !== state.status) failed[v] = 'MISMATCHED_STATUS';
    else if (kind === 'update' && transitionRefused(state.status, target!)) failed[v] = 'NOT_ALLOWED';
  }
  if (Object.keys(failed).length > 0) for (const v of versions) failed[v] ??= 'SKIPPED';
  return failed;
}

/**
 * An update (never Disposed: that is dispose's) that may not happen. The seed: "the only action that
 * can be performed on a disposed version is deleting it". The README: an Unfinished version is
 * completed by publishing it, so from Unfinished only Published is a target (staying is no change).
 */
function transitionRefused(from: Status, to: Status): boolean {
  if (from === to) return false;
  if (from === 'Disposed') return true;
  if (from === 'Unfinished') return to !== 'Published';
  return false;
}

/** A version's synchronisation, as the status endpoint shows it (a version always has a job here). */
export type SyncState = 'awaiting' | 'completed' | 'failed';

/**
 * Whether a resync is accepted. Cloudsmith's resync is "a retry mechanism … equivalent to delete and
 * add again": there is something to add again only while the version has its files (not Disposed,
 * not Deleted), and it is retried only once the last sync is over (completed or failed), never while
 * one is awaiting. An Unfinished version's sync waits for its last asset, so it is awaiting too.
 */
export function resyncable(status: Status | 'Deleted', sync: SyncState): boolean {
  return status !== 'Disposed' && status !== 'Deleted' && sync !== 'awaiting';
}

/**
 * What the sync worker does to one version whose sync is awaiting: nothing while it is Unfinished
 * (its sync waits for the last asset); a version disposed or deleted since its sync was scheduled is
 * left as it is and its sync fails; any other completes, keeping the status and giving a new
 * revision (its assets and metadata were processed again: the revision names them).
 */
export function syncOutcome(status: Status | 'Deleted'): 'waits' | 'fails' | 'completes' {
  if (status === 'Unfinished') return 'waits';
  if (status === 'Disposed' || status === 'Deleted') return 'fails';
  return 'completes';
}

export type PublishExpectation =
  /** The version is created (it never existed or was deleted): a new revision and a new identifier. */
  | { kind: 'created'; status: 'Published' | 'Unfinished' }
  /** An Unfinished version takes the asset (or is finished by it): a new revision. */
  | { kind: 'changed'; status: 'Published' | 'Unfinished'; addsAsset: boolean }
  /** The same asset again (a retry): nothing changes. */
  | { kind: 'unchanged'; status: Status }
  /** 409: the asset name holds other bytes, or the version takes no more assets. 400: the bytes are not the declared SHA-256. */
  | { kind: 'refused'; http: 400 | 409 };

/**
 * PublishPackageVersion for one asset, from the README: a version that does not exist is created
 * (Unfinished with `unfinished`, else Published); an Unfinished one takes more assets and is
 * Published by the first call without `unfinished`; a finished or Disposed one takes none, and a
 * finished one never becomes Unfinished again; an asset name holds one set of bytes (the same bytes
 * again are a harmless retry). The version is judged on the declared SHA-256 (x-amz-content-sha256),
 * before a byte is read; the bytes are checked against it only once the version can take them.
 */
export function expectedPublish(
  state: { status: Status; assets: ReadonlyMap<string, string> } | undefined,
  asset: string,
  declaredSha256: string,
  unfinished: boolean,
  declaredMatches: boolean,
): PublishExpectation {
  const target = unfinished ? 'Unfinished' : 'Published';
  let plan: PublishExpectation;
  if (!state) plan = { kind: 'created', status: target };
  else {
    const existing = state.assets.get(asset);
    const same = existing === declaredSha256;
    if (existing !== undefined && !same) return { kind: 'refused', http: 409 };
    if (state.status === 'Unfinished') plan = same && unfinished ? { kind: 'unchanged', status: 'Unfinished' } : { kind: 'changed', status: target, addsAsset: !same };
    else if (state.status === 'Disposed') return { kind: 'refused', http: 409 };
    else if (same && !unfinished) plan = { kind: 'unchanged', status: state.status };
    else return { kind: 'refused', http: 409 };
  }
  return declaredMatches ? plan : { kind: 'refused', http: 400 };
}
