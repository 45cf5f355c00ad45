/**
 * `versiongate seed demo`: the registry of the seed documents. Domain my_domain (owner 111122223333),
 * repositories my_repo, prod and staging; in my_repo chalk 4.0.0, 4.1.0, 4.1.1, @nestjs/core 8.0.0 and
 * org.apache.logging.log4j:log4j 2.13.1; in prod chalk 4.1.1 (so the prod guard can be seen working);
 * staging starts empty: what the pipelines publish there is promoted to prod with CopyPackageVersions.
 * Every version is Published with real asset bytes and a revision, its sync awaiting (like a publish):
 * the server's worker pool syncs them, extracting the npm and Maven metadata. Running it again adds
 * the domain, repositories and versions it does not find, and restores a demo version that was
 * deleted or disposed since (following the README does both) to Published with its demo asset, a new
 * revision and, for a deleted one, a new identifier. A version in any other status (Archived,
 * Unlisted…) is left as it is. Everything it creates or restores is recorded in the audit log as a
 * SeedDemo change, in the transaction that writes it, as every other change to the registry is (so
 * `audit verify --state` checks the demo's versions as it checks any other).
 */
import { createHash } from 'node:crypto';
import type { AuditRecordInput } from '../audit/audit-record.ts';
import { seedRestoreRecord, seedTenancyRecord, seedVersionRecord } from '../audit/build-record.ts';
import { systemClock, type Clock } from '../clock.ts';
import { ConflictError } from '../errors.ts';
import { newRevision } from '../registry/revision.ts';
import { domainArn, packageRef } from '../resource/package-arn.ts';
import type { VersionStatus } from '../registry/statuses.ts';
import type { BlobStore } from '../store/blob-store.ts';
import type { Store, TenancyChange } from '../store/store.ts';
import { tgz } from './tarball.ts';
import { DEMO_DOMAIN, DEMO_OWNER, DEMO_VERSIONS as VERSIONS, type DemoVersion } from '../registry/demo-versions.ts';

export { DEMO_DOMAIN, DEMO_OWNER };

const DEFAULT_REGION = 'us-east-1';

const NESTJS_DEPENDENCIES = {
  dependencies: { tslib: '2.3.1', uid: '2.0.0' },
  peerDependencies: { '@nestjs/common': '^8.0.0', rxjs: '^7.1.0' },
};

function demoAssets(v: DemoVersion): Array<{ name: string; bytes: Uint8Array }> {
  if (v.format === 'npm') {
    const fullName = v.namespace ? `@${v.namespace}/${v.name}` : v.name;
    // @nestjs/core carries dependencies and a README, for ListPackageVersionDependencies and
    // GetPackageVersionReadme; chalk's tarballs stay as they were (their sizes are in the README).
    const extra = v.name === 'core' ? NESTJS_DEPENDENCIES : {};
    const manifest = JSON.stringify({ name: fullName, version: v.version, description: `${fullName} (versiongate demo)`, license: 'MIT', ...extra }, null, 2);
    const file = `${v.namespace ? `${v.namespace}-` : ''}${v.name}-${v.version}.tgz`;
    const files = [{ path: 'package/package.json', content: manifest }, { path: 'package/index.js', content: 'module.exports = {};\n' }];
    if (v.name === 'core') files.push({ path: 'package/README.md', content: `# ${fullName}\n\nThe versiongate demo's copy of ${fullName}.\n` });
    return [{ name: file, bytes: tgz(files) }];
  }
  const pom = `<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>${v.namespace}</groupId>
  <artifactId>${v.name}</artifactId>
  <version>${v.version}</version>
  <packaging>pom</packaging>
  <name>Apache Log4j (versiongate demo)</name>
  <licenses><license><name>Apache-2.0</name></license></licenses>
  <dependencies>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-api</artifactId><version>2.13.1</version></dependency>
    <dependency><groupId>junit</groupId><artifactId>junit</artifactId><version>4.13</version><scope>test</scope></dependency>
  </dependencies>
</project>
`;
  return [{ name: `${v.name}-${v.version}.pom`, bytes: Buffer.from(pom) }];
}

export interface SeedReport {
  created: string[];
  /** Deleted or disposed demo versions published again, each with the status it had. */
  restored: string[];
  existing: string[];
  /** How many versions were created or restored (each awaiting its sync). */
  versionsCreated: number;
}

export interface SeedOptions {
  /** The region of the ARNs its audit records name (VERSIONGATE_REGION). */
  region?: string | undefined;
  clock?: Clock | undefined;
}

export async function seedDemo(store: Store, blobs: BlobStore, options: SeedOptions = {}): Promise<SeedReport> {
  const report: SeedReport = { created: [], restored: [], existing: [], versionsCreated: 0 };
  const clock = options.clock ?? systemClock;
  const region = options.region ?? DEFAULT_REGION;
  const demoDomainArn = domainArn(region, DEMO_OWNER, DEMO_DOMAIN);
  // Each created with its record, as CreateDomain and CreateRepository commit theirs; one found is left as it is.
  const create = async (what: string, change: TenancyChange, audit: AuditRecordInput) => {
    const result = await store.applyTenancyChange(change, audit);
    if (result.ok) report.created.push(what);
    else if (result.reason === 'domain_exists' || result.reason === 'repository_exists') report.existing.push(what);
    // Only the domain deleted between the two (the server's DeleteDomain) gets here: nothing was written.
    else throw new ConflictError(`${what} could not be created (${result.reason}) while the demo was seeded; nothing was changed, run seed demo again`, 'domain', DEMO_DOMAIN);
  };
  await create(`domain ${DEMO_DOMAIN}`, { kind: 'createDomain', owner: DEMO_OWNER, domain: DEMO_DOMAIN }, seedTenancyRecord({ clock, domainArn: demoDomainArn, domain: DEMO_DOMAIN }));
  for (const repository of ['my_repo', 'prod', 'staging']) {
    await create(
      `repository ${repository}`,
      { kind: 'createRepository', owner: DEMO_OWNER, domain: DEMO_DOMAIN, repository, description: null, upstreams: [] },
      seedTenancyRecord({ clock, domainArn: demoDomainArn, domain: DEMO_DOMAIN, repository }),
    );
  }
  for (const v of VERSIONS) {
    const label = `${v.repository}: ${v.format} ${v.namespace ? `${v.namespace}/` : ''}${v.name} ${v.version}`;
    const snapshot = await store.readPackage({ domainOwner: DEMO_OWNER, domain: DEMO_DOMAIN, ...v }, [v.version]);
    const existing = snapshot.versions.get(v.version);
    if (existing && existing.status !== 'Deleted' && existing.status !== 'Disposed') {
      report.existing.push(label);
      continue;
    }
    await publishDemo(store, blobs, v, snapshot.packageId, existing ?? null, { clock, region });
    if (existing) report.restored.push(`${label} (was ${existing.status})`);
    else report.created.push(label);
    report.versionsCreated++;
  }
  return report;
}

/**
 * Publishes a demo version, new or deleted or disposed, as a publish of its demo asset would: one
 * commit, guarded by the revision just read (none: it must still not exist), with its audit record
 * (no principal: it is the operator's local command, like the policy loads), the version's sync
 * awaiting.
 */
async function publishDemo(
  store: Store,
  blobs: BlobStore,
  v: DemoVersion,
  packageId: number | null,
  before: { status: VersionStatus; revision: string } | null,
  options: { clock: Clock; region: string },
): Promise<void> {
  const [demo] = demoAssets(v);
  const blobKey = blobs.newKey();
  // Reserved first, as a publish does: bytes no commit claims are removed at the next start.
  await store.reserveBlob(blobKey);
  let claimed = false;
  try {
    const asset = await blobs.ingest(demo!.name, blobKey, new Blob([demo!.bytes]).stream(), { maxBytes: demo!.bytes.length, expectedSha256: createHash('sha256').update(demo!.bytes).digest('hex') });
    const key = { domainOwner: DEMO_OWNER, domain: DEMO_DOMAIN, repository: v.repository, format: v.format, namespace: v.namespace, name: v.name };
    const revision = newRevision();
    const ref = packageRef({ region: options.region, ...key });
    const record = { clock: options.clock, ref, version: v.version, assetName: asset.name, revision };
    const result = await store.commitVersionChanges({
      // Null for a package the demo has not created yet: the publish creates it.
      packageId,
      guards: [{ version: v.version, revision: before?.revision ?? null }],
      changes: [],
      disposeAssets: false,
      publish: { key, version: v.version, status: 'Published', revision, fresh: before === null || before.status === 'Deleted', asset },
      audit: before ? seedRestoreRecord({ ...record, before: { status: before.status, revision: before.revision } }) : seedVersionRecord(record),
    });
    if (!result.ok) throw new ConflictError(`${v.name} ${v.version} changed while the demo ${before ? 'restored' : 'created'} it; nothing was changed, run seed demo again`, 'package-version', v.version);
    claimed = true;
  } finally {
    if (!claimed) await blobs.remove(blobKey).catch(() => undefined);
  }
}
