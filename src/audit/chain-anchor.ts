/**
 * What the gateway logs about its audit chain at start and at shutdown. A hash chain alone cannot
 * show that it was truncated, rewritten from some record on, or emptied: every such log verifies
 * "intact" without a head saved elsewhere. The head in the start and stop lines puts one in the
 * shipped logs at every restart, for `audit verify --head` (docs/AUDIT.md, "Anchoring the head").
 */
import { formatHead } from './verify-chain.ts';
import type { KeptAuditHead, Store } from '../store/store.ts';

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

/**
 * The head the store keeps apart from the log (PostgreSQL's audit_head) when the log ends before it:
 * records were removed, from the end or all of them, by someone with access to the database. The
 * next record would link to that head and leave a gap verify names, but until then the log alone
 * verifies "intact". Undefined when they agree, or where the store keeps no head of its own (SQLite).
 */
export async function removedRecordsEvidence(store: Pick<Store, 'auditHead'> & Partial<KeptAuditHead>): Promise<{ keptHead: string; logHead: string | null } | undefined> {
  const kept = (await store.keptAuditHead?.()) ?? null;
  if (kept === null) return undefined;
  const log = await store.auditHead();
  return log !== null && log.seq >= kept.seq ? undefined : { keptHead: formatHead(kept)!, logHead: formatHead(log) };
}
