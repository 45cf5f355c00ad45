/**
 * Model-based test of the version state machine: fast-check's fc.commands runs random sequences of
 * UpdatePackageVersionsStatus (with and without expectedStatus and revisions, current or stale),
 * DisposePackageVersions, DeletePackageVersions, DescribePackageVersion and ListPackageVersions
 * against the app, and after every step compares the gateway's answer and its stored state with a
 * small reference model written from the seed document (/work/shared/seeds, "Atualizar o status da
 * versão do pacote"):
 *
 * - the targets are Published, Unlisted, Archived; Disposed only by dispose, and a disposed version
 *   can only be deleted; a version that does not exist is NOT_FOUND;
 * - a revision given that is not the current one: MISMATCHED_REVISION; an expected status that is
 *   not the current one: MISMATCHED_STATUS; a transition not allowed: NOT_ALLOWED;
 * - all or nothing: when any version fails, every other is SKIPPED and nothing changes;
 * - a change gives the version a new revision; asking for the status it has changes nothing.
 *
 * Each sequence runs on a package of its own (three versions added through the store), so one
 * gateway serves every run. `npm test`: MODEL_RUNS_TEST sequences; deep: 1,000.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PackageKey } from '../../src/store/store.ts';
import { testGateway, type TestGateway } from '../helpers/gateway.ts';
import { expectedFailures, type Model, type Status } from './version-rules.ts';

const DEEP = process.env.VERSIONGATE_DEEP === '1';
const MODEL_RUNS_TEST = 60;
const RUNS = DEEP ? 1_000 : MODEL_RUNS_TEST;
const SEED = process.env.VERSIONGATE_FUZZ_SEED ? Number(process.env.VERSIONGATE_FUZZ_SEED) : undefined;
const VERSIONS = ['1.0.0', '1.1.0', '2.0.0'] as const;
interface Real {
  gw: TestGateway;
  token: string;
  query: string;
}

type Failed = Record<string, { errorCode: string }>;
interface ChangeAnswer {
  successfulVersions: Record<string, { revision: string; status: string }>;
  failedVersions: Failed;
}

const codes = (f: Failed) => Object.fromEntries(Object.entries(f).map(([v, e]) => [v, e.errorCode]));

class ChangeCommand implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly kind: 'update' | 'dispose' | 'delete',
    readonly versions: string[],
    readonly target: 'Published' | 'Unlisted' | 'Archived',
    readonly expectedStatus: Status | undefined,
    readonly revisionMode: 'none' | 'current' | 'stale',
  ) {}
  check = () => true;
  async run(m: Model, r: Real): Promise<void> {
    const revisions: Record<string, string> = {};
    if (this.revisionMode !== 'none') {
      for (const v of this.versions) {
        const rev = this.revisionMode === 'current' ? m.versions.get(v)?.revision : m.stale.get(v);
        if (rev) revisions[v] = rev;
      }
    }
    const path = { update: 'update_status', dispose: 'dispose', delete: 'delete' }[this.kind];
    const body = {
      versions: this.versions,
      ...(this.kind === 'update' ? { targetStatus: this.target } : {}),
      ...(this.expectedStatus ? { expectedStatus: this.expectedStatus } : {}),
      ...(Object.keys(revisions).length > 0 ? { versionRevisions: revisions } : {}),
    };
    const res = await r.gw.post(`/v1/package/versions/${path}?${r.query}`, body, r.token);
    const text = await res.text();
    expect(res.status, text).toBe(200);
    const answer = JSON.parse(text) as ChangeAnswer;
    const target: Status | undefined = this.kind === 'update' ? this.target : this.kind === 'dispose' ? 'Disposed' : undefined;
    const failures = expectedFailures(m, this.versions, this.kind, target, this.expectedStatus, revisions);
    expect(codes(answer.failedVersions)).toEqual(failures);
    if (Object.keys(failures).length > 0) {
      expect(answer.successfulVersions).toEqual({});
      return;
    }
    expect(Object.keys(answer.successfulVersions).sort()).toEqual([...this.versions].sort());
    for (const v of this.versions) {
      const before = m.versions.get(v)!;
      const got = answer.successfulVersions[v]!;
      if (this.kind === 'delete') {
        m.stale.set(v, before.revision);
        m.versions.delete(v);
        continue;
      }
      expect(got.status).toBe(target);
      if (before.status === target) {
        expect(got.revision, `asking ${v} for the status it has changes nothing`).toBe(before.revision);
      } else {
        expect(got.revision).not.toBe(before.revision);
        m.stale.set(v, before.revision);
        m.versions.set(v, { status: target!, revision: got.revision });
      }
    }
  }
  toString = () => `${this.kind}(${this.versions.join(',')}${this.kind === 'update' ? ` → ${this.target}` : ''}${this.expectedStatus ? `, expected ${this.expectedStatus}` : ''}, revisions ${this.revisionMode})`;
}

class DescribeCommand implements fc.AsyncCommand<Model, Real> {
  constructor(readonly version: string) {}
  check = () => true;
  async run(m: Model, r: Real): Promise<void> {
    const res = await r.gw.get(`/v1/package/version?${r.query}&version=${this.version}`, r.token);
    const body = (await res.json()) as { packageVersion?: { status: string; revision: string } };
    const state = m.versions.get(this.version);
    if (!state) {
      expect(res.status).toBe(404);
      return;
    }
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect({ status: body.packageVersion!.status, revision: body.packageVersion!.revision }).toEqual(state);
  }
  toString = () => `describe(${this.version})`;
}

class ListCommand implements fc.AsyncCommand<Model, Real> {
  constructor(readonly status: Status | undefined) {}
  check = () => true;
  async run(m: Model, r: Real): Promise<void> {
    const res = await r.gw.post(`/v1/package/versions?${r.query}${this.status ? `&status=${this.status}` : ''}`, {}, r.token);
    const body = (await res.json()) as { versions?: Array<{ version: string; status: string; revision: string }> };
    expect(res.status, JSON.stringify(body)).toBe(200);
    const got = Object.fromEntries(body.versions!.map((v) => [v.version, { status: v.status, revision: v.revision }]));
    // Unlisted versions are left out unless asked for by status (as npm view leaves them out).
    const want = Object.fromEntries([...m.versions].filter(([, s]) => (this.status ? s.status === this.status : s.status !== 'Unlisted')));
    expect(got).toEqual(want);
  }
  toString = () => `list(${this.status ?? 'default'})`;
}

const STATUS = fc.constantFrom<Status>('Published', 'Unlisted', 'Archived', 'Disposed');
const subset = fc.subarray([...VERSIONS], { minLength: 1 });
const commands = [
  fc.tuple(subset, fc.constantFrom('Published', 'Unlisted', 'Archived') as fc.Arbitrary<'Published' | 'Unlisted' | 'Archived'>, fc.option(STATUS, { nil: undefined }), fc.constantFrom('none', 'current', 'stale') as fc.Arbitrary<'none' | 'current' | 'stale'>).map(
    ([vs, t, e, rm]) => new ChangeCommand('update', vs, t, e, rm),
  ),
  fc.tuple(subset, fc.option(STATUS, { nil: undefined }), fc.constantFrom('none', 'current', 'stale') as fc.Arbitrary<'none' | 'current' | 'stale'>).map(([vs, e, rm]) => new ChangeCommand('dispose', vs, 'Published', e, rm)),
  // DeletePackageVersions takes an expected status but no revisions (CodeArtifact's shape).
  fc.tuple(subset, fc.option(STATUS, { nil: undefined })).map(([vs, e]) => new ChangeCommand('delete', vs, 'Published', e, 'none')),
  fc.constantFrom(...VERSIONS).map((v) => new DescribeCommand(v)),
  fc.option(STATUS, { nil: undefined }).map((s) => new ListCommand(s)),
];

let gw: TestGateway;
let token: string;
beforeAll(async () => {
  gw = await testGateway();
  token = await gw.token('model', ['release-managers', 'security']);
});
afterAll(() => gw?.close());

describe('the version state machine against its model', () => {
  it(`agrees with the model over ${RUNS} random sequences`, async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.commands(commands, { maxCommands: 25 }), async (cmds) => {
        run++;
        const key: PackageKey = { domainOwner: '111122223333', domain: 'my_domain', repository: 'my_repo', format: 'generic', namespace: 'model', name: `pkg-${run}` };
        const model: Model = { versions: new Map(), stale: new Map() };
        for (const v of VERSIONS) {
          const revision = `seed-${run}-${v}`;
          await gw.store.addVersion({ key, version: v, status: 'Published', revision, assets: [] });
          model.versions.set(v, { status: 'Published', revision });
        }
        const query = `domain=my_domain&domain-owner=111122223333&repository=my_repo&format=generic&namespace=model&package=pkg-${run}`;
        await fc.asyncModelRun(() => ({ model, real: { gw, token, query } }), cmds);
      }),
      { numRuns: RUNS, ...(SEED !== undefined ? { seed: SEED } : {}), verbose: 1 },
    );
  }, DEEP ? 1_800_000 : 300_000);
});
