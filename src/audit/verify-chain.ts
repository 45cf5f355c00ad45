/**
 * Walks the whole audit chain, oldest first, and reports the first place it breaks:
 *   - a record whose contents no longer match its hash (a changed byte);
 *   - a gap in seq (a deleted record) or a prev_hash that is not the previous record's hash
 *     (a record deleted, inserted or moved);
 *   - derived columns that no longer match the record (a record hidden from queries);
 *   - a time earlier than the previous record's (times never decrease along the chain);
 *   - given a head saved earlier: a log that ends before it (a truncated tail) or whose record at
 *     that seq has another hash (a rewritten log);
 *   - the same against the head the store keeps apart from the log (PostgreSQL's audit_head), so a
 *     log emptied or cut short there fails without a saved head too;
 *   - an audit_versions row for a seq the chain has no record of (below 1 or past its end).
 */
import type { AuditLogStore, KeptAuditHead } from '../store/store.ts';
import { GENESIS_HASH, hashEncoded } from './audit-hash.ts';
import type { AuditHead } from './audit-record.ts';
import { deriveFields } from './derived-fields.ts';
import { timeSlices } from '../time-slices.ts';

export interface ChainBreak {
  seq: number;
  problem: string;
}

export interface VerifyResult {
  ok: boolean;
  records: number;
  /** The newest record, only when the whole chain verified (null for an empty log, and on a break). */
  head: AuditHead | null;
  /**
   * On a break: the last record that verified before it. Not the log's newest record, so never an
   * anchor to save (a script that saved `head` on a break anchored an older record).
   */
  verifiedThrough?: AuditHead | null;
  break?: ChainBreak;
}

export interface VerifyOptions {
  /** A head saved earlier (from GET /v1/audit/head): the log must still contain it, unchanged. */
  expectedHead?: AuditHead | undefined;
  batchSize?: number;
}

/**
 * How long the walk holds the event loop before it lets other work run. It runs in the gateway
 * itself (POST /v1/audit/verify, the console's "Verify the chain"), at ~30 µs a record: a walk of
 * 200,000 records in batches of 10,000, each read and checked without a turn of the event loop
 * between them (a SQLite read resolves in a microtask), held every request, /healthz included, for
 * 5.8 s. Now it reads 1,000 at a time and gives the loop a turn every SLICE_MS.
 */
const SLICE_MS = 8;
const DEFAULT_BATCH = 1_000;

export async function verifyChain(store: Pick<AuditLogStore, 'readAuditChain' | 'strayAuditVersion'> & Partial<KeptAuditHead>, options: VerifyOptions = {}): Promise<VerifyResult> {
  const batchSize = options.batchSize ?? DEFAULT_BATCH;
  const expected = options.expectedHead;
  // Read before the walk: a record appended meanwhile moves it past what this walk must find.
  const kept = (await store.keptAuditHead?.()) ?? null;
  let prevSeq = 0;
  let prevHash = GENESIS_HASH;
  let prevTime = '';
  let records = 0;
  const fail = (seq: number, problem: string): VerifyResult => ({ ok: false, records, head: null, verifiedThrough: records ? { seq: prevSeq, hash: prevHash } : null, break: { seq, problem } });

  const slices = timeSlices(SLICE_MS);
  for (;;) {
    const batch = await store.readAuditChain(prevSeq, batchSize);
    if (batch.length === 0) break;
    for (const r of batch) {
      await slices.due();
      if (r.seq !== prevSeq + 1) return fail(prevSeq + 1, `record ${prevSeq + 1}${r.seq > prevSeq + 2 ? ` to ${r.seq - 1}` : ''} missing: the log goes from seq ${prevSeq} to seq ${r.seq}`);
      if (r.prevHash !== prevHash) return fail(r.seq, `record ${r.seq} does not follow record ${prevSeq}: its prev_hash is not that record's hash (a record was removed, inserted or moved)`);
      if (hashEncoded(r.encoded) !== r.hash) return fail(r.seq, `record ${r.seq} was changed: its contents do not match its hash`);
      if (r.time < prevTime) return fail(r.seq, `record ${r.seq} is dated ${r.time}, before record ${prevSeq} (${prevTime}): times never go back along the chain`);
      let derived;
      try {
        derived = deriveFields({ resource: JSON.parse(r.encoded.resource), request: JSON.parse(r.encoded.request), changes: JSON.parse(r.encoded.changes) });
      } catch {
        return fail(r.seq, `record ${r.seq} was changed: a field is no longer valid JSON`);
      }
      if (
        derived.repositoryArn !== r.derived.repositoryArn ||
        derived.domainArn !== r.derived.domainArn ||
        derived.packageName !== r.derived.packageName ||
        derived.versions.join('\n') !== r.derived.versions.join('\n')
      ) {
        return fail(r.seq, `record ${r.seq}'s index columns were changed (it would be hidden from or misplaced in queries)`);
      }
      if (expected && r.seq === expected.seq && r.hash !== expected.hash) {
        return fail(r.seq, `record ${r.seq} has hash ${r.hash}, but the saved head says ${expected.hash}: the log was rewritten`);
      }
      if (kept && r.seq === kept.seq && r.hash !== kept.hash) {
        return fail(r.seq, `record ${r.seq} has hash ${r.hash}, but the database's own head (audit_head) says ${kept.hash}: the log was rewritten`);
      }
      prevSeq = r.seq;
      prevHash = r.hash;
      prevTime = r.time;
      records += 1;
    }
  }
  if (expected && prevSeq < expected.seq) {
    return fail(prevSeq + 1, `the log ends at seq ${prevSeq}, but the saved head is at seq ${expected.seq}: records were removed from the end`);
  }
  if (kept && prevSeq < kept.seq) {
    const removed = prevSeq === 0 ? 'the log is empty' : `the log ends at seq ${prevSeq}`;
    return fail(prevSeq + 1, `${removed}, but the database's own head (audit_head) is at seq ${kept.seq}: records were removed`);
  }
  // Rows of seqs 1..prevSeq were checked with their records; any other row names a record the
  // chain does not hold, and the next record to take that seq would fail to be written.
  const stray = await store.strayAuditVersion(prevSeq);
  if (stray) return fail(stray.seq, `audit_versions names version ${JSON.stringify(stray.version)} for seq ${stray.seq}, which is no record of the chain (a row was added)`);
  return { ok: true, records, head: records ? { seq: prevSeq, hash: prevHash } : null };
}

/**
 * A head as GET /v1/audit/head gives it. Its seq is 1 or more: there is no record 0 to check, so a
 * head `0:<anything>` would verify any log "intact" (and an empty log's head is null, not a seq).
 */
export function parseHead(text: string): AuditHead | undefined {
  const m = /^([1-9]\d{0,14}):([0-9a-f]{64})$/.exec(text.trim());
  return m ? { seq: Number(m[1]), hash: m[2]! } : undefined;
}

/** A head as GET /v1/audit/head gives it and parseHead reads it, SEQ:HASH; null for an empty log. */
export function formatHead(head: Pick<AuditHead, 'seq' | 'hash'> | null | undefined): string | null {
  return head ? `${head.seq}:${head.hash}` : null;
}
