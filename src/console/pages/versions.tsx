/**
 * Versions: pick a domain, repository and package; the versions with their status, revision, sync
 * state, published time and asset count; per-version and bulk actions, each through a confirmation
 * form that says what will happen. A bulk action is one API request (all or nothing), and its
 * per-version failures are shown as CodeArtifact returns them. Buttons this principal may not use
 * are disabled with Cedar's reason, from POST /v1/authorize; the API still decides every action.
 */
import type { Context, Hono } from 'hono';
import type { FC } from 'hono/jsx';
import { CALLS_AT_ONCE, type ApiClient } from '../api-client.ts';
import type { ConsoleContext, ConsoleEnv } from '../console-env.ts';
import { Csrf, Layout, Notice } from '../layout.tsx';
import type { Session } from '../session.ts';

export const ACTIONS = {
  Publish: { api: 'UpdatePackageVersionsStatus', target: 'Published', says: 'sets their status to Published: consumers see and install them again.' },
  Unlist: { api: 'UpdatePackageVersionsStatus', target: 'Unlisted', says: 'sets their status to Unlisted: hidden from version listings, still installable by exact version.' },
  Archive: { api: 'UpdatePackageVersionsStatus', target: 'Archived', says: 'sets their status to Archived: they can no longer be installed; their assets are kept and Publish restores them.' },
  Dispose: { api: 'DisposePackageVersions', target: 'Disposed', says: 'deletes their assets for good and sets their status to Disposed. This cannot be undone.' },
  Delete: { api: 'DeletePackageVersions', target: 'Deleted', says: 'deletes the versions and their assets; the version numbers can be published again, possibly with other bytes. This cannot be undone.' },
  Resync: { api: 'Resync', target: undefined, says: "re-reads their assets, checks them and extracts their metadata again (Cloudsmith's resync); each gets a new revision." },
} as const;
export type ActionKey = keyof typeof ACTIONS;
const ACTION_KEYS = Object.keys(ACTIONS) as ActionKey[];
const STATUSES = ['Published', 'Unfinished', 'Unlisted', 'Archived', 'Disposed'] as const;

interface Coordinates {
  domain: string;
  domainOwner: string;
  repository: string;
  format: string;
  namespace: string;
  package: string;
}

interface VersionRow {
  version: string;
  identifier: string;
  revision: string;
  status: string;
  publishedTime?: number | undefined;
  assets?: number | string | undefined;
  sync?: { status_str: string; stage_str: string; sync_progress: number; is_sync_completed: boolean; is_sync_failed: boolean; status_reason: string | null } | undefined;
}

type Permission = { allowed: true } | { allowed: false; reason: string } | { allowed: 'unknown'; reason: string };

const apiQuery = (k: Coordinates) => ({ domain: k.domain, 'domain-owner': k.domainOwner, repository: k.repository, format: k.format, namespace: k.namespace || undefined, package: k.package });

/** The package a page is about, from its query; undefined when it names none (or garbles one: `%zz`). */
function coordinatesOf(q: (name: string) => string | undefined): Coordinates | undefined {
  const [format = '', namespace = '', pkg = ''] = (q('pkg') ?? '').split('/');
  let decoded: [string, string];
  try {
    decoded = [decodeURIComponent(namespace), decodeURIComponent(pkg)];
  } catch {
    return undefined;
  }
  const k = { domain: q('domain') ?? '', domainOwner: q('domain-owner') ?? '', repository: q('repository') ?? '', format, namespace: decoded[0], package: decoded[1] };
  return k.domain && k.repository && k.format && k.package ? k : undefined;
}
const pkgValue = (format: string, namespace: string | undefined, name: string) => `${format}/${encodeURIComponent(namespace ?? '')}/${encodeURIComponent(name)}`;
const displayName = (k: Coordinates) => (k.namespace ? (k.format === 'npm' ? `@${k.namespace}/${k.package}` : `${k.namespace}:${k.package}`) : k.package);

/** Why Cedar denies, in words: the deny's kind and the policies that determined it. */
function denyReason(e: { because?: string; determiningPolicies?: Array<{ id: string }>; errors?: string[] }): string {
  const ids = (e.determiningPolicies ?? []).map((p) => p.id).join(', ');
  if (e.because === 'forbid') return `forbidden by ${ids}`;
  if (e.because === 'error') return `a policy failed to evaluate (${(e.errors ?? []).join('; ')}), so it is denied`;
  return 'no policy permits it';
}

/**
 * Asks the gateway (POST /v1/authorize, as this session's own principal) whether each action is
 * allowed on each version: a question per version and action, since a policy may turn on either.
 * As many at a time as the API client lets a page have in flight (CALLS_AT_ONCE): one after another,
 * each waiting for its audit record's commit, 100 versions' 600 checks took ~2.4 s of a page's 3.3 s;
 * together, their records share commits. Asked by that many workers rather than all at once, so that
 * once the bench turns out to be closed to this principal the remaining questions are not asked.
 */
async function permissions(api: ApiClient, session: Session, k: Coordinates, rows: VersionRow[]): Promise<Map<string, Permission>> {
  const out = new Map<string, Permission>();
  let unknown: string | undefined;
  const questions = rows.flatMap((row) => ACTION_KEYS.map((key) => ({ row, key })));
  const ask = async ({ row, key }: (typeof questions)[number]) => {
    const id = `${row.version}\n${key}`;
    if (unknown) return;
    const a = ACTIONS[key];
    const context: Record<string, unknown> = { versions: [row.version], currentStatuses: [row.status] };
    if (a.api === 'UpdatePackageVersionsStatus') context.targetStatus = a.target;
    const r = await api.post<{ decision: string; because: string; determiningPolicies: Array<{ id: string }>; errors: string[] }>('/v1/authorize', undefined, {
      principal: { token: session.token },
      action: a.api,
      package: { domain: k.domain, domainOwner: k.domainOwner, repository: k.repository, format: k.format, ...(k.namespace ? { namespace: k.namespace } : {}), package: k.package },
      context,
    });
    // Without the test bench the console cannot ask in advance; the gateway still decides each action.
    if (r.status === 403) unknown ??= `not checked in advance: ${r.error}`;
    else if (!r.ok) out.set(id, { allowed: 'unknown', reason: `not checked: ${r.error}` });
    else out.set(id, r.body.decision === 'allow' ? { allowed: true } : { allowed: false, reason: denyReason(r.body) });
  };
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(CALLS_AT_ONCE, questions.length) }, async () => {
      while (next < questions.length) await ask(questions[next++]!);
    }),
  );
  if (unknown) for (const { row, key } of questions) out.set(`${row.version}\n${key}`, { allowed: 'unknown', reason: unknown });
  return out;
}

/** Repositories the picker lists at most (one ListRepositoriesInDomain page); past them, a name is typed. */
const REPOSITORIES_LISTED = 1000;
/** Packages the picker lists at most (one ListPackages page); more are narrowed by a name prefix. */
const PACKAGES_LISTED = 1000;

/** Versions a page of the console shows; the rest are a "next" link away, as ListPackageVersions pages them. */
export const VERSIONS_PER_PAGE = 100;

async function loadRows(api: ApiClient, k: Coordinates, status: string | undefined, cursor: string | undefined): Promise<{ rows: VersionRow[]; nextToken?: string | undefined; error?: string }> {
  const list = await api.post<{ versions: VersionRow[]; nextToken?: string }>(
    '/v1/package/versions',
    { ...apiQuery(k), status, 'max-results': String(VERSIONS_PER_PAGE), sortBy: 'PUBLISHED_TIME', 'next-token': cursor },
    undefined,
  );
  if (!list.ok) return { rows: [], error: list.error! };
  const rows = list.body.versions;
  await Promise.all(
    rows.map(async (row) => {
      const [described, assets, sync] = await Promise.all([
        api.get<{ packageVersion: { publishedTime: number } }>('/v1/package/version', { ...apiQuery(k), version: row.version }),
        api.post<{ assets: unknown[] }>('/v1/package/version/assets', { ...apiQuery(k), version: row.version }, undefined),
        api.get<NonNullable<VersionRow['sync']>>(`/v1/packages/${encodeURIComponent(k.domain)}/${encodeURIComponent(k.repository)}/${encodeURIComponent(row.identifier)}/status/`),
      ]);
      row.publishedTime = described.ok ? described.body.packageVersion.publishedTime : undefined;
      row.assets = assets.ok ? assets.body.assets.length : `not shown: ${assets.error}`;
      row.sync = sync.ok ? sync.body : undefined;
    }),
  );
  return { rows, nextToken: list.body.nextToken };
}

const SyncCell: FC<{ sync: VersionRow['sync'] }> = ({ sync }) =>
  sync ? (
    <span>
      {sync.is_sync_failed ? '✘ ' : sync.is_sync_completed ? '✔ ' : '… '}
      {sync.status_str}
      {sync.is_sync_completed || sync.is_sync_failed ? '' : ` (${sync.sync_progress}%)`}
      {sync.status_reason ? `: ${sync.status_reason}` : ''}
    </span>
  ) : (
    <span>unknown</span>
  );

const Pickers: FC<{ k: Partial<Coordinates>; repos: string[]; typedRepository?: boolean; packages: Array<{ value: string; label: string }>; prefix?: string | undefined; status?: string | undefined; notes: string[] }> = ({
  k,
  repos,
  typedRepository,
  packages,
  prefix,
  status,
  notes,
}) => (
  <form method="get" action="/console/versions" class="pickers">
    <fieldset>
      <legend>Package</legend>
      <label for="domain">Domain</label>
      <input id="domain" name="domain" value={k.domain ?? 'my_domain'} required />
      <label for="domain-owner">Domain owner (account)</label>
      <input id="domain-owner" name="domain-owner" value={k.domainOwner ?? '111122223333'} pattern="[0-9]{12}" required />
      <label for="repository">Repository</label>
      {typedRepository ? (
        <>
          <input id="repository" name="repository" value={k.repository ?? ''} list="repository-names" required />
          <datalist id="repository-names">
            {repos.map((r) => (
              <option value={r} />
            ))}
          </datalist>
        </>
      ) : repos.length ? (
        <select id="repository" name="repository">
          {repos.map((r) => (
            <option value={r} selected={r === k.repository}>
              {r}
            </option>
          ))}
        </select>
      ) : (
        <input id="repository" name="repository" value={k.repository ?? 'my_repo'} required />
      )}
      <label for="package-prefix">Package name starts with (optional)</label>
      <input id="package-prefix" name="package-prefix" value={prefix ?? ''} />
      <label for="pkg">Package</label>
      <select id="pkg" name="pkg">
        <option value="">(choose after picking the repository)</option>
        {packages.map((p) => (
          <option value={p.value} selected={k.package !== undefined && p.value === pkgValue(k.format ?? '', k.namespace, k.package)}>
            {p.label}
          </option>
        ))}
      </select>
      <label for="status">Status</label>
      <select id="status" name="status">
        <option value="">All but Unlisted (CodeArtifact's default)</option>
        {STATUSES.map((s) => (
          <option value={s} selected={s === status}>
            {s}
          </option>
        ))}
      </select>
      <button type="submit">Show versions</button>
    </fieldset>
    {notes.map((n) => (
      <Notice kind="info">{n}</Notice>
    ))}
  </form>
);

const Hidden: FC<{ k: Coordinates }> = ({ k }) => (
  <>
    <input type="hidden" name="domain" value={k.domain} />
    <input type="hidden" name="domain-owner" value={k.domainOwner} />
    <input type="hidden" name="repository" value={k.repository} />
    <input type="hidden" name="pkg" value={pkgValue(k.format, k.namespace, k.package)} />
  </>
);

const ActionButton: FC<{ row: VersionRow; action: ActionKey; permission: Permission | undefined }> = ({ row, action, permission }) => {
  const whyId = `why-${row.identifier}-${action}`;
  const denied = permission?.allowed === false;
  return (
    <span class="action">
      <button type="submit" name="single" value={`${action}:${row.version}`} disabled={denied} aria-describedby={denied ? whyId : undefined} aria-label={`${action} ${row.version}`}>
        {action}
      </button>
      {denied ? (
        <span id={whyId} class="reason">
          ⊘ not allowed: {permission.reason}
        </span>
      ) : null}
    </span>
  );
};

export function versionsPages(app: Hono<ConsoleEnv>, _ctx: ConsoleContext): void {
  app.get('/versions', async (c: Context<ConsoleEnv>) => {
    const api = c.var.api;
    const q = (n: string) => c.req.query(n);
    const domain = q('domain') ?? 'my_domain';
    const owner = q('domain-owner') ?? '111122223333';
    const repository = q('repository');
    const notes: string[] = [];
    const repos = await api.post<{ repositories: Array<{ name: string }>; nextToken?: string }>('/v1/domain/repositories', { domain, 'domain-owner': owner, 'max-results': String(REPOSITORIES_LISTED) }, undefined);
    if (!repos.ok) notes.push(`Repositories are not listed: ${repos.error}`);
    // Past one page, the picker takes a typed name too (the listed ones are suggested).
    const moreRepos = repos.ok && repos.body.nextToken !== undefined;
    if (moreRepos) notes.push(`More than ${REPOSITORIES_LISTED} repositories: the first ${REPOSITORIES_LISTED} are suggested; type the name of another.`);
    const repoNames = repos.ok ? repos.body.repositories.map((r) => r.name) : [];
    const chosenRepo = repository ?? repoNames[0] ?? 'my_repo';
    const prefix = q('package-prefix') || undefined;
    const pkgs = await api.post<{ packages: Array<{ format: string; namespace?: string; package: string }>; nextToken?: string }>(
      '/v1/packages',
      { domain, 'domain-owner': owner, repository: chosenRepo, 'max-results': String(PACKAGES_LISTED), 'package-prefix': prefix },
      undefined,
    );
    if (!pkgs.ok) notes.push(`Packages are not listed: ${pkgs.error}`);
    else if (pkgs.body.nextToken) notes.push(`More than ${PACKAGES_LISTED} packages${prefix ? ` start with "${prefix}"` : ''}: the first ${PACKAGES_LISTED} are listed. Narrow them with "Package name starts with".`);
    const packages = pkgs.ok
      ? pkgs.body.packages.map((p) => ({ value: pkgValue(p.format, p.namespace, p.package), label: `${p.format}: ${p.namespace ? (p.format === 'npm' ? `@${p.namespace}/` : `${p.namespace}:`) : ''}${p.package}` }))
      : [];
    const k = coordinatesOf((n) => (n === 'repository' ? chosenRepo : n === 'domain' ? domain : n === 'domain-owner' ? owner : q(n)));
    const status = q('status') || undefined;
    const pickers = <Pickers k={k ?? { domain, domainOwner: owner, repository: chosenRepo }} repos={repoNames} typedRepository={moreRepos} packages={packages} prefix={prefix} status={status} notes={notes} />;
    if (!k) return c.html(<Layout title="Versions" session={c.var.session} current="/console/versions">{pickers}</Layout>);

    const cursor = q('next-token') || undefined;
    const { rows, nextToken, error } = await loadRows(api, k, status, cursor);
    const pageLink = (token: string | undefined) => {
      const query = new URLSearchParams({ domain: k.domain, 'domain-owner': k.domainOwner, repository: k.repository, pkg: pkgValue(k.format, k.namespace, k.package) });
      if (status) query.set('status', status);
      if (token) query.set('next-token', token);
      return `/console/versions?${query}`;
    };
    const perms = await permissions(api, c.var.session, k, rows);
    const unknown = [...perms.values()].find((p) => p.allowed === 'unknown');
    return c.html(
      <Layout title="Versions" session={c.var.session} current="/console/versions">
        {pickers}
        <h2>
          {k.format} package {displayName(k)} in {k.domain}/{k.repository}
        </h2>
        {error ? <Notice kind="error">{error}</Notice> : null}
        {unknown ? <Notice kind="info">Permissions are {unknown.reason}. Every button is shown; the gateway refuses what you may not do.</Notice> : null}
        <form id="bulk" method="get" action="/console/versions/confirm">
          <Hidden k={k} />
          <table class="versions">
            <caption>
              {rows.length} version(s){status ? ` with status ${status}` : ''}
              {cursor || nextToken ? ' on this page' : ''}
            </caption>
            <thead>
              <tr>
                <th scope="col">Select</th>
                <th scope="col">Version</th>
                <th scope="col">Status</th>
                <th scope="col">Revision</th>
                <th scope="col">Sync</th>
                <th scope="col">Published</th>
                <th scope="col">Assets</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((row) => (
                <tr data-version={row.version}>
                  <td>
                    <input type="checkbox" name="versions" value={row.version} id={`select-${row.identifier}`} aria-label={`Select ${row.version}`} />
                  </td>
                  <th scope="row">
                    <label for={`select-${row.identifier}`}>{row.version}</label>
                    <br />
                    <small>id {row.identifier}</small>
                  </th>
                  <td data-testid="status">{row.status}</td>
                  <td>
                    <code class="revision">{row.revision}</code>
                  </td>
                  <td>
                    <SyncCell sync={row.sync} />
                  </td>
                  <td>{row.publishedTime ? new Date(row.publishedTime * 1000).toISOString().replace('.000Z', 'Z') : '—'}</td>
                  <td>{row.assets}</td>
                  <td class="actions">
                    {ACTION_KEYS.map((a) => (
                      <ActionButton row={row} action={a} permission={perms.get(`${row.version}\n${a}`)} />
                    ))}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {cursor || nextToken ? (
            <nav aria-label="Pages of versions" class="pages">
              {cursor ? <a href={pageLink(undefined)}>First page</a> : null} {nextToken ? <a href={pageLink(nextToken)} rel="next">Next {VERSIONS_PER_PAGE} versions</a> : null}
            </nav>
          ) : null}
          <fieldset class="bulk">
            <legend>With the selected versions (one request)</legend>
            {ACTION_KEYS.map((a) => (
              <button type="submit" name="action" value={a}>
                {a} selected
              </button>
            ))}
          </fieldset>
        </form>
      </Layout>,
    );
  });

  app.get('/versions/confirm', async (c) => {
    const k = coordinatesOf((n) => c.req.query(n));
    const single = c.req.query('single');
    const [action, version] = single ? [single.slice(0, single.indexOf(':')), single.slice(single.indexOf(':') + 1)] : [c.req.query('action'), undefined];
    const versions = version ? [version] : c.req.queries('versions') ?? [];
    if (!k || !action || !(action in ACTIONS)) return c.html(<Layout title="Confirm" session={c.var.session}><Notice kind="error">Pick a package and an action first.</Notice></Layout>, 400);
    if (versions.length === 0) return c.html(<Layout title="Confirm" session={c.var.session}><Notice kind="error">Select at least one version.</Notice><p><a href={backTo(k)}>Back to the versions</a></p></Layout>, 400);
    const key = action as ActionKey;
    let identifiers: string[] = [];
    if (key === 'Resync') {
      // Resync names versions by identifier: each selected version's, asked for by name (a list of the
      // package's versions would hold only its first page).
      identifiers = await Promise.all(
        versions.map(async (v) => {
          const d = await c.var.api.get<{ packageVersion: { identifier?: string } }>('/v1/package/version', { ...apiQuery(k), version: v });
          return (d.ok ? d.body.packageVersion.identifier : undefined) ?? v;
        }),
      );
    }
    return c.html(
      <Layout title={`${key}: confirm`} session={c.var.session} current="/console/versions">
        <form method="post" action="/console/versions/apply">
          <Csrf session={c.var.session} />
          <Hidden k={k} />
          <input type="hidden" name="action" value={key} />
          <p>
            <strong>{key}</strong> {versions.length} version(s) of {displayName(k)} in {k.domain}/{k.repository}: {versions.join(', ')}.
          </p>
          <p>This {ACTIONS[key].says}</p>
          {key === 'Resync' ? (
            <>
              <p>
                One bulk action (POST /v1/bulk-action/{k.domain}/): each identifier is authorized, resynced and audited on its own, and those that cannot be are listed
                with why.
              </p>
              <label for="identifiers">Identifiers, one per line</label>
              <textarea id="identifiers" name="identifiers" rows={Math.max(3, identifiers.length + 1)} cols={40}>
                {identifiers.join('\n')}
              </textarea>
            </>
          ) : (
            <>
              <p>One request, all or nothing: if any version cannot be changed, none is, and the page lists why for each.</p>
              {versions.map((v) => (
                <input type="hidden" name="versions" value={v} />
              ))}
            </>
          )}
          <button type="submit">
            Yes, {key.toLowerCase()} {versions.length === 1 ? versions[0] : `${versions.length} versions`}
          </button>{' '}
          <a href={backTo(k)}>Cancel</a>
        </form>
      </Layout>,
    );
  });

  app.post('/versions/apply', async (c) => {
    const form = await c.req.parseBody({ all: true });
    const one = (n: string) => (typeof form[n] === 'string' ? (form[n] as string) : undefined);
    const many = (n: string) => ([] as unknown[]).concat(form[n] ?? []).filter((x): x is string => typeof x === 'string');
    const k = coordinatesOf(one);
    const key = one('action') as ActionKey | undefined;
    if (!k || !key || !(key in ACTIONS)) return c.html(<Layout title="Apply" session={c.var.session}><Notice kind="error">The form is incomplete.</Notice></Layout>, 400);
    const api = c.var.api;
    const page = (status: 200 | 400 | 403 | 404 | 409, ...children: unknown[]) =>
      c.html(
        <Layout title={`${key}: result`} session={c.var.session} current="/console/versions">
          {children as never}
          <p>
            <a href={backTo(k)}>Back to the versions</a>
          </p>
        </Layout>,
        status,
      );

    if (key === 'Resync') {
      const identifiers = (one('identifiers') ?? '').split(/\s+/).filter(Boolean);
      if (identifiers.length === 0) return page(400, <Notice kind="error">No identifiers.</Notice>);
      const r = await api.post<{ packages_actioned: string[]; packages_failed_to_action: Record<string, { reason: string }> }>(
        `/v1/bulk-action/${encodeURIComponent(k.domain)}/`,
        undefined,
        { action: 'Resync', identifiers, repository: k.repository },
      );
      if (!r.ok) return page(r.status as 400, <Notice kind="error">The gateway refused the bulk action: {r.error}</Notice>);
      const failed = Object.entries(r.body.packages_failed_to_action);
      return page(
        200,
        <>
          <Notice kind={failed.length ? 'warning' : 'ok'}>
            {r.body.packages_actioned.length} resync(s) scheduled{failed.length ? `, ${failed.length} not` : ''}.
          </Notice>
          {failed.length ? (
            <table>
              <caption>Not actioned (packages_failed_to_action)</caption>
              <thead>
                <tr>
                  <th scope="col">Identifier</th>
                  <th scope="col">Reason</th>
                </tr>
              </thead>
              <tbody>
                {failed.map(([id, f]) => (
                  <tr class="failed">
                    <th scope="row">{id}</th>
                    <td>{f.reason}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : null}
          {r.body.packages_actioned.length ? await syncProgress(api, k, r.body.packages_actioned) : null}
        </>,
      );
    }

    const versions = many('versions');
    const a = ACTIONS[key];
    const path = a.api === 'UpdatePackageVersionsStatus' ? '/v1/package/versions/update_status' : a.api === 'DisposePackageVersions' ? '/v1/package/versions/dispose' : '/v1/package/versions/delete';
    const body = a.api === 'UpdatePackageVersionsStatus' ? { versions, targetStatus: a.target } : { versions };
    const r = await api.post<{ successfulVersions: Record<string, { status: string; revision: string }>; failedVersions: Record<string, { errorCode: string; errorMessage: string }> }>(path, apiQuery(k), body);
    if (!r.ok) return page(r.status as 403, <Notice kind="error">The gateway refused: {r.error}</Notice>);
    const failed = Object.entries(r.body.failedVersions);
    const done = Object.entries(r.body.successfulVersions);
    return page(
      200,
      <>
        {failed.length ? <Notice kind="error">Nothing was changed: {failed.length} version(s) failed, and the request is all or nothing.</Notice> : <Notice kind="ok">{done.length} version(s) now {a.target}.</Notice>}
        <table>
          <caption>{failed.length ? 'failedVersions' : 'successfulVersions'}</caption>
          <thead>
            <tr>
              <th scope="col">Version</th>
              <th scope="col">{failed.length ? 'errorCode' : 'Status'}</th>
              <th scope="col">{failed.length ? 'errorMessage' : 'Revision'}</th>
            </tr>
          </thead>
          <tbody>
            {failed.length
              ? failed.map(([v, f]) => (
                  <tr class="failed">
                    <th scope="row">{v}</th>
                    <td>{f.errorCode}</td>
                    <td>{f.errorMessage}</td>
                  </tr>
                ))
              : done.map(([v, s]) => (
                  <tr>
                    <th scope="row">{v}</th>
                    <td>{s.status}</td>
                    <td>
                      <code>{s.revision}</code>
                    </td>
                  </tr>
                ))}
          </tbody>
        </table>
      </>,
    );
  });

  // The progress of resyncs, polled by htmx every second until each has ended.
  app.get('/versions/sync', async (c) => {
    const k = coordinatesOf((n) => c.req.query(n));
    if (!k) return c.text('missing coordinates', 400);
    const progress = await syncProgress(c.var.api, k, c.req.queries('id') ?? []);
    if (c.req.header('hx-request')) return c.html(progress);
    return c.html(
      <Layout title="Resync" session={c.var.session} current="/console/versions">
        {progress}
        <p>
          <a href={backTo(k)}>Back to the versions</a>
        </p>
      </Layout>,
    );
  });
}

function backTo(k: Coordinates): string {
  return `/console/versions?${new URLSearchParams({ domain: k.domain, 'domain-owner': k.domainOwner, repository: k.repository, pkg: pkgValue(k.format, k.namespace, k.package) })}`;
}

async function syncProgress(api: ApiClient, k: Coordinates, identifiers: string[]) {
  const statuses = await Promise.all(
    identifiers.map(async (id) => ({ id, r: await api.get<NonNullable<VersionRow['sync']> & { version: string }>(`/v1/packages/${encodeURIComponent(k.domain)}/${encodeURIComponent(k.repository)}/${encodeURIComponent(id)}/status/`) })),
  );
  const running = statuses.some((s) => s.r.ok && !s.r.body.is_sync_completed && !s.r.body.is_sync_failed);
  const query = new URLSearchParams({ domain: k.domain, 'domain-owner': k.domainOwner, repository: k.repository, pkg: pkgValue(k.format, k.namespace, k.package) });
  for (const id of identifiers) query.append('id', id);
  return (
    <section id="sync-progress" aria-live="polite" {...(running ? { 'hx-get': `/console/versions/sync?${query}`, 'hx-trigger': 'load delay:1s', 'hx-swap': 'outerHTML' } : {})}>
      <h2>Sync progress{running ? ' (updating)' : ': finished'}</h2>
      <table>
        <thead>
          <tr>
            <th scope="col">Identifier</th>
            <th scope="col">Version</th>
            <th scope="col">Sync</th>
          </tr>
        </thead>
        <tbody>
          {statuses.map(({ id, r }) => (
            <tr>
              <th scope="row">{id}</th>
              <td>{r.ok ? r.body.version : '—'}</td>
              <td data-testid="sync-state">{r.ok ? <SyncCell sync={r.body} /> : r.error}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {running ? (
        <p>
          <a href={`/console/versions/sync?${query}`}>Refresh</a>
        </p>
      ) : null}
    </section>
  );
}
