import type { Clock } from '../clock.ts';
import type { Logger } from '../log.ts';
import type { Authorizer } from '../policy/engine.ts';
import type { BlobStore } from '../store/blob-store.ts';
import type { Store } from '../store/store.ts';
import type { PageTokens } from './page-token.ts';

/** What operations need, passed in by the composition root. */
export interface OperationDeps {
  store: Store;
  blobs: BlobStore;
  /** The live policy set, read per request so a reload can swap it atomically. */
  authorizer: () => Authorizer;
  clock: Clock;
  region: string;
  /** The gateway's account (VERSIONGATE_ACCOUNT_ID): the owner of the domains CreateDomain creates, and of a domain named without one. */
  accountId: string;
  logger: Logger;
  /**
   * Told after a commit that scheduled a sync (a publish, a resync), so this process's worker pool
   * starts it now instead of at its next poll. Without it the job still runs: the pool polls.
   */
  syncScheduled?: (() => void) | undefined;
}

/** The package API (publish, list, describe, assets, download) needs a little more. */
export interface PackageApiDeps extends OperationDeps {
  /** Signs and checks the listings' nextToken. */
  pageTokens: PageTokens;
  /** The largest asset PublishPackageVersion accepts, in bytes. */
  maxAssetBytes: number;
}
