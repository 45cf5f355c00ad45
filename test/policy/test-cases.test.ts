/**
 * Test cases as data (policies/tests/*.json) are read strictly: a case that cannot check what it
 * says (a mistyped field, a reason that is not a list, a deny that comes from an error) is refused or
 * fails, never passes whatever the policies do.
 */
import { describe, expect, it } from 'vitest';
import { loadPolicyDir } from '../../src/policy/load-policies.ts';
import { runPolicyTests } from '../../src/policy/run-tests.ts';
import { parseTestFile, TestCaseError } from '../../src/policy/test-cases.ts';
import { REPO_POLICIES } from '../helpers/gateway.ts';

const PROD_CHALK_ARN = 'arn:aws:codeartifact:us-east-1:111122223333:package/my_domain/prod/npm//chalk';
const CHALK = { domain: 'my_domain', domainOwner: '111122223333', repository: 'my_repo', format: 'npm', package: 'chalk' };
const RM_ARCHIVES = {
  name: 'rm archives',
  claims: { sub: 'rita', groups: ['release-managers'] },
  action: 'UpdatePackageVersionsStatus',
  package: CHALK,
  context: { versions: ['4.1.0'], currentStatuses: ['Published'], targetStatus: 'Archived' },
  decision: 'allow',
};
/** Release managers may not dispose in prod, in the Cedar CLI's form with its entities in full. */
const CLI_DISPOSE = {
  name: 'cli: rm may not dispose',
  request: { principal: 'User::"rita"', action: 'Action::"DisposePackageVersions"', resource: `Package::"${PROD_CHALK_ARN}"`, context: { versions: ['4.1.1'], currentStatuses: ['Published'] } },
  entities: [
    { uid: { type: 'User', id: 'rita' }, attrs: { issuer: 'urn:test' }, parents: [{ type: 'Group', id: 'release-managers' }] },
    {
      uid: { type: 'Package', id: PROD_CHALK_ARN },
      attrs: { arn: PROD_CHALK_ARN, domain: 'my_domain', domainOwner: '111122223333', repository: 'prod', format: 'npm', namespace: '', name: 'chalk' },
      parents: [
        { type: 'Repository', id: 'arn:aws:codeartifact:us-east-1:111122223333:repository/my_domain/prod' },
        { type: 'Domain', id: 'arn:aws:codeartifact:us-east-1:111122223333:domain/my_domain' },
      ],
    },
  ],
  decision: 'deny',
};

const refusal = (cases: unknown[]): string => {
  try {
    parseTestFile('tests/x.json', JSON.stringify(cases));
  } catch (err) {
    expect(err).toBeInstanceOf(TestCaseError);
    expect((err as TestCaseError).file).toBe('tests/x.json');
    return (err as Error).message;
  }
  throw new Error('expected the case to be refused');
};

describe('a test case is read strictly', () => {
  it('refuses a "reason" that is not an array of ids, naming the file, the case and the field', () => {
    expect(refusal([{ ...RM_ARCHIVES, reason: 'release-managers-curate-my-repo' }])).toBe(
      'tests/x.json case 1 (rm archives): "reason" must be an array of policy ids, got "release-managers-curate-my-repo"',
    );
    expect(refusal([{ ...RM_ARCHIVES, reason: 5 }])).toBe('tests/x.json case 1 (rm archives): "reason" must be an array of policy ids, got 5');
  });

  it('refuses an unknown field at every level of either form', () => {
    expect(refusal([{ ...RM_ARCHIVES, reasons: ['x'] }])).toContain('has unknown field(s) "reasons"');
    expect(refusal([{ ...RM_ARCHIVES, denykind: 'forbid' }])).toContain('has unknown field(s) "denykind"');
    expect(refusal([{ ...RM_ARCHIVES, package: { ...CHALK, namspace: 'acme' } }])).toContain('"package" has unknown field(s) "namspace"');
    expect(refusal([{ ...CLI_DISPOSE, num_errorz: 0 }])).toContain('has unknown field(s) "num_errorz"');
    expect(refusal([{ ...CLI_DISPOSE, request: { ...CLI_DISPOSE.request, contxt: {} } }])).toContain('"request" has unknown field(s) "contxt"');
    expect(refusal([{ ...CLI_DISPOSE, entities: [{ ...CLI_DISPOSE.entities[0], parent: [] }] }])).toContain('"entities[0]" has unknown field(s) "parent"');
  });

  it('keeps the claims open, but holds what it reads to a real token\'s rules', () => {
    expect(() => parseTestFile('tests/x.json', JSON.stringify([{ ...RM_ARCHIVES, claims: { ...RM_ARCHIVES.claims, email: 'r@example.com' } }]))).not.toThrow();
    expect(refusal([{ ...RM_ARCHIVES, claims: { sub: 'ri\nta', groups: [] } }])).toContain('"claims": "sub" claim holds a control character');
    expect(refusal([{ ...RM_ARCHIVES, claims: { sub: 'rita', groups: ['release-\u0000managers'] } }])).toContain('"claims": "groups" claim must be an array');
  });

  it('refuses a case that names its resource twice (the first would win silently)', () => {
    expect(refusal([{ ...RM_ARCHIVES, resource: 'AuditLog::"versiongate"' }])).toContain('give exactly one of "package"');
  });

  it('holds a repository or domain resource to the names a request could carry, as a package already was', () => {
    const { package: _, ...rest } = RM_ARCHIVES;
    const repository = { domain: 'my_domain', domainOwner: '111122223333', repository: 'my_repo' };
    expect(() => parseTestFile('tests/x.json', JSON.stringify([{ ...rest, action: 'ListPackages', repository }]))).not.toThrow();
    expect(refusal([{ ...rest, action: 'ListPackages', repository: { ...repository, domain: 'My Domain' } }])).toContain('domain contains a character that is not allowed');
    expect(refusal([{ ...rest, action: 'ListPackages', repository: { ...repository, repository: 'my/repo' } }])).toContain("repository contains a character that is not allowed: '/'");
    expect(refusal([{ ...rest, action: 'ListPackages', repository: { ...repository, domainOwner: '1111' } }])).toContain('domain-owner must be a 12-digit account id');
    expect(refusal([{ ...rest, action: 'DescribeDomain', domain: { domain: 'MyDomain', domainOwner: '111122223333' } }])).toContain('domain must be lowercase letters');
  });

  it('requires num_errors to be a whole number of 0 or more', () => {
    for (const bad of ['0', -1, 1.5]) expect(refusal([{ ...CLI_DISPOSE, num_errors: bad }])).toContain(`"num_errors" must be a whole number of 0 or more, got ${JSON.stringify(bad)}`);
  });
});

describe('a Cedar-CLI case without num_errors expects none', () => {
  const set = loadPolicyDir(REPO_POLICIES);
  const run = (c: object) => runPolicyTests(set, parseTestFile('tests/x.json', JSON.stringify([c])));

  it('passes a clean deny', () => {
    expect(run(CLI_DISPOSE)).toMatchObject({ passed: 1, failed: 0 });
  });

  it('fails a deny that comes from an error: a misspelt action, or an entity without its attributes', () => {
    const typo = run({ ...CLI_DISPOSE, request: { ...CLI_DISPOSE.request, action: 'Action::"DisposePackageVersion"' } });
    expect(typo).toMatchObject({ passed: 0, failed: 1 });
    expect(typo.failures[0]!.problems).toEqual(['expected 0 error(s), got 1']);
    const bare = run({ ...CLI_DISPOSE, entities: [CLI_DISPOSE.entities[0], { uid: CLI_DISPOSE.entities[1]!.uid, attrs: {}, parents: [] }] });
    expect(bare).toMatchObject({ passed: 0, failed: 1 });
    // Said outright, the same error passes.
    expect(run({ ...CLI_DISPOSE, request: { ...CLI_DISPOSE.request, action: 'Action::"DisposePackageVersion"' }, num_errors: 1 })).toMatchObject({ passed: 1 });
  });
});
