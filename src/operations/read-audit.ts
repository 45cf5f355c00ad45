/**
 * Reading the audit log is itself authorized by Cedar and audited.
 * A principal allowed ReadAuditLog on AuditLog::"versiongate" reads every record. Otherwise its
 * scope is the repositories Cedar lets it read (ReadAuditLog on each Repository), and results are
 * filtered to records of those repositories; with no repository at all, the read is denied.
 */
import type { AuditHead, AuditRecord } from '../audit/audit-record.ts';
import { auditLogResource, repositoryResource } from '../policy/entities.ts';
import type { AuthorizationDecision } from '../policy/engine.ts';
import type { AuditFilter } from '../store/store.ts';
import type { Caller } from './caller.ts';
import type { OperationDeps } from './deps.ts';
import { admit, authorize } from './gate.ts';
import { timeSlices } from '../time-slices.ts';

const ACTION = 'ReadAuditLog';
/** How long the scope's decisions run before other requests get a turn. */
const SCOPE_SLICE_MS = 8;

export interface ReadAuditInput {
  caller: Caller;
  filter: AuditFilter;
  limit: number;
  beforeSeq?: number | undefined;
}

export interface AuditPage {
  records: AuditRecord[];
  nextToken?: string;
}

type Scope = { all: true; decision: AuthorizationDecision } | { all: false; repositories: string[]; decision: AuthorizationDecision };

/** What this principal may read: everything, or the records of some repositories. */
async function readScope(deps: OperationDeps, caller: Caller): Promise<Scope> {
  const authorizer = deps.authorizer();
  const { principal, meta } = caller;
  const whole = authorizer.authorize({ principal, meta, action: ACTION, resource: auditLogResource(), context: {} });
  if (whole.decision === 'allow') return { all: true, decision: whole };
  const repositories: string[] = [];
  const determining = new Set<string>();
  const errors = new Set(whole.errors);
  // A decision per repository (~0.13 ms each): a registry of thousands would otherwise hold every
  // other request for as long (40,000 repositories: 5 s).
  const slices = timeSlices(SCOPE_SLICE_MS);
  for (const repo of await deps.store.listAllRepositories()) {
    await slices.due();
    const resource = repositoryResource(deps.region, repo.domainOwner, repo.domain, repo.name);
    const d = authorizer.authorize({ principal, meta, action: ACTION, resource, context: {} });
    d.errors.forEach((e) => errors.add(e));
    if (d.decision !== 'allow') continue;
    repositories.push(resource.uid.id);
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
  const scope = await readScope(deps, input.caller);
  const request = {
    filter: input.filter,
    limit: input.limit,
    ...(input.beforeSeq !== undefined ? { before: input.beforeSeq } : {}),
    scope: scope.all ? 'all' : scope.repositories,
  };
  const allowed = await admit(
    deps,
    input.caller,
    { action: ACTION, resource: auditLogResource(), request, deniedMessage: `User: ${input.caller.principal.subject} is not authorized to perform: ReadAuditLog on any repository` },
    scope.decision,
  );
  await allowed.recordRead();
  const filter: AuditFilter = scope.all ? input.filter : { ...input.filter, repositoryScope: scope.repositories };
  const records = await deps.store.listAudit({ filter, limit: input.limit + 1, beforeSeq: input.beforeSeq });
  const page = records.slice(0, input.limit);
  return records.length > input.limit ? { records: page, nextToken: String(page[page.length - 1]!.seq) } : { records: page };
}

/** The chain's head, to be saved elsewhere. Only for those who may read the whole log. */
export async function readAuditHead(deps: OperationDeps, caller: Caller): Promise<AuditHead | null> {
  const allowed = await authorize(deps, caller, { action: ACTION, resource: auditLogResource(), context: {}, request: { head: true } });
  // The head is read after this read's own record is appended, so it covers it.
  await allowed.recordRead();
  return deps.store.auditHead();
}
