/** The query parameters every CodeArtifact package operation takes, and their checked form. */
import { z } from '@hono/zod-openapi';
import { parseCoordinates, type PackageCoordinates } from '../resource/coordinates.ts';
import { FORMATS } from '../resource/formats.ts';
import { packageArn } from '../resource/package-arn.ts';

export const packageQuerySchema = z.object({
  domain: z.string().openapi({ example: 'my_domain', description: 'The domain that holds the repository.' }),
  'domain-owner': z.string().optional().openapi({ example: '111122223333', description: '12-digit account id that owns the domain.' }),
  repository: z.string().openapi({ example: 'my_repo' }),
  format: z.string().openapi({ example: 'npm', description: `One of ${FORMATS.join(', ')}.` }),
  // CodeArtifact's PackageNamespace is 1 to 255 characters: an empty one is refused, not taken for none.
  namespace: z.string().min(1).optional().openapi({ example: 'nestjs', description: 'npm scope without @, Maven groupId, generic/Swift namespace.' }),
  package: z.string().openapi({ example: 'chalk' }),
});

export type PackageQuery = z.infer<typeof packageQuerySchema>;

export function coordinatesFrom(q: PackageQuery): PackageCoordinates {
  return parseCoordinates({ domain: q.domain, domainOwner: q['domain-owner'], repository: q.repository, format: q.format, namespace: q.namespace, package: q.package });
}

/** The ARN a request aims at when it names the owner; for audit records written before resolution. */
export function arnHint(region: string, c: PackageCoordinates): string | null {
  return c.domainOwner ? packageArn({ region, domainOwner: c.domainOwner, domain: c.domain, repository: c.repository, format: c.format, namespace: c.namespace, name: c.name }) : null;
}
