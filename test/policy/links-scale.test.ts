/** Tens of thousands of template links: loaded, validated, and each request judged by the right ones. */
import { cpSync, mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PolicyEngine } from '../../src/policy/engine.ts';
import { packageResource } from '../../src/policy/entities.ts';
import { loadPolicyDir, PolicySetError } from '../../src/policy/load-policies.ts';
import { REPO_POLICIES } from '../helpers/gateway.ts';

const N = 20_000;
const repoArn = (i: number) => `arn:aws:codeartifact:us-east-1:111122223333:repository/my_domain/repo${i}`;

describe('template links at scale', () => {
  let dir: string;
  let engine: PolicyEngine;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'vg-links-'));
    cpSync(REPO_POLICIES, dir, { recursive: true });
    mkdirSync(join(dir, 'links'));
    const links = Array.from({ length: N }, (_, i) => ({ id: `team${i}-curates-repo${i}`, template: 'team-curates-repository', principal: `Group::"team${i}"`, resource: `Repository::"${repoArn(i)}"` }));
    writeFileSync(join(dir, 'links', 'teams.json'), JSON.stringify(links));
    engine = new PolicyEngine(loadPolicyDir(dir));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const archive = (team: string, repo: number) =>
    engine.authorize({
      principal: { issuer: 'i', subject: `member-of-${team}`, groups: [team] },
      action: 'UpdatePackageVersionsStatus',
      resource: packageResource({ region: 'us-east-1', domain: 'my_domain', domainOwner: '111122223333', repository: `repo${repo}`, format: 'npm', namespace: '', name: 'pkg' }),
      context: { versions: ['1.0.0'], currentStatuses: ['Published'], targetStatus: 'Archived' },
    });

  it('loads all of them', () => {
    expect(engine.policySet.links).toHaveLength(N + 2);
  });

  it('a team curates exactly the repository it is linked to', () => {
    expect(archive('team12345', 12345)).toMatchObject({ decision: 'allow', determiningPolicies: ['team12345-curates-repo12345'] });
    expect(archive('team12345', 12346)).toMatchObject({ decision: 'deny', denyKind: 'no_permit' });
    expect(archive('team19999', 19999).decision).toBe('allow');
    expect(archive('team0', 0).decision).toBe('allow');
  });

  it('the static forbids still bind linked principals', () => {
    const d = engine.authorize({
      principal: { issuer: 'i', subject: 'm', groups: ['team7'] },
      action: 'UpdatePackageVersionsStatus',
      resource: packageResource({ region: 'us-east-1', domain: 'my_domain', domainOwner: '111122223333', repository: 'repo7', format: 'npm', namespace: '', name: 'pkg' }),
      context: { versions: ['1.0.0'], currentStatuses: ['Archived'], targetStatus: 'Published' },
    });
    expect(d).toMatchObject({ decision: 'deny', denyKind: 'forbid', determiningPolicies: ['restore-archived-needs-release-manager'] });
  });

  it('keeps answering correctly past its slice cache (more distinct slices than it holds)', () => {
    for (let i = 0; i < 700; i++) expect(archive(`team${i}`, i).decision).toBe('allow');
    expect(archive('team3', 3).determiningPolicies).toEqual(['team3-curates-repo3']);
  });

  it('refuses a link to an unknown template, a missing slot, or an entity of the wrong type, with file and line', () => {
    const bad = mkdtempSync(join(tmpdir(), 'vg-badlinks-'));
    try {
      cpSync(REPO_POLICIES, bad, { recursive: true });
      writeFileSync(
        join(bad, 'links.json'),
        JSON.stringify(
          [
            { id: 'a', template: 'no-such-template', principal: 'Group::"x"', resource: `Repository::"${repoArn(1)}"` },
            { id: 'b', template: 'team-curates-repository', principal: 'Group::"x"' },
            { id: 'c', template: 'team-curates-repository', principal: 'Package::"x"', resource: `Repository::"${repoArn(1)}"` },
          ],
          null,
          2,
        ),
      );
      let err: unknown;
      try {
        loadPolicyDir(bad);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(PolicySetError);
      const text = (err as PolicySetError).diagnostics.map((d) => `${d.file}:${d.line} ${d.message}`);
      expect(text).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^links\.json:2 link "a": no template with @id\("no-such-template"\)/),
          expect.stringMatching(/^links\.json:8 link "b": the template has \?resource: give "resource"/),
        ]),
      );
      // With those fixed, Cedar's validation finds the link that can never apply (a Package as a group).
      writeFileSync(join(bad, 'links.json'), JSON.stringify([{ id: 'c', template: 'team-curates-repository', principal: 'Package::"x"', resource: `Repository::"${repoArn(1)}"` }]));
      let second: unknown;
      try {
        loadPolicyDir(bad);
      } catch (e) {
        second = e;
      }
      expect(second).toBeInstanceOf(PolicySetError);
      expect((second as PolicySetError).diagnostics[0]).toMatchObject({ file: 'links.json', line: 1, severity: 'error', policyId: 'c' });
    } finally {
      rmSync(bad, { recursive: true, force: true });
    }
  });
});
