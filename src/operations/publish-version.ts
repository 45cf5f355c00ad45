/**
 * PublishPackageVersion: one asset of a generic package version, streamed to disk.
 *
 * The order is the one every operation follows, with the upload in the middle:
 *   read the version → Cedar decides (a deny never reads the body) → plan with the declared SHA-256
 *   (a version that cannot take the asset is refused before the body is read) → reserve a blob key →
 *   stream the body to disk while hashing it (bounded, and checked against x-amz-content-sha256) →
 *   commit the version, the asset and the audit record in one transaction, guarded by the revision
 *   the decision was made on.
 * The upload can take long; if the version changed meanwhile, the request is read, decided and
 * planned again on the new state (the bytes stay on disk), up to three times. Bytes that end up
 * unused are removed; a crash before the commit leaves them reserved, and the next start removes them.
 */
import { AccessDeniedError, ApiError, ConflictError, InternalError, PayloadTooLargeError, ServiceQuotaExceededError, ValidationError, WriteOutcomeUnknownError } from '../errors.ts';
import { planPublish, type PublishPlan } from '../registry/plan-publish.ts';
import { newRevision } from '../registry/revision.ts';
import { exists } from '../registry/statuses.ts';
import { assetSummary, packageMembers } from '../registry/version-view.ts';
import { BlobDigestMismatchError, BlobSourceError, BlobTooLargeError } from '../store/blob-store.ts';
import type { AssetInput, VersionSnapshot } from '../store/store.ts';
import { expiredError, removeBlobs } from './change-versions.ts';
import type { PackageApiDeps } from './deps.ts';
import { displayName } from '../resource/package-arn.ts';
import { authorize, missingPackage, packageTarget, type Allowed, type PackageRequestInput, type PackageTarget } from './gate.ts';
import { commitDeadline } from './caller.ts';

const MAX_ATTEMPTS = 3;

export interface PublishInput extends PackageRequestInput {
  version: string;
  assetName: string;
  /** The asset's SHA-256 as the request declares it (x-amz-content-sha256), lowercase hex. */
  sha256: string;
  unfinished: boolean;
  body: ReadableStream<Uint8Array>;
}

export async function publishVersion(deps: PackageApiDeps, input: PublishInput) {
  const target = await packageTarget(deps, input.coordinates);
  const request = { versions: [input.version], assetName: input.assetName, assetSHA256: input.sha256, unfinished: input.unfinished };

  let { snapshot, allowed, plan } = await decide(deps, target, input, request);

  const blobKey = deps.blobs.newKey();
  await deps.store.reserveBlob(blobKey);
  let claimed = false;
  try {
    let asset: AssetInput;
    try {
      asset = await deps.blobs.ingest(input.assetName, blobKey, input.body, { maxBytes: deps.maxAssetBytes, expectedSha256: input.sha256 });
    } catch (err) {
      return await allowed.refuse('rejected', uploadError(err));
    }
    const summary = { ...request, assetSize: asset.size };

    for (let attempt = 1; ; attempt++) {
      if (attempt > 1) ({ snapshot, allowed, plan } = await decide(deps, target, input, summary));
      const audit = { ...allowed.record('applied', 200), request: summary, changes: plan.change ? [plan.change] : [] };
      let result: Awaited<ReturnType<typeof deps.store.commitVersionChanges>>;
      try {
        result = await deps.store.commitVersionChanges({
          packageId: snapshot.packageId,
          guards: [{ version: input.version, revision: snapshot.version?.revision ?? null }],
          changes: [],
          disposeAssets: false,
          publish: plan.change
            ? {
                key: target.ref,
                version: input.version,
                status: plan.status,
                revision: plan.revision,
                fresh: plan.fresh,
                asset: plan.addAsset ? asset : undefined,
                // As decide() checks the origin configuration: for a version the package does not hold.
                originGuarded: !snapshot.version || !exists(snapshot.version.status),
              }
            : undefined,
          audit,
          // Checked when the commit's batch runs: past it nothing is published, and the decision is recorded as a timeout.
          expired: commitDeadline(input.caller, () => ({ ...allowed.record('timeout', 503), request: summary })),
        });
      } catch (err) {
        // The transaction rolled back with its record; the decision is still recorded, as a failure
        // with the status the client is told. Unless it may have committed after all: then its own
        // record may be in the chain, and a failure beside it would contradict it.
        if (err instanceof WriteOutcomeUnknownError) throw err;
        const status = err instanceof ApiError ? err.status : 500;
        await deps.store.appendAudit({ ...allowed.record('rejected', status), request: summary }).catch((e: unknown) => deps.logger.error('could not record a failed publish', { err: e }));
        throw err;
      }
      if (!result.ok && result.reason === 'expired') throw expiredError(input.caller);
      if (result.ok) {
        claimed = plan.change !== null && plan.addAsset;
        if (plan.change) deps.syncScheduled?.();
        return { ...packageMembers(target.ref), version: input.version, versionRevision: plan.revision, status: plan.status, asset: assetSummary(asset) };
      }
      if (attempt >= MAX_ATTEMPTS) {
        return await allowed.refuse(
          'conflict',
          new ConflictError(`version ${input.version} kept changing while this asset was published; nothing was changed, try again`, 'package-version', input.version),
        );
      }
    }
  } finally {
    // Bytes no commit claimed (refused, conflicting, the same asset again, or an error) go now.
    if (!claimed) await removeBlobs(deps, [blobKey]);
  }
}

type AcceptedPlan = Extract<PublishPlan, { ok: true }>;

/** Read, ask Cedar, plan: the plan must accept the asset, or the refusal is recorded and thrown. */
async function decide(
  deps: PackageApiDeps,
  target: PackageTarget,
  input: PublishInput,
  request: Record<string, unknown>,
): Promise<{ snapshot: VersionSnapshot; allowed: Allowed; plan: AcceptedPlan }> {
  const snapshot = await deps.store.readVersion(target.ref, input.version, input.assetName);
  // A deny, or any refusal below, answers before a byte of the body is read (the server then drains
  // a little of it, or closes the connection).
  const allowed = await authorize(deps, input.caller, {
    target,
    action: 'PublishPackageVersion',
    context: {
      version: input.version,
      assetName: input.assetName,
      unfinished: input.unfinished,
      ...(snapshot.version ? { currentStatus: snapshot.version.status } : {}),
    },
    request,
  });
  const missing = missingPackage(snapshot, target.ref, { packageMayBeMissing: true });
  if (missing) return allowed.refuse('not_found', missing);
  const v = snapshot.version;
  if (!v || !exists(v.status)) {
    // The package's origin configuration (PutPackageOriginConfiguration) may block new versions from
    // being published directly; an Unfinished version that exists still takes its remaining assets.
    const record = snapshot.packageId === null ? null : await deps.store.readPackageRecord(target.ref);
    if (record?.package?.origin.publish === 'BLOCK') {
      return allowed.refuse(
        'rejected',
        new AccessDeniedError(`package ${displayName(target.ref.format, target.ref.namespace, target.ref.name)} does not accept new versions by publishing in repository ${target.ref.repository}: its origin configuration sets publish to BLOCK`),
      );
    }
  }
  const plan = planPublish(
    {
      version: v ? { status: v.status, revision: v.revision, assetCount: v.assetCount } : null,
      asset: snapshot.asset ? { sha256: snapshot.asset.sha256 } : null,
    },
    { version: input.version, assetName: input.assetName, sha256: input.sha256, unfinished: input.unfinished },
    newRevision,
  );
  if (!plan.ok) {
    const err =
      plan.reason === 'quota'
        ? new ServiceQuotaExceededError(plan.message, 'package-version', input.version)
        : plan.reason === 'asset-conflict'
          ? new ConflictError(plan.message, 'asset', input.assetName)
          : new ConflictError(plan.message, 'package-version', input.version);
    return allowed.refuse('rejected', err);
  }
  return { snapshot, allowed, plan };
}

/** What the client is told when its upload could not become an asset. */
function uploadError(err: unknown): ApiError {
  // Already an answer: the blob store could not reach its database (a 503 to retry).
  if (err instanceof ApiError) return err;
  if (err instanceof BlobTooLargeError) return new PayloadTooLargeError(`the asset is larger than ${err.maxBytes} bytes, the most this gateway accepts (VERSIONGATE_MAX_ASSET_SIZE)`);
  if (err instanceof BlobDigestMismatchError) return new ValidationError(`x-amz-content-sha256 does not match the asset: its SHA-256 is ${err.actual}, the request declared ${err.expected}`);
  if (err instanceof BlobSourceError) return new ValidationError(`${err.message}; nothing was published`, 'CANNOT_PARSE');
  return new InternalError({ cause: err });
}
