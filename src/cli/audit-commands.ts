/**
 * `versiongate audit query | export | verify`: the operator's tools over the local database.
 * They read the data dir directly, like any tool with access to the database file; remote readers
 * use GET /v1/audit, which Cedar authorizes.
 */
import { auditFilterSchema, toAuditFilter } from '../audit/query-filter.ts';
import { parseHead, verifyChain } from '../audit/verify-chain.ts';
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

/** Newest first, as NDJSON. */
export async function auditQuery(store: Store, values: Values, out: Out): Promise<number> {
  const filter = toAuditFilter(filterFrom(values));
  const limit = values.limit === undefined ? 50 : Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100_000) throw new AuditUsageError('--limit must be a whole number from 1 to 100000');
  for (const r of await store.listAudit({ filter, limit })) out(JSON.stringify(r));
  return 0;
}

/** Oldest first, as NDJSON with seq, prevHash and hash, for a SIEM (which can re-verify the chain). */
export async function auditExport(store: Store, values: Values, out: Out): Promise<number> {
  if (typeof values.since !== 'string') throw new AuditUsageError('export needs --since (an ISO time, e.g. 2026-11-01T00:00:00Z)');
  const { since, until } = filterFrom({ since: values.since, until: values.until });
  let after = 0;
  for (;;) {
    const batch = await store.readAuditRange(after, 5_000, { since, until });
    if (batch.length === 0) return 0;
    for (const { derived: _derived, ...record } of batch) out(JSON.stringify(record));
    after = batch[batch.length - 1]!.seq;
  }
}

export async function auditVerify(store: Store, values: Values, out: Out, err: Out): Promise<number> {
  let expectedHead;
  if (values.head !== undefined) {
    expectedHead = parseHead(String(values.head));
    if (!expectedHead) throw new AuditUsageError('--head must be SEQ:HASH as GET /v1/audit/head returns it (e.g. 42:9f86d0…)');
  }
  const result = await verifyChain(store, { expectedHead });
  if (!result.ok) {
    err(`audit chain broken at record ${result.break!.seq}: ${result.break!.problem}`);
    err(`${result.records} record(s) before it verified`);
    return 1;
  }
  out(`audit chain intact: ${result.records} record(s)${result.head ? `, head ${result.head.seq}:${result.head.hash}` : ''}`);
  return 0;
}
