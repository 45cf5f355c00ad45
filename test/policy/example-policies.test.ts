/**
 * The example policies in ./policies, end to end over HTTP: token → Cedar → status change → audit.
 * Every deny must leave the versions as they were and write a complete audit record.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../src/audit/audit-record.ts';
import { DEV_ISSUER } from '../../src/config.ts';
import { loadPolicyDir } from '../../src/policy/load-policies.ts';
import type { VersionStatus } from '../../src/registry/statuses.ts';
import type { PackageKey } from '../../src/store/store.ts';
import { CHALK, DISPOSE, PROD_CHALK, testGateway, UPDATE, type TestGateway } from '../helpers/gateway.ts';

const MY_REPO_CHALK_ARN = 'arn:aws:codeartifact:us-east-1:111122223333:package/my_domain/my_repo/npm//chalk';
const MY_REPO_PACKAGES = 'arn:aws:codeartifact:us-east-1:111122223333:package/my_domain/my_repo/';
/**
 * The package of each seeded version, in seeding order: testGateway() syncs them, so the log
 * starts with one SyncPackageVersion record each (seq 1–6).
 */
const SEEDED_SYNCS = [
  MY_REPO_CHALK_ARN, // 4.0.0
  MY_REPO_CHALK_ARN, // 4.1.0
  MY_REPO_CHALK_ARN, // 4.1.1
  `${MY_REPO_PACKAGES}npm/nestjs/core`, // 8.0.0
  `${MY_REPO_PACKAGES}maven/org.apache.logging.log4j/log4j`, // 2.13.1
  'arn:aws:codeartifact:us-east-1:111122223333:package/my_domain/prod/npm//chalk', // 4.1.1
];
const PROD_CHALK_ARN = 'arn:aws:codeartifact:us-east-1:111122223333:package/my_domain/prod/npm//chalk';
const DEMO_DOMAIN_RESOURCE = 'Domain::"arn:aws:codeartifact:us-east-1:111122223333:domain/my_domain"';
/**
 * The seed's records, oldest first, before the syncs: its domain and 3 repositories (each named, as
 * CreateDomain and CreateRepository name theirs, by the domain), then each version it created.
 */
const SEED_RECORDS: Array<[resource: string, repository?: string]> = [
  [DEMO_DOMAIN_RESOURCE],
  ...['my_repo', 'prod', 'staging'].map((repository): [string, string] => [DEMO_DOMAIN_RESOURCE, repository]),
  ...SEEDED_SYNCS.map((arn): [string] => [arn]),
];
const MY_REPO_CHALK: PackageKey = { domainOwner: '111122223333', domain: 'my_domain', repository: 'my_repo', format: 'npm', namespace: '', name: 'chalk' };
const PROD_CHALK_KEY: PackageKey = { ...MY_REPO_CHALK, repository: 'prod' };

const RELEASE_MANAGERS = ['release-managers'];
const MAINTAINERS = ['maintainers'];
const SECURITY = ['security'];
const AUDITORS = ['auditors'];

let gw: TestGateway;
let policySetHash: string;

async function statuses(key: PackageKey, versions: string[]): Promise<Record<string, VersionStatus | undefined>> {
  const snapshot = await gw.store.readPackage(key, versions);
  return Object.fromEntries(versions.map((v) => [v, snapshot.versions.get(v)?.status]));
}

async function newestAudit(): Promise<AuditRecord> {
  const [record] = await gw.store.listAudit({ limit: 1 });
  expect(record).toBeDefined();
  return record!;
}

async function expectAllowed(res: Response, versions: Record<string, VersionStatus>): Promise<void> {
  expect(res.status).toBe(200);
  const body = (await res.json()) as { successfulVersions: Record<string, { status: string; revision: string }>; failedVersions: Record<string, unknown> };
  expect(body.failedVersions).toEqual({});
  expect(Object.fromEntries(Object.entries(body.successfulVersions).map(([v, r]) => [v, r.status]))).toEqual(versions);
}

interface DenyExpectation {
  subject: string;
  groups: string[];
  action: string;
  resource: string;
  key: PackageKey;
  /** The statuses the versions must still have. */
  unchanged: Record<string, VersionStatus>;
  reason: 'no_permit' | 'forbid' | 'evaluation_error';
  determiningPolicies?: string[];
}

/** A 403 AccessDeniedException, the versions untouched, and a complete deny record in the audit log. */
async function expectDenied(res: Response, e: DenyExpectation): Promise<AuditRecord> {
  expect(res.status).toBe(403);
  expect(res.headers.get('x-amzn-errortype')).toBe('AccessDeniedException');
  const body = (await res.json()) as { message: string };
  expect(body.message).toBe(`User: ${e.subject} is not authorized to perform: codeartifact:${e.action} on resource: ${e.resource}`);

  expect(await statuses(e.key, Object.keys(e.unchanged))).toEqual(e.unchanged);

  const record = await newestAudit();
  expect(record.decision).toBe('deny');
  expect(record.outcome).toBe('denied');
  expect(record.httpStatus).toBe(403);
  expect(record.principal).toEqual({ issuer: DEV_ISSUER, subject: e.subject, groups: e.groups });
  expect(record.action).toBe(e.action);
  expect(record.resource).toBe(e.resource);
  expect(record.policySetHash).toBe(policySetHash);
  expect(record.reason).toBe(e.reason);
  expect(record.changes).toEqual([]);
  if (e.reason !== 'evaluation_error') expect(record.errors).toEqual([]);
  if (e.determiningPolicies) expect(record.determiningPolicies).toEqual(e.determiningPolicies);
  return record;
}

async function update(subject: string, groups: string[], query: string, versions: string[], targetStatus: string): Promise<Response> {
  return gw.post(`${UPDATE}?${query}`, { versions, targetStatus }, await gw.token(subject, groups));
}

async function dispose(subject: string, groups: string[], query: string, versions: string[]): Promise<Response> {
  return gw.post(`${DISPOSE}?${query}`, { versions }, await gw.token(subject, groups));
}

describe('the example policies', () => {
  beforeEach(async () => {
    gw = await testGateway();
    policySetHash = loadPolicyDir(gw.policyDir).hash;
  });
  afterEach(() => gw.close());

  describe('release managers', () => {
    it('may unlist and archive chalk 4.1.0 in my_repo', async () => {
      await expectAllowed(await update('rita', RELEASE_MANAGERS, CHALK, ['4.1.0'], 'Unlisted'), { '4.1.0': 'Unlisted' });
      expect(await statuses(MY_REPO_CHALK, ['4.1.0'])).toEqual({ '4.1.0': 'Unlisted' });
      const unlisted = await newestAudit();
      expect(unlisted).toMatchObject({
        decision: 'allow',
        outcome: 'applied',
        httpStatus: 200,
        reason: null,
        resource: MY_REPO_CHALK_ARN,
        determiningPolicies: ['release-managers-curate-my-repo'],
        errors: [],
        policySetHash,
      });
      expect(unlisted.changes.map((c) => [c.version, c.before.status, c.after.status])).toEqual([['4.1.0', 'Published', 'Unlisted']]);

      await expectAllowed(await update('rita', RELEASE_MANAGERS, CHALK, ['4.1.0'], 'Archived'), { '4.1.0': 'Archived' });
      expect(await statuses(MY_REPO_CHALK, ['4.1.0'])).toEqual({ '4.1.0': 'Archived' });
      expect(await newestAudit()).toMatchObject({ decision: 'allow', outcome: 'applied', determiningPolicies: ['release-managers-curate-my-repo'] });
    });

    it('may not unlist or archive in prod', async () => {
      for (const target of ['Unlisted', 'Archived']) {
        await expectDenied(await update('rita', RELEASE_MANAGERS, PROD_CHALK, ['4.1.1'], target), {
          subject: 'rita',
          groups: RELEASE_MANAGERS,
          action: 'UpdatePackageVersionsStatus',
          resource: PROD_CHALK_ARN,
          key: PROD_CHALK_KEY,
          unchanged: { '4.1.1': 'Published' },
          reason: 'no_permit',
          determiningPolicies: [],
        });
      }
    });

    it('may not dispose', async () => {
      await expectDenied(await dispose('rita', RELEASE_MANAGERS, CHALK, ['4.0.0']), {
        subject: 'rita',
        groups: RELEASE_MANAGERS,
        action: 'DisposePackageVersions',
        resource: MY_REPO_CHALK_ARN,
        key: MY_REPO_CHALK,
        unchanged: { '4.0.0': 'Published' },
        reason: 'no_permit',
        determiningPolicies: [],
      });
    });
  });

  describe('maintainers', () => {
    it('may unlist and publish again in my_repo', async () => {
      await expectAllowed(await update('mia', MAINTAINERS, CHALK, ['4.1.0'], 'Unlisted'), { '4.1.0': 'Unlisted' });
      expect(await newestAudit()).toMatchObject({ decision: 'allow', outcome: 'applied', determiningPolicies: ['maintainers-unlist-my-repo'], policySetHash });
      await expectAllowed(await update('mia', MAINTAINERS, CHALK, ['4.1.0'], 'Published'), { '4.1.0': 'Published' });
      expect(await statuses(MY_REPO_CHALK, ['4.1.0'])).toEqual({ '4.1.0': 'Published' });
    });

    it('may not archive', async () => {
      await expectDenied(await update('mia', MAINTAINERS, CHALK, ['4.1.0'], 'Archived'), {
        subject: 'mia',
        groups: MAINTAINERS,
        action: 'UpdatePackageVersionsStatus',
        resource: MY_REPO_CHALK_ARN,
        key: MY_REPO_CHALK,
        unchanged: { '4.1.0': 'Published' },
        reason: 'no_permit',
        determiningPolicies: [],
      });
    });

    it('may not unlist in prod', async () => {
      await expectDenied(await update('mia', MAINTAINERS, PROD_CHALK, ['4.1.1'], 'Unlisted'), {
        subject: 'mia',
        groups: MAINTAINERS,
        action: 'UpdatePackageVersionsStatus',
        resource: PROD_CHALK_ARN,
        key: PROD_CHALK_KEY,
        unchanged: { '4.1.1': 'Published' },
        reason: 'no_permit',
        determiningPolicies: [],
      });
    });
  });

  describe('archived versions', () => {
    it('only a release manager may restore an archived version', async () => {
      await expectAllowed(await update('rita', RELEASE_MANAGERS, CHALK, ['4.1.1'], 'Archived'), { '4.1.1': 'Archived' });

      // A maintainer may publish in my_repo, but the forbid overrides that permit for an archived version.
      await expectDenied(await update('mia', MAINTAINERS, CHALK, ['4.1.1'], 'Published'), {
        subject: 'mia',
        groups: MAINTAINERS,
        action: 'UpdatePackageVersionsStatus',
        resource: MY_REPO_CHALK_ARN,
        key: MY_REPO_CHALK,
        unchanged: { '4.1.1': 'Archived' },
        reason: 'forbid',
        determiningPolicies: ['restore-archived-needs-release-manager'],
      });
      // Nor by listing it together with a version that is not archived.
      await expectDenied(await update('mia', MAINTAINERS, CHALK, ['4.1.0', '4.1.1'], 'Unlisted'), {
        subject: 'mia',
        groups: MAINTAINERS,
        action: 'UpdatePackageVersionsStatus',
        resource: MY_REPO_CHALK_ARN,
        key: MY_REPO_CHALK,
        unchanged: { '4.1.0': 'Published', '4.1.1': 'Archived' },
        reason: 'forbid',
        determiningPolicies: ['restore-archived-needs-release-manager'],
      });

      await expectAllowed(await update('rita', RELEASE_MANAGERS, CHALK, ['4.1.1'], 'Published'), { '4.1.1': 'Published' });
      expect(await statuses(MY_REPO_CHALK, ['4.1.1'])).toEqual({ '4.1.1': 'Published' });
      const restored = await newestAudit();
      expect(restored).toMatchObject({ decision: 'allow', outcome: 'applied', determiningPolicies: ['release-managers-curate-my-repo'], policySetHash });
      expect(restored.changes.map((c) => [c.version, c.before.status, c.after.status])).toEqual([['4.1.1', 'Archived', 'Published']]);
    });
  });

  describe('security', () => {
    it('may dispose chalk 4.0.0 in my_repo', async () => {
      await expectAllowed(await dispose('sam', SECURITY, CHALK, ['4.0.0']), { '4.0.0': 'Disposed' });
      expect(await statuses(MY_REPO_CHALK, ['4.0.0', '4.1.0'])).toEqual({ '4.0.0': 'Disposed', '4.1.0': 'Published' });
      expect(await newestAudit()).toMatchObject({
        decision: 'allow',
        action: 'DisposePackageVersions',
        outcome: 'applied',
        resource: MY_REPO_CHALK_ARN,
        determiningPolicies: ['security-may-dispose'],
        policySetHash,
      });
    });

    it('may not dispose chalk 4.1.1 in prod', async () => {
      const record = await expectDenied(await dispose('sam', SECURITY, PROD_CHALK, ['4.1.1']), {
        subject: 'sam',
        groups: SECURITY,
        action: 'DisposePackageVersions',
        resource: PROD_CHALK_ARN,
        key: PROD_CHALK_KEY,
        unchanged: { '4.1.1': 'Published' },
        reason: 'forbid',
      });
      expect(record.determiningPolicies).toContain('never-dispose-in-prod');
      expect(record.determiningPolicies).toEqual(['never-dispose-in-prod']);
    });
  });

  describe('a user with no groups', () => {
    it('is denied every version operation', async () => {
      for (const target of ['Published', 'Unlisted', 'Archived']) {
        await expectDenied(await update('nobody', [], CHALK, ['4.1.0'], target), {
          subject: 'nobody',
          groups: [],
          action: 'UpdatePackageVersionsStatus',
          resource: MY_REPO_CHALK_ARN,
          key: MY_REPO_CHALK,
          unchanged: { '4.1.0': 'Published' },
          reason: 'no_permit',
          determiningPolicies: [],
        });
      }
      await expectDenied(await dispose('nobody', [], CHALK, ['4.1.0']), {
        subject: 'nobody',
        groups: [],
        action: 'DisposePackageVersions',
        resource: MY_REPO_CHALK_ARN,
        key: MY_REPO_CHALK,
        unchanged: { '4.1.0': 'Published' },
        reason: 'no_permit',
        determiningPolicies: [],
      });
      await expectDenied(await dispose('nobody', [], PROD_CHALK, ['4.1.1']), {
        subject: 'nobody',
        groups: [],
        action: 'DisposePackageVersions',
        resource: PROD_CHALK_ARN,
        key: PROD_CHALK_KEY,
        unchanged: { '4.1.1': 'Published' },
        // The prod guard matches anyone's dispose there, with or without a permit.
        reason: 'forbid',
        determiningPolicies: ['never-dispose-in-prod'],
      });
    });

    it('may not read the audit log', async () => {
      const res = await gw.get('/v1/audit', await gw.token('nobody', []));
      expect(res.status).toBe(403);
      expect(res.headers.get('x-amzn-errortype')).toBe('AccessDeniedException');
      expect(await newestAudit()).toMatchObject({
        decision: 'deny',
        outcome: 'denied',
        httpStatus: 403,
        reason: 'no_permit',
        action: 'ReadAuditLog',
        resource: 'AuditLog::"versiongate"',
        principal: { issuer: DEV_ISSUER, subject: 'nobody', groups: [] },
        policySetHash,
      });
    });
  });

  describe('the audit log', () => {
    it('auditors may read it', async () => {
      await update('rita', RELEASE_MANAGERS, CHALK, ['4.1.0'], 'Unlisted');
      const res = await gw.get('/v1/audit', await gw.token('ada', AUDITORS));
      expect(res.status).toBe(200);
      const body = (await res.json()) as { records: AuditRecord[]; nextToken?: string };
      expect(Array.isArray(body.records)).toBe(true);
      expect(body.nextToken).toBeUndefined();
      // Newest first: the read itself is recorded before the page is listed.
      expect(body.records.map((r) => [r.action, r.decision, r.outcome, r.principal?.subject])).toEqual([
        ['ReadAuditLog', 'allow', 'read', 'ada'],
        ['UpdatePackageVersionsStatus', 'allow', 'applied', 'rita'],
        // The whole log: also the seeded versions' syncs and the seed's own records, which no principal made.
        ...SEEDED_SYNCS.map(() => ['SyncPackageVersion', 'none', 'applied', undefined]),
        ...SEED_RECORDS.map(() => ['SeedDemo', 'none', 'applied', undefined]),
      ]);
      expect(body.records.slice(2).map((r) => r.resource)).toEqual([...SEEDED_SYNCS].reverse().concat(SEED_RECORDS.map(([resource]) => resource).reverse()));
      expect(body.records[0]).toMatchObject({ resource: 'AuditLog::"versiongate"', determiningPolicies: ['auditors-read-audit-log'], httpStatus: 200, policySetHash });
    });

    it('security may read it', async () => {
      const res = await gw.get('/v1/audit', await gw.token('sam', SECURITY));
      expect(res.status).toBe(200);
      const body = (await res.json()) as { records: AuditRecord[] };
      // Its own read, newest first, then the whole log before it: the seeded versions' syncs, the seed's records.
      expect(body.records).toHaveLength(1 + SEEDED_SYNCS.length + SEED_RECORDS.length);
      expect(body.records[0]).toMatchObject({ action: 'ReadAuditLog', decision: 'allow', outcome: 'read', determiningPolicies: ['auditors-read-audit-log'] });
      expect(body.records.slice(1).map((r) => [r.action, r.resource])).toEqual([
        ...[...SEEDED_SYNCS].reverse().map((arn) => ['SyncPackageVersion', arn]),
        ...[...SEED_RECORDS].reverse().map(([resource]) => ['SeedDemo', resource]),
      ]);
    });

    it('a release manager reads only the records of my_repo (audit-readers.cedar)', async () => {
      // Records in my_repo and in prod, and one with no repository (a 401).
      await expectAllowed(await update('rita', RELEASE_MANAGERS, CHALK, ['4.1.0'], 'Unlisted'), { '4.1.0': 'Unlisted' });
      expect((await update('rita', RELEASE_MANAGERS, PROD_CHALK, ['4.1.1'], 'Unlisted')).status).toBe(403);
      expect((await gw.get('/v1/audit')).status).toBe(401);

      const res = await gw.get('/v1/audit?limit=100', await gw.token('rita', RELEASE_MANAGERS));
      expect(res.status).toBe(200);
      const { records } = (await res.json()) as { records: AuditRecord[] };
      // Every record of my_repo, whatever its package (the policy is on the repository), its creation
      // by the seed included, and nothing else: not prod's denied update, sync or seed, not the
      // domain's or other repositories' creation, not the 401, not the reads of the log.
      const ofMyRepo = SEED_RECORDS.filter(([resource, repository]) => repository === 'my_repo' || resource.startsWith(MY_REPO_PACKAGES));
      expect(records.map((r) => [r.action, r.resource, (r.request as { repository?: string }).repository])).toEqual([
        ['UpdatePackageVersionsStatus', MY_REPO_CHALK_ARN, undefined],
        ...SEEDED_SYNCS.filter((arn) => arn.startsWith(MY_REPO_PACKAGES)).reverse().map((arn) => ['SyncPackageVersion', arn, undefined]),
        ...ofMyRepo.reverse().map(([resource, repository]) => ['SeedDemo', resource, repository]),
      ]);
      expect(ofMyRepo).toHaveLength(6);
      expect(await newestAudit()).toMatchObject({
        decision: 'allow',
        outcome: 'read',
        determiningPolicies: ['release-managers-read-my-repo-audit'],
        request: { scope: ['arn:aws:codeartifact:us-east-1:111122223333:repository/my_domain/my_repo'] },
      });
    });

    it('the chain head is for readers of the whole log only', async () => {
      expect((await gw.get('/v1/audit/head', await gw.token('rita', RELEASE_MANAGERS))).status).toBe(403);
      const res = await gw.get('/v1/audit/head', await gw.token('ada', AUDITORS));
      expect(res.status).toBe(200);
      const head = (await res.json()) as { seq: number; hash: string; head: string };
      expect(head.hash).toMatch(/^[0-9a-f]{64}$/);
      expect(head.head).toBe(`${head.seq}:${head.hash}`);
      expect((await newestAudit()).seq).toBe(head.seq);
    });
  });
});

describe('a policy that errors at evaluation', () => {
  beforeEach(async () => {
    gw = await testGateway({
      policies: {
        'zz-broken.cedar': '// Overflows whenever it is evaluated.\n@id("zz-broken")\nforbid (principal, action, resource) when { 9223372036854775807 + 1 > 0 };\n',
      },
    });
    policySetHash = loadPolicyDir(gw.policyDir).hash;
  });
  afterEach(() => gw.close());

  it("denies a release manager's otherwise-allowed archive", async () => {
    const record = await expectDenied(await update('rita', RELEASE_MANAGERS, CHALK, ['4.1.0'], 'Archived'), {
      subject: 'rita',
      groups: RELEASE_MANAGERS,
      action: 'UpdatePackageVersionsStatus',
      resource: MY_REPO_CHALK_ARN,
      key: MY_REPO_CHALK,
      unchanged: { '4.1.0': 'Published' },
      reason: 'evaluation_error',
    });
    expect(record.errors.length).toBeGreaterThan(0);
    expect(record.errors).toEqual(['zz-broken: integer overflow while attempting to add the values `9223372036854775807` and `1`']);
  });

  it('the set with the broken policy has its own hash', async () => {
    const plain = await testGateway();
    try {
      expect(loadPolicyDir(plain.policyDir).hash).not.toBe(policySetHash);
    } finally {
      await plain.close();
    }
  });
});
