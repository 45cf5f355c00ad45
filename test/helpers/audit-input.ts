/** An audit record to commit with a store write in store-level tests: an allow, applied, 200. */
import type { AuditRecordInput } from '../../src/audit/audit-record.ts';

export const auditInput = (overrides: Partial<AuditRecordInput> = {}): AuditRecordInput => ({
  decisionId: crypto.randomUUID(),
  time: new Date().toISOString(),
  requestId: 'r',
  sourceIp: null,
  principal: { issuer: 'i', subject: 's', groups: [] },
  action: 'UpdatePackageVersionsStatus',
  resource: 'arn',
  decision: 'allow',
  reason: null,
  determiningPolicies: ['p'],
  errors: [],
  policySetHash: 'h',
  request: {},
  changes: [],
  outcome: 'applied',
  httpStatus: 200,
  ...overrides,
});
