/**
 * What the gateway logs about its audit chain at start and at shutdown. A hash chain alone cannot
 * show that it was truncated, rewritten from some record on, or emptied: every such log verifies
 * "intact" without a head saved elsewhere. The head in the start and stop lines puts one in the
 * shipped logs at every restart, for `audit verify --head` (docs/AUDIT.md, "Anchoring the head").
 */
import { formatHead } from './verify-chain.ts';
import type { Store } from '../store/store.ts';

/** The head as `audit verify --head` takes it, or null for an empty log. */
export async function auditHeadText(store: Pick<Store, 'auditHead'>): Promise<string | null> {
  return formatHead(await store.auditHead());
}

/**
 * Why an empty log is suspect, or undefined when it is not. A completed sync is committed with its
 * record, so completed syncs under an empty log mean records were removed. Versions alone do not:
 * `seed demo` creates its versions with no record, and the first start after it finds them so.
 */
export async function emptiedLogEvidence(store: Pick<Store, 'auditHead' | 'countSyncJobs'>): Promise<{ completedSyncs: number } | undefined> {
  if ((await store.auditHead()) !== null) return undefined;
  const { completed } = await store.countSyncJobs();
  return completed > 0 ? { completedSyncs: completed } : undefined;
}
