/**
 * A small stand-in for the gateway's resync API on 127.0.0.1 (node:http, port 0): each identifier
 * has a script, the status objects its status polls answer in turn (the last one repeated), one
 * script per sync; each resync starts the next. Error answers are Cloudsmith bodies {detail}.
 * Every request is recorded, with its Authorization header and body.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SyncStatus } from '../../src/cli/resync.ts';

export interface Recorded {
  method: string;
  path: string;
  authorization: string | undefined;
  body: unknown;
}

export interface ErrorAnswer {
  status: number;
  detail: string;
  fields?: Record<string, string[]>;
}

export interface PackageScript {
  /** One list of status objects per sync: the first for the first resync, and so on. */
  syncs: SyncStatus[][];
  /** An error answer to POST …/resync/ instead of scheduling it (403, 404, 400). */
  resyncError?: ErrorAnswer;
  /** How many resyncs are scheduled before resyncError answers (0 when absent). */
  resyncErrorFrom?: number;
  /** Error answers to the first status polls, in turn (a 503 that a retry gets past). */
  statusErrors?: ErrorAnswer[];
}

export interface FakeGateway {
  url: string;
  requests: Recorded[];
  /** Keyed by OWNER/REPO/IDENTIFIER. */
  packages: Map<string, PackageScript>;
  /** A bulk answer's packages_failed_to_action, keyed by identifier. */
  bulkFailures: Record<string, unknown>;
  /** An error answer to the bulk action itself. */
  bulkError?: ErrorAnswer;
  close(): Promise<void>;
}

export const awaiting = (extra: Partial<SyncStatus> = {}): SyncStatus => ({
  status: 1,
  status_str: 'Awaiting Sync',
  stage: 0,
  stage_str: 'Waiting',
  status_reason: null,
  sync_progress: 0,
  is_sync_awaiting: true,
  is_sync_in_flight: false,
  is_sync_in_progress: false,
  is_sync_completed: false,
  is_sync_failed: false,
  is_resyncable: false,
  ...extra,
});

export const inProgress = (progress: number, stage = 'Processing'): SyncStatus =>
  awaiting({ status: 2, status_str: 'Sync In Progress', stage: 3, stage_str: stage, sync_progress: progress, is_sync_awaiting: false, is_sync_in_flight: true, is_sync_in_progress: true });

export const completed = (): SyncStatus =>
  awaiting({ status: 3, status_str: 'Completed', stage: 9, stage_str: 'Fully Synchronised', sync_progress: 100, is_sync_awaiting: false, is_sync_completed: true, is_resyncable: true });

export const failed = (reason: string, resyncable = true): SyncStatus =>
  awaiting({ status: 4, status_str: 'Sync Failed', stage: 3, stage_str: 'Processing', status_reason: reason, sync_progress: 40, is_sync_awaiting: false, is_sync_failed: true, is_resyncable: resyncable });

export async function startFakeGateway(): Promise<FakeGateway> {
  const requests: Recorded[] = [];
  const packages = new Map<string, PackageScript>();
  /** Per package: which sync it is on (-1 before the first resync) and how far into its script. */
  const state = new Map<string, { sync: number; poll: number; statusErrors: number }>();
  const fake: FakeGateway = { url: '', requests, packages, bulkFailures: {}, close: () => Promise.resolve() };

  const resync = (key: string): { status: number; body: unknown } => {
    const script = packages.get(key);
    if (!script) return { status: 404, body: { detail: 'Not found.' } };
    const s = state.get(key) ?? { sync: -1, poll: 0, statusErrors: 0 };
    if (script.resyncError && s.sync + 1 >= (script.resyncErrorFrom ?? 0)) return { status: script.resyncError.status, body: errorBody(script.resyncError) };
    s.sync += 1;
    s.poll = 0;
    state.set(key, s);
    return { status: 200, body: awaiting() };
  };

  const server: Server = createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8').on('data', (d: string) => (raw += d));
    req.on('end', () => {
      const path = req.url ?? '';
      const body = raw ? (JSON.parse(raw) as unknown) : undefined;
      requests.push({ method: req.method ?? '', path, authorization: req.headers.authorization, body });
      const send = (status: number, payload: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(payload));
      };
      if (req.headers.authorization !== 'Bearer test-token') return send(401, { detail: 'Authentication credentials were not provided.' });

      let m = /^\/v1\/packages\/([^/]+)\/([^/]+)\/([^/]+)\/(resync|status)\/$/.exec(path);
      if (m) {
        const key = [m[1], m[2], m[3]].map((p) => decodeURIComponent(p!)).join('/');
        if (m[4] === 'resync' && req.method === 'POST') {
          const r = resync(key);
          return send(r.status, r.body);
        }
        if (m[4] === 'status' && req.method === 'GET') {
          const script = packages.get(key);
          const s = state.get(key);
          if (!script || !s) return send(404, { detail: 'Not found.' });
          const err = script.statusErrors?.[s.statusErrors];
          if (err) {
            s.statusErrors += 1;
            return send(err.status, errorBody(err));
          }
          const sync = script.syncs[Math.min(s.sync, script.syncs.length - 1)]!;
          const status = sync[Math.min(s.poll, sync.length - 1)]!;
          s.poll += 1;
          return send(200, status);
        }
      }
      m = /^\/v1\/bulk-action\/([^/]+)\/$/.exec(path);
      if (m && req.method === 'POST') {
        if (fake.bulkError) return send(fake.bulkError.status, errorBody(fake.bulkError));
        const { identifiers, repository } = body as { identifiers: string[]; repository: string };
        const actioned: string[] = [];
        const failedToAction: Record<string, unknown> = {};
        for (const id of identifiers) {
          if (Object.hasOwn(fake.bulkFailures, id)) failedToAction[id] = fake.bulkFailures[id];
          else if (resync(`${decodeURIComponent(m[1]!)}/${repository}/${id}`).status === 200) actioned.push(id);
          else failedToAction[id] = { reason: 'Not found.' };
        }
        return send(200, { action: 'Resync', packages_actioned: actioned, packages_failed_to_action: failedToAction });
      }
      return send(404, { detail: 'Not found.' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  fake.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return fake;
}

function errorBody(e: ErrorAnswer): unknown {
  return e.fields ? { detail: e.detail, fields: e.fields } : { detail: e.detail };
}
