/**
 * DeleteRepository meeting a publish into the repository it deletes. A repository whose versions are
 * all Deleted or Disposed may be deleted; a publish read the package before the deletion and commits
 * after it. The publish must then be answered as a conflict or as not found, never a 500, and nothing
 * may be left under a repository that no longer exists. The deletion is put between the publish's
 * read and its commit by a store that runs it as the publish's commit begins. On SQLite and on
 * PostgreSQL. Then, on two PostgreSQL replicas, the two at once: the publish commits on one replica
 * while the deletion, on the other, is between its look for live versions and its deletes (held
 * there by a trigger that sleeps). Under READ COMMITTED each of the deletion's statements sees what
 * committed before it began, so without a lock the two share, both were answered 200 and the
 * published version was deleted with the repository. The same for DeletePackage beside a publish
 * into the package, for a resync whose version is disposed or removed before it is scheduled, and for
 * an origin configuration that blocks publishing set while a publish uploads.
 */
import { createHash } from 'node:crypto';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { verifyChain } from '../../src/audit/verify-chain.ts';
import type { Store, VersionCommit } from '../../src/store/store.ts';
import { testGateway, type TestGateway } from '../helpers/gateway.ts';

const REPOSITORY = 'domain=my_domain&domain-owner=111122223333&repository=racing';
const PACKAGE = `${REPOSITORY}&format=generic&namespace=acme&package=tool`;

/** A store whose next commit of a publish or a copy, or next resync, first runs `before` (once). */
function interleaving(store: Store, state: { before?: (() => Promise<void>) | undefined }): Store {
  const writes = (property: PropertyKey, c: unknown) =>
    property === 'commitVersionCopies' || property === 'scheduleSync' || (property === 'commitVersionChanges' && (c as VersionCommit).publish !== undefined);
  return new Proxy(store, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        const before = writes(property, args[0]) ? state.before : undefined;
        if (before) state.before = undefined;
        await before?.();
        return (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
      };
    },
  });
}

function publisher(gw: TestGateway, token: string) {
  return (version: string) => {
    const bytes = `bytes of ${version}`;
    return gw.app.request(`/v1/package/version/publish?${PACKAGE}&version=${version}&asset=tool.bin`, {
      method: 'POST',
      body: bytes,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream', 'x-amz-content-sha256': createHash('sha256').update(bytes).digest('hex') },
    });
  };
}

/** A repository holding one package whose only version is Deleted: it holds no live version, so it may be deleted. */
async function emptiedRepository(gw: TestGateway, token: string): Promise<void> {
  const created = await gw.app.request(`/v1/repository?${REPOSITORY}`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
  expect(created.status, await created.clone().text()).toBe(200);
  expect((await publisher(gw, token)('1.0.0')).status).toBe(200);
  const gone = await gw.post(`/v1/package/versions/delete?${PACKAGE}`, { versions: ['1.0.0'] }, token);
  expect(gone.status, await gone.clone().text()).toBe(200);
}

const GROUPS = ['registry-admins', 'publishers', 'security', 'developers', 'copiers'];
const COPIERS = `@id("test-copiers-copy-anywhere")
permit (principal in Group::"copiers", action == Action::"CopyPackageVersions", resource);`;

/** What writes into the repository: a publish of a new version, or a copy of one into it from my_repo. */
const WRITES = {
  publish: (gw: TestGateway, token: string) => publisher(gw, token)('2.0.0'),
  copy: (gw: TestGateway, token: string) =>
    gw.post(`/v1/package/versions/copy?domain=my_domain&domain-owner=111122223333&source-repository=my_repo&destination-repository=racing&format=generic&namespace=acme&package=tool`, { versions: ['3.0.0'] }, token),
};

describe.each(['sqlite', 'postgres'] as const)('DeleteRepository between a write read and its commit, on %s', (engine) => {
  it.each(['publish', 'copy'] as const)('answers the %s as a conflict or as not found, never a 500, and leaves nothing under the deleted repository', async (write) => {
    const state: { before?: (() => Promise<void>) | undefined } = {};
    const gw = await testGateway({ engine, policies: { 'test-copiers.cedar': COPIERS }, wrapStore: (store) => interleaving(store, state) });
    try {
      const token = await gw.token('ops', GROUPS);
      const auth = { authorization: `Bearer ${token}` };
      await emptiedRepository(gw, token);
      // The copy's source: the same package in my_repo, with a version the destination lacks.
      const source = await gw.app.request(`/v1/package/version/publish?domain=my_domain&domain-owner=111122223333&repository=my_repo&format=generic&namespace=acme&package=tool&version=3.0.0&asset=tool.bin`, {
        method: 'POST',
        body: 'three',
        headers: { ...auth, 'content-type': 'application/octet-stream', 'x-amz-content-sha256': createHash('sha256').update('three').digest('hex') },
      });
      expect(source.status, await source.clone().text()).toBe(200);
      await gw.sync();

      let deleted: Response | undefined;
      state.before = async () => {
        deleted = await gw.app.request(`/v1/repository?${REPOSITORY}`, { method: 'DELETE', headers: auth });
      };
      const written = await WRITES[write](gw, token);
      expect(deleted?.status, await deleted?.clone().text()).toBe(200);
      const body = await written.text();
      expect([404, 409], body).toContain(written.status);
      expect(JSON.parse(body)).toHaveProperty('message');

      // Nothing of the write outlived its repository, and the chain holds every answer.
      expect((await gw.get(`/v1/repository?${REPOSITORY}`, token)).status).toBe(404);
      expect((await gw.post(`/v1/package/versions?${PACKAGE}`, {}, token)).status).toBe(404);
      expect((await verifyChain(gw.store)).ok).toBe(true);
    } finally {
      await gw.close();
    }
  });
});

/** Two PostgreSQL replicas on one database, a token for both, and an administrator's connection to it. */
async function onTwoReplicas(run: (gw: TestGateway, second: TestGateway, admin: pg.Client, token: string) => Promise<void>): Promise<void> {
  const gw = await testGateway({ engine: 'postgres' });
  const second = await testGateway({ replicaOf: gw });
  const admin = new pg.Client({ connectionString: gw.databaseUrl });
  await admin.connect();
  try {
    await run(gw, second, admin, await gw.token('ops', GROUPS));
  } finally {
    await admin.end();
    await second.close();
    await gw.close();
  }
}

/** Makes every statement starting with `prefix` on `table` (after `event`) sleep 0.6 s, holding its transaction open. */
async function holdStatements(admin: pg.Client, name: string, table: string, event: 'INSERT' | 'DELETE', prefix: string): Promise<void> {
  await admin.query(`CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF current_query() LIKE '${prefix}%' THEN PERFORM pg_sleep(0.6); END IF;
      RETURN NULL;
    END $$`);
  await admin.query(`CREATE TRIGGER ${name} AFTER ${event} ON ${table} FOR EACH STATEMENT EXECUTE FUNCTION ${name}()`);
}

describe('DeleteRepository and a publish into it at once, on two PostgreSQL replicas', () => {
  it('makes one of them and refuses the other: never both, never a 500, never a published version deleted', () =>
    onTwoReplicas(async (gw, second, admin, token) => {
      await emptiedRepository(gw, token);
      // The deletion queues its assets' bytes for removal after it has looked for live versions and
      // before it deletes anything: that statement sleeps, holding the deletion open.
      await holdStatements(admin, 'hold_repository_deletion', 'blob_deletions', 'INSERT', 'INSERT INTO blob_deletions (blob_key, queued_at) SELECT');

      const deleting = second.app.request(`/v1/repository?${REPOSITORY}`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } });
      await new Promise((resolve) => setTimeout(resolve, 200));
      const published = await publisher(gw, token)('2.0.0');
      const deleted = await deleting;
      const answers = [`deleted ${deleted.status} ${await deleted.text()}`, `published ${published.status} ${await published.clone().text()}`];

      const made = [deleted.status, published.status].filter((s) => s === 200);
      expect(made, answers.join('\n')).toHaveLength(1);
      expect([deleted.status, published.status].every((s) => s < 500), answers.join('\n')).toBe(true);
      if (published.status === 200) {
        // Published, so the deletion must have been refused, and the version is there to read.
        expect(deleted.status, answers.join('\n')).toBe(409);
        expect((await gw.get(`/v1/package/version?${PACKAGE}&version=2.0.0`, token)).status).toBe(200);
      } else {
        expect([404, 409], answers.join('\n')).toContain(published.status);
        expect((await gw.get(`/v1/repository?${REPOSITORY}`, token)).status).toBe(404);
      }
      expect((await verifyChain(gw.store)).ok).toBe(true);
    }));
});

describe('DeletePackage and a publish into the package at once, on two PostgreSQL replicas', () => {
  it('never deletes a version that the deletion did not read, decide on and record', () =>
    onTwoReplicas(async (gw, second, admin, token) => {
      const publish = publisher(gw, token);
      // A package with one version: DeletePackage reads it and decides on it.
      const created = await gw.app.request(`/v1/repository?${REPOSITORY}`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
      expect(created.status).toBe(200);
      expect((await publish('1.0.0')).status).toBe(200);
      // The deletion, once it has read and locked the versions it decides on, sleeps before its deletes.
      await holdStatements(admin, 'hold_package_deletion', 'sync_jobs', 'DELETE', 'DELETE FROM sync_jobs WHERE version_id = ANY');

      const deleting = second.app.request(`/v1/package?${PACKAGE}`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } });
      await new Promise((resolve) => setTimeout(resolve, 200));
      const published = await publish('2.0.0');
      const deleted = await deleting;
      const answers = `deleted ${deleted.status} ${await deleted.text()}\npublished ${published.status} ${await published.text()}`;
      expect([deleted.status, published.status].every((s) => s < 500), answers).toBe(true);

      // Each version is either still there, or named by the deletion's record (which Cedar decided on).
      const deletion = (await gw.store.listAudit({ limit: 100 })).find((r) => r.action === 'DeletePackage' && r.outcome === 'applied');
      const deletedVersions = (deletion?.changes ?? []).map((c) => c.version);
      for (const version of ['1.0.0', '2.0.0']) {
        const there = (await gw.get(`/v1/package/version?${PACKAGE}&version=${version}`, token)).status === 200;
        expect(there || deletedVersions.includes(version), `${version}: neither there nor in the deletion's record (${deletedVersions.join(', ')})\n${answers}`).toBe(true);
      }
      expect((await verifyChain(gw.store)).ok).toBe(true);
    }));
});

describe.each(['sqlite', 'postgres'] as const)('a resync whose version goes between its read and its schedule, on %s', (engine) => {
  const CHALK = 'domain=my_domain&domain-owner=111122223333&repository=my_repo&format=npm&package=chalk';
  it.each([
    ['gone with its package', `/v1/package?${CHALK}`, 'DELETE', undefined],
    ['disposed', `/v1/package/versions/dispose?${CHALK}`, 'POST', { versions: ['4.1.0'] }],
  ] as const)('is refused in the wrong state when the version is %s meanwhile, never a 500, and schedules nothing', async (_, path, method, body) => {
    const state: { before?: (() => Promise<void>) | undefined } = {};
    const gw = await testGateway({ engine, wrapStore: (store) => interleaving(store, state) });
    try {
      const token = await gw.token('ops', [...GROUPS, 'maintainers']);
      const version = (await gw.store.readVersion({ domainOwner: '111122223333', domain: 'my_domain', repository: 'my_repo', format: 'npm', namespace: '', name: 'chalk' }, '4.1.0')).version!;
      let gone: Response | undefined;
      state.before = async () => {
        gone = await gw.app.request(path, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) });
      };
      const resync = await gw.post(`/v1/packages/my_domain/my_repo/${version.identifier}/resync/`, {}, token);
      expect(gone?.status, await gone?.clone().text()).toBe(200);
      const text = await resync.text();
      expect(resync.status, text).toBe(400);
      expect(JSON.parse(text)).toEqual({ detail: 'The package is in the wrong state for the requested operation.' });
      // No sync job waits for a version that is gone or disposed.
      expect(await gw.store.readSyncJob(version.id)).not.toMatchObject({ state: 'awaiting' });
      expect((await verifyChain(gw.store)).ok).toBe(true);
    } finally {
      await gw.close();
    }
  });
});

describe('a tenancy change chosen as a deadlock victim, on PostgreSQL', () => {
  it('is made again, whole, and after three times is answered 503, never a 500', async () => {
    const gw = await testGateway({ engine: 'postgres' });
    const admin = new pg.Client({ connectionString: gw.databaseUrl });
    await admin.connect();
    try {
      const token = await gw.token('ops', GROUPS);
      const auth = { authorization: `Bearer ${token}` };
      // PostgreSQL's own error for a deadlock's victim, raised by the repository's insert: once, then
      // (for the second repository) every time. A sequence, since it is not rolled back with the error.
      await admin.query(`CREATE SEQUENCE victims`);
      await admin.query(`CREATE FUNCTION deadlock_victim() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW.name = 'always' OR nextval('victims') = 1 THEN RAISE EXCEPTION 'deadlock detected' USING ERRCODE = '40P01'; END IF;
          RETURN NEW;
        END $$`);
      await admin.query(`CREATE TRIGGER deadlock_victim BEFORE INSERT ON repositories FOR EACH ROW EXECUTE FUNCTION deadlock_victim()`);

      const once = await gw.app.request(`/v1/repository?domain=my_domain&domain-owner=111122223333&repository=once`, { method: 'POST', headers: auth });
      expect(once.status, await once.clone().text()).toBe(200);
      const always = await gw.app.request(`/v1/repository?domain=my_domain&domain-owner=111122223333&repository=always`, { method: 'POST', headers: auth });
      expect(always.status).toBe(503);
      expect(always.headers.get('retry-after')).toBe('5');
      expect(await always.json()).toEqual({ message: 'The database ended a deadlock with another writer by rolling this write back: it was not made; try again shortly.' });

      // One record for the change that was made, none for the attempts rolled back.
      const made = (await gw.store.listAudit({ limit: 100 })).filter((r) => r.action === 'CreateRepository' && r.outcome === 'applied');
      expect(made).toHaveLength(1);
      expect((await gw.get(`/v1/repository?domain=my_domain&domain-owner=111122223333&repository=once`, token)).status).toBe(200);
      expect((await gw.get(`/v1/repository?domain=my_domain&domain-owner=111122223333&repository=always`, token)).status).toBe(404);
      expect((await verifyChain(gw.store)).ok).toBe(true);
    } finally {
      await admin.end();
      await gw.close();
    }
  });
});

describe.each(['sqlite', 'postgres'] as const)('an origin configuration that blocks publishing, set while a publish uploads, on %s', (engine) => {
  it('refuses the new version the publish would have made, as the configuration says', async () => {
    const state: { before?: (() => Promise<void>) | undefined } = {};
    const gw = await testGateway({ engine, wrapStore: (store) => interleaving(store, state) });
    try {
      const token = await gw.token('ops', GROUPS);
      const created = await gw.app.request(`/v1/repository?${REPOSITORY}`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
      expect(created.status).toBe(200);
      expect((await publisher(gw, token)('1.0.0')).status).toBe(200);

      // The publish of 2.0.0 was decided on (publish: ALLOW); the block commits before the publish does.
      let blocked: Response | undefined;
      state.before = async () => {
        blocked = await gw.post(`/v1/package?${PACKAGE}`, { restrictions: { publish: 'BLOCK', upstream: 'BLOCK' } }, token);
      };
      const published = await publisher(gw, token)('2.0.0');
      expect(blocked?.status, await blocked?.clone().text()).toBe(200);
      const body = await published.text();
      expect(published.status, body).toBe(403);
      expect(JSON.parse(body).message).toContain('its origin configuration sets publish to BLOCK');
      expect((await gw.get(`/v1/package/version?${PACKAGE}&version=2.0.0`, token)).status).toBe(404);
      expect((await verifyChain(gw.store)).ok).toBe(true);
    } finally {
      await gw.close();
    }
  });
});
