/**
 * The three loads, as request cycles per connection (see DriveSpec), and the status each expects.
 * The same spec drives the bare server and versiongate: only the URL differs.
 */
import type { DriveRequest, DriveSpec } from './drive-spec.ts';
import { BENCH_PACKAGE, benchVersion, packageQuery, VERSION_SLOTS } from './seed-registry.ts';

export type Expected = '2xx' | 401;

export interface Scenario {
  /** 1, 2 or 3, as the issue numbers them. */
  number: number;
  name: string;
  expected: Expected;
  spec: Omit<DriveSpec, 'url' | 'seconds'>;
}

const UPDATE_PATH = `/v1/package/versions/update_status?${packageQuery(BENCH_PACKAGE)}`;
/** ListPackageVersions is a POST, as in CodeArtifact's protocol (README, The API). */
const LIST_PATH = `/v1/package/versions?${packageQuery({ format: 'npm', namespace: '', name: 'chalk' })}`;

function headers(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
}

/**
 * Connection i owns version block*connections + i and flips it Published → Unlisted → Published …:
 * every request is a real change (a new revision and an audit record committed together) and no
 * two connections ever touch one version. The versions start Published, so the cycle starts Unlisted.
 */
function updateCycles(connections: number, block: number): DriveRequest[][] {
  if ((block + 1) * connections > VERSION_SLOTS) throw new Error(`${VERSION_SLOTS} seeded versions are too few for block ${block} of ${connections} connections`);
  return Array.from({ length: connections }, (_, i) => {
    const versions = [benchVersion(block * connections + i)];
    return (['Unlisted', 'Published'] as const).map((targetStatus) => ({ path: UPDATE_PATH, body: JSON.stringify({ versions, targetStatus }) }));
  });
}

/** Scenario 1: a release manager's UpdatePackageVersionsStatus, each one committed. */
export function durableUpdate(token: string, connections: number, block: number): Scenario {
  return {
    number: 1,
    name: 'UpdatePackageVersionsStatus (durable)',
    expected: '2xx',
    spec: { connections, method: 'POST', headers: headers(token), cycles: updateCycles(connections, block) },
  };
}

/** Scenario 2: a developer's ListPackageVersions of chalk; each read is authorized and audited. */
export function auditedRead(token: string, connections: number): Scenario {
  return {
    number: 2,
    name: 'ListPackageVersions (audited read)',
    expected: '2xx',
    spec: { connections, method: 'POST', headers: headers(token), cycles: [[{ path: LIST_PATH }]] },
  };
}

/**
 * Scenario 3: the update request with a token that is not a JWT at all. Refused (401) before any
 * package is read; the bare server, which checks nothing, answers 200 as always.
 */
export function unauthorizedFlood(connections: number): Scenario {
  return {
    number: 3,
    name: '401 flood (garbage token)',
    expected: 401,
    spec: { connections, method: 'POST', headers: headers('garbage.garbage.garbage'), cycles: updateCycles(connections, 0) },
  };
}
