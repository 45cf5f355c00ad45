/** The domain, repositories' owner and versions `versiongate seed demo` creates. */
import type { PackageFormat } from '../resource/formats.ts';
import type { PackageKey } from '../store/store.ts';

export const DEMO_DOMAIN = 'my_domain';
export const DEMO_OWNER = '111122223333';

export interface DemoVersion {
  repository: string;
  format: PackageFormat;
  namespace: string;
  name: string;
  version: string;
}

export const DEMO_VERSIONS: readonly DemoVersion[] = [
  ...['4.0.0', '4.1.0', '4.1.1'].map((version) => ({ repository: 'my_repo', format: 'npm' as const, namespace: '', name: 'chalk', version })),
  { repository: 'my_repo', format: 'npm', namespace: 'nestjs', name: 'core', version: '8.0.0' },
  { repository: 'my_repo', format: 'maven', namespace: 'org.apache.logging.log4j', name: 'log4j', version: '2.13.1' },
  { repository: 'prod', format: 'npm', namespace: '', name: 'chalk', version: '4.1.1' },
];

/**
 * Whether `seed demo` creates this version. Before it recorded what it creates, it added these
 * Published with no audit record, and a store seeded then still has them so until their first sync:
 * `audit verify --state` names the likely cause beside such a row (it reports the row all the same),
 * and the start's emptied-log warning does not take them as evidence of records removed.
 */
export function isDemoVersion(key: PackageKey, version: string): boolean {
  return (
    key.domainOwner === DEMO_OWNER &&
    key.domain === DEMO_DOMAIN &&
    DEMO_VERSIONS.some((v) => v.repository === key.repository && v.format === key.format && v.namespace === key.namespace && v.name === key.name && v.version === version)
  );
}
