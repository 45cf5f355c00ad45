/**
 * `versiongate domain create` and `repository create` without an endpoint: the bootstrap, straight in
 * the database, for the first domain and repositories before any token may create one. Each creation
 * commits with its audit record, as the API's do (bootstrapTenancyRecord): the registry's first
 * domain is on the chain like every later one, and `audit verify --state` has nothing unrecorded.
 */
import { bootstrapTenancyRecord } from '../audit/build-record.ts';
import type { Clock } from '../clock.ts';
import { ConflictError, NotFoundError } from '../errors.ts';
import { domainArn } from '../resource/package-arn.ts';
import type { DomainRecord, RepositoryRecord, Store } from '../store/store.ts';

export interface BootstrapInput {
  clock: Clock;
  /** The region of the ARN the record names (VERSIONGATE_REGION). */
  region: string;
  owner: string;
  domain: string;
  /** The repository to create; absent: the domain. */
  repository?: string | undefined;
}

/** Creates the domain or repository with its record; a name taken or a domain missing is refused, nothing written. */
export async function bootstrapCreate(store: Pick<Store, 'applyTenancyChange'>, i: BootstrapInput): Promise<DomainRecord | RepositoryRecord> {
  const audit = bootstrapTenancyRecord({ clock: i.clock, domainArn: domainArn(i.region, i.owner, i.domain), domain: i.domain, repository: i.repository });
  const result = await store.applyTenancyChange(
    i.repository === undefined
      ? { kind: 'createDomain', owner: i.owner, domain: i.domain }
      : { kind: 'createRepository', owner: i.owner, domain: i.domain, repository: i.repository, description: null, upstreams: [] },
    audit,
  );
  if (result.ok) {
    if (i.repository === undefined) return { name: result.domain.name, owner: result.domain.owner, createdAt: result.domain.createdAt };
    const r = result.repository!;
    return { domain: r.domain, domainOwner: r.domainOwner, name: r.name, createdAt: r.createdAt };
  }
  switch (result.reason) {
    case 'domain_exists':
      throw new ConflictError(`domain ${i.domain} already exists for owner ${i.owner}`, 'domain', i.domain);
    case 'repository_exists':
      throw new ConflictError(`repository ${i.repository} already exists in domain ${i.domain}`, 'repository', i.repository!);
    case 'domain_missing':
      throw new NotFoundError(`domain ${i.domain} (owner ${i.owner}) does not exist`, 'domain', i.domain);
    default:
      throw new ConflictError(`could not create ${i.repository === undefined ? `domain ${i.domain}` : `repository ${i.repository}`}: ${result.reason}`, i.repository === undefined ? 'domain' : 'repository', i.repository ?? i.domain);
  }
}
