/**
 * Reading the audit log is itself authorized by Cedar and audited.
 * A principal allowed ReadAuditLog on AuditLog::"versiongate" reads every record. Otherwise its
 * scope is the repositories Cedar lets it read (ReadAuditLog on each Repository, those deleted since
 * included) and the domains whose every repository it may read, and results are filtered to records
 * of those repositories and to those domains' own records; with neither, the read is denied.
 * A domain's record about one repository (CreateRepository) is that repository's, not the domain's
 * (derived-fields.ts): its readers see it, and a reader allowed the domain but that repository does not.
 */
import { createHash } from 'node:crypto';
import type { AuditHead, AuditRecord } from '../audit/audit-record.ts';
import { auditLogResource, type CedarResource } from '../policy/entities.ts';
import { domainArn, repositoryArn } from '../resource/package-arn.ts';
import type { AuthorizationDecision } from '../policy/engine.ts';
import type { AuditFilter } from '../store/store.ts';
import type { Caller } from './caller.ts';
import type { OperationDeps } from './deps.ts';
import { admit, authorize } from './gate.ts';
import { timeSlices } from '../time-slices.ts';

const ACTION = 'ReadAuditLog';
/**
 * Repositories (and domains) a read's own record lists. Past it the record lists the first of them
 * (sorted), how many there were and a SHA-256 of them all, one per line, sorted: a reader of 1,000
 * repositories wrote 80 KB of ARNs with every page it read, and the log is what the auditors read.
 */
export const RECORDED_SCOPE = 100;
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

type Scope = { all: true; decision: AuthorizationDecision } | { all: false; repositories: string[]; domains: string[]; decision: AuthorizationDecision };

const REPOSITORY_ARN = /^(arn:aws:codeartifact:[^:]+:\d{12}):repository\/([^/]+)\/[^/]+$/;

/** The repository's domain ARN, from its own ARN (a deleted repository has nothing else to go by). */
function domainOfRepository(arn: string): string | undefined {
  const m = REPOSITORY_ARN.exec(arn);
  return m ? `${m[1]}:domain/${m[2]}` : undefined;
}

/** A repository as Cedar's resource, in its domain: built from the ARN, so one deleted since is asked about too. */
function repositoryFromArn(arn: string, domain: string): CedarResource {
  const uid = { type: 'Repository', id: arn };
  return { uid, entities: [{ uid, attrs: {}, parents: [{ type: 'Domain', id: domain }] }] };
}

/**
 * Stands for "any repository of the domain": ReadAuditLog applies to repositories only, so a domain's
 * own records (DescribeDomain, ListRepositoriesInDomain, DeleteDomain…) are readable by whoever Cedar
 * lets read a repository of that domain it knows nothing else of, i.e. through `resource in Domain::…`
 * (an `unless` or a forbid naming other repositories still lets it). A policy naming particular
 * repositories does not reach it. Records about a repository are never among these.
 */
function anyRepositoryOf(domain: string): CedarResource {
  return repositoryFromArn(`${domain.replace(':domain/', ':repository/')}/*`, domain);
}

/**
 * The repositories to ask Cedar about, ARN → domain ARN: those the registry has now and those the log
 * names (deleted ones keep their records, and their readers).
 */
async function candidateRepositories(deps: OperationDeps): Promise<{ repositories: Map<string, string>; domains: Set<string> }> {
  const [current, audited] = await Promise.all([deps.store.listAllRepositories(), deps.store.auditedArns()]);
  const repositories = new Map<string, string>();
  for (const r of current) repositories.set(repositoryArn(deps.region, r.domainOwner, r.domain, r.name), domainArn(deps.region, r.domainOwner, r.domain));
  for (const arn of audited.repositoryArns) {
    const domain = domainOfRepository(arn);
    if (domain !== undefined) repositories.set(arn, domain);
  }
  return { repositories, domains: new Set(audited.domainArns) };
}

/** What this principal may read: everything, or the records of some repositories and domains. */
async function readScope(deps: OperationDeps, caller: Caller): Promise<Scope> {
  const authorizer = deps.authorizer();
  const { principal, meta } = caller;
  const whole = authorizer.authorize({ principal, meta, action: ACTION, resource: auditLogResource(), context: {} });
  if (whole.decision === 'allow') return { all: true, decision: whole };
  const candidates = await candidateRepositories(deps);
  const determining = new Set<string>();
  const errors = new Set(whole.errors);
  // A decision per repository and domain (~0.13 ms each): a registry of thousands would otherwise
  // hold every other request for as long (40,000 repositories: 5 s).
  const slices = timeSlices(SCOPE_SLICE_MS);
  const allows = async (resource: CedarResource): Promise<boolean> => {
    await slices.due();
    const d = authorizer.authorize({ principal, meta, action: ACTION, resource, context: {} });
    d.errors.forEach((e) => errors.add(e));
    if (d.decision === 'allow') d.determiningPolicies.forEach((p) => determining.add(p));
    return d.decision === 'allow';
  };
  const repositories: string[] = [];
  for (const [arn, domain] of candidates.repositories) if (await allows(repositoryFromArn(arn, domain))) repositories.push(arn);
  const domains: string[] = [];
  for (const domain of candidates.domains) if (await allows(anyRepositoryOf(domain))) domains.push(domain);
  const allowed = repositories.length > 0 || domains.length > 0;
  const decision: AuthorizationDecision = {
    decision: allowed ? 'allow' : 'deny',
    determiningPolicies: allowed ? [...determining] : whole.determiningPolicies,
    errors: [...errors],
    policySetHash: whole.policySetHash,
  };
  return { all: false, repositories, domains, decision };
}

export async function readAudit(deps: OperationDeps, input: ReadAuditInput): Promise<AuditPage> {
  const scope = await readScope(deps, input.caller);
  const request = {
    filter: input.filter,
    limit: input.limit,
    ...(input.beforeSeq !== undefined ? { before: input.beforeSeq } : {}),
    ...(scope.all ? { scope: 'all' } : recordedScope('scope', scope.repositories)),
    ...(!scope.all && scope.domains.length > 0 ? recordedScope('scopeDomains', scope.domains) : {}),
  };
  const allowed = await admit(
    deps,
    input.caller,
    { action: ACTION, resource: auditLogResource(), request, deniedMessage: `User: ${input.caller.principal.subject} is not authorized to perform: ReadAuditLog on any repository` },
    scope.decision,
  );
  await allowed.recordRead();
  const filter: AuditFilter = scope.all ? input.filter : { ...input.filter, repositoryScope: scope.repositories, domainScope: scope.domains };
  const records = await deps.store.listAudit({ filter, limit: input.limit + 1, beforeSeq: input.beforeSeq });
  const page = records.slice(0, input.limit);
  return records.length > input.limit ? { records: page, nextToken: String(page[page.length - 1]!.seq) } : { records: page };
}

/** The scope as the read's record holds it: the whole list, or past RECORDED_SCOPE its start, count and digest. */
function recordedScope(name: 'scope' | 'scopeDomains', arns: string[]): Record<string, unknown> {
  if (arns.length <= RECORDED_SCOPE) return { [name]: arns };
  const sorted = [...arns].sort();
  return { [name]: sorted.slice(0, RECORDED_SCOPE), [`${name}Total`]: arns.length, [`${name}Sha256`]: createHash('sha256').update(sorted.join('\n')).digest('hex') };
}

/** The chain's head, to be saved elsewhere. Only for those who may read the whole log. */
export async function readAuditHead(deps: OperationDeps, caller: Caller): Promise<AuditHead | null> {
  const allowed = await authorize(deps, caller, { action: ACTION, resource: auditLogResource(), context: {}, request: { head: true } });
  // The head is read after this read's own record is appended, so it covers it.
  await allowed.recordRead();
  return deps.store.auditHead();
}
