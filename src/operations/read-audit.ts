/** Reading the audit log is itself authorized (ReadAuditLog) and audited. */
import type { Principal } from '../auth/principal.ts';
import type { AuditRecord } from '../audit/audit-record.ts';
import { decisionRecord, type RequestMeta } from '../audit/build-record.ts';
import { AccessDeniedError } from '../errors.ts';
import { auditLogResource } from '../policy/entities.ts';
import type { OperationDeps } from './deps.ts';

export interface ReadAuditInput {
  principal: Principal;
  meta: RequestMeta;
  limit: number;
  beforeSeq?: number | undefined;
  onDecision?: (d: { resource: string; decision: 'allow' | 'deny' }) => void;
}

export async function readAudit(deps: OperationDeps, input: ReadAuditInput): Promise<{ records: AuditRecord[]; nextToken?: string }> {
  const resource = auditLogResource();
  const action = 'ReadAuditLog';
  const decision = deps.authorizer().authorize({ principal: input.principal, action, resource, context: {} });
  const resourceName = `AuditLog::"${resource.uid.id}"`;
  input.onDecision?.({ resource: resourceName, decision: decision.decision });
  const request = { limit: input.limit, ...(input.beforeSeq !== undefined ? { before: input.beforeSeq } : {}) };
  const record = { clock: deps.clock, meta: input.meta, principal: input.principal, action, resource: resourceName, decision, request };
  if (decision.decision === 'deny') {
    await deps.store.appendAudit(decisionRecord(record, 'denied', 403));
    throw new AccessDeniedError(`User: ${input.principal.subject} is not authorized to perform: ReadAuditLog`);
  }
  await deps.store.appendAudit(decisionRecord(record, 'read', 200));
  const records = await deps.store.listAudit({ limit: input.limit + 1, beforeSeq: input.beforeSeq });
  const page = records.slice(0, input.limit);
  return records.length > input.limit ? { records: page, nextToken: String(page[page.length - 1]!.seq) } : { records: page };
}
