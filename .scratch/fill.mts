import { openSqliteStore } from '../src/store/sqlite/sqlite-store.ts';
import { systemClock } from '../src/clock.ts';
const store = openSqliteStore({ file: '/tmp/vgbig/versiongate.db', clock: systemClock });
const ARN = 'arn:aws:codeartifact:us-east-1:111122223333';
const rec = (i: number) => ({ decisionId: crypto.randomUUID(), time: new Date().toISOString(), requestId: `r${i}`, sourceIp: '127.0.0.1', principal: { issuer: 'i', subject: `user${i % 50}`, groups: ['g'] }, action: 'UpdatePackageVersionsStatus', resource: `${ARN}:package/my_domain/my_repo/npm//pkg${i % 100}`, decision: 'allow', reason: null, determiningPolicies: ['p'], errors: [], policySetHash: 'a'.repeat(64), request: { versions: ['1.0.0'], targetStatus: 'Archived' }, changes: [{ version: '1.0.0', before: { status: 'Published', revision: 'r1' }, after: { status: 'Archived', revision: 'r2' } }], outcome: 'applied', httpStatus: 200 });
for (let i = 0; i < 200_000; i += 2000) await store.appendAuditBatch(Array.from({ length: 2000 }, (_, k) => rec(i + k)) as any);
console.log('filled', (await store.auditHead())?.seq);
process.exit(0);
