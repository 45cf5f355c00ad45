/**
 * `versiongate seed demo`: the registry of the seed documents. Domain my_domain (owner 111122223333),
 * repositories my_repo, prod and staging; in my_repo chalk 4.0.0, 4.1.0, 4.1.1, @nestjs/core 8.0.0 and
 * org.apache.logging.log4j:log4j 2.13.1; in prod chalk 4.1.1 (so the prod guard can be seen working);
 * staging starts empty: what the pipelines publish there is promoted to prod with CopyPackageVersions.
 * Every version is Published with real asset bytes and a revision, its sync awaiting (like a publish):
 * the server's worker pool syncs them, extracting the npm and Maven metadata. Running it again adds
 * the domain, repositories and versions it does not find; a version that exists in any status, Deleted
 * or Disposed included, is left as it is.
 */
import { ConflictError } from '../errors.ts';
import { newRevision } from '../registry/revision.ts';
import type { PackageFormat } from '../resource/formats.ts';
import type { BlobStore } from '../store/blob-store.ts';
import type { Store } from '../store/store.ts';
import { tgz } from './tarball.ts';

export const DEMO_DOMAIN = 'my_domain';
export const DEMO_OWNER = '111122223333';

interface DemoVersion {
  repository: string;
  format: PackageFormat;
  namespace: string;
  name: string;
  version: string;
}

const VERSIONS: DemoVersion[] = [
  ...['4.0.0', '4.1.0', '4.1.1'].map((version) => ({ repository: 'my_repo', format: 'npm' as const, namespace: '', name: 'chalk', version })),
  { repository: 'my_repo', format: 'npm', namespace: 'nestjs', name: 'core', version: '8.0.0' },
  { repository: 'my_repo', format: 'maven', namespace: 'org.apache.logging.log4j', name: 'log4j', version: '2.13.1' },
  { repository: 'prod', format: 'npm', namespace: '', name: 'chalk', version: '4.1.1' },
];

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
  existing: string[];
  /** How many versions were created (each awaiting its sync). */
  versionsCreated: number;
}

export async function seedDemo(store: Store, blobs: BlobStore): Promise<SeedReport> {
  const report: SeedReport = { created: [], existing: [], versionsCreated: 0 };
  const ignoreExisting = async (what: string, fn: () => Promise<unknown>) => {
    try {
      await fn();
      report.created.push(what);
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err;
      report.existing.push(what);
    }
  };
  await ignoreExisting(`domain ${DEMO_DOMAIN}`, () => store.createDomain(DEMO_DOMAIN, DEMO_OWNER));
  for (const repo of ['my_repo', 'prod', 'staging']) await ignoreExisting(`repository ${repo}`, () => store.createRepository(DEMO_OWNER, DEMO_DOMAIN, repo));
  for (const v of VERSIONS) {
    const label = `${v.repository}: ${v.format} ${v.namespace ? `${v.namespace}/` : ''}${v.name} ${v.version}`;
    const snapshot = await store.readPackage({ domainOwner: DEMO_OWNER, domain: DEMO_DOMAIN, ...v }, [v.version]);
    const existing = snapshot.versions.get(v.version);
    if (existing) {
      // A version deleted or disposed since is not restored: bringing it back would be a change to the
      // registry that no policy decided and no audit record shows. Said, so nobody expects otherwise.
      const gone = existing.status === 'Deleted' || existing.status === 'Disposed';
      report.existing.push(gone ? `${label} (${existing.status}: not restored; a fresh data dir starts the demo again)` : label);
      continue;
    }
    const assets = [];
    for (const a of demoAssets(v)) assets.push(await blobs.put(a.name, a.bytes));
    try {
      await store.addVersion({ key: { domainOwner: DEMO_OWNER, domain: DEMO_DOMAIN, ...v }, version: v.version, status: 'Published', revision: newRevision(), assets });
      report.created.push(label);
      report.versionsCreated++;
    } catch (err) {
      for (const a of assets) await blobs.remove(a.blobKey);
      throw err;
    }
  }
  return report;
}
