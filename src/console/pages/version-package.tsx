/**
 * The package a versions page is about (from its query), the links between the pages, and what the
 * pages read of one version: the coordinates every page carries, a version's row, its sync state.
 */
import type { FC } from 'hono/jsx';
import type { ApiClient } from '../api-client.ts';

export interface Coordinates {
  domain: string;
  domainOwner: string;
  repository: string;
  format: string;
  namespace: string;
  package: string;
}

export interface SyncState {
  status_str: string;
  stage_str: string;
  sync_progress: number;
  is_sync_completed: boolean;
  is_sync_failed: boolean;
  status_reason: string | null;
}

/** A version as the list and a version's page show it. */
export interface VersionRow {
  version: string;
  identifier: string;
  revision: string;
  status: string;
  publishedTime?: number | undefined;
  sync?: SyncState | undefined;
}

export const apiQuery = (k: Coordinates) => ({ domain: k.domain, 'domain-owner': k.domainOwner, repository: k.repository, format: k.format, namespace: k.namespace || undefined, package: k.package });

/** The package a page is about, from its query; undefined when it names none (or garbles one: `%zz`). */
export function coordinatesOf(q: (name: string) => string | undefined): Coordinates | undefined {
  const [format = '', namespace = '', pkg = ''] = (q('pkg') ?? '').split('/');
  let decoded: [string, string];
  try {
    decoded = [decodeURIComponent(namespace), decodeURIComponent(pkg)];
  } catch {
    return undefined;
  }
  const k = { domain: q('domain') ?? '', domainOwner: q('domain-owner') ?? '', repository: q('repository') ?? '', format, namespace: decoded[0], package: decoded[1] };
  return k.domain && k.repository && k.format && k.package ? k : undefined;
}
export const pkgValue = (format: string, namespace: string | undefined, name: string) => `${format}/${encodeURIComponent(namespace ?? '')}/${encodeURIComponent(name)}`;
export const displayName = (k: Coordinates) => (k.namespace ? (k.format === 'npm' ? `@${k.namespace}/${k.package}` : `${k.namespace}:${k.package}`) : k.package);

export function backTo(k: Coordinates): string {
  return `/console/versions?${new URLSearchParams({ domain: k.domain, 'domain-owner': k.domainOwner, repository: k.repository, pkg: pkgValue(k.format, k.namespace, k.package) })}`;
}

export const detailLink = (k: Coordinates, version: string) =>
  `/console/versions/detail?${new URLSearchParams({ domain: k.domain, 'domain-owner': k.domainOwner, repository: k.repository, pkg: pkgValue(k.format, k.namespace, k.package), version })}`;

/** The package's coordinates in a form, as every versions page's links carry them. */
export const Hidden: FC<{ k: Coordinates }> = ({ k }) => (
  <>
    <input type="hidden" name="domain" value={k.domain} />
    <input type="hidden" name="domain-owner" value={k.domainOwner} />
    <input type="hidden" name="repository" value={k.repository} />
    <input type="hidden" name="pkg" value={pkgValue(k.format, k.namespace, k.package)} />
  </>
);

/** A version's sync state (Cloudsmith's status path, authorized as DescribePackageVersion). */
export const syncStatusPath = (k: Coordinates, identifier: string) =>
  `/v1/packages/${encodeURIComponent(k.domain)}/${encodeURIComponent(k.repository)}/${encodeURIComponent(identifier)}/status/`;

export const SyncCell: FC<{ sync: SyncState | undefined }> = ({ sync }) =>
  sync ? (
    <span>
      {sync.is_sync_failed ? '✘ ' : sync.is_sync_completed ? '✔ ' : '… '}
      {sync.status_str}
      {sync.is_sync_completed || sync.is_sync_failed ? '' : ` (${sync.sync_progress}%)`}
      {sync.status_reason ? `: ${sync.status_reason}` : ''}
    </span>
  ) : (
    <span>unknown</span>
  );

/** When a version was published (REST-JSON's epoch seconds), as the list and the version's page show it. */
export const publishedText = (publishedTime: number | undefined) => (publishedTime ? new Date(publishedTime * 1000).toISOString().replace('.000Z', 'Z') : '—');

/** What one version's page and the confirmation page ask of the API about it. */
export interface Described {
  version: string;
  identifier?: string | undefined;
  revision?: string | undefined;
  status?: string | undefined;
  publishedTime?: number | undefined;
  error?: string | undefined;
}
export async function describeVersion(api: ApiClient, k: Coordinates, version: string): Promise<Described> {
  const d = await api.get<{ packageVersion: { identifier?: string; revision: string; status: string; publishedTime?: number } }>('/v1/package/version', { ...apiQuery(k), version });
  if (!d.ok) return { version, error: d.error };
  const v = d.body.packageVersion;
  return { version, identifier: v.identifier, revision: v.revision, status: v.status, publishedTime: v.publishedTime };
}
