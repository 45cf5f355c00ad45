/**
 * The audit log at scale: fills a database with BENCH_AUDIT_RECORDS records (default 1,000,000)
 * through the real chain-linking insert path, then reports the latency of the queries an auditor
 * runs (first page and a deep page, each filter) and the time to verify the whole chain.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuditRecordInput } from '../src/audit/audit-record.ts';
import { verifyChain } from '../src/audit/verify-chain.ts';
import { systemClock } from '../src/clock.ts';
import { openSqliteStore } from '../src/store/sqlite/sqlite-store.ts';
import type { AuditFilter } from '../src/store/store.ts';

const TOTAL = Number(process.env.BENCH_AUDIT_RECORDS ?? 1_000_000);
const BATCH = 10_000;
const ARN = 'arn:aws:codeartifact:us-east-1:111122223333';
const START = Date.parse('2026-01-01T00:00:00Z');

function record(i: number): AuditRecordInput {
  const repo = `repo${i % 10}`;
  const pkg = `pkg${i % 200}`;
  const deny = i % 50 === 0;
  const version = `1.${i % 40}.0`;
  return {
    decisionId: `bench-${i}`,
    time: new Date(START + i * 1000).toISOString(),
    requestId: `req-${i}`,
    sourceIp: '127.0.0.1',
    principal: { issuer: 'https://idp.example', subject: `user${i % 50}`, groups: ['release-managers'] },
    action: i % 3 === 0 ? 'DisposePackageVersions' : 'UpdatePackageVersionsStatus',
    resource: `${ARN}:package/my_domain/${repo}/npm//${pkg}`,
    decision: deny ? 'deny' : 'allow',
    reason: deny ? 'no_permit' : null,
    determiningPolicies: deny ? [] : ['release-managers-curate-my-repo'],
    errors: [],
    policySetHash: 'a'.repeat(64),
    request: { versions: [version], targetStatus: 'Archived' },
    changes: deny ? [] : [{ version, before: { status: 'Published', revision: 'r1' }, after: { status: 'Archived', revision: 'r2' } }],
    outcome: deny ? 'denied' : 'applied',
    httpStatus: deny ? 403 : 200,
  };
}

const dir = mkdtempSync(join(tmpdir(), 'vg-bench-audit-'));
try {
  const file = join(dir, 'audit.db');
  const store = openSqliteStore({ file, clock: systemClock });
  let t = performance.now();
  for (let i = 0; i < TOTAL; i += BATCH) {
    await store.appendAuditBatch(Array.from({ length: Math.min(BATCH, TOTAL - i) }, (_, k) => record(i + k)));
  }
  const fillSeconds = (performance.now() - t) / 1000;
  console.log(`filled ${TOTAL} records in ${fillSeconds.toFixed(1)} s (${Math.round(TOTAL / fillSeconds)}/s, batches of ${BATCH}); file ${(statSync(file).size / 1e6).toFixed(0)} MB`);

  const middle = Math.floor(TOTAL / 2);
  const queries: Array<[string, AuditFilter, number | undefined]> = [
    ['newest page, no filter', {}, undefined],
    ['deep page (cursor at the middle), no filter', {}, middle],
    ['principal', { principal: 'user7' }, undefined],
    ['principal, deep page', { principal: 'user7' }, middle],
    ['action', { action: 'DisposePackageVersions' }, undefined],
    ['decision=deny (2%)', { decision: 'deny' }, undefined],
    ['exact package ARN', { resource: `${ARN}:package/my_domain/repo3/npm//pkg123` }, undefined],
    ['repository ARN', { repositoryArn: `${ARN}:repository/my_domain/repo3` }, undefined],
    ['domain ARN', { domainArn: `${ARN}:domain/my_domain` }, undefined],
    ['ARN prefix', { resourcePrefix: `${ARN}:package/my_domain/repo3/npm//pkg1` }, undefined],
    ['package + version', { packageName: 'pkg123', version: '1.3.0' }, undefined],
    ['time range (one day, mid-log)', { since: new Date(START + middle * 1000).toISOString(), until: new Date(START + middle * 1000 + 86_400_000).toISOString() }, undefined],
    ['repository scope of 3 (authorization)', { repositoryScope: [`${ARN}:repository/my_domain/repo1`, `${ARN}:repository/my_domain/repo2`, `${ARN}:repository/my_domain/repo3`] }, undefined],
  ];
  console.log('\nGET /v1/audit page of 50 (store query), 30 runs each:');
  for (const [name, filter, beforeSeq] of queries) {
    const samples: number[] = [];
    let rows = 0;
    for (let run = 0; run < 30; run++) {
      t = performance.now();
      rows = (await store.listAudit({ filter, limit: 51, beforeSeq })).length;
      samples.push(performance.now() - t);
    }
    samples.sort((a, b) => a - b);
    console.log(`  ${name.padEnd(44)} p50 ${samples[15]!.toFixed(2).padStart(7)} ms   max ${samples[29]!.toFixed(2).padStart(7)} ms   (${rows} rows)`);
  }

  t = performance.now();
  const result = await verifyChain(store);
  const verifySeconds = (performance.now() - t) / 1000;
  console.log(`\nverify: ${result.ok ? 'intact' : `BROKEN at ${result.break?.seq}`}, ${result.records} records in ${verifySeconds.toFixed(1)} s (${Math.round(result.records / verifySeconds)}/s)`);
  await store.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
