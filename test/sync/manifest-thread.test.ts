/**
 * The manifest thread: manifests are read into metadata on a worker thread, with the same answers
 * (and the same refusals, for people) as reading them in place; one not read in time fails its sync
 * and the thread is started afresh for the next.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { PackageKey } from '../../src/store/store.ts';
import { createManifestThread, type ManifestThread } from '../../src/sync/manifest-thread.ts';
import { ManifestError } from '../../src/sync/metadata.ts';

const base = { domainOwner: '111122223333', domain: 'my_domain', repository: 'my_repo' };
const mavenKey: PackageKey = { ...base, format: 'maven', namespace: 'org.acme', name: 'lib' };
const npmKey: PackageKey = { ...base, format: 'npm', namespace: '', name: 'widget' };
const pom = (xml: string) => [{ name: 'lib-1.0.pom', manifest: Buffer.from(xml) }];

describe('the manifest thread', () => {
  let thread: ManifestThread | undefined;
  afterEach(async () => {
    await thread?.close();
  });

  it('answers what the manifest says, and refuses what cannot be read with the reason for people', async () => {
    thread = createManifestThread();
    const packageJson = Buffer.from(JSON.stringify({ name: 'widget', version: '1.0.0', description: 'Small', dependencies: { chalk: '^5' } }));
    await expect(thread.extract(npmKey, '1.0.0', [{ name: 'widget-1.0.0.tgz', manifest: packageJson, readme: Buffer.from('# Widget') }])).resolves.toEqual({
      summary: 'Small',
      homePage: null,
      sourceCodeRepository: null,
      licenses: null,
      readme: '# Widget',
      dependencies: [{ namespace: null, package: 'chalk', dependencyType: 'regular', versionRequirement: '^5' }],
    });
    const refused = thread.extract(mavenKey, '1.0', pom('<!DOCTYPE project><project/>'));
    await expect(refused).rejects.toBeInstanceOf(ManifestError);
    await expect(refused).rejects.toThrow('lib-1.0.pom has a DOCTYPE, which a Maven pom never needs; it is not read.');
    // Several at once: each gets its own answer.
    const answers = await Promise.all(['a', 'b', 'c'].map((n) => thread!.extract(mavenKey, '1.0', pom(`<project><name>${n}</name></project>`))));
    expect(answers.map((a) => a.summary)).toEqual(['a', 'b', 'c']);
  });

  it('fails a manifest not read in time, and starts the thread afresh for the next (its start not counted)', async () => {
    // A second for each manifest: the small ones take a millisecond, even on a busy machine; the
    // slow one (16 MB of empty elements, not a size a sync would hand over) takes several.
    thread = createManifestThread(1000);
    await expect(thread.extract(mavenKey, '1.0', pom('<project><name>first</name></project>'))).resolves.toMatchObject({ summary: 'first' });
    const slow = thread.extract(mavenKey, '1.0', pom(`<project><name>slow</name>${'<x/>'.repeat(4_000_000)}</project>`));
    await expect(slow).rejects.toBeInstanceOf(ManifestError);
    await expect(slow).rejects.toThrow('Its manifest could not be read within 1 s, the most a sync gives it.');
    await expect(thread.extract(mavenKey, '1.0', pom('<project><name>next</name></project>'))).resolves.toMatchObject({ summary: 'next' });
  });
});
