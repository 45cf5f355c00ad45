/**
 * A promotion with the unmodified AWS SDK against the real server over real HTTP, on the shipped
 * policies: a pipeline publishes to staging with unfinished=true and finishes the version with
 * UpdatePackageVersionsStatus → Published (as CodeArtifact documents it); a release manager copies
 * it to prod with CopyPackageVersions (a publisher may not; an Archived version may not be promoted);
 * prod serves it once its own sync ran; and the audit log shows each step with its source and
 * destination.
 */
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import {
  AccessDeniedException,
  CodeartifactClient,
  ConflictException,
  CopyPackageVersionsCommand,
  DescribePackageVersionCommand,
  GetPackageVersionAssetCommand,
  ListPackageVersionAssetsCommand,
  PublishPackageVersionCommand,
  UpdatePackageVersionsStatusCommand,
} from '@aws-sdk/client-codeartifact';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintDevToken } from '../../src/auth/dev-key.ts';
import { systemClock } from '../../src/clock.ts';
import { parseConfig } from '../../src/config.ts';
import { silentLogger } from '../../src/log.ts';
import { startGateway, type Gateway } from '../../src/main.ts';
import { REPO_POLICIES } from '../helpers/gateway.ts';
import { rejectionOf } from '../helpers/rejection.ts';
import { seedSynced, syncsSettled } from '../helpers/seed-synced.ts';
import { sdkClient } from '../helpers/sdk-client.ts';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const ARN = 'arn:aws:codeartifact:us-east-1:111122223333';
const packageArn = (repository: string) => `${ARN}:package/my_domain/${repository}/generic/acme/widget`;

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe('@aws-sdk/client-codeartifact: promotion from staging to prod', () => {
  let dir: string;
  let gateway: Gateway;
  let client: (sub: string, groups: string[]) => Promise<CodeartifactClient>;
  const widget = (repository: string) => ({ domain: 'my_domain', domainOwner: '111122223333', repository, format: 'generic' as const, namespace: 'acme', package: 'widget' });
  const promotion = { domain: 'my_domain', domainOwner: '111122223333', sourceRepository: 'staging', destinationRepository: 'prod', format: 'generic' as const, namespace: 'acme', package: 'widget' };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vg-sdk-promotion-'));
    cpSync(REPO_POLICIES, join(dir, 'policies'), { recursive: true });
    const config = parseConfig({ env: {}, flags: { port: '0', 'data-dir': join(dir, 'data'), 'policy-dir': join(dir, 'policies') }, dev: true });
    gateway = await startGateway(config, { logger: silentLogger });
    await seedSynced(gateway, join(dir, 'data'));
    client = async (sub, groups) =>
      sdkClient(
        gateway.url,
        await mintDevToken({ key: gateway.devKey!, issuer: config.auth.issuer, audience: config.auth.audience, subject: sub, groups, groupsClaim: 'groups', ttlSeconds: 600, clock: systemClock }),
      );
  });
  afterAll(async () => {
    await gateway?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('publish unfinished to staging → finish with UpdatePackageVersionsStatus → copy to prod (release manager only, never Archived) → download from prod; audited', async () => {
    const pipeline = await client('ci-pipeline', ['publishers']);
    const releaseManager = await client('rita', ['release-managers']);
    const binary = Buffer.from('widget 1.0.0 binary\n');
    const checksum = Buffer.from(`${sha256(binary)}  widget.bin\n`);
    const publish = (version: string, assetName: string, bytes: Buffer) =>
      pipeline.send(new PublishPackageVersionCommand({ ...widget('staging'), packageVersion: version, assetName, assetContent: bytes, assetSHA256: sha256(bytes), unfinished: true }));

    // 1. The pipeline uploads every asset with unfinished=true…
    expect((await publish('1.0.0', 'widget.bin', binary)).status).toBe('Unfinished');
    expect((await publish('1.0.0', 'widget.bin.sha256', checksum)).status).toBe('Unfinished');
    // 2. …and then publishes the version, as the aws CLI documentation shows it.
    const finished = await pipeline.send(new UpdatePackageVersionsStatusCommand({ ...widget('staging'), versions: ['1.0.0'], targetStatus: 'Published' }));
    expect(finished.failedVersions).toEqual({});
    expect(finished.successfulVersions?.['1.0.0']?.status).toBe('Published');
    await syncsSettled(gateway.store); // its sync started with the status change
    const staged = (await releaseManager.send(new DescribePackageVersionCommand({ ...widget('staging'), packageVersion: '1.0.0' }))).packageVersion!;
    expect(staged.status).toBe('Published');

    // 3. A publisher may not promote: Cedar decides on the prod package.
    const denied = await rejectionOf(pipeline.send(new CopyPackageVersionsCommand({ ...promotion, versions: ['1.0.0'] })));
    expect(denied).toBeInstanceOf(AccessDeniedException);
    expect((denied as Error).message).toBe(`User: ci-pipeline is not authorized to perform: codeartifact:CopyPackageVersions on resource: ${packageArn('prod')}`);

    // 4. A release manager may.
    const copied = await releaseManager.send(new CopyPackageVersionsCommand({ ...promotion, versions: ['1.0.0'] }));
    expect(copied.failedVersions).toEqual({});
    const promotedRevision = copied.successfulVersions?.['1.0.0']?.revision;
    expect(copied.successfulVersions?.['1.0.0']?.status).toBe('Published');
    expect(promotedRevision).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    expect(promotedRevision).not.toBe(staged.revision);
    // Copying it again is refused by the registry: prod already has it.
    const again = await releaseManager.send(new CopyPackageVersionsCommand({ ...promotion, versions: ['1.0.0'] }));
    expect(again.failedVersions?.['1.0.0']?.errorCode).toBe('ALREADY_EXISTS');
    // And overwriting it is forbidden by the promotion policy, whoever asks.
    expect(await rejectionOf(releaseManager.send(new CopyPackageVersionsCommand({ ...promotion, versions: ['1.0.0'], allowOverwrite: true })))).toBeInstanceOf(AccessDeniedException);

    // 5. prod serves it once its own sync ran: the same assets and hashes, the same bytes.
    const inProd = { ...widget('prod'), packageVersion: '1.0.0' };
    await syncsSettled(gateway.store);
    const prodVersion = (await releaseManager.send(new DescribePackageVersionCommand(inProd))).packageVersion!;
    expect(prodVersion.status).toBe('Published');
    // The sync gave prod's copy a revision of its own, neither staging's nor the copy's first one.
    expect([staged.revision, promotedRevision]).not.toContain(prodVersion.revision);
    const prodAssets = (await releaseManager.send(new ListPackageVersionAssetsCommand(inProd))).assets;
    const stagedAssets = (await releaseManager.send(new ListPackageVersionAssetsCommand({ ...widget('staging'), packageVersion: '1.0.0' }))).assets;
    expect(prodAssets).toEqual(stagedAssets);
    const download = await releaseManager.send(new GetPackageVersionAssetCommand({ ...inProd, asset: 'widget.bin' }));
    expect(await readAll(download.asset as Readable)).toEqual(binary);

    // 6. An Archived version is not promoted: the release manager archives 2.0.0 in staging, and the
    // promotion policy refuses it (only Published versions leave staging).
    await publish('2.0.0', 'widget.bin', Buffer.from('widget 2.0.0\n'));
    await pipeline.send(new UpdatePackageVersionsStatusCommand({ ...widget('staging'), versions: ['2.0.0'], targetStatus: 'Published' }));
    await syncsSettled(gateway.store);
    await releaseManager.send(new UpdatePackageVersionsStatusCommand({ ...widget('staging'), versions: ['2.0.0'], targetStatus: 'Archived' }));
    const archived = await rejectionOf(releaseManager.send(new CopyPackageVersionsCommand({ ...promotion, versions: ['2.0.0'] })));
    expect(archived).toBeInstanceOf(AccessDeniedException);
    expect(await rejectionOf(releaseManager.send(new DescribePackageVersionCommand({ ...inProd, packageVersion: '2.0.0' })))).toHaveProperty('name', 'ResourceNotFoundException');
    // Nor can it be downloaded from staging meanwhile.
    expect(await rejectionOf(releaseManager.send(new GetPackageVersionAssetCommand({ ...widget('staging'), packageVersion: '2.0.0', asset: 'widget.bin' })))).toBeInstanceOf(ConflictException);

    // 7. The audit log: each step of 1.0.0, with its source and destination.
    const records = (await gateway.store.listAudit({ filter: { packageName: 'widget', version: '1.0.0' }, limit: 100 })).reverse();
    const steps = records.map((r) => [r.principal?.subject ?? null, r.action, r.resource, r.decision, r.outcome]);
    expect(steps).toEqual([
      ['ci-pipeline', 'PublishPackageVersion', packageArn('staging'), 'allow', 'applied'],
      ['ci-pipeline', 'PublishPackageVersion', packageArn('staging'), 'allow', 'applied'],
      ['ci-pipeline', 'UpdatePackageVersionsStatus', packageArn('staging'), 'allow', 'applied'],
      [null, 'SyncPackageVersion', packageArn('staging'), 'none', 'applied'],
      ['rita', 'DescribePackageVersion', packageArn('staging'), 'allow', 'read'],
      ['ci-pipeline', 'CopyPackageVersions', packageArn('prod'), 'deny', 'denied'],
      ['rita', 'CopyPackageVersions', packageArn('prod'), 'allow', 'applied'],
      ['rita', 'CopyPackageVersions', packageArn('prod'), 'allow', 'rejected'],
      ['rita', 'CopyPackageVersions', packageArn('prod'), 'deny', 'denied'],
      [null, 'SyncPackageVersion', packageArn('prod'), 'none', 'applied'],
      ['rita', 'DescribePackageVersion', packageArn('prod'), 'allow', 'read'],
      ['rita', 'ListPackageVersionAssets', packageArn('prod'), 'allow', 'read'],
      ['rita', 'ListPackageVersionAssets', packageArn('staging'), 'allow', 'read'],
      ['rita', 'GetPackageVersionAsset', packageArn('prod'), 'allow', 'read'],
    ]);
    const finish = records[2]!;
    expect(finish.changes).toEqual([{ version: '1.0.0', before: { status: 'Unfinished', revision: expect.any(String) }, after: { status: 'Published', revision: finished.successfulVersions!['1.0.0']!.revision } }]);
    const [deniedCopy, promoted] = [records[5]!, records[6]!];
    for (const r of [deniedCopy, promoted]) {
      expect(r.request).toMatchObject({ sourceRepository: 'staging', destinationRepository: 'prod', sourcePackage: packageArn('staging'), versions: ['1.0.0'] });
    }
    expect(promoted.determiningPolicies).toEqual(['release-managers-promote-staging-to-prod']);
    expect(promoted.changes).toEqual([
      {
        version: '1.0.0',
        source: { repository: 'staging', status: 'Published', revision: staged.revision },
        before: { status: 'Deleted', revision: '' },
        after: { status: 'Published', revision: promotedRevision },
      },
    ]);
    expect(records[8]!.determiningPolicies).toEqual(['promotion-never-overwrites-prod']);
  });
});
