/**
 * A disk that fails to flush a commit, for real: the server (`versiongate serve`, a child process)
 * runs with failing-fsync.c preloaded, which makes the fsync of SQLite's write-ahead log fail with EIO
 * while the test says so. SQLite then reports the COMMIT failed (SQLITE_IOERR_FSYNC) and rolls the
 * transaction back in memory, but the transaction's frames are already in the log file: whether the
 * change is made is not known. The server that goes on never shows it, and its next commit writes
 * over it; a server that stops first brings it back on the next start. So the client must be told
 * the outcome is unknown (503, read before trying again), never "not applied", and these tests show
 * both endings on the database itself, with the writes on their own thread and on the event loop.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { loadOrCreateDevKey, mintDevToken } from '../../src/auth/dev-key.ts';
import { systemClock } from '../../src/clock.ts';
import { DEV_AUDIENCE, DEV_ISSUER } from '../../src/config.ts';
import { failingFsync, type FailingFsync } from '../helpers/failing-fsync.ts';
import { CHALK_QUERY, lookAtStore, seededDataDir, UPDATE_CHALK, type DataDir } from './security-fixtures.ts';
import { killAll, spawnServer, syncIdle, type SpawnedServer } from './spawned-server.ts';

const UNKNOWN = /^The disk failed as the write committed \(SQLITE_IOERR_FSYNC: disk I\/O error\), and whether it was made could not be checked: read it before trying again\.$/;

const fsync: FailingFsync = failingFsync();
const dataDirs: DataDir[] = [];
afterAll(() => {
  killAll();
  fsync.fail(false);
  fsync.remove();
  for (const d of dataDirs) d.remove();
});

async function start(commitThread: string): Promise<{ server: SpawnedServer; data: DataDir; token: string }> {
  const data = await seededDataDir('vg-fsync-');
  dataDirs.push(data);
  const server = await spawnServer({ VERSIONGATE_DATA_DIR: data.dataDir, VERSIONGATE_COMMIT_THREAD: commitThread, ...fsync.env }, { dev: true });
  // The seed's sync commits would share the failing commit or write over its frames before the kill.
  await syncIdle(server);
  const key = await loadOrCreateDevKey(data.dataDir);
  const token = await mintDevToken({ key, issuer: DEV_ISSUER, audience: DEV_AUDIENCE, subject: 'curator', groups: ['release-managers'], groupsClaim: 'groups', ttlSeconds: 600, clock: systemClock });
  return { server, data, token };
}

function archive(server: SpawnedServer, token: string): Promise<Response> {
  return fetch(`${server.url}${UPDATE_CHALK}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ versions: ['4.1.0'], targetStatus: 'Archived' }),
  });
}

/** Archives chalk 4.1.0 while the log's flush fails, and checks the answer and the server's log. */
async function archiveWhileFlushFails(server: SpawnedServer, token: string): Promise<void> {
  fsync.fail(true);
  let res: Response;
  try {
    res = await archive(server, token);
  } finally {
    fsync.fail(false);
  }
  const text = await res.text();
  expect(res.status, text).toBe(503);
  expect(res.headers.get('x-amzn-errortype')).toBe('ServiceUnavailableException');
  expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
  expect((JSON.parse(text) as { message: string }).message).toMatch(UNKNOWN);
  const requestId = res.headers.get('x-amzn-requestid');
  const logged = server
    .output()
    .split('\n')
    .filter((l) => l.includes('"level":"error"') && l.includes(String(requestId)));
  expect(logged).toHaveLength(1);
  expect(logged[0]).toContain('"msg":"a write may or may not have been made"');
  expect(logged[0]).toContain('SQLITE_IOERR_FSYNC');
}

const appliedArchives = (records: Array<{ action: string; outcome: string | null; request: unknown }>) =>
  records.filter((r) => r.action === 'UpdatePackageVersionsStatus' && r.outcome === 'applied' && JSON.stringify(r.request).includes('Archived'));

describe.each(['on', 'off'])('with the commit thread %s', (commitThread) => {
  it('answers a commit whose flush failed "could not be checked": a crash before the next commit brings the change back, whole', async () => {
    const { server, data, token } = await start(commitThread);
    await archiveWhileFlushFails(server, token);
    await server.kill();

    const look = await lookAtStore(data.dataDir);
    expect(look.chalk['4.1.0']).toMatch(/^Archived\//);
    expect(appliedArchives(look.records)).toHaveLength(1);
    expect(look.chainOk, look.chainReport).toBe(true);
  });

  it('answers it the same way, and a server that goes on never shows the change: its next commit writes over it', async () => {
    const { server, data, token } = await start(commitThread);
    await archiveWhileFlushFails(server, token);

    // The read the client is told to make: the version as it was (an audited read, so a commit).
    const read = await fetch(`${server.url}/v1/package/version?${CHALK_QUERY}&version=4.1.0`, { headers: { authorization: `Bearer ${token}` } });
    const body = (await read.json()) as { packageVersion?: { status: string } };
    expect(read.status, JSON.stringify(body)).toBe(200);
    expect(body.packageVersion?.status).toBe('Published');
    await server.kill();

    const look = await lookAtStore(data.dataDir);
    expect(look.chalk['4.1.0']).toMatch(/^Published\//);
    expect(appliedArchives(look.records)).toEqual([]);
    expect(look.chainOk, look.chainReport).toBe(true);

    // And the change is made when asked again, by a server on the same data.
    const again = await spawnServer({ VERSIONGATE_DATA_DIR: data.dataDir, VERSIONGATE_COMMIT_THREAD: commitThread }, { dev: true });
    const res = await archive(again, token);
    expect(res.status, await res.clone().text()).toBe(200);
    await again.stop();
    expect((await lookAtStore(data.dataDir)).chalk['4.1.0']).toMatch(/^Archived\//);
  });
});
