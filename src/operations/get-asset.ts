/**
 * GetPackageVersionAsset: one asset's bytes, streamed. Cedar decides first; then the version must be
 * downloadable (Published or Unlisted) and synchronised (see src/sync/availability.ts), at the
 * revision asked for when one is given, and the asset must exist. Its file is opened before the read
 * is recorded and answered, so a dispose or delete that commits meanwhile can no longer cut the
 * download short; if it committed between the read and the open, the bytes are gone and the request
 * is decided again on the new state.
 */
import { ConflictError, InternalError, NotFoundError } from '../errors.ts';
import { downloadProblem, exists } from '../registry/statuses.ts';
import { displayName } from '../resource/package-arn.ts';
import { BlobMissingError, type OpenBlob } from '../store/blob-store.ts';
import { syncUnavailable } from '../sync/availability.ts';
import type { OperationDeps } from './deps.ts';
import { authorize, missingPackage, missingVersion, packageTarget, type PackageRequestInput } from './gate.ts';

const MAX_ATTEMPTS = 3;

export interface GetAssetInput extends PackageRequestInput {
  version: string;
  asset: string;
  /** When given, the version must currently have this revision. */
  revision?: string | undefined;
}

export interface AssetDownload extends OpenBlob {
  assetName: string;
  version: string;
  revision: string;
}

export async function getAsset(deps: OperationDeps, input: GetAssetInput): Promise<AssetDownload> {
  const target = await packageTarget(deps, input.coordinates);
  const name = displayName(target.ref.format, target.ref.namespace, target.ref.name);
  for (let attempt = 1; ; attempt++) {
    const snapshot = await deps.store.readVersion(target.ref, input.version, input.asset);
    const current = snapshot.version && exists(snapshot.version.status) ? snapshot.version : null;
    const allowed = await authorize(deps, input.caller, {
      target,
      action: 'GetPackageVersionAsset',
      context: { version: input.version, asset: input.asset, ...(current ? { currentStatus: current.status } : {}) },
      request: { versions: [input.version], asset: input.asset, ...(input.revision ? { revision: input.revision } : {}) },
    });
    const missing = missingPackage(snapshot, target.ref) ?? (current ? undefined : missingVersion(target.ref, input.version));
    if (missing) return allowed.refuse('not_found', missing);
    const version = current!;
    const problem = downloadProblem(version.status);
    if (problem) {
      return allowed.refuse('rejected', new ConflictError(`version ${input.version} of package ${name} cannot be downloaded: ${problem}`, 'package-version', input.version));
    }
    const unsynced = syncUnavailable(version.syncState, version.syncReason);
    if (unsynced) {
      return allowed.refuse('rejected', new ConflictError(`version ${input.version} of package ${name} cannot be downloaded yet: ${unsynced}`, 'package-version', input.version));
    }
    if (input.revision !== undefined && input.revision !== version.revision) {
      return allowed.refuse(
        'rejected',
        new ConflictError(`version ${input.version} of package ${name} has another revision: current revision: ${version.revision}, requested revision: ${input.revision}`, 'package-version', input.version),
      );
    }
    if (!snapshot.asset) {
      return allowed.refuse('not_found', new NotFoundError(`asset ${input.asset} does not exist in version ${input.version} of package ${name}`, 'asset', input.asset));
    }
    let blob: OpenBlob;
    try {
      blob = await deps.blobs.open(snapshot.asset.blobKey);
    } catch (err) {
      if (!(err instanceof BlobMissingError)) throw err;
      // The bytes went after the read: a dispose or delete committed in between. Decide again.
      if (attempt < MAX_ATTEMPTS) continue;
      deps.logger.error('asset bytes missing for a downloadable version', { blobKey: snapshot.asset.blobKey, version: input.version });
      return allowed.refuse('rejected', new InternalError({ cause: err }));
    }
    try {
      await allowed.recordRead();
    } catch (err) {
      await blob.stream.cancel();
      throw err;
    }
    return { ...blob, assetName: snapshot.asset.name, version: version.version, revision: version.revision };
  }
}
