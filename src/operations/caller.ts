/**
 * Who a request is for, as every operation receives it: the authenticated principal, the request's
 * identity for the audit, its deadline, and where its decisions are told. Built once per request by
 * the authentication middleware (src/http/authenticate.ts), so no operation re-derives any of it.
 */
import type { Principal } from '../auth/principal.ts';
import type { RequestMeta } from '../audit/build-record.ts';
import type { AuditRecordInput } from '../audit/audit-record.ts';
import type { Deadline } from '../deadline.ts';
import type { VersionCommit } from '../store/store.ts';

export interface Decided {
  action: string;
  /** The resource as the audit names it (a package ARN, `AuditLog::"versiongate"`…). */
  resource: string;
  decision: 'allow' | 'deny';
}

export interface Caller {
  principal: Principal;
  meta: RequestMeta;
  /** Checked again when a change commits: past it nothing is written and the client gets a 503. */
  deadline?: Deadline | undefined;
  /** Told each decision as it is made: the request's log line and metrics read it. */
  decided?: ((d: Decided) => void) | undefined;
}

/**
 * A write's deadline as the store takes it: checked again when the write actually runs (writes are
 * grouped, and may cross to the writer thread), with the timeout's record built only if it expired.
 */
export function commitDeadline(caller: Caller, timeoutRecord: () => AuditRecordInput): VersionCommit['expired'] {
  const deadline = caller.deadline;
  return deadline && { check: () => deadline.expired(), remainingMs: () => deadline.remainingMs(), audit: timeoutRecord };
}
