/**
 * Plans one PublishPackageVersion call with CodeArtifact's semantics for generic packages:
 *   - a version that does not exist (or was deleted) is created with this asset, Published, or
 *     Unfinished when the call says `unfinished`;
 *   - an Unfinished version takes more assets, and becomes Published with the first call that omits
 *     `unfinished`;
 *   - once a version is finished (Published, Unlisted, Archived) or Disposed, it takes no more assets;
 *   - an asset name is published once: the same bytes again (same SHA-256) is a harmless retry that
 *     changes nothing, different bytes under the same name are a conflict.
 * Pure: the caller reads the current state, and commits the plan guarded by the revision it read.
 */
import type { PackageFormat } from '../resource/formats.ts';
import type { VersionChange } from './plan-change.ts';
import type { VersionStatus } from './statuses.ts';

/** Only generic packages are published through this API, as in CodeArtifact: the others have their own clients. */
export function publishFormatProblem(format: PackageFormat): string | undefined {
  return format === 'generic' ? undefined : `format must be generic: only generic packages can be published with PublishPackageVersion, got '${format}'`;
}

/** CodeArtifact's quota: assets per package version. */
export const MAX_ASSETS_PER_VERSION = 150;

export interface PublishState {
  /** null when the version never existed. A Deleted version is passed with its status and revision. */
  version: { status: VersionStatus; revision: string; assetCount: number } | null;
  /** The asset of that name already in the version (never for a Deleted version), with its SHA-256. */
  asset: { sha256: string } | null;
}

export interface PublishRequest {
  version: string;
  assetName: string;
  /** The asset's SHA-256 (hex, lowercase) as declared and verified against the bytes. */
  sha256: string;
  unfinished: boolean;
}

export type PublishPlan =
  | {
      ok: true;
      /** The version's status and revision once the plan is committed. */
      status: VersionStatus;
      revision: string;
      /** Whether the uploaded bytes become a new asset (false: the same asset was already there). */
      addAsset: boolean;
      /**
       * The version's change for the audit record, or null when nothing changes. A version that did not
       * exist is recorded as coming from Deleted with an empty revision: to the registry, a version that
       * never existed and one that was deleted are the same thing, a version number free to publish.
       */
      change: VersionChange | null;
      /** The version row is written anew (created, or revived from Deleted): it gets a new published time. */
      fresh: boolean;
    }
  | {
      ok: false;
      /** The asset name is taken by other bytes, the version takes no more assets, or it has as many as it may. */
      reason: 'asset-conflict' | 'version-conflict' | 'quota';
      message: string;
    };

export function planPublish(state: PublishState, req: PublishRequest, newRevision: () => string): PublishPlan {
  const target: VersionStatus = req.unfinished ? 'Unfinished' : 'Published';
  const current = state.version;

  if (current === null || current.status === 'Deleted') {
    const revision = newRevision();
    const before = current === null ? { status: 'Deleted' as const, revision: '' } : { status: current.status, revision: current.revision };
    return { ok: true, status: target, revision, addAsset: true, fresh: true, change: { version: req.version, before, after: { status: target, revision } } };
  }

  const sameAsset = state.asset !== null && state.asset.sha256 === req.sha256;
  if (state.asset !== null && !sameAsset) {
    return {
      ok: false,
      reason: 'asset-conflict',
      message: `asset ${req.assetName} already exists in version ${req.version} with different content (SHA-256 ${state.asset.sha256}); delete the version to publish it again`,
    };
  }

  switch (current.status) {
    case 'Unfinished': {
      if (!sameAsset && current.assetCount >= MAX_ASSETS_PER_VERSION) {
        return { ok: false, reason: 'quota', message: `version ${req.version} already has ${MAX_ASSETS_PER_VERSION} assets, the most a version may have` };
      }
      if (sameAsset && target === 'Unfinished') return unchanged(current);
      const revision = newRevision();
      return {
        ok: true,
        status: target,
        revision,
        addAsset: !sameAsset,
        fresh: false,
        change: { version: req.version, before: { status: current.status, revision: current.revision }, after: { status: target, revision } },
      };
    }
    case 'Published':
    case 'Unlisted':
    case 'Archived':
      // A retried final call (same asset, same bytes) succeeds without changing anything.
      if (sameAsset && !req.unfinished) return unchanged(current);
      return {
        ok: false,
        reason: 'version-conflict',
        message: req.unfinished
          ? `version ${req.version} is ${current.status}: a finished version cannot become Unfinished again`
          : `version ${req.version} is ${current.status}: assets can be added only while a version is Unfinished; delete the version to publish it again`,
      };
    case 'Disposed':
      return { ok: false, reason: 'version-conflict', message: `version ${req.version} is Disposed: delete it to publish it again` };
  }
}

function unchanged(current: { status: VersionStatus; revision: string }): PublishPlan {
  return { ok: true, status: current.status, revision: current.revision, addAsset: false, change: null, fresh: false };
}
