/**
 * The audit chain's rules, as pure functions every store calls (SQLite, PostgreSQL): how a record is
 * linked to the head (seq + 1, the head's hash as prev_hash), how its time is kept monotonic, what
 * its stored columns are (JSON-valued fields as their canonical texts, which is what the hash
 * covers), and how verify rebuilds the hashed fields from those columns without re-encoding them.
 * A store only has to read the head and insert the columns under a lock that serialises appends.
 */
import { canonicalJson, encodePrincipal, encodeRecord, GENESIS_HASH, hashEncoded, type EncodedFields } from './audit-hash.ts';
import type { AuditRecord, AuditRecordInput } from './audit-record.ts';
import { deriveFields } from './derived-fields.ts';
import { holdsUnstorable, storableOrNull, storableText } from './storable-text.ts';

/** The newest record's place: what the next record links to. */
export interface ChainHead {
  seq: number;
  hash: string;
  time: string;
}

/** The head of an empty log. */
export const EMPTY_CHAIN_HEAD: ChainHead = { seq: 0, hash: GENESIS_HASH, time: '' };

/** One record as every store keeps it: a row of these columns, plus one row per version named. */
export interface AuditColumns {
  seq: number;
  prevHash: string;
  hash: string;
  decisionId: string;
  time: string;
  requestId: string;
  sourceIp: string | null;
  principalIssuer: string | null;
  principalSubject: string | null;
  /** Canonical JSON, like every JSON-valued column. */
  principalGroups: string | null;
  action: string;
  resource: string | null;
  decision: string;
  reason: string | null;
  determiningPolicies: string;
  errors: string;
  policySetHash: string | null;
  request: string;
  changes: string;
  outcome: string;
  httpStatus: number;
  repositoryArn: string | null;
  domainArn: string | null;
  packageName: string | null;
}

export interface LinkedRecord {
  columns: AuditColumns;
  /** The versions the record names (the audit_versions rows). */
  versions: string[];
  /** The head after this record. */
  head: ChainHead;
}

/**
 * Links `input` after `head`. Time never decreases along the chain: a clock stepping back (or another
 * replica's clock behind this one's) is absorbed by taking the head's time, so time windows map onto
 * seq ranges, and verify checks it.
 */
export function linkRecord(head: ChainHead, input: AuditRecordInput): LinkedRecord {
  const seq = head.seq + 1;
  const prevHash = head.hash;
  const r = storable(input.time < head.time ? { ...input, time: head.time } : input);
  const encoded = encodeRecord(seq, prevHash, r);
  const hash = hashEncoded(encoded);
  const derived = deriveFields(r);
  return {
    columns: {
      seq,
      prevHash,
      hash,
      decisionId: r.decisionId,
      time: r.time,
      requestId: r.requestId,
      sourceIp: r.sourceIp,
      principalIssuer: r.principal?.issuer ?? null,
      principalSubject: r.principal?.subject ?? null,
      principalGroups: r.principal ? canonicalJson(r.principal.groups) : null,
      action: r.action,
      resource: r.resource,
      decision: r.decision,
      reason: r.reason,
      determiningPolicies: encoded.determiningPolicies,
      errors: encoded.errors,
      policySetHash: r.policySetHash,
      request: encoded.request,
      changes: encoded.changes,
      outcome: r.outcome,
      httpStatus: r.httpStatus,
      repositoryArn: derived.repositoryArn,
      domainArn: derived.domainArn,
      packageName: derived.packageName,
    },
    versions: derived.versions,
    head: { seq, hash, time: r.time },
  };
}

/**
 * The record as its columns will hold it, hashed as such. Otherwise the store would write U+FFFD
 * where the hash saw a lone surrogate (a false tampering alarm at the next verify), and PostgreSQL
 * would refuse a NUL and with it the whole batch. The gateway refuses such text at its edges (tokens,
 * package names); this is the floor under whatever reaches a record another way.
 */
function storable(r: AuditRecordInput): AuditRecordInput {
  const p = r.principal;
  const raw = [r.decisionId, r.time, r.requestId, r.sourceIp, r.action, r.resource, r.decision, r.reason, r.policySetHash, r.outcome, p?.issuer, p?.subject];
  if (!raw.some(holdsUnstorable)) return r;
  return {
    ...r,
    decisionId: storableText(r.decisionId),
    time: storableText(r.time),
    requestId: storableText(r.requestId),
    sourceIp: storableOrNull(r.sourceIp),
    action: storableText(r.action) as AuditRecordInput['action'],
    resource: storableOrNull(r.resource),
    decision: storableText(r.decision) as AuditRecordInput['decision'],
    reason: storableOrNull(r.reason),
    policySetHash: storableOrNull(r.policySetHash),
    outcome: storableText(r.outcome) as AuditRecordInput['outcome'],
    principal: p ? { ...p, issuer: storableText(p.issuer), subject: storableText(p.subject) } : p,
  };
}

/** Links records one after another from `head` (a batch appended under one lock). */
export function linkRecords(head: ChainHead, inputs: readonly AuditRecordInput[]): LinkedRecord[] {
  const out: LinkedRecord[] = [];
  let at = head;
  for (const input of inputs) {
    const linked = linkRecord(at, input);
    out.push(linked);
    at = linked.head;
  }
  return out;
}

/** The hashed fields as stored: scalars re-encoded, JSON columns used as they are (they are the canonical texts). */
export function encodedFromColumns(c: Omit<AuditColumns, 'hash' | 'repositoryArn' | 'domainArn' | 'packageName'>): EncodedFields {
  const str = (v: string | null) => (v === null ? 'null' : JSON.stringify(v));
  return {
    action: JSON.stringify(c.action),
    changes: c.changes,
    decision: JSON.stringify(c.decision),
    decisionId: JSON.stringify(c.decisionId),
    determiningPolicies: c.determiningPolicies,
    errors: c.errors,
    httpStatus: String(c.httpStatus),
    outcome: JSON.stringify(c.outcome),
    policySetHash: str(c.policySetHash),
    prevHash: JSON.stringify(c.prevHash),
    principal: encodePrincipal(c.principalIssuer, c.principalSubject, c.principalGroups),
    reason: str(c.reason),
    request: c.request,
    requestId: JSON.stringify(c.requestId),
    resource: str(c.resource),
    seq: String(c.seq),
    sourceIp: str(c.sourceIp),
    time: JSON.stringify(c.time),
  };
}

/** The columns a record is read from: the derived ones (repository, domain, package) are not part of it. */
export type RecordColumns = Omit<AuditColumns, 'repositoryArn' | 'domainArn' | 'packageName'>;

/**
 * A stored record read back (the JSON columns parsed). A JSON column that no longer parses (edited in
 * the database) does not stop the read: a page, a query or an export would otherwise die on one
 * record and show nothing of the others. The field reads as empty, and `unreadable` holds the stored
 * text and says so; verify reports the record as changed.
 */
export function recordFromColumns(r: RecordColumns): AuditRecord {
  const unreadable: Record<string, string> = {};
  const json = <T>(field: string, text: string, empty: T): T => {
    try {
      return JSON.parse(text) as T;
    } catch {
      unreadable[field] = text;
      return empty;
    }
  };
  const record: AuditRecord = {
    seq: r.seq,
    prevHash: r.prevHash,
    hash: r.hash,
    decisionId: r.decisionId,
    time: r.time,
    requestId: r.requestId,
    sourceIp: r.sourceIp,
    principal: r.principalSubject === null ? null : { issuer: r.principalIssuer ?? '', subject: r.principalSubject, groups: r.principalGroups === null ? [] : json('principal.groups', r.principalGroups, []) },
    action: r.action,
    resource: r.resource,
    decision: r.decision as AuditRecord['decision'],
    reason: r.reason,
    determiningPolicies: json('determiningPolicies', r.determiningPolicies, []),
    errors: json('errors', r.errors, []),
    policySetHash: r.policySetHash,
    request: json('request', r.request, {}),
    changes: json('changes', r.changes, []),
    outcome: r.outcome as AuditRecord['outcome'],
    httpStatus: r.httpStatus,
  };
  if (Object.keys(unreadable).length > 0) record.unreadable = { fields: unreadable, problem: UNREADABLE_PROBLEM };
  return record;
}

const UNREADABLE_PROBLEM = 'these fields are stored as text that is not valid JSON (shown as stored, read as empty): the record was edited in the database; run `versiongate audit verify`';

/** Groups (seq, version) rows, ordered by seq, into each record's versions. */
export function versionsBySeq(rows: Iterable<{ seq: number; version: string }>): Map<number, string[]> {
  const versions = new Map<number, string[]>();
  for (const v of rows) {
    const list = versions.get(v.seq);
    if (list) list.push(v.version);
    else versions.set(v.seq, [v.version]);
  }
  return versions;
}
