/**
 * Versions: pick a domain, repository and package; the versions with their status, revision, sync
 * state and published time; per-version and bulk actions, each through a confirmation form that says
 * what will happen (version-change-flow.tsx). A bulk action is one API request (all or nothing), and
 * its per-version failures are shown as CodeArtifact returns them. Buttons for what a version cannot
 * take are off, with the reason: its state, or Cedar's, asked about the signed-in principal in one
 * request (version-actions.tsx); the API still decides every action. A version's own page is
 * version-detail.tsx.
 */
import type { Context, Hono } from 'hono';
import type { FC } from 'hono/jsx';
import type { ApiClient } from '../api-client.ts';
import type { ConsoleContext, ConsoleEnv } from '../console-env.ts';
import { Layout, Notice } from '../layout.tsx';
import { ACTION_KEYS, ActionButton, choicesFor, permissions, refusalOf, SelectionButtons, seenValue } from './version-actions.tsx';
import { versionChangeFlow } from './version-change-flow.tsx';
import { versionDetailPage } from './version-detail.tsx';
import { apiQuery, type Coordinates, coordinatesOf, detailLink, displayName, Hidden, pkgValue, publishedText, SyncCell, type VersionRow } from './version-package.tsx';

const STATUSES = ['Published', 'Unfinished', 'Unlisted', 'Archived', 'Disposed'] as const;

/** Repositories the picker lists at most (one ListRepositoriesInDomain page); past them, a name is typed. */
const REPOSITORIES_LISTED = 1000;
/** Packages the picker lists at most (one ListPackages page); more are narrowed by a name prefix. */
const PACKAGES_LISTED = 1000;

/** Versions a page of the console shows; the rest are a "next" link away, as ListPackageVersions pages them. */
export const VERSIONS_PER_PAGE = 100;

/**
 * A page of versions, each with its published time and sync state (the Resync button turns on it), in
 * one request and one audit record: ListPackageVersions with versiongate's include (a read per version
 * was a hundred more records per view). Its assets are on its own page. A policy may refuse the
 * include (Cedar's context.include) yet let the principal list: the page then lists without it and
 * says so, rather than showing no versions at all.
 */
async function loadRows(
  api: ApiClient,
  k: Coordinates,
  status: string | undefined,
  cursor: string | undefined,
): Promise<{ rows: VersionRow[]; nextToken?: string | undefined; error?: string; withoutExtras?: string }> {
  const query = { ...apiQuery(k), status, 'max-results': String(VERSIONS_PER_PAGE), sortBy: 'PUBLISHED_TIME', 'next-token': cursor };
  const list = async (include: string | undefined) => api.post<{ versions: VersionRow[]; nextToken?: string }>('/v1/package/versions', { ...query, include }, undefined);
  const full = await list('publishedTime,sync');
  if (full.ok) return { rows: full.body.versions, nextToken: full.body.nextToken };
  if (full.status !== 403) return { rows: [], error: full.error! };
  const plain = await list(undefined);
  if (!plain.ok) return { rows: [], error: plain.error! };
  return { rows: plain.body.versions, nextToken: plain.body.nextToken, withoutExtras: full.error! };
}

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

export function versionsPages(app: Hono<ConsoleEnv>, ctx: ConsoleContext): void {
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
    const { rows, nextToken, error, withoutExtras } = await loadRows(api, k, status, cursor);
    const pageLink = (token: string | undefined) => {
      const query = new URLSearchParams({ domain: k.domain, 'domain-owner': k.domainOwner, repository: k.repository, pkg: pkgValue(k.format, k.namespace, k.package) });
      if (status) query.set('status', status);
      if (token) query.set('next-token', token);
      return `/console/versions?${query}`;
    };
    const perms = await permissions(api, k, rows);
    // Without scripts the page cannot know which boxes are ticked: a button for the selection is off
    // when no version on this page can take its action (the script narrows it to the ticked ones).
    const pageChoices = choicesFor(rows, perms);
    const unknown = [...perms.values()].find((p) => p.allowed === 'unknown');
    return c.html(
      <Layout title="Versions" session={c.var.session} current="/console/versions">
        {pickers}
        <h2>
          {k.format} package {displayName(k)} in {k.domain}/{k.repository}
        </h2>
        {error ? <Notice kind="error">{error}</Notice> : null}
        {withoutExtras ? <Notice kind="info">Published times and sync states are not shown: the policies refuse them to you in a listing ({withoutExtras}).</Notice> : null}
        {unknown ? <Notice kind="info">Permissions are {unknown.reason}. Every button is shown; the gateway refuses what you may not do.</Notice> : null}
        <form id="bulk" method="get" action="/console/versions/confirm">
          <Hidden k={k} />
          {/* The form's default button, first in it: Enter in a checkbox submits the form through its
              first submit button, and that must not be a row's (or any) action: it asks which action. */}
          <button type="submit" class="default-submit" hidden tabindex={-1}>
            Choose an action for the selected versions
          </button>
          <fieldset class="bulk" id="bulk-toolbar">
            <legend>With the selected versions (one request)</legend>
            <p id="selection-count" role="status" aria-live="polite">
              Tick versions below to act on several at once.
            </p>
            <p class="bulk-buttons" id="bulk-buttons">
              <SelectionButtons choices={pageChoices} none="no version on this page can" idPrefix="bulk-none-on-page" />
            </p>
            <p id="bulk-none-can" class="reason" hidden>
              A button for the selection is off when none of the selected versions can take that action: each version's own reason is beside its buttons.
            </p>
            <p id="bulk-mode-note" class="reason" hidden>
              Each version's own buttons are off while versions are selected (bulk operation mode): use the buttons above, or untick the boxes.
            </p>
          </fieldset>
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
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((row) => (
                <tr data-version={row.version}>
                  <td>
                    <input
                      type="checkbox"
                      name="seen"
                      value={seenValue(row.revision, row.version)}
                      id={`select-${row.identifier}`}
                      aria-label={`Select ${row.version}`}
                      data-can={ACTION_KEYS.filter((a) => refusalOf(row, a, perms) === undefined).join(' ')}
                    />
                  </td>
                  <th scope="row">
                    <a href={detailLink(k, row.version)}>{row.version}</a>
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
                  <td data-testid="published">{publishedText(row.publishedTime)}</td>
                  <td class="actions">
                    {ACTION_KEYS.map((a) => (
                      <ActionButton row={row} action={a} perms={perms} />
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
        </form>
      </Layout>,
    );
  });

  versionDetailPage(app);
  versionChangeFlow(app, ctx);
}
