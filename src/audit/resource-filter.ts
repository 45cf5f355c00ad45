/**
 * The `resource` filter of an audit query, as an auditor writes it:
 *   a package ARN                         → that package's records;
 *   a repository or domain ARN            → every record of packages in it;
 *   any text ending in `*`                → resources starting with the text before the `*`;
 *   anything else (AuditLog::"versiongate") → that exact resource.
 */
import type { AuditFilter } from '../store/store.ts';

const REPOSITORY_ARN = /^arn:aws:codeartifact:[^:]+:\d{12}:repository\/[^/]+\/[^/]+$/;
const DOMAIN_ARN = /^arn:aws:codeartifact:[^:]+:\d{12}:domain\/[^/]+$/;

export function resourceFilter(text: string): Pick<AuditFilter, 'resource' | 'resourcePrefix' | 'repositoryArn' | 'domainArn'> {
  if (text.endsWith('*')) return { resourcePrefix: text.slice(0, -1) };
  if (REPOSITORY_ARN.test(text)) return { repositoryArn: text };
  if (DOMAIN_ARN.test(text)) return { domainArn: text };
  return { resource: text };
}
