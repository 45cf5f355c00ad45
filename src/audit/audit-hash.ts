/**
 * The audit hash chain. A record's hash is SHA-256 (hex) over the canonical encoding of every field
 * it carries, its own `seq` and the previous record's hash included, so changing, deleting,
 * inserting or reordering a record breaks the chain from that point on.
 *
 * Canonical encoding: JSON with object keys sorted by UTF-16 code unit, no whitespace, null for
 * absent values; strings, numbers and booleans as JSON.stringify writes them. For the values audit
 * records hold (strings, integers, arrays, plain objects) this is RFC 8785 (JCS).
 *
 * The store keeps JSON-valued fields in exactly this encoding, so verification can assemble the
 * hashed text from the stored column texts without parsing and re-encoding them.
 */
import { createHash } from 'node:crypto';
import type { AuditRecordInput } from './audit-record.ts';

export const GENESIS_HASH = '0'.repeat(64);

export function canonicalJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new Error('audit records hold finite numbers only');
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
  }
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) out += (i ? ',' : '') + canonicalJson(value[i]);
    return out + ']';
  }
  const obj = value as Record<string, unknown>;
  let out = '{';
  let first = true;
  for (const k of Object.keys(obj).sort()) {
    const v = obj[k];
    if (v === undefined) continue;
    out += (first ? '' : ',') + JSON.stringify(k) + ':' + canonicalJson(v);
    first = false;
  }
  return out + '}';
}

/** Every hashed field, in sorted key order (the order they appear in the hashed text). */
export const HASHED_KEYS = [
  'action',
  'changes',
  'decision',
  'decisionId',
  'determiningPolicies',
  'errors',
  'httpStatus',
  'outcome',
  'policySetHash',
  'prevHash',
  'principal',
  'reason',
  'request',
  'requestId',
  'resource',
  'seq',
  'sourceIp',
  'time',
] as const;
export type HashedKey = (typeof HASHED_KEYS)[number];

/** Each hashed field's canonical JSON text. */
export type EncodedFields = Record<HashedKey, string>;

export function encodeRecord(seq: number, prevHash: string, r: AuditRecordInput): EncodedFields {
  return {
    action: JSON.stringify(r.action),
    changes: canonicalJson(r.changes),
    decision: JSON.stringify(r.decision),
    decisionId: JSON.stringify(r.decisionId),
    determiningPolicies: canonicalJson(r.determiningPolicies),
    errors: canonicalJson(r.errors),
    httpStatus: canonicalJson(r.httpStatus),
    outcome: JSON.stringify(r.outcome),
    policySetHash: canonicalJson(r.policySetHash),
    prevHash: JSON.stringify(prevHash),
    principal: encodePrincipal(r.principal?.issuer ?? null, r.principal?.subject ?? null, r.principal ? canonicalJson(r.principal.groups) : null),
    reason: canonicalJson(r.reason),
    request: canonicalJson(r.request),
    requestId: JSON.stringify(r.requestId),
    resource: canonicalJson(r.resource),
    seq: String(seq),
    sourceIp: canonicalJson(r.sourceIp),
    time: JSON.stringify(r.time),
  };
}

/** The principal {groups, issuer, subject} from its stored parts (groups already canonical JSON). */
/**
 * The principal as hashed, from its three stored columns. Every column counts: a record without a
 * subject (a 401, a policy load) has no issuer and no groups either, and one with a subject has both.
 * Any other combination was not written by the gateway, so it encodes to a text no hashed record
 * has, and verify reports the record as changed: an issuer or groups set on a 401 cannot pass.
 */
export function encodePrincipal(issuer: string | null, subject: string | null, groupsJson: string | null): string {
  if (subject === null) return issuer === null && groupsJson === null ? 'null' : INCONSISTENT_PRINCIPAL;
  if (issuer === null || groupsJson === null) return INCONSISTENT_PRINCIPAL;
  return `{"groups":${groupsJson},"issuer":${JSON.stringify(issuer)},"subject":${JSON.stringify(subject)}}`;
}

/** Never the canonical encoding of a principal (null or an object), so it never matches a hash. */
const INCONSISTENT_PRINCIPAL = '"inconsistent principal columns"';

export function hashEncoded(e: EncodedFields): string {
  let text = '{';
  for (let i = 0; i < HASHED_KEYS.length; i++) {
    const k = HASHED_KEYS[i]!;
    text += (i ? ',"' : '"') + k + '":' + e[k];
  }
  return createHash('sha256').update(text + '}').digest('hex');
}

export function recordHash(seq: number, prevHash: string, record: AuditRecordInput): string {
  return hashEncoded(encodeRecord(seq, prevHash, record));
}
