/**
 * What the gateway logs about its audit chain at start and at shutdown. A hash chain alone cannot
 * show that it was truncated, rewritten from some record on, or emptied: every such log verifies
 * "intact" without a head saved elsewhere. The head in the start and stop lines puts one in the
 * shipped logs at every restart, for `audit verify --head` (docs/AUDIT.md, "Anchoring the head").
 */
import { DEMO_VERSIONS, isDemoVersion } from '../registry/demo-versions.ts';
import { formatHead } from './verify-chain.ts';
import { versionLabel } from './verify-state.ts';
import type { KeptAuditHead, Store } from '../store/store.ts';

/** The head as `audit verify --head` takes it, or null for an empty log. */
export async function auditHeadText(store: Pick<Store, 'auditHead'>): Promise<string | null> {
  return formatHead(await store.auditHead());
}

/** What shows that an empty log had records. */
export type EmptiedLogEvidence = {
  completedSyncs: number;
  /** A version a recorded change created or changed (domain/repository/format/namespace/package@version), if any. */
  version?: string | undefined;
};

/**
 * Why an empty log is suspect, or undefined when it is not. Everything that creates or changes a
 * version, or completes its sync, commits with its record, so a completed sync or a version row under
 * an empty log means records were removed. Except the demo's versions as an older `seed demo` left
 * them (before it recorded what it creates): Published, with no record, and the first start after it
 * finds exactly that. So such a row is no evidence (nor, then, one the current seed created: the two
 * look alike). They are at most DEMO_VERSIONS' rows, so one row more read always holds any other.
 */
export async function emptiedLogEvidence(store: Pick<Store, 'auditHead' | 'countSyncJobs' | 'readVersionStates'>): Promise<EmptiedLogEvidence | undefined> {
  if ((await store.auditHead()) !== null) return undefined;
  const { completed } = await store.countSyncJobs();
  const rows = await store.readVersionStates(0, DEMO_VERSIONS.length + 1);
  const recorded = rows.find((v) => v.status !== 'Published' || !isDemoVersion(v.key, v.version));
  if (completed === 0 && !recorded) return undefined;
  if (!recorded) return { completedSyncs: completed };
  return { completedSyncs: completed, version: versionLabel(recorded.key, recorded.version) };
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
