/**
 * Reading the audit log is itself authorized by Cedar and audited.
 * A principal allowed ReadAuditLog on AuditLog::"versiongate" reads every record. Otherwise its
 * scope is the repositories Cedar lets it read (ReadAuditLog on each Repository), and results are
 * filtered to records of those repositories; with no repository at all, the read is denied.
 */
import type { Principal } from '../auth/principal.ts';
import type { AuditHead, AuditRecord } from '../audit/audit-record.ts';
import { decisionRecord, type RequestMeta } from '../audit/build-record.ts';
import { AccessDeniedError } from '../errors.ts';
import { auditLogResource, repositoryResource } from '../policy/entities.ts';
import type { AuthorizationDecision } from '../policy/engine.ts';
import type { AuditFilter } from '../store/store.ts';
import type { OperationDeps } from './deps.ts';

const ACTION = 'ReadAuditLog';
const AUDIT_LOG = `AuditLog::"${auditLogResource().uid.id}"`;

export interface ReadAuditInput {
  principal: Principal;
  meta: RequestMeta;
  filter: AuditFilter;
  limit: number;
  beforeSeq?: number | undefined;
  onDecision?: (d: { resource: string; decision: 'allow' | 'deny' }) => void;
}

export interface AuditPage {
  records: AuditRecord[];
  nextToken?: string;
}

type Scope = { all: true; decision: AuthorizationDecision } | { all: false; repositories: string[]; decision: AuthorizationDecision };

/** What this principal may read: everything, or the records of some repositories. */
async function readScope(deps: OperationDeps, principal: Principal, meta: RequestMeta): Promise<Scope> {
  const authorizer = deps.authorizer();
  const whole = authorizer.authorize({ principal, meta, action: ACTION, resource: auditLogResource(), context: {} });
  if (whole.decision === 'allow') return { all: true, decision: whole };
  const repositories: string[] = [];
  const determining = new Set<string>();
  const errors = new Set(whole.errors);
  for (const repo of await deps.store.listAllRepositories()) {
    const d = authorizer.authorize({ principal, meta, action: ACTION, resource: repositoryResource(deps.region, repo.domainOwner, repo.domain, repo.name), context: {} });
    d.errors.forEach((e) => errors.add(e));
    if (d.decision !== 'allow') continue;
    repositories.push(`arn:aws:codeartifact:${deps.region}:${repo.domainOwner}:repository/${repo.domain}/${repo.name}`);
    d.determiningPolicies.forEach((p) => determining.add(p));
  }
  const decision: AuthorizationDecision = {
    decision: repositories.length > 0 ? 'allow' : 'deny',
    determiningPolicies: repositories.length > 0 ? [...determining] : whole.determiningPolicies,
    errors: [...errors],
    policySetHash: whole.policySetHash,
  };
  return { all: false, repositories, decision };
}

export async function readAudit(deps: OperationDeps, input: ReadAuditInput): Promise<AuditPage> {
  const scope = await readScope(deps, input.principal, input.meta);
  input.onDecision?.({ resource: AUDIT_LOG, decision: scope.decision.decision });
  const request = {
    filter: input.filter,
    limit: input.limit,
    ...(input.beforeSeq !== undefined ? { before: input.beforeSeq } : {}),
    scope: scope.all ? 'all' : scope.repositories,
  };
  const record = { clock: deps.clock, meta: input.meta, principal: input.principal, action: ACTION, resource: AUDIT_LOG, decision: scope.decision, request };
  if (scope.decision.decision === 'deny') {
    await deps.store.appendAudit(decisionRecord(record, 'denied', 403));
    throw new AccessDeniedError(`User: ${input.principal.subject} is not authorized to perform: ReadAuditLog on any repository`);
  }
  await deps.store.appendAudit(decisionRecord(record, 'read', 200));
  const filter: AuditFilter = scope.all ? input.filter : { ...input.filter, repositoryScope: scope.repositories };
  const records = await deps.store.listAudit({ filter, limit: input.limit + 1, beforeSeq: input.beforeSeq });
  const page = records.slice(0, input.limit);
  return records.length > input.limit ? { records: page, nextToken: String(page[page.length - 1]!.seq) } : { records: page };
}

/** The chain's head, to be saved elsewhere. Only for those who may read the whole log. */
export async function readAuditHead(deps: OperationDeps, input: Pick<ReadAuditInput, 'principal' | 'meta' | 'onDecision'>): Promise<AuditHead | null> {
  const decision = deps.authorizer().authorize({ principal: input.principal, meta: input.meta, action: ACTION, resource: auditLogResource(), context: {} });
  input.onDecision?.({ resource: AUDIT_LOG, decision: decision.decision });
  const record = { clock: deps.clock, meta: input.meta, principal: input.principal, action: ACTION, resource: AUDIT_LOG, decision, request: { head: true } };
  if (decision.decision === 'deny') {
    await deps.store.appendAudit(decisionRecord(record, 'denied', 403));
    throw new AccessDeniedError(`User: ${input.principal.subject} is not authorized to perform: ReadAuditLog on ${AUDIT_LOG}`);
  }
  // The head is read after this read's own record is appended, so it covers it.
  await deps.store.appendAudit(decisionRecord(record, 'read', 200));
  return deps.store.auditHead();
}
