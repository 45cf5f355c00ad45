/**
 * Safe change: a reload swaps in a set only when it validates and its tests pass, while traffic
 * continues on the live set; a candidate set is evaluated in shadow and its disagreements recorded.
 */
import { cpSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { policyDiff } from '../../src/cli/policy-commands.ts';
import { silentLogger } from '../../src/log.ts';
import { REPO_POLICIES } from '../helpers/gateway.ts';
import { CHALK_QUERY, liveServer, UPDATE, type LiveServer } from './live-server.ts';

const MAINTAINERS_ARCHIVE = `// Trial: the QA group may unlist in my_repo (a broken build found in testing).
@id("qa-unlists-my-repo")
permit (principal in Group::"qa", action == Action::"UpdatePackageVersionsStatus",
  resource in Repository::"arn:aws:codeartifact:us-east-1:111122223333:repository/my_domain/my_repo")
when { context.targetStatus == "Unlisted" };
`;
const MAINTAINERS_ARCHIVE_TEST = JSON.stringify([
  {
    name: 'qa may unlist (trial)',
    claims: { sub: 'quinn', groups: ['qa'] },
    action: 'UpdatePackageVersionsStatus',
    package: { domain: 'my_domain', domainOwner: '111122223333', repository: 'my_repo', format: 'npm', package: 'chalk' },
    context: { versions: ['4.1.0'], currentStatuses: ['Published'], targetStatus: 'Unlisted' },
    decision: 'allow',
  },
]);

async function waitFor<T>(probe: () => Promise<T | undefined>, what: string): Promise<T> {
  for (let i = 0; i < 300; i++) {
    const v = await probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('hot reload', () => {
  let s: LiveServer;
  afterEach(() => s.close());

  const archiveAs = async (sub: string, groups: string[]) => (await s.post(`${UPDATE}?${CHALK_QUERY}`, { versions: ['4.1.0'], targetStatus: 'Archived' }, await s.token(sub, groups))).status;
  const unlistAs = async (sub: string, groups: string[]) => (await s.post(`${UPDATE}?${CHALK_QUERY}`, { versions: ['4.1.0'], targetStatus: 'Unlisted' }, await s.token(sub, groups))).status;
  const status = async () => (await s.get('/v1/policies', await s.token('sam', ['security']))).json();

  it('swaps in a valid, tested set, which then decides requests; the load is audited', async () => {
    s = await liveServer();
    const before = (await status()).hash;
    expect(await unlistAs('quinn', ['qa'])).toBe(403);
    writeFileSync(join(s.policyDir, 'trial.cedar'), MAINTAINERS_ARCHIVE);
    writeFileSync(join(s.policyDir, 'tests', 'trial.json'), MAINTAINERS_ARCHIVE_TEST);
    const outcome = await s.gateway.reloadPolicies();
    expect(outcome).toMatchObject({ outcome: 'loaded', trigger: 'signal', errors: [] });
    expect(await unlistAs('quinn', ['qa'])).toBe(200);
    const after = await status();
    expect(after.hash).not.toBe(before);
    expect(after.hash).toBe(outcome.hash);
    expect(after.lastReload).toMatchObject({ outcome: 'loaded' });
    const [load] = await s.gateway.store.listAudit({ limit: 1, filter: { action: 'LoadPolicySet' } });
    expect(load).toMatchObject({ outcome: 'loaded', policySetHash: outcome.hash });
    // A reload with nothing changed is a no-op.
    expect((await s.gateway.reloadPolicies()).outcome).toBe('unchanged');
  });

  it('refuses an invalid set: the live set keeps deciding, and the failure is shown and audited', async () => {
    s = await liveServer();
    const before = (await status()).hash;
    writeFileSync(join(s.policyDir, 'broken.cedar'), 'permit (principal, action, resource) when { resource.nope == 1 };\n');
    const outcome = await s.gateway.reloadPolicies();
    expect(outcome.outcome).toBe('refused');
    expect(outcome.errors.join('\n')).toContain('broken.cedar:1:');
    // Traffic continues on the live set.
    expect(await archiveAs('rita', ['release-managers'])).toBe(200);
    const after = await status();
    expect(after.hash).toBe(before);
    expect(after.lastReload).toMatchObject({ outcome: 'refused' });
    expect(after.reloads).toEqual({ loaded: 0, refused: 1 });
    const [load] = await s.gateway.store.listAudit({ limit: 1, filter: { action: 'LoadPolicySet' } });
    expect(load).toMatchObject({ outcome: 'load_failed' });
    const metrics = await (await s.get('/metrics')).text();
    expect(metrics).toMatch(/versiongate_policy_loads_total\{trigger="reload",result="failure"\} 1/);
  });

  it('refuses a valid set whose tests fail', async () => {
    s = await liveServer();
    // Valid Cedar, but it lets release managers dispose, which policies/tests/dispose.json says they may not.
    writeFileSync(join(s.policyDir, 'oops.cedar'), '@id("oops")\npermit (principal in Group::"release-managers", action == Action::"DisposePackageVersions", resource);\n');
    const outcome = await s.gateway.reloadPolicies();
    expect(outcome.outcome).toBe('refused');
    expect(outcome.errors.join('\n')).toContain('release managers may not dispose');
    const res = await s.post(`/v1/package/versions/dispose?${CHALK_QUERY}`, { versions: ['4.0.0'] }, await s.token('rita', ['release-managers']));
    expect(res.status).toBe(403);
  });

  it('reloads by itself when a file under the policy folder changes', async () => {
    s = await liveServer({ watch: true });
    const before = (await status()).hash;
    writeFileSync(join(s.policyDir, 'trial.cedar'), MAINTAINERS_ARCHIVE);
    writeFileSync(join(s.policyDir, 'tests', 'trial.json'), MAINTAINERS_ARCHIVE_TEST);
    const after = await waitFor(async () => {
      const st = await status();
      return st.hash !== before && st.lastReload?.outcome === 'loaded' ? st : undefined;
    }, 'the watcher to reload');
    expect(after.lastReload.trigger).toBe('watch');
    expect(await unlistAs('quinn', ['qa'])).toBe(200);
  });
});

describe('shadow rollout', () => {
  let s: LiveServer;
  afterEach(() => s.close());

  it('evaluates policies/candidate/ beside the live set, never enforces it, and records disagreements', async () => {
    s = await liveServer({
      prepare: (policyDir) => {
        // The candidate: the live set without the prod guard (and without its tests).
        const candidate = join(policyDir, 'candidate');
        cpSync(REPO_POLICIES, candidate, { recursive: true, filter: (src) => !src.startsWith(join(REPO_POLICIES, 'tests')) });
        rmSync(join(candidate, 'prod-guard.cedar'));
      },
    });
    expect(readdirSync(join(s.policyDir, 'candidate'))).not.toContain('prod-guard.cedar');
    const status = await (await s.get('/v1/policies', await s.token('sam', ['security']))).json();
    expect(status.candidate).toMatchObject({ hash: expect.stringMatching(/^[0-9a-f]{64}$/) });

    const res = await fetch(`${s.gateway.url}/v1/package/versions/dispose?domain=my_domain&domain-owner=111122223333&repository=prod&format=npm&package=chalk`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await s.token('sam', ['security'])}`, 'x-request-id': 'shadow-probe' },
      body: JSON.stringify({ versions: ['4.1.1'] }),
    });
    // Enforced: the live set, whose prod guard forbids it.
    expect(res.status).toBe(403);
    const records = await s.gateway.store.listAudit({ limit: 10 });
    const shadow = records.find((r) => r.outcome === 'shadow_disagreement');
    expect(shadow).toMatchObject({
      requestId: 'shadow-probe',
      action: 'DisposePackageVersions',
      resource: 'arn:aws:codeartifact:us-east-1:111122223333:package/my_domain/prod/npm//chalk',
      decision: 'allow',
      determiningPolicies: ['security-may-dispose'],
      policySetHash: status.candidate.hash,
      request: { shadow: true, live: { decision: 'deny', determiningPolicies: ['never-dispose-in-prod'], policySetHash: status.hash } },
    });
    // A request both sets agree on leaves no shadow record.
    const agreed = await s.post(`${UPDATE}?${CHALK_QUERY}`, { versions: ['4.1.0'], targetStatus: 'Unlisted' }, await s.token('rita', ['release-managers']));
    expect(agreed.status).toBe(200);
    expect((await s.gateway.store.listAudit({ limit: 50 })).filter((r) => r.outcome === 'shadow_disagreement')).toHaveLength(1);

    const lines: string[] = [];
    expect(await policyDiff(s.gateway.store, {}, (l) => lines.push(l))).toBe(0);
    expect(lines[0]).toBe('1 request(s) would be decided differently by the candidate set:');
    expect(lines[1]).toContain('DisposePackageVersions: live deny (never-dispose-in-prod) → candidate allow (security-may-dispose)');
  });

  it('a candidate that stops loading is logged, audited and counted, and diff then says no candidate was evaluated', async () => {
    const warnings: Array<[string, Record<string, unknown> | undefined]> = [];
    const logger = { ...silentLogger, warn: (msg: string, fields?: Record<string, unknown>) => void warnings.push([msg, fields]) };
    s = await liveServer({ logger, prepare: (policyDir) => cpSync(REPO_POLICIES, join(policyDir, 'candidate'), { recursive: true, filter: (src) => !src.startsWith(join(REPO_POLICIES, 'tests')) }) });
    const security = await s.token('sam', ['security']);
    const { candidate } = await (await s.get('/v1/policies', security)).json();
    const [started] = await s.gateway.store.listAudit({ limit: 1, filter: { action: 'LoadPolicySet' } });
    expect(started).toMatchObject({ outcome: 'loaded', policySetHash: candidate.hash, request: { files: expect.arrayContaining(['candidate/prod-guard.cedar']) } });

    writeFileSync(join(s.policyDir, 'candidate', 'broken.cedar'), 'permit (principal, action, resource\n');
    expect((await s.gateway.reloadPolicies()).outcome).toBe('unchanged');
    expect((await (await s.get('/v1/policies', security)).json()).candidate).toEqual({ error: expect.stringContaining('broken.cedar:') });
    expect(warnings).toEqual([['candidate policy set refused; nothing is evaluated in shadow', expect.objectContaining({ errors: [expect.stringMatching(/^candidate\/broken\.cedar:\d+:\d+: error: /)] })]]);
    const [failed] = await s.gateway.store.listAudit({ limit: 1, filter: { action: 'LoadPolicySet' } });
    expect(failed).toMatchObject({ outcome: 'load_failed', errors: [expect.stringMatching(/^candidate\/broken\.cedar:/)] });
    expect(await (await s.get('/metrics')).text()).toMatch(/versiongate_policy_loads_total\{trigger="reload",result="failure"\} 1/);
    // The same broken candidate again is no news.
    await s.gateway.reloadPolicies();
    expect(warnings).toHaveLength(1);

    const lines: string[] = [];
    await policyDiff(s.gateway.store, { since: failed!.time }, (l) => lines.push(l));
    expect(lines).toEqual([expect.stringMatching(/^no candidate was being evaluated between /)]);
  });

  it('removing policies/candidate/ is audited, and diff then says when the candidate stopped being evaluated', async () => {
    s = await liveServer({ prepare: (policyDir) => cpSync(REPO_POLICIES, join(policyDir, 'candidate'), { recursive: true, filter: (src) => !src.startsWith(join(REPO_POLICIES, 'tests')) }) });
    const security = await s.token('sam', ['security']);
    const { candidate } = await (await s.get('/v1/policies', security)).json();
    const [started] = await s.gateway.store.listAudit({ limit: 1, filter: { action: 'LoadPolicySet' } });
    expect(started).toMatchObject({ outcome: 'loaded', policySetHash: candidate.hash, request: { trigger: 'start' } });

    rmSync(join(s.policyDir, 'candidate'), { recursive: true });
    await s.gateway.reloadPolicies();
    expect((await (await s.get('/v1/policies', security)).json()).candidate).toBeNull();
    const [removed] = await s.gateway.store.listAudit({ limit: 1, filter: { action: 'LoadPolicySet' } });
    expect(removed).toMatchObject({ outcome: 'unloaded', decision: 'none', request: { set: 'candidate', trigger: 'signal' } });
    // Not a load that failed: the loads counter is left alone.
    expect(await (await s.get('/metrics')).text()).not.toMatch(/versiongate_policy_loads_total\{trigger="reload",result="failure"\} [1-9]/);

    const lines: string[] = [];
    await policyDiff(s.gateway.store, {}, (l) => lines.push(l));
    expect(lines).toEqual([
      `no shadow disagreements recorded: candidate ${candidate.hash.slice(0, 12)} evaluated from ${started!.time} to ${removed!.time}; it decided every request as the live set did`,
    ]);
    const since: string[] = [];
    await policyDiff(s.gateway.store, { since: removed!.time }, (l) => since.push(l));
    expect(since).toEqual([expect.stringMatching(/^no candidate was being evaluated between /)]);
  });
});
