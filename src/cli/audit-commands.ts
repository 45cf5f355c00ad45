/**
 * `versiongate audit query | export | verify [--state]`: the operator's tools over the local database.
 * They read the data dir directly, like any tool with access to the database file; remote readers
 * use GET /v1/audit, which Cedar authorizes.
 */
import { auditFilterSchema, toAuditFilter } from '../audit/query-filter.ts';
import { formatHead, parseHead, verifyChain, type VerifyResult } from '../audit/verify-chain.ts';
import { verifyChainAndState, type StateResult } from '../audit/verify-state.ts';
import type { AuditRecord } from '../audit/audit-record.ts';
import type { Store } from '../store/store.ts';

export class AuditUsageError extends Error {}

type Values = Record<string, string | boolean | string[] | undefined>;
type Out = (line: string) => void;

function filterFrom(values: Values) {
  const parsed = auditFilterSchema.safeParse({
    principal: values.principal,
    action: values.action,
    decision: values.decision,
    resource: values.resource,
    package: values.package,
    version: values.version,
    since: values.since,
    until: values.until,
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new AuditUsageError(`--${String(issue.path[0])}: ${issue.message}`);
  }
  return parsed.data;
}

/** Written where the caller gives no error stream (the lines stdout carries are NDJSON only). */
const stderrLine: Out = (line) => void process.stderr.write(line + '\n');

/** Newest first, as NDJSON. */
export async function auditQuery(store: Store, values: Values, out: Out, err: Out = stderrLine): Promise<number> {
  const filter = toAuditFilter(filterFrom(values));
  const limit = parseLimit(values.limit);
  const unreadable = new UnreadableSeqs();
  for (const r of await store.listAudit({ filter, limit })) {
    unreadable.note(r);
    out(JSON.stringify(r));
  }
  return unreadable.report('query', err);
}

/** --limit as a plain whole number (no 0x10, 1e2, +3 or padding, which Number() takes). */
function parseLimit(text: Values[string]): number {
  if (text === undefined) return 50;
  const limit = typeof text === 'string' && /^[1-9]\d{0,5}$/.test(text) ? Number(text) : NaN;
  if (!(limit <= 100_000)) throw new AuditUsageError('--limit must be a whole number from 1 to 100000');
  return limit;
}

/**
 * Oldest first, as NDJSON with seq, prevHash and hash, for a SIEM (which can re-verify the chain).
 * It is the evidence path, so a record whose stored JSON is corrupt is written as it reads (marked
 * `unreadable`) and the export goes on; it ends non-zero, naming those records.
 */
export async function auditExport(store: Store, values: Values, out: Out, err: Out = stderrLine): Promise<number> {
  if (typeof values.since !== 'string') throw new AuditUsageError('export needs --since (an ISO time, e.g. 2026-11-01T00:00:00Z)');
  const { since, until } = filterFrom({ since: values.since, until: values.until });
  const unreadable = new UnreadableSeqs();
  let after = 0;
  for (;;) {
    const batch = await store.readAuditRange(after, 5_000, { since, until });
    if (batch.length === 0) return unreadable.report('export', err);
    for (const { derived: _derived, ...record } of batch) {
      unreadable.note(record);
      out(JSON.stringify(record));
    }
    after = batch[batch.length - 1]!.seq;
  }
}

/** The records written with fields that did not parse, for the line that ends the command. */
class UnreadableSeqs {
  readonly #seqs: number[] = [];
  note(r: AuditRecord): void {
    if (r.unreadable) this.#seqs.push(r.seq);
  }
  /** 0, or 1 after a versiongate: line naming them (the first 20). */
  report(command: string, err: Out): number {
    if (this.#seqs.length === 0) return 0;
    const named = this.#seqs.slice(0, 20).join(', ') + (this.#seqs.length > 20 ? `, … (${this.#seqs.length} in all)` : '');
    err(`versiongate: audit ${command}: record(s) ${named} hold fields that are not valid JSON (written with "unreadable"): the log was edited; run \`versiongate audit verify\``);
    return 1;
  }
}

export async function auditVerify(store: Store, values: Values, out: Out, err: Out): Promise<number> {
  let expectedHead;
  if (values.head !== undefined) {
    expectedHead = parseHead(String(values.head));
    if (!expectedHead) throw new AuditUsageError('--head must be SEQ:HASH with SEQ 1 or more, as GET /v1/audit/head returns it (e.g. 42:9f86d0…)');
  }
  const withState = values.state === true;
  const result: VerifyResult & { state?: StateResult | null } = withState ? await verifyChainAndState(store, { expectedHead }) : await verifyChain(store, { expectedHead });
  if (!result.ok) {
    err(`audit chain broken at record ${result.break!.seq}: ${result.break!.problem}`);
    const through = result.verifiedThrough;
    err(`${result.records} record(s) before it verified${through ? `, through ${formatHead(through)} (not the newest record: not a head to save)` : ''}`);
    if (withState) err('registry state not compared: an edited log says nothing reliable about it');
    return 1;
  }
  out(`audit chain intact: ${result.records} record(s)${result.head ? `, head ${formatHead(result.head)}` : ''}`);
  return result.state ? reportState(result.state, out, err) : 0;
}

/** Every unverifiable version on stdout, every discrepancy on stderr; 1 when there is one. */
function reportState(state: StateResult, out: Out, err: Out): number {
  for (const u of state.unverifiable) out(`unverifiable: ${u.version} (domain owner ${u.domainOwner}): ${u.reason}`);
  for (const d of state.discrepancies) err(`state differs: ${d.version} (domain owner ${d.domainOwner}): ${d.problem}`);
  const unverifiable = state.unverifiableCount > 0 ? `, ${state.unverifiableCount} of them unverifiable (above)` : '';
  if (state.ok) {
    out(`registry state matches the audit log: ${state.versions} version(s)${unverifiable}`);
    return 0;
  }
  err(`registry state differs from the audit log: ${state.discrepancyCount} version(s), among ${state.versions} version row(s)${unverifiable}`);
  return 1;
}
