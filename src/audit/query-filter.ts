/**
 * The filters of an audit query, validated the same way for GET /v1/audit and `versiongate audit
 * query`: principal, action, decision, resource (ARN, repository/domain ARN, or prefix*), package,
 * version, and a time range.
 */
import { z } from '@hono/zod-openapi';
import type { AuditFilter } from '../store/store.ts';
import { resourceFilter } from './resource-filter.ts';

const printable = (max: number) => z.string().min(1).max(max).regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces');
const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-](\d{2}):(\d{2})))?$/;

/**
 * A time that names a real day and clock reading. Date.parse alone rolls an impossible date over
 * (2026-02-30 becomes March 2), so a window would silently start days later than the auditor wrote.
 */
export function isRealIsoTime(s: string): boolean {
  const m = ISO_TIME.exec(s);
  if (!m) return false;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  if (date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) return false;
  const within = (v: string | undefined, max: number) => v === undefined || Number(v) <= max;
  return within(m[4], 23) && within(m[5], 59) && within(m[6], 59) && within(m[7], 23) && within(m[8], 59) && !Number.isNaN(Date.parse(s));
}

const isoTime = z
  .string()
  .refine(isRealIsoTime, 'must be an ISO 8601 time of a real date, such as 2026-11-21T09:00:00Z')
  .transform((s) => new Date(s).toISOString());

export const auditFilterSchema = z.object({
  principal: z.string().min(1).max(256).optional().openapi({ description: "The principal's subject (the token's sub)." }),
  action: z.string().regex(/^[A-Za-z]{1,64}$/, 'must be an action name such as DisposePackageVersions').optional().openapi({ example: 'DisposePackageVersions' }),
  decision: z.enum(['allow', 'deny', 'unauthenticated', 'none']).optional(),
  resource: printable(2048).optional().openapi({
    description: "A package ARN; a repository ARN (the repository's records: its packages', its own, its CreateRepository); a domain ARN (every record of the domain); or a prefix ending in *.",
    example: 'arn:aws:codeartifact:us-east-1:111122223333:repository/my_domain/my_repo',
  }),
  package: z.string().min(1).max(255).optional().openapi({ description: 'Package name (normalised, without namespace).', example: 'chalk' }),
  version: z.string().min(1).max(255).optional().openapi({ example: '4.1.0' }),
  since: isoTime.optional().openapi({ description: 'Inclusive.', example: '2026-11-01T00:00:00Z' }),
  until: isoTime.optional().openapi({ description: 'Exclusive.' }),
});

export type AuditFilterParams = z.infer<typeof auditFilterSchema>;

export function toAuditFilter(q: AuditFilterParams): AuditFilter {
  const filter: AuditFilter = {
    principal: q.principal,
    action: q.action,
    decision: q.decision,
    ...(q.resource !== undefined ? resourceFilter(q.resource) : {}),
    packageName: q.package,
    version: q.version,
    since: q.since,
    until: q.until,
  };
  return Object.fromEntries(Object.entries(filter).filter(([, v]) => v !== undefined)) as AuditFilter;
}
