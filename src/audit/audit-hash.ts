/**
 * The audit hash chain. A record's hash is SHA-256 (hex) over the canonical encoding of every field
 * it carries, its own `seq` and the previous record's hash included, so changing, deleting,
 * inserting or reordering a record breaks the chain from that point on.
 *
 * Canonical encoding: JSON with object keys sorted by UTF-16 code unit, no whitespace, absent
 * optional members as null. Strings, numbers and booleans as JSON.stringify writes them. For the
 * values audit records hold (strings, integers, arrays, plain objects) this is RFC 8785 (JCS).
 */
import { createHash } from 'node:crypto';
import type { AuditRecordInput } from './audit-record.ts';

export const GENESIS_HASH = '0'.repeat(64);

export function canonicalJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object') {
    const entries = Object.keys(value as object)
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  if (typeof value === 'number' && !Number.isFinite(value)) throw new Error('audit records hold finite numbers only');
  return JSON.stringify(value);
}

/** The fields that are hashed: everything a record says, in the chain position it says it. */
export function hashedFields(seq: number, prevHash: string, r: AuditRecordInput): Record<string, unknown> {
  return {
    seq,
    prevHash,
    decisionId: r.decisionId,
    time: r.time,
    requestId: r.requestId,
    sourceIp: r.sourceIp,
    principal: r.principal,
    action: r.action,
    resource: r.resource,
    decision: r.decision,
    reason: r.reason,
    determiningPolicies: r.determiningPolicies,
    errors: r.errors,
    policySetHash: r.policySetHash,
    request: r.request,
    changes: r.changes,
    outcome: r.outcome,
    httpStatus: r.httpStatus,
  };
}

export function recordHash(seq: number, prevHash: string, record: AuditRecordInput): string {
  return createHash('sha256').update(canonicalJson(hashedFields(seq, prevHash, record))).digest('hex');
}
