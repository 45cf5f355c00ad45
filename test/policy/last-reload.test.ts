/**
 * `lastReload` (GET /v1/policies) reports the last reload that meant something: one edit reaches the
 * watcher twice (fs.watch, then the poll), and the second, finding the set just loaded, must not turn
 * a `loaded` into `unchanged`. An asked-for reload that finds nothing new still says `unchanged`.
 */
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.ts';
import { silentLogger } from '../../src/log.ts';
import { PolicyManager } from '../../src/policy/policy-manager.ts';
import { REPO_POLICIES } from '../helpers/gateway.ts';

const EXTRA = `@id("qa-reads-my-domain")
permit (principal in Group::"qa", action in Action::"ReadPackageVersions",
  resource in Domain::"arn:aws:codeartifact:us-east-1:111122223333:domain/my_domain");
`;

describe('lastReload', () => {
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const start = () => {
    dir = mkdtempSync(join(tmpdir(), 'versiongate-last-reload-'));
    cpSync(REPO_POLICIES, dir, { recursive: true });
    return PolicyManager.start({ dir, clock: systemClock, logger: silentLogger, reloadInWorker: false });
  };

  it('stays loaded when the watcher reloads the same set again', async () => {
    const manager = start();
    writeFileSync(join(dir, 'qa.cedar'), EXTRA);
    const loaded = await manager.reload('watch');
    expect(loaded.outcome).toBe('loaded');
    expect(await manager.reload('watch')).toMatchObject({ outcome: 'unchanged', hash: loaded.hash });
    expect(manager.status().lastReload).toEqual(loaded);
  });

  it('says unchanged for a signal that finds nothing new, and for a watch after a refusal was undone', async () => {
    const manager = start();
    const signal = await manager.reload('signal');
    expect(signal.outcome).toBe('unchanged');
    expect(manager.status().lastReload).toEqual(signal);

    writeFileSync(join(dir, 'bad.cedar'), 'permit (principal, action, resource) when { nope };');
    expect((await manager.reload('watch')).outcome).toBe('refused');
    rmSync(join(dir, 'bad.cedar'));
    const undone = await manager.reload('watch');
    expect(undone.outcome).toBe('unchanged');
    expect(manager.status().lastReload).toEqual(undone);
  });
});
