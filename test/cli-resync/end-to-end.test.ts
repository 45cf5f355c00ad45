/**
 * `versiongate resync` as a user runs it, against the real server (its sync worker running) on the
 * demo registry: a resync waited through to completed, a bulk action mixing an allowed, a denied
 * and an unknown identifier, and a denial on stderr.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PackageKey } from '../../src/store/store.ts';
import { syncsSettled } from '../helpers/seed-synced.ts';
import { SEVERAL, startClientHarness, type ClientHarness } from '../cli-client/harness.ts';

let h: ClientHarness;
let maintainer: string;
/** A principal that may resync in my_repo and nothing else: not even read a version's status. */
const RESYNC_ONLY = `@id("cli-resync-tests-resync-only")
permit (
  principal in Group::"resync-only",
  action == Action::"Resync",
  resource in Repository::"arn:aws:codeartifact:us-east-1:111122223333:repository/my_domain/my_repo"
);
`;

beforeAll(async () => {
  h = await startClientHarness({ policies: { 'cli-resync-tests.cedar': RESYNC_ONLY } });
  maintainer = await h.token('mia', ['maintainers']);
});
afterAll(async () => {
  await h?.close();
});

const chalk = (repository: string): PackageKey => ({ domainOwner: '111122223333', domain: 'my_domain', repository, format: 'npm', namespace: '', name: 'chalk' });
const identifierOf = async (repository: string, version: string) => (await h.gateway.store.readVersion(chalk(repository), version)).version!.identifier;

describe('versiongate resync against the real server', () => {
  it('waits for the sync to complete and prints the final status', SEVERAL, async () => {
    const id = await identifierOf('my_repo', '4.1.0');
    const r = await h.vg(['resync', `my_domain/my_repo/${id}`, '--wait-interval', '0.2'], { token: maintainer });
    expect(r.stderr).toContain(`my_domain/my_repo/${id}: Completed / Fully Synchronised (100%)\n`);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ identifier: id, version: '4.1.0', is_sync_completed: true, is_sync_failed: false, sync_progress: 100 });
  });

  it('several at once: one bulk action per OWNER/REPO; a denied and an unknown identifier make exit 1', SEVERAL, async () => {
    const allowed = await identifierOf('my_repo', '4.1.1');
    const denied = await identifierOf('prod', '4.1.1');
    const unknown = 'zzzzzzzzzzzz';
    const r = await h.vg(['resync', `my_domain/my_repo/${allowed}`, `my_domain/prod/${denied}`, `my_domain/my_repo/${unknown}`, '--wait-interval', '0.2'], { token: maintainer });
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(out[`my_domain/my_repo/${allowed}`]).toMatchObject({ identifier: allowed, is_sync_completed: true });
    expect(out[`my_domain/prod/${denied}`]).toEqual({ reason: 'You do not have permission to perform this action.' });
    expect(out[`my_domain/my_repo/${unknown}`]).toEqual({ reason: 'Not found.' });
    expect(r.stderr).toContain(`versiongate: my_domain/prod/${denied}: You do not have permission to perform this action.\n`);
    expect(r.stderr).toContain(`versiongate: my_domain/my_repo/${unknown}: Not found.\n`);
  });

  it('a denied resync: "versiongate: 403: <detail>", exit 1; --no-wait returns the scheduled status', SEVERAL, async () => {
    const id = await identifierOf('prod', '4.1.1');
    const denied = await h.vg(['resync', `my_domain/prod/${id}`], { token: maintainer });
    expect(denied.code).toBe(1);
    expect(denied.stdout).toBe('');
    expect(denied.stderr).toMatch(/^versiongate: 403: .+\n$/);

    const other = await identifierOf('my_repo', '4.0.0');
    const scheduled = await h.vg(['resync', '--no-wait', `my_domain/my_repo/${other}`], { token: maintainer });
    expect(scheduled.code).toBe(0);
    expect(JSON.parse(scheduled.stdout)).toMatchObject({ identifier: other, is_sync_completed: false });
  });

  it('a principal that may resync but not read the status: the resync is scheduled and synced, exit 0, and it says why it cannot follow', SEVERAL, async () => {
    // The --no-wait resync above may still be running: a version resyncs once at a time.
    await syncsSettled(h.gateway.store);
    const id = await identifierOf('my_repo', '4.0.0');
    const before = (await h.gateway.store.readVersion(chalk('my_repo'), '4.0.0')).version!.revision;
    const r = await h.vg(['resync', `my_domain/my_repo/${id}`, '--wait-interval', '0.2'], { token: await h.token('rex', ['resync-only']) });
    expect(r.stderr).toBe(`my_domain/my_repo/${id}: resync scheduled (identifier ${id}); you may not read its status\n`);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ identifier: id, version: '4.0.0' });
    // It did happen: the sync ran and gave the version a new revision.
    await syncsSettled(h.gateway.store);
    const after = (await h.gateway.store.readVersion(chalk('my_repo'), '4.0.0')).version!;
    expect(after.syncState).toBe('completed');
    expect(after.revision).not.toBe(before);
  });
});
