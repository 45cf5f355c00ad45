/**
 * The `resource` filter of an audit query, as an auditor writes it:
 *   a package ARN                         → that package's records;
 *   a repository ARN                      → every record of the repository: its packages', its own
 *                                           (ListPackages, UpdateRepository, DeleteRepository) and
 *                                           the domain's about it (CreateRepository);
 *   a domain ARN                          → every record of the domain: its repositories' and its own;
 *   any text ending in `*`                → resources starting with the text before the `*`;
 *   anything else (AuditLog::"versiongate") → that exact resource.
 * It reads the derived columns (derived-fields.ts), which say which repository and domain a record is of.
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
