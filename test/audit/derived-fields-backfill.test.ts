/**
 * The back-fill migrations and deriveFields must read a record alike, or `audit verify` fails on a
 * log the upgrade migrated: each case below is a resource and request as a record may hold them,
 * near the edges of both rules, migrated by the SQL of each store and compared with what
 * deriveFields (which verify runs) makes of it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/audit/audit-hash.ts';
import { deriveFields } from '../../src/audit/derived-fields.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.ts';

const MIGRATIONS = join(import.meta.dirname, '../../drizzle');
const DOMAIN = 'arn:aws:codeartifact:us-east-1:111122223333:domain/my_domain';
const ON_DOMAIN = `Domain::"${DOMAIN}"`;

/** [what it is, resource, request] */
const CASES: Array<[string, string, Record<string, unknown>]> = [
  ['CreateRepository', ON_DOMAIN, { domain: 'my_domain', repository: 'prod', upstreams: ['staging'], description: 'Releases' }],
  ['the shortest name', ON_DOMAIN, { domain: 'my_domain', repository: 'ab' }],
  ['the longest name', ON_DOMAIN, { domain: 'my_domain', repository: 'a'.repeat(100) }],
  ['every character a name may hold', ON_DOMAIN, { repository: 'A9._-z' }],
  ['a name too short', ON_DOMAIN, { repository: 'a' }],
  ['a name too long', ON_DOMAIN, { repository: 'a'.repeat(101) }],
  ['a name starting with -', ON_DOMAIN, { repository: '-ab' }],
  ['a name with a slash', ON_DOMAIN, { repository: 'a/b' }],
  ['a name with a quote', ON_DOMAIN, { repository: 'a"b' }],
  ['a name with a space', ON_DOMAIN, { repository: 'a b' }],
  ['a name with a letter outside ASCII', ON_DOMAIN, { repository: 'pród' }],
  ['a number', ON_DOMAIN, { repository: 12 }],
  ['a list', ON_DOMAIN, { repository: ['prod'] }],
  ['a key inside a description', ON_DOMAIN, { description: '","repository":"prod', domain: 'my_domain' }],
  ['a repository only as an upstream', ON_DOMAIN, { domain: 'my_domain', upstreams: ['prod'] }],
  ['DescribeDomain', ON_DOMAIN, { domain: 'my_domain' }],
  ['ListRepositoriesInDomain', ON_DOMAIN, { domain: 'my_domain', maxResults: 50, repositoryPrefix: 'pro' }],
  ['a refused token on a domain', DOMAIN, {}],
  ['a domain name with a colon', `${DOMAIN}:x`, {}],
  ['a domain name outside ASCII', `${DOMAIN}é`, {}],
  ['an account of 11 digits', 'arn:aws:codeartifact:us-east-1:11112222333:domain/d', {}],
  ['an account of 13 digits', 'arn:aws:codeartifact:us-east-1:1111222233334:domain/d', {}],
  ['a region with a colon', 'arn:aws:codeartifact:us:east:111122223333:domain/d', {}],
  ['no region', 'arn:aws:codeartifact::111122223333:domain/d', {}],
  ['no domain name', 'arn:aws:codeartifact:us-east-1:111122223333:domain/', {}],
  ['a slash in the domain name', 'arn:aws:codeartifact:us-east-1:111122223333:domain/a/b', {}],
  ['the audit log', 'AuditLog::"versiongate"', {}],
];

/** The index columns before either back-fill: what the code before the domain column derived. */
const TABLE = (collate: string) =>
  `CREATE TABLE audit_log (seq integer PRIMARY KEY, resource text ${collate}, request text ${collate} NOT NULL, repository_arn text ${collate}, domain_arn text ${collate})`;

interface Engine {
  run(sql: string): Promise<void>;
  insert(seq: number, resource: string, request: string): Promise<void>;
  rows(): Promise<Array<{ seq: number; repository_arn: string | null; domain_arn: string | null }>>;
  migrations: string[];
  close(): Promise<void>;
}

async function sqlite(): Promise<Engine> {
  const db = new Database(':memory:');
  return {
    run: async (sql) => {
      db.exec(sql);
    },
    insert: async (seq, resource, request) => void db.prepare('INSERT INTO audit_log (seq, resource, request) VALUES (?, ?, ?)').run(seq, resource, request),
    rows: async () => db.prepare('SELECT seq, repository_arn, domain_arn FROM audit_log ORDER BY seq').all() as never,
    migrations: ['sqlite/0008_audit_domain_arn.sql', 'sqlite/0010_audit_domain_record_repository.sql'],
    close: async () => {
      db.close();
    },
  };
}

async function postgres(database: TestDatabase): Promise<Engine> {
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  return {
    run: async (sql) => void (await client.query(sql)),
    insert: async (seq, resource, request) => void (await client.query('INSERT INTO audit_log (seq, resource, request) VALUES ($1, $2, $3)', [seq, resource, request])),
    rows: async () => (await client.query('SELECT seq, repository_arn, domain_arn FROM audit_log ORDER BY seq')).rows,
    migrations: ['postgres/0002_audit_domain_arn.sql', 'postgres/0004_audit_domain_record_repository.sql'],
    close: () => client.end(),
  };
}

describe.each(['sqlite', 'postgres'] as const)('the back-fill of domain records (%s)', (kind) => {
  let database: TestDatabase | undefined;
  let engine: Engine;
  beforeAll(async () => {
    database = kind === 'postgres' ? await createTestDatabase('backfill') : undefined;
    engine = database ? await postgres(database) : await sqlite();
    await engine.run(TABLE(kind === 'postgres' ? 'COLLATE "C"' : ''));
  });
  afterAll(async () => {
    await engine.close();
    await database?.drop();
  });

  it('gives each record the repository and domain deriveFields gives it', async () => {
    for (const [i, [, resource, request]] of CASES.entries()) await engine.insert(i + 1, resource, canonicalJson(request));
    // A record edited into something that is not JSON stops no upgrade (verify names it instead).
    await engine.insert(CASES.length + 1, ON_DOMAIN, '{"repository":"prod"');
    for (const file of engine.migrations) await engine.run(readFileSync(join(MIGRATIONS, file), 'utf8'));
    const rows = await engine.rows();
    const migrated = CASES.map(([what], i) => ({ what, repositoryArn: rows[i]!.repository_arn, domainArn: rows[i]!.domain_arn }));
    const derived = CASES.map(([what, resource, request]) => {
      const d = deriveFields({ resource, request, changes: [] });
      return { what, repositoryArn: d.repositoryArn, domainArn: d.domainArn };
    });
    expect(migrated).toEqual(derived);
    // The rules are not vacuous: the cases reach both outcomes.
    expect(derived[0]).toEqual({ what: 'CreateRepository', repositoryArn: 'arn:aws:codeartifact:us-east-1:111122223333:repository/my_domain/prod', domainArn: DOMAIN });
    expect(derived.find((d) => d.what === 'DescribeDomain')).toEqual({ what: 'DescribeDomain', repositoryArn: null, domainArn: DOMAIN });
    expect(derived.find((d) => d.what === 'a refused token on a domain')).toEqual({ what: 'a refused token on a domain', repositoryArn: null, domainArn: DOMAIN });
    expect(derived.find((d) => d.what === 'a region with a colon')).toEqual({ what: 'a region with a colon', repositoryArn: null, domainArn: null });
  });
});
