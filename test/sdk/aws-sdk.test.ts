/**
 * The unmodified AWS SDK for JavaScript v3 against the real server over real HTTP: the only change
 * on the client is the endpoint and one middleware that sends the bearer token.
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AccessDeniedException,
  CodeartifactClient,
  DisposePackageVersionsCommand,
  ResourceNotFoundException,
  UpdatePackageVersionsStatusCommand,
  ValidationException,
} from '@aws-sdk/client-codeartifact';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintDevToken } from '../../src/auth/dev-key.ts';
import { systemClock } from '../../src/clock.ts';
import { parseConfig } from '../../src/config.ts';
import { silentLogger } from '../../src/log.ts';
import { startGateway, type Gateway } from '../../src/main.ts';
import { REPO_POLICIES } from '../helpers/gateway.ts';
import { seedSynced } from '../helpers/seed-synced.ts';

function clientFor(endpoint: string, token: string): CodeartifactClient {
  const client = new CodeartifactClient({
    endpoint,
    region: 'us-east-1',
    // The SDK signs with SigV4 by default; the gateway ignores that and reads the bearer token below.
    credentials: { accessKeyId: 'unused', secretAccessKey: 'unused' },
    maxAttempts: 1,
  });
  client.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { headers: Record<string, string> };
      request.headers['authorization'] = `Bearer ${token}`;
      return next(args);
    },
    { step: 'finalizeRequest', priority: 'low', name: 'versiongateBearerToken' },
  );
  return client;
}

describe('@aws-sdk/client-codeartifact against versiongate', () => {
  let dir: string;
  let gateway: Gateway;
  let token: (groups: string[]) => Promise<string>;
  const coords = { domain: 'my_domain', domainOwner: '111122223333', repository: 'my_repo', format: 'npm' as const, package: 'chalk' };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vg-sdk-'));
    cpSync(REPO_POLICIES, join(dir, 'policies'), { recursive: true });
    const config = parseConfig({ env: {}, flags: { port: '0', 'data-dir': join(dir, 'data'), 'policy-dir': join(dir, 'policies') }, dev: true });
    gateway = await startGateway(config, { logger: silentLogger });
    await seedSynced(gateway, join(dir, 'data'));
    token = (groups) =>
      mintDevToken({ key: gateway.devKey!, issuer: config.auth.issuer, audience: config.auth.audience, subject: 'ci-pipeline', groups, groupsClaim: 'groups', ttlSeconds: 600, clock: systemClock });
  });
  afterAll(async () => {
    await gateway?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('UpdatePackageVersionsStatus archives versions and returns the SDK-typed result', async () => {
    const client = clientFor(gateway.url, await token(['release-managers']));
    const out = await client.send(new UpdatePackageVersionsStatusCommand({ ...coords, versions: ['4.1.0', '4.1.1'], targetStatus: 'Archived' }));
    expect(out.$metadata.httpStatusCode).toBe(200);
    expect(out.$metadata.requestId).toMatch(/^[0-9a-f-]{36}$/); // x-amzn-RequestId, as on CodeArtifact's answers
    expect(out.successfulVersions?.['4.1.0']?.status).toBe('Archived');
    expect(out.successfulVersions?.['4.1.1']?.revision).toMatch(/=$/);
    expect(out.failedVersions).toEqual({});
  });

  it('reports per-version failures the SDK understands (MISMATCHED_STATUS)', async () => {
    const client = clientFor(gateway.url, await token(['release-managers']));
    const out = await client.send(new UpdatePackageVersionsStatusCommand({ ...coords, versions: ['4.0.0'], targetStatus: 'Unlisted', expectedStatus: 'Archived' }));
    expect(out.failedVersions?.['4.0.0']).toEqual({ errorCode: 'MISMATCHED_STATUS', errorMessage: 'current status: Published, expected status: Archived' });
  });

  it('DisposePackageVersions disposes for the security group', async () => {
    const client = clientFor(gateway.url, await token(['security']));
    const out = await client.send(new DisposePackageVersionsCommand({ ...coords, versions: ['4.0.0'], expectedStatus: 'Published' }));
    expect(out.successfulVersions?.['4.0.0']?.status).toBe('Disposed');
  });

  it('a Cedar deny surfaces as the SDK AccessDeniedException', async () => {
    const client = clientFor(gateway.url, await token(['release-managers']));
    const err = await client.send(new DisposePackageVersionsCommand({ ...coords, versions: ['4.1.0'] })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AccessDeniedException);
    expect((err as AccessDeniedException).$metadata.httpStatusCode).toBe(403);
    expect((err as Error).message).toContain('codeartifact:DisposePackageVersions');
  });

  it('validation and not-found errors become the SDK exception classes with their members', async () => {
    const client = clientFor(gateway.url, await token(['release-managers']));
    const bad = await client.send(new UpdatePackageVersionsStatusCommand({ ...coords, package: 'ch*lk', versions: ['1.0.0'], targetStatus: 'Archived' })).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(ValidationException);
    expect((bad as ValidationException).reason).toBe('FIELD_VALIDATION_FAILED');
    const missing = await client.send(new UpdatePackageVersionsStatusCommand({ ...coords, package: 'not-there', versions: ['1.0.0'], targetStatus: 'Archived' })).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(ResourceNotFoundException);
    expect((missing as ResourceNotFoundException).resourceType).toBe('package');
  });

  it('without the bearer middleware (SigV4 only) the SDK gets a 401', async () => {
    const client = new CodeartifactClient({ endpoint: gateway.url, region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' }, maxAttempts: 1 });
    const err = await client.send(new UpdatePackageVersionsStatusCommand({ ...coords, versions: ['4.1.0'], targetStatus: 'Unlisted' })).catch((e: unknown) => e);
    expect((err as { name: string }).name).toBe('UnauthorizedException');
    expect((err as { $metadata: { httpStatusCode: number } }).$metadata.httpStatusCode).toBe(401);
  });
});
