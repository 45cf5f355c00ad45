/**
 * One version's page: its status, revision, identifier, sync state, published time and assets, and
 * the actions on it, through the same confirmation as the list's (Cloudsmith's package detail page,
 * with its Resync button).
 */
import type { Hono } from 'hono';
import type { ConsoleEnv } from '../console-env.ts';
import { Layout, Notice } from '../layout.tsx';
import { ACTION_KEYS, ActionButton, permissions } from './version-actions.tsx';
import { apiQuery, backTo, coordinatesOf, describeVersion, displayName, Hidden, publishedText, SyncCell, syncStatusPath, type SyncState, type VersionRow } from './version-package.tsx';

export function versionDetailPage(app: Hono<ConsoleEnv>): void {
  // One version: its status, revision, sync state and assets, and the actions on it (through the
  // same confirmation as the list's). Cloudsmith's package detail page, with its Resync button.
  app.get('/versions/detail', async (c) => {
    const k = coordinatesOf((n) => c.req.query(n));
    const version = c.req.query('version');
    if (!k || !version) return c.html(<Layout title="Version" session={c.var.session}><Notice kind="error">Pick a package and a version first.</Notice></Layout>, 400);
    const api = c.var.api;
    const d = await describeVersion(api, k, version);
    if (d.error !== undefined || !d.revision || !d.status) {
      return c.html(
        <Layout title={`Version ${version}`} session={c.var.session} current="/console/versions">
          <Notice kind="error">{d.error ?? 'The gateway did not describe this version.'}</Notice>
          <p>
            <a href={backTo(k)}>Back to the versions</a>
          </p>
        </Layout>,
        404,
      );
    }
    const identifier = d.identifier ?? '';
    const [assets, sync] = await Promise.all([
      api.post<{ assets: Array<{ name: string; size: number; hashes: Record<string, string> }> }>('/v1/package/version/assets', { ...apiQuery(k), version }, undefined),
      identifier ? api.get<SyncState>(syncStatusPath(k, identifier)) : undefined,
    ]);
    const row: VersionRow = { version, identifier, revision: d.revision, status: d.status, publishedTime: d.publishedTime, sync: sync?.ok ? sync.body : undefined };
    const perms = await permissions(api, k, [row]);
    const unknown = [...perms.values()].find((p) => p.allowed === 'unknown');
    return c.html(
      <Layout title={`${displayName(k)} ${version}`} session={c.var.session} current="/console/versions">
        <p>
          {k.format} package {displayName(k)} in {k.domain}/{k.repository}. <a href={backTo(k)}>All versions</a>
        </p>
        {unknown ? <Notice kind="info">Permissions are {unknown.reason}. Every button is shown; the gateway refuses what you may not do.</Notice> : null}
        <form method="get" action="/console/versions/confirm" class="detail-actions">
          <Hidden k={k} />
          <p class="actions">
            {ACTION_KEYS.map((a) => (
              <ActionButton row={row} action={a} perms={perms} />
            ))}
          </p>
        </form>
        <table class="version-detail">
          <tbody>
            <tr>
              <th scope="row">Status</th>
              <td data-testid="status">{d.status}</td>
            </tr>
            <tr>
              <th scope="row">Revision</th>
              <td>
                <code class="revision">{d.revision}</code>
              </td>
            </tr>
            <tr>
              <th scope="row">Identifier</th>
              <td>
                <code>{identifier || '—'}</code>
              </td>
            </tr>
            <tr>
              <th scope="row">Sync</th>
              <td data-testid="sync-state">{sync ? sync.ok ? <SyncCell sync={sync.body} /> : `not shown: ${sync.error}` : 'unknown'}</td>
            </tr>
            <tr>
              <th scope="row">Published</th>
              <td>{publishedText(d.publishedTime)}</td>
            </tr>
          </tbody>
        </table>
        <h2>Assets</h2>
        {assets.ok ? (
          assets.body.assets.length ? (
            <table>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Size (bytes)</th>
                  <th scope="col">SHA-256</th>
                </tr>
              </thead>
              <tbody>
                {assets.body.assets.map((a) => (
                  <tr>
                    <th scope="row">{a.name}</th>
                    <td>{a.size}</td>
                    <td>
                      <code class="revision">{a.hashes['SHA-256'] ?? '—'}</code>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : (
            <p>No assets.</p>
          )
        ) : (
          <Notice kind="warning">Assets are not shown: {assets.error}</Notice>
        )}
      </Layout>,
    );
  });
}
