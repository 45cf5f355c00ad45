/**
 * `audit verify --state` and POST /v1/audit/verify {"state": true}: the registry's versions compared
 * with what the audit log says they are. A clean store after every kind of real change verifies
 * clean; a status, a revision, a row deleted or a row added straight in the database, with no record,
 * is named with what the store has, what the log says and the record's seq.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { verifyChainAndState, type StateResult } from '../../src/audit/verify-state.ts';
import { seedDemo } from '../../src/cli/seed-demo.ts';
import { DEMO_VERSIONS } from '../../src/registry/demo-versions.ts';
import type { PackageKey } from '../../src/store/store.ts';
import { runInProcess } from '../helpers/cli-process.ts';
import { CHALK, testGateway, UPDATE, type TestGateway } from '../helpers/gateway.ts';
import { sqlOnGateway } from '../helpers/raw-sql.ts';
import { walkCounter } from '../helpers/walk-counter.ts';

const OWNER = '111122223333';
const chalk: PackageKey = { domainOwner: OWNER, domain: 'my_domain', repository: 'my_repo', format: 'npm', namespace: '', name: 'chalk' };
const tool = (repository: string): PackageKey => ({ domainOwner: OWNER, domain: 'my_domain', repository, format: 'generic', namespace: 'acme', name: 'tool' });
const coords = (k: PackageKey) => `domain=${k.domain}&domain-owner=${k.domainOwner}&repository=${k.repository}&format=${k.format}${k.namespace ? `&namespace=${k.namespace}` : ''}&package=${k.name}`;

/** Everything on every resource, for the test's operator; the shipped prod guards still apply. */
const OPS = `@id("test-ops-do-anything")
permit (principal in Group::"ops", action, resource);`;

const tamper = (gw: TestGateway, statements: string[]) => sqlOnGateway(gw, statements, { constraintsOff: true });

/** The state part of a verify, which must have found the chain intact. */
async function stateOf(gw: TestGateway): Promise<StateResult> {
  const result = await verifyChainAndState(gw.store);
  expect(result.ok, JSON.stringify(result.break)).toBe(true);
  return result.state!;
}

describe.each(['sqlite', 'postgres'] as const)('audit verify --state (%s)', (engine) => {
  let gw: TestGateway;
  let ops: string;
  beforeEach(async () => {
    gw = await testGateway({ engine, policies: { 'test-ops.cedar': OPS } });
    ops = await gw.token('olga', ['ops', 'release-managers']); // restoring an Archived version takes a release manager
  });
  afterEach(() => gw.close());

  const ok200 = async (res: Response | Promise<Response>) => {
    const r = await res;
    expect(r.status, await r.clone().text()).toBe(200);
    return r.json();
  };
  const publish = (k: PackageKey, version: string, asset: string, bytes: string, unfinished = false) =>
    ok200(
      gw.app.request(`/v1/package/version/publish?${coords(k)}&version=${version}&asset=${asset}${unfinished ? '&unfinished=true' : ''}`, {
        method: 'POST',
        body: bytes,
        headers: { authorization: `Bearer ${ops}`, 'x-amz-content-sha256': createHash('sha256').update(bytes).digest('hex'), 'content-type': 'application/octet-stream' },
      }),
    );
  const change = (path: string, k: PackageKey, body: unknown) => ok200(gw.post(`${path}?${coords(k)}`, body, ops));
  const remove = (path: string) => ok200(gw.app.request(path, { method: 'DELETE', headers: { authorization: `Bearer ${ops}` } }));
  const rowOf = async (k: PackageKey, version: string) => (await gw.store.readVersion(k, version)).version!;
  const headSeq = async () => (await gw.store.auditHead())!.seq;
  const cliArgs = () => (gw.databaseUrl ? ['--database-url', gw.databaseUrl] : ['--data-dir', join(gw.dataDir, 'data')]);
  const cli = (...args: string[]) => runInProcess(['audit', 'verify', ...args, ...cliArgs()], { PATH: process.env.PATH });

  it('a seeded store after every kind of real change through the API verifies clean, every version compared', async () => {
    // Status changes, several on one version (the newest record counts), dispose and delete (the row stays, Deleted).
    await change(UPDATE, chalk, { versions: ['4.1.0'], targetStatus: 'Unlisted' });
    await change(UPDATE, chalk, { versions: ['4.1.0'], targetStatus: 'Archived' });
    await change(UPDATE, chalk, { versions: ['4.1.0'], targetStatus: 'Published' });
    await change('/v1/package/versions/dispose', chalk, { versions: ['4.0.0'] });
    await change('/v1/package/versions/delete', { ...chalk, namespace: 'nestjs', name: 'core' }, { versions: ['8.0.0'] });
    // Publishes: a new version, an upload finished by its last asset, then synced (a new revision each).
    await publish(tool('my_repo'), '1.0.0', 'tool.tgz', 'one');
    await publish(tool('my_repo'), '2.0.0', 'a.bin', 'A', true);
    await publish(tool('my_repo'), '2.0.0', 'b.bin', 'B');
    await gw.sync();
    // A copy to another repository, then a resync of it (another revision).
    await ok200(gw.post(`/v1/package/versions/copy?domain=my_domain&domain-owner=${OWNER}&source-repository=my_repo&destination-repository=staging&format=generic&namespace=acme&package=tool`, { versions: ['1.0.0', '2.0.0'] }, ops));
    await gw.sync();
    const copied = await rowOf(tool('staging'), '1.0.0');
    await ok200(gw.post(`/v1/packages/my_domain/staging/${copied.identifier}/resync/`, {}, ops));
    await gw.sync();
    // A package deleted (its rows go), then published again; a repository holding a deleted version, deleted.
    await remove(`/v1/package?${coords(tool('staging'))}`);
    await publish(tool('staging'), '1.0.0', 'tool.tgz', 'again');
    await ok200(gw.post(`/v1/repository?domain=my_domain&domain-owner=${OWNER}&repository=scratch`, {}, ops));
    await publish(tool('scratch'), '1.0.0', 'tool.tgz', 'scratch');
    await change('/v1/package/versions/delete', tool('scratch'), { versions: ['1.0.0'] });
    await remove(`/v1/repository?domain=my_domain&domain-owner=${OWNER}&repository=scratch`);
    // seed demo again: restores the disposed and the deleted demo versions, recorded as SeedDemo.
    expect((await seedDemo(gw.store, gw.blobs)).restored).toHaveLength(2);
    await gw.sync();

    const state = await stateOf(gw);
    expect(state.discrepancies).toEqual([]);
    expect(state.unverifiable).toEqual([]);
    // The 6 demo versions, tool 1.0.0 and 2.0.0 in my_repo, tool 1.0.0 in staging (scratch is gone).
    expect(state).toEqual({ ok: true, versions: 9, discrepancyCount: 0, discrepancies: [], unverifiableCount: 0, unverifiable: [] });
  });

  it('a store just seeded verifies clean before any sync: each demo version against the SeedDemo record that created it', async () => {
    await gw.close();
    gw = await testGateway({ engine, seed: false });
    await seedDemo(gw.store, gw.blobs);
    expect(await stateOf(gw)).toEqual({ ok: true, versions: 6, discrepancyCount: 0, discrepancies: [], unverifiableCount: 0, unverifiable: [] });

    // Its record is the state expected: a revision or a status edited since is named, with that record.
    const row = await rowOf(chalk, '4.1.0');
    const [created] = (await gw.store.listAudit({ filter: { action: 'SeedDemo', packageName: 'chalk', version: '4.1.0' }, limit: 10 })).filter((r) => r.resource?.includes('/my_repo/'));
    expect(created!.changes).toEqual([{ version: '4.1.0', before: { status: 'Deleted', revision: '' }, after: { status: 'Published', revision: row.revision } }]);
    await tamper(gw, [`UPDATE package_versions SET status = 'Archived', revision = 'forged-revision' WHERE id = ${row.id}`]);
    const edited = await stateOf(gw);
    expect(edited.ok).toBe(false);
    expect(edited.discrepancies).toEqual([
      {
        version: 'my_domain/my_repo/npm//chalk@4.1.0',
        domainOwner: OWNER,
        store: { status: 'Archived', revision: 'forged-revision' },
        log: { status: 'Published', revision: row.revision },
        seq: created!.seq,
        problem: `its status is Archived in the store, but Published in the log; its revision is forged-revision in the store, but ${row.revision} in the log (record ${created!.seq})`,
      },
    ]);
  });

  it('a demo package deleted through the API and seeded again verifies clean at once: the seed recorded it', async () => {
    const core = { ...chalk, namespace: 'nestjs', name: 'core' };
    await remove(`/v1/package?${coords(core)}`);
    expect((await seedDemo(gw.store, gw.blobs)).created).toContain('my_repo: npm nestjs/core 8.0.0');
    expect(await stateOf(gw)).toEqual({ ok: true, versions: 6, discrepancyCount: 0, discrepancies: [], unverifiableCount: 0, unverifiable: [] });
    await gw.sync();
    expect(await stateOf(gw)).toEqual({ ok: true, versions: 6, discrepancyCount: 0, discrepancies: [], unverifiableCount: 0, unverifiable: [] });
  });

  it('a row inserted by SQL under a demo version\'s name, after its package was deleted, is named, not excused', async () => {
    const core = { ...chalk, namespace: 'nestjs', name: 'core' };
    await remove(`/v1/package?${coords(core)}`);
    const deletion = await headSeq();
    await tamper(gw, [
      `INSERT INTO packages (repository_id, format, namespace, name, created_at)
       SELECT r.id, 'npm', 'nestjs', 'core', '2026-12-01T00:00:00.000Z' FROM repositories r JOIN domains d ON d.id = r.domain_id WHERE d.name = 'my_domain' AND r.name = 'my_repo'`,
      `INSERT INTO package_versions (package_id, version, identifier, status, revision, published_at, status_updated_at)
       SELECT p.id, '8.0.0', 'forgedid0002', 'Published', 'forged-revision', '2026-12-01T00:00:00.000Z', '2026-12-01T00:00:00.000Z'
       FROM packages p JOIN repositories r ON r.id = p.repository_id WHERE r.name = 'my_repo' AND p.namespace = 'nestjs' AND p.name = 'core'`,
    ]);
    const state = await stateOf(gw);
    expect(state.ok).toBe(false);
    expect(state.unverifiable).toEqual([]);
    expect(state.discrepancies).toEqual([
      {
        version: 'my_domain/my_repo/npm/nestjs/core@8.0.0',
        domainOwner: OWNER,
        store: { status: 'Published', revision: 'forged-revision' },
        // DeletePackage recorded it Deleted, then removed the row.
        log: { status: 'Deleted', revision: expect.any(String) },
        seq: deletion,
        problem: expect.stringMatching(
          new RegExp(`^the store has it \\(Published, revision forged-revision\\), but the log says DeletePackage removed it at record ${deletion}, and no record since created it; it is a demo version, and an older \`seed demo\``),
        ),
      },
    ]);
  });

  it('a store an older `seed demo` left (demo versions with no record) is reported, each with the likely cause, until their syncs record them', async () => {
    await gw.close();
    gw = await testGateway({ engine, seed: false });
    // What `seed demo` wrote before it recorded anything: the rows alone.
    await gw.store.createDomain('my_domain', OWNER);
    for (const repository of ['my_repo', 'prod', 'staging']) await gw.store.createRepository(OWNER, 'my_domain', repository);
    for (const v of DEMO_VERSIONS) {
      await gw.store.addVersion({ key: { domainOwner: OWNER, domain: 'my_domain', ...v }, version: v.version, status: 'Published', revision: `old-seed-${v.version}`, assets: [] });
    }
    const state = await stateOf(gw);
    expect(state).toMatchObject({ ok: false, versions: 6, unverifiable: [] });
    expect(state.discrepancies.map((d) => d.version).sort()).toEqual([
      'my_domain/my_repo/maven/org.apache.logging.log4j/log4j@2.13.1',
      'my_domain/my_repo/npm//chalk@4.0.0',
      'my_domain/my_repo/npm//chalk@4.1.0',
      'my_domain/my_repo/npm//chalk@4.1.1',
      'my_domain/my_repo/npm/nestjs/core@8.0.0',
      'my_domain/prod/npm//chalk@4.1.1',
    ]);
    expect(state.discrepancies.find((d) => d.version === 'my_domain/my_repo/npm//chalk@4.1.0')).toEqual({
      version: 'my_domain/my_repo/npm//chalk@4.1.0',
      domainOwner: OWNER,
      store: { status: 'Published', revision: 'old-seed-4.1.0' },
      log: null,
      seq: null,
      problem:
        'the store has it (Published, revision old-seed-4.1.0), but no audit record created or changed it; it is a demo version, and an older `seed demo` (before it recorded what it creates) created those with no record: on a store seeded by one, this is expected until the version\'s first sync records it (reseed, or ignore it)',
    });
    // The CLI says the same on stderr, and fails.
    const r = await cli('--state');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('state differs: my_domain/prod/npm//chalk@4.1.1 (domain owner 111122223333): the store has it (Published, revision old-seed-4.1.1), but no audit record created or changed it; it is a demo version');

    // Each sync records its version's state: from then on the log explains every row.
    await gw.sync();
    expect(await stateOf(gw)).toEqual({ ok: true, versions: 6, discrepancyCount: 0, discrepancies: [], unverifiableCount: 0, unverifiable: [] });
  });

  it('the store reads every version row a page at a time, by row id, with its coordinates', async () => {
    const all = await gw.store.readVersionStates(0, 1_000);
    const paged = [];
    for (let after = 0; ; ) {
      const page = await gw.store.readVersionStates(after, 2);
      if (page.length === 0) break;
      expect(page.length).toBeLessThanOrEqual(2);
      paged.push(...page);
      after = page[page.length - 1]!.id;
    }
    expect(paged).toEqual(all);
    expect(all.map((v) => v.id)).toEqual([...all.map((v) => v.id)].sort((a, b) => a - b));
    const row = await rowOf(chalk, '4.1.0');
    expect(all.find((v) => v.id === row.id)).toEqual({ id: row.id, key: chalk, version: '4.1.0', status: row.status, revision: row.revision });
    expect(all).toHaveLength(6);
  });

  describe('after a recorded change', () => {
    let recorded: { seq: number; revision: string; id: number };
    beforeEach(async () => {
      const body = await change(UPDATE, chalk, { versions: ['4.1.0'], targetStatus: 'Unlisted' });
      const row = await rowOf(chalk, '4.1.0');
      recorded = { seq: await headSeq(), revision: body.successfulVersions['4.1.0'].revision, id: row.id };
      expect(row).toMatchObject({ status: 'Unlisted', revision: recorded.revision });
      expect(await stateOf(gw)).toMatchObject({ ok: true, discrepancies: [] });
    });

    it('a status edited by SQL without a record is named: what the store has, what the log says, its record', async () => {
      await tamper(gw, [`UPDATE package_versions SET status = 'Published' WHERE id = ${recorded.id}`]);
      const state = await stateOf(gw);
      expect(state.ok).toBe(false);
      expect(state.discrepancies).toEqual([
        {
          version: 'my_domain/my_repo/npm//chalk@4.1.0',
          domainOwner: OWNER,
          store: { status: 'Published', revision: recorded.revision },
          log: { status: 'Unlisted', revision: recorded.revision },
          seq: recorded.seq,
          problem: `its status is Published in the store, but Unlisted in the log (record ${recorded.seq})`,
        },
      ]);
    });

    it('a revision edited by SQL is named', async () => {
      await tamper(gw, [`UPDATE package_versions SET revision = 'forged-revision' WHERE id = ${recorded.id}`]);
      expect((await stateOf(gw)).discrepancies).toEqual([
        {
          version: 'my_domain/my_repo/npm//chalk@4.1.0',
          domainOwner: OWNER,
          store: { status: 'Unlisted', revision: 'forged-revision' },
          log: { status: 'Unlisted', revision: recorded.revision },
          seq: recorded.seq,
          problem: `its revision is forged-revision in the store, but ${recorded.revision} in the log (record ${recorded.seq})`,
        },
      ]);
    });

    it('a version row deleted by SQL is named as missing', async () => {
      await tamper(gw, [`DELETE FROM assets WHERE version_id = ${recorded.id}`, `DELETE FROM sync_jobs WHERE version_id = ${recorded.id}`, `DELETE FROM package_versions WHERE id = ${recorded.id}`]);
      expect((await stateOf(gw)).discrepancies).toEqual([
        {
          version: 'my_domain/my_repo/npm//chalk@4.1.0',
          domainOwner: OWNER,
          store: null,
          log: { status: 'Unlisted', revision: recorded.revision },
          seq: recorded.seq,
          problem: `the store has no such version, but the log says it is Unlisted, revision ${recorded.revision} (record ${recorded.seq})`,
        },
      ]);
    });

    it('a deleted version whose row was removed by SQL is named: only a package or repository deletion removes it', async () => {
      const body = await change('/v1/package/versions/delete', chalk, { versions: ['4.1.0'] });
      const seq = await headSeq();
      await tamper(gw, [`DELETE FROM package_versions WHERE id = ${recorded.id}`]);
      expect((await stateOf(gw)).discrepancies).toMatchObject([
        { version: 'my_domain/my_repo/npm//chalk@4.1.0', store: null, log: { status: 'Deleted', revision: body.successfulVersions['4.1.0'].revision }, seq },
      ]);
    });

    it('a version row inserted by SQL is named as unrecorded', async () => {
      const { packageId } = await gw.store.readPackage(chalk, []);
      await tamper(gw, [
        `INSERT INTO package_versions (package_id, version, identifier, status, revision, published_at, status_updated_at)
         VALUES (${packageId}, '9.9.9', 'forgedid0001', 'Published', 'forged-revision', '2026-12-01T00:00:00.000Z', '2026-12-01T00:00:00.000Z')`,
      ]);
      expect((await stateOf(gw)).discrepancies).toEqual([
        {
          version: 'my_domain/my_repo/npm//chalk@9.9.9',
          domainOwner: OWNER,
          store: { status: 'Published', revision: 'forged-revision' },
          log: null,
          seq: null,
          problem: 'the store has it (Published, revision forged-revision), but no audit record created or changed it',
        },
      ]);
    });

    it('a second row for one version (the unique index dropped) is named, whichever of the two the registry shows', async () => {
      const { packageId } = await gw.store.readPackage(chalk, []);
      await tamper(gw, [
        'DROP INDEX package_versions_package_version',
        `UPDATE package_versions SET status = 'Archived', revision = 'tampered' WHERE id = ${recorded.id}`,
        `INSERT INTO package_versions (package_id, version, identifier, status, revision, published_at, status_updated_at)
         VALUES (${packageId}, '4.1.0', 'shadowshadow', 'Unlisted', '${recorded.revision}', '2026-12-01T00:00:00.000Z', '2026-12-01T00:00:00.000Z')`,
      ]);
      const state = await stateOf(gw);
      expect(state.ok).toBe(false);
      expect(state.versions).toBe(7);
      expect(state.discrepancies.map((d) => [d.version, d.store, d.problem.split(':')[0]])).toEqual([
        ['my_domain/my_repo/npm//chalk@4.1.0', { status: 'Unlisted', revision: recorded.revision }, 'the store holds more than one row for this version (this one'],
        ['my_domain/my_repo/npm//chalk@4.1.0', { status: 'Archived', revision: 'tampered' }, 'its status is Archived in the store, but Unlisted in the log; its revision is tampered in the store, but ' + recorded.revision + ' in the log (record ' + recorded.seq + ')'],
      ]);
    });

    it('keeps the first discrepancies it is asked for and counts the rest (a registry rewritten wholesale is not held in memory twice)', async () => {
      await tamper(gw, [`UPDATE package_versions SET status = 'Archived'`]);
      const result = await verifyChainAndState(gw.store, { listLimit: 2 });
      expect(result.state).toMatchObject({ ok: false, versions: 6, discrepancyCount: 6 });
      expect(result.state!.discrepancies).toHaveLength(2);
    });

    it('the CLI exits 0 on a clean store and 1 naming each discrepancy; without --state it still checks only the chain', async () => {
      const clean = await cli('--state');
      expect(clean.stderr).toBe('');
      expect(clean.code).toBe(0);
      expect(clean.stdout).toMatch(/^audit chain intact: \d+ record\(s\), head \d+:[0-9a-f]{64}\nregistry state matches the audit log: 6 version\(s\)\n$/);

      await tamper(gw, [`UPDATE package_versions SET status = 'Published' WHERE id = ${recorded.id}`]);
      const caught = await cli('--state');
      expect(caught.code).toBe(1);
      expect(caught.stderr).toBe(
        `state differs: my_domain/my_repo/npm//chalk@4.1.0 (domain owner ${OWNER}): its status is Published in the store, but Unlisted in the log (record ${recorded.seq})\n` +
          'registry state differs from the audit log: 1 version(s), among 6 version row(s)\n',
      );
      expect((await cli()).code).toBe(0);
    });

    it('POST /v1/audit/verify {"state": true}: the same check, for whole-log readers only, audited as a verify', async () => {
      const sec = await gw.token('sam', ['security']);
      const clean = await ok200(gw.post('/v1/audit/verify', { state: true }, sec));
      expect(clean).toEqual({
        ok: true,
        records: expect.any(Number),
        head: expect.stringMatching(/^\d+:[0-9a-f]{64}$/),
        state: { ok: true, versions: 6, discrepancyCount: 0, discrepancies: [], unverifiableCount: 0, unverifiable: [] },
      });

      await tamper(gw, [`UPDATE package_versions SET revision = 'forged-revision' WHERE id = ${recorded.id}`]);
      const caught = await ok200(gw.post('/v1/audit/verify', { state: true }, sec));
      expect(caught).toMatchObject({
        ok: false,
        head: expect.stringMatching(/^\d+:[0-9a-f]{64}$/),
        state: {
          ok: false,
          versions: 6,
          discrepancyCount: 1,
          discrepancies: [{ version: 'my_domain/my_repo/npm//chalk@4.1.0', store: { revision: 'forged-revision' }, log: { revision: recorded.revision }, seq: recorded.seq }],
        },
      });
      // Without state, the answer is the chain's alone, as before.
      expect(await ok200(gw.post('/v1/audit/verify', {}, sec))).toEqual({ ok: true, records: expect.any(Number), head: expect.any(String) });

      // A reader of one repository's records may not (403), and is recorded as denied; a bad field is a 400.
      const rm = await gw.token('alice', ['release-managers']);
      expect((await gw.post('/v1/audit/verify', { state: true }, rm)).status).toBe(403);
      expect((await gw.post('/v1/audit/verify', { state: 'yes' }, sec)).status).toBe(400);
      const verifies = (await gw.store.readAuditRange(recorded.seq, 100)).filter((r) => r.action === 'ReadAuditLog' && (r.request as { verify?: boolean }).verify);
      expect(verifies.map((r) => [r.principal!.subject, r.outcome, (r.request as { state?: boolean }).state ?? false])).toEqual([
        ['sam', 'read', true],
        ['sam', 'read', true],
        ['sam', 'read', false],
        ['alice', 'denied', true],
      ]);
    });

    it('a broken chain is reported as such, with no state compared', async () => {
      await tamper(gw, [`UPDATE audit_log SET outcome = 'read' WHERE seq = ${recorded.seq}`]);
      const result = await verifyChainAndState(gw.store);
      expect(result).toMatchObject({ ok: false, break: { seq: recorded.seq }, state: null });
      const r = await cli('--state');
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('registry state not compared');
    });
  });
});

describe('audit verify --state on PostgreSQL', () => {
  let gw: TestGateway;
  afterEach(() => gw.close());

  it('a log emptied under its own head (audit_head) breaks the walk --state makes, as it breaks verify', async () => {
    gw = await testGateway({ engine: 'postgres' });
    await tamper(gw, ['DELETE FROM audit_versions', 'DELETE FROM audit_log']);
    const result = await verifyChainAndState(gw.store);
    expect(result).toMatchObject({ ok: false, state: null, break: { problem: expect.stringContaining("the database's own head (audit_head)") } });
  });
});

describe('audit verify --state while the registry keeps changing', () => {
  let gw: TestGateway;
  afterEach(() => gw.close());

  it('a version changed between the versions read and the chain walk is unverifiable, never a false discrepancy', async () => {
    gw = await testGateway();
    const rm = await gw.token('alice', ['release-managers']);
    let changed = false;
    // A change committed (with its record) right after the versions are read: as a request would.
    const store = new Proxy(gw.store, {
      get(target, name, receiver) {
        if (name !== 'readVersionStates') return Reflect.get(target, name, receiver);
        return async (afterId: number, limit: number) => {
          const page = await target.readVersionStates(afterId, limit);
          if (page.length === 0 && !changed) {
            changed = true;
            expect((await gw.post(`${UPDATE}?${CHALK}`, { versions: ['4.1.0'], targetStatus: 'Unlisted' }, rm)).status).toBe(200);
          }
          return page;
        };
      },
    });
    const result = await verifyChainAndState(store);
    expect(changed).toBe(true);
    expect(result.state).toMatchObject({ ok: true, discrepancies: [], unverifiable: [{ version: 'my_domain/my_repo/npm//chalk@4.1.0', store: { status: 'Published' } }] });
    expect(result.state!.unverifiable[0]!.reason).toContain('changed while the check ran');
    // Checked again, it is compared.
    expect((await verifyChainAndState(gw.store)).state).toMatchObject({ ok: true, discrepancies: [], unverifiable: [] });
  });
});

describe('POST /v1/audit/verify with state, called with other verifies at once', () => {
  let gw: TestGateway;
  afterEach(() => gw.close());

  it('one walk at a time: state checks share one, a chain-only check waits its turn', async () => {
    const counter = walkCounter();
    gw = await testGateway({ wrapStore: counter.wrap });
    const sec = await gw.token('sam', ['security']);
    const bodies = await Promise.all([{ state: true }, { state: true }, {}, { state: true }].map(async (body) => (await gw.post('/v1/audit/verify', body, sec)).json()));
    expect(bodies.map((b) => [b.ok, b.state?.ok])).toEqual([
      [true, true],
      [true, true],
      [true, undefined],
      [true, true],
    ]);
    expect(counter.seen.most).toBe(1);
    expect(counter.seen.started).toBe(2);
  });
});
