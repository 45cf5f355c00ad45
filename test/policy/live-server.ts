/** A real gateway on port 0 over a temporary copy of ./policies, for reload and shadow tests. */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mintDevToken } from '../../src/auth/dev-key.ts';
import { systemClock } from '../../src/clock.ts';
import { parseConfig } from '../../src/config.ts';
import { silentLogger, type Logger } from '../../src/log.ts';
import { startGateway, type Gateway } from '../../src/main.ts';
import { REPO_POLICIES } from '../helpers/gateway.ts';
import { seedSynced } from '../helpers/seed-synced.ts';

export interface LiveServer {
  gateway: Gateway;
  policyDir: string;
  token(sub: string, groups: string[]): Promise<string>;
  post(path: string, body: unknown, token?: string): Promise<Response>;
  get(path: string, token?: string): Promise<Response>;
  close(): Promise<void>;
}

export async function liveServer(options: { watch?: boolean; prepare?: (policyDir: string) => void; logger?: Logger } = {}): Promise<LiveServer> {
  const dir = mkdtempSync(join(tmpdir(), 'vg-live-'));
  const policyDir = join(dir, 'policies');
  cpSync(REPO_POLICIES, policyDir, { recursive: true });
  options.prepare?.(policyDir);
  const config = parseConfig({
    env: {},
    flags: { port: '0', 'data-dir': join(dir, 'data'), 'policy-dir': policyDir, 'policy-watch': options.watch ? 'on' : 'off' },
    dev: true,
  });
  const gateway = await startGateway(config, { logger: options.logger ?? silentLogger });
  await seedSynced(gateway, join(dir, 'data'));
  const auth = (token?: string): Record<string, string> => (token ? { authorization: `Bearer ${token}` } : {});
  return {
    gateway,
    policyDir,
    token: (sub, groups) => mintDevToken({ key: gateway.devKey!, issuer: config.auth.issuer, audience: config.auth.audience, subject: sub, groups, groupsClaim: 'groups', ttlSeconds: 600, clock: systemClock }),
    post: (path, body, token) => fetch(gateway.url + path, { method: 'POST', headers: { 'content-type': 'application/json', ...auth(token) }, body: JSON.stringify(body) }),
    get: (path, token) => fetch(gateway.url + path, { headers: auth(token) }),
    close: async () => {
      await gateway.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const CHALK_QUERY = 'domain=my_domain&domain-owner=111122223333&repository=my_repo&format=npm&package=chalk';
export const UPDATE = '/v1/package/versions/update_status';
