/**
 * Domains and repositories from the command line, against the real server: the aws-named commands,
 * `versiongate domain|repository SUB` through the API when an endpoint is given, and the database
 * mode (bootstrap) when --data-dir is given. Outputs are compared character for character.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SEVERAL, startClientHarness, type ClientHarness } from './harness.ts';

let h: ClientHarness;
let admin: string;
let developer: string;

beforeAll(async () => {
  h = await startClientHarness();
  admin = await h.token('root', ['registry-admins']);
  developer = await h.token('dev', ['developers']);
});
afterAll(async () => {
  await h?.close();
});

/** createdTime changes per run: the rest of the output is compared exactly. */
const stable = (text: string) => text.replace(/"createdTime": "[^"]+"/g, '"createdTime": "T"');

describe('tenancy client commands', () => {
  it(
    'create-repository prints the RepositoryDescription as the aws CLI does; describe-repository reads it back',
    SEVERAL,
    async () => {
      const created = await h.vg(['create-repository', '--domain', 'my_domain', '--repository', 'candidates', '--description', 'Release candidates', '--upstreams', 'repositoryName=my_repo', 'repositoryName=prod'], {
        token: admin,
      });
      expect(created.stderr).toBe('');
      expect(created.code).toBe(0);
      expect(stable(created.stdout)).toBe(`{
    "repository": {
        "name": "candidates",
        "administratorAccount": "111122223333",
        "domainName": "my_domain",
        "domainOwner": "111122223333",
        "arn": "arn:aws:codeartifact:us-east-1:111122223333:repository/my_domain/candidates",
        "description": "Release candidates",
        "upstreams": [
            {
                "repositoryName": "my_repo"
            },
            {
                "repositoryName": "prod"
            }
        ],
        "externalConnections": [],
        "createdTime": "T"
    }
}
`);
      const described = await h.vg(['repository', 'describe', '--domain', 'my_domain', '--repository', 'candidates'], { token: developer });
      expect(described.stdout).toBe(created.stdout);
      const cleared = await h.vg(['update-repository', '--domain', 'my_domain', '--repository', 'candidates', '--upstreams', '[]'], { token: admin });
      expect(JSON.parse(cleared.stdout).repository.upstreams).toEqual([]);
    },
  );

  it(
    'domain create / list / delete through the API, and a denial as the aws CLI reports it',
    SEVERAL,
    async () => {
      const created = await h.vg(['domain', 'create', '--domain', 'team-a'], { token: admin });
      expect(created.code).toBe(0);
      expect(JSON.parse(created.stdout).domain).toMatchObject({ name: 'team-a', owner: '111122223333', status: 'Active', repositoryCount: 0, assetSizeBytes: 0 });
      const listed = await h.vg(['list-domains'], { token: admin });
      expect(JSON.parse(listed.stdout).domains.map((d: { name: string }) => d.name)).toEqual(['my_domain', 'team-a']);
      const denied = await h.vg(['domain', 'delete', '--domain', 'team-a'], { token: developer });
      expect(denied.code).toBe(1);
      expect(denied.stderr).toBe(
        'versiongate: AccessDeniedException: User: dev is not authorized to perform: codeartifact:DeleteDomain on resource: arn:aws:codeartifact:us-east-1:111122223333:domain/team-a\n',
      );
      const deleted = await h.vg(['delete-domain', '--domain', 'team-a'], { token: admin });
      expect(JSON.parse(deleted.stdout).domain.status).toBe('Deleted');
    },
  );

  it(
    'repository list without --domain lists every domain (ListRepositories); with it, one domain',
    SEVERAL,
    async () => {
      const everywhere = await h.vg(['repository', 'list', '--repository-prefix', 'pr'], { token: admin });
      expect(JSON.parse(everywhere.stdout).repositories.map((r: { name: string }) => r.name)).toEqual(['prod']);
      const paged = await h.vg(['repository', 'list', '--domain', 'my_domain', '--max-items', '1'], { token: developer });
      const out = JSON.parse(paged.stdout);
      expect(out.repositories.map((r: { name: string }) => r.name)).toEqual(['candidates']);
      expect(out.NextToken).toEqual(expect.any(String));
    },
  );

  it(
    'delete-repository refuses a repository that holds live versions (409), exit 1',
    SEVERAL,
    async () => {
      const r = await h.vg(['delete-repository', '--domain', 'my_domain', '--repository', 'my_repo'], { token: admin });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^versiongate: ConflictException: repository my_repo holds \d+ package version\(s\) that are neither Deleted nor Disposed/);
    },
  );

  it(
    'with --data-dir, domain create writes the database file (bootstrap) even when an endpoint is set',
    SEVERAL,
    async () => {
      const r = await h.vg(['domain', 'create', '--domain', 'boot', '--domain-owner', '123456789012', '--data-dir', h.dataDir]);
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ name: 'boot', owner: '123456789012' });
      const seen = await h.vg(['describe-domain', '--domain', 'boot', '--domain-owner', '123456789012'], { token: admin });
      expect(JSON.parse(seen.stdout).domain.owner).toBe('123456789012');
      // Without an owner, the gateway's account is meant (as CodeArtifact takes the caller's): not this one.
      const unnamed = await h.vg(['describe-domain', '--domain', 'boot'], { token: admin });
      expect(unnamed.code).toBe(1);
      expect(unnamed.stderr).toMatch(/^versiongate: ResourceNotFoundException: .*boot/);
    },
  );
});
