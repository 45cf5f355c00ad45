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
import { RESULT_TTL_MS, seal, unseal } from '../sealed-result.ts';
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
  // An action that cannot apply to the version as it stands is off whatever Cedar says (stateProblem):
  // not asked, so not another audited question.
  const questions = rows.flatMap((row) => ACTION_KEYS.filter((key) => stateProblem(row, key) === undefined).map((key) => ({ row, key })));
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

/**
 * A version as the person saw it: its name and, when the page that sent it showed one, its revision.
 * A checkbox sends `seen` (`<revision> <version>`), a row's button `row` (`<action> <revision>
 * <version>`): a revision never holds a space (checkRevision), so the first spaces split them whatever
 * the version. The revision goes to the API as versionRevisions, which refuses a version that changed
 * since (MISMATCHED_REVISION), rather than silently overwriting another person's change.
 * (`versions` and `single`, without a revision, are still taken: the confirmation page then shows the
 * version's current revision and status, and that is what is checked.)
 */
interface Seen {
  version: string;
  revision?: string | undefined;
}
const seenValue = (revision: string, version: string) => `${revision} ${version}`;
function parseSeen(value: string): Seen {
  const i = value.indexOf(' ');
  return i > 0 ? { revision: value.slice(0, i), version: value.slice(i + 1) } : { version: value };
}

/**
 * Why the action cannot apply to the version as it stands, whoever asks (the gateway would refuse it
 * or change nothing), or undefined. Shown as the button's reason, as a Cedar denial is.
 */
export function stateProblem(row: Pick<VersionRow, 'status' | 'sync'>, action: ActionKey): string | undefined {
  const status = row.status;
  if (status === 'Deleted') return 'the version is deleted';
  const target = ACTIONS[action].target;
  if (action === 'Resync') {
    if (status === 'Disposed') return 'a disposed version has no assets to resync';
    const inFlight = row.sync !== undefined && !row.sync.is_sync_completed && !row.sync.is_sync_failed;
    return inFlight ? 'its sync is already under way' : undefined;
  }
  if (action === 'Delete') return undefined;
  if (status === target) return `already ${status}`;
  if (status === 'Disposed') return "a disposed version's assets are gone: it can only be deleted";
  if (status === 'Unfinished' && action !== 'Dispose' && target !== 'Published') return 'an unfinished version is completed by publishing it';
  return undefined;
}

const ActionButton: FC<{ row: VersionRow; action: ActionKey; permission: Permission | undefined }> = ({ row, action, permission }) => {
  const whyId = `why-${row.identifier}-${action}`;
  const unavailable = stateProblem(row, action);
  const refusal = permission?.allowed === false ? `not allowed: ${permission.reason}` : unavailable;
  const denied = refusal !== undefined;
  return (
    <span class="action">
      <button
        type="submit"
        name="row"
        value={`${action} ${seenValue(row.revision, row.version)}`}
        disabled={denied}
        data-denied={denied ? 'true' : undefined}
        aria-describedby={denied ? whyId : undefined}
        aria-label={`${action} ${row.version}`}
      >
        {action}
      </button>
      {denied ? (
        <span id={whyId} class="reason">
          ⊘ {refusal}
        </span>
      ) : null}
    </span>
  );
};

const detailLink = (k: Coordinates, version: string) =>
  `/console/versions/detail?${new URLSearchParams({ domain: k.domain, 'domain-owner': k.domainOwner, repository: k.repository, pkg: pkgValue(k.format, k.namespace, k.package), version })}`;

/** What one version's page and the confirmation page ask of the API about it. */
interface Described {
  version: string;
  identifier?: string | undefined;
  revision?: string | undefined;
  status?: string | undefined;
  publishedTime?: number | undefined;
  error?: string | undefined;
}
async function describeVersion(api: ApiClient, k: Coordinates, version: string): Promise<Described> {
  const d = await api.get<{ packageVersion: { identifier?: string; revision: string; status: string; publishedTime?: number } }>('/v1/package/version', { ...apiQuery(k), version });
  if (!d.ok) return { version, error: d.error };
  const v = d.body.packageVersion;
  return { version, identifier: v.identifier, revision: v.revision, status: v.status, publishedTime: v.publishedTime };
}

/** What the result page shows: the API's answer, sealed into its link (sealed-result.ts). */
type Outcome = {
  at: number;
  k: Coordinates;
  action: ActionKey;
  requestId: string;
  /** The API's HTTP status, and its message when it refused the whole request. */
  status: number;
  error?: string | undefined;
  /** [version, status, revision] */
  successful?: Array<[string, string, string]>;
  /** [version or identifier, errorCode, errorMessage]; resync: [identifier, '', reason] */
  failed?: Array<[string, string, string]>;
  /** Resync: the identifiers actioned, and how many (when some are left out of the link). */
  actioned?: string[];
  actionedCount?: number;
  /** Rows left out so the link stays short enough (MAX_SEALED). */
  omitted?: number;
};

/** Seals an outcome, leaving rows out (and saying how many) until it fits in a link. */
function sealOutcome(session: Session, o: Outcome): string {
  let cut = o;
  for (;;) {
    const sealed = seal(session, cut);
    if (sealed) return sealed;
    const halve = <T,>(xs: T[] | undefined) => (xs && xs.length > 1 ? xs.slice(0, Math.ceil(xs.length / 2)) : xs ?? []);
    const successful = halve(cut.successful);
    const failed = halve(cut.failed);
    const actioned = halve(cut.actioned);
    const kept = successful.length + failed.length + actioned.length;
    const total = (o.successful?.length ?? 0) + (o.failed?.length ?? 0) + (o.actioned?.length ?? 0);
    const next = { ...cut, successful, failed, actioned, omitted: total - kept };
    // One row that does not fit, or none: keep only the counts.
    if (kept === (cut.successful?.length ?? 0) + (cut.failed?.length ?? 0) + (cut.actioned?.length ?? 0)) return seal(session, { ...cut, successful: [], failed: [], actioned: [], omitted: total })!;
    cut = next;
  }
}

const WRONG_MIX =
  "You selected versions with the boxes and also clicked one version's own button, so nothing was done: the console will not guess which you meant. To act on the selection, use the buttons for the selected versions at the top of the list; to act on one version, untick the boxes first.";

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
              {ACTION_KEYS.map((a) => (
                <button type="submit" name="action" value={a}>
                  {a} selected
                </button>
              ))}
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
                <th scope="col">Assets</th>
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
                      data-can={ACTION_KEYS.filter((a) => perms.get(`${row.version}\n${a}`)?.allowed !== false && stateProblem(row, a) === undefined).join(' ')}
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
        </form>
      </Layout>,
    );
  });

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
      identifier ? api.get<NonNullable<VersionRow['sync']>>(`/v1/packages/${encodeURIComponent(k.domain)}/${encodeURIComponent(k.repository)}/${encodeURIComponent(identifier)}/status/`) : undefined,
    ]);
    const row: VersionRow = { version, identifier, revision: d.revision, status: d.status, publishedTime: d.publishedTime, sync: sync?.ok ? sync.body : undefined };
    const perms = await permissions(api, c.var.session, k, [row]);
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
              <ActionButton row={row} action={a} permission={perms.get(`${version}\n${a}`)} />
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
              <td>{d.publishedTime ? new Date(d.publishedTime * 1000).toISOString().replace('.000Z', 'Z') : '—'}</td>
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

  app.get('/versions/confirm', async (c) => {
    const k = coordinatesOf((n) => c.req.query(n));
    const rowValue = c.req.query('row');
    const single = c.req.query('single');
    const selected = [...(c.req.queries('seen') ?? []).map(parseSeen), ...(c.req.queries('versions') ?? []).map((version) => ({ version }))];
    // Bulk operation mode: a row's button with boxes ticked is ambiguous. Never pick one silently.
    if ((rowValue !== undefined || single !== undefined) && selected.length > 0) {
      return c.html(
        <Layout title="Confirm" session={c.var.session} current="/console/versions">
          <Notice kind="error">{WRONG_MIX}</Notice>
          {k ? (
            <p>
              <a href={backTo(k)}>Back to the versions</a>
            </p>
          ) : null}
        </Layout>,
        400,
      );
    }
    let action: string | undefined;
    let chosen: Seen[];
    if (rowValue !== undefined) {
      const i = rowValue.indexOf(' ');
      action = i > 0 ? rowValue.slice(0, i) : rowValue;
      chosen = i > 0 ? [parseSeen(rowValue.slice(i + 1))] : [];
    } else if (single !== undefined) {
      const i = single.indexOf(':');
      action = single.slice(0, i);
      chosen = [{ version: single.slice(i + 1) }];
    } else {
      action = c.req.query('action') || undefined;
      chosen = selected;
    }
    if (!k) return c.html(<Layout title="Confirm" session={c.var.session}><Notice kind="error">Pick a package and an action first.</Notice></Layout>, 400);
    if (chosen.length === 0) return c.html(<Layout title="Confirm" session={c.var.session}><Notice kind="error">Select at least one version.</Notice><p><a href={backTo(k)}>Back to the versions</a></p></Layout>, 400);
    if (action === undefined) {
      // The bulk form sent without an action (Enter in a checkbox): ask which, for these versions.
      return c.html(
        <Layout title="Choose an action" session={c.var.session} current="/console/versions">
          <form method="get" action="/console/versions/confirm">
            <Hidden k={k} />
            {chosen.map((s) => (s.revision ? <input type="hidden" name="seen" value={seenValue(s.revision, s.version)} /> : <input type="hidden" name="versions" value={s.version} />))}
            <p>
              {chosen.length} version(s) of {displayName(k)} selected: {chosen.map((s) => s.version).join(', ')}. What should be done with them?
            </p>
            <p>
              {ACTION_KEYS.map((a) => (
                <button type="submit" name="action" value={a}>
                  {a} selected
                </button>
              ))}{' '}
              <a href={backTo(k)}>Cancel</a>
            </p>
          </form>
        </Layout>,
      );
    }
    if (!(action in ACTIONS)) return c.html(<Layout title="Confirm" session={c.var.session}><Notice kind="error">Pick a package and an action first.</Notice></Layout>, 400);
    const key = action as ActionKey;
    // Each version as it is now, beside what the list showed: a version someone changed since is
    // named here, and its revision from the list goes on, so the API refuses it rather than
    // overwriting that change.
    const described = await Promise.all(chosen.map(async (s) => ({ seen: s, now: await describeVersion(c.var.api, k, s.version) })));
    const changed = described.filter((d) => d.seen.revision !== undefined && d.now.revision !== undefined && d.seen.revision !== d.now.revision);
    const identifiers = key === 'Resync' ? described.map((d) => d.now.identifier ?? d.seen.version) : [];
    const versions = chosen.map((s) => s.version);
    return c.html(
      <Layout title={`${key}: confirm`} session={c.var.session} current="/console/versions">
        <form method="post" action="/console/versions/apply" data-submit-once="true">
          <Csrf session={c.var.session} />
          <Hidden k={k} />
          <input type="hidden" name="action" value={key} />
          <p>
            <strong>{key}</strong> {versions.length} version(s) of {displayName(k)} in {k.domain}/{k.repository}: {versions.join(', ')}.
          </p>
          <p>This {ACTIONS[key].says}</p>
          {changed.length ? (
            <Notice kind="warning">
              {changed.map((d) => d.seen.version).join(', ')} changed since the page was loaded (its status or assets were changed by someone or something else).{' '}
              {key === 'Resync' ? 'A resync acts on the version as it is now.' : 'The gateway will refuse the request, and change nothing; go back to the versions to see them as they are now.'}
            </Notice>
          ) : null}
          <table class="confirm-versions">
            <caption>The versions as they are now</caption>
            <thead>
              <tr>
                <th scope="col">Version</th>
                <th scope="col">Current status</th>
                <th scope="col">Revision</th>
              </tr>
            </thead>
            <tbody>
              {described.map(({ seen, now }) => (
                <tr>
                  <th scope="row">{seen.version}</th>
                  <td data-testid="current-status">{now.status ?? `unknown: ${now.error}`}</td>
                  <td>
                    <code class="revision">{now.revision ?? '—'}</code>
                    {seen.revision !== undefined && now.revision !== undefined && seen.revision !== now.revision ? (
                      <>
                        {' '}
                        (the list showed <code class="revision">{seen.revision}</code>: changed since the page was loaded)
                      </>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
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
              <p>Click Resync to confirm the resynchronization.</p>
            </>
          ) : (
            <>
              <p>One request, all or nothing: if any version cannot be changed (or changed since you saw it), none is, and the page lists why for each.</p>
              {described.map(({ seen, now }) => {
                // The revision the person saw: the list's, else the one this page shows.
                const revision = seen.revision ?? now.revision;
                return revision ? <input type="hidden" name="expect" value={seenValue(revision, seen.version)} /> : <input type="hidden" name="versions" value={seen.version} />;
              })}
            </>
          )}
          <button type="submit">{key === 'Resync' ? 'Resync' : `Yes, ${key.toLowerCase()} ${versions.length === 1 ? versions[0] : `${versions.length} versions`}`}</button>{' '}
          <a href={backTo(k)}>Cancel</a>
        </form>
      </Layout>,
    );
  });

  // Post/Redirect/Get: the API is called once, and the browser is sent to a GET page with the
  // answer, so a reload, back/forward or a second click never sends the action again.
  app.post('/versions/apply', async (c) => {
    const form = await c.req.parseBody({ all: true });
    const one = (n: string) => (typeof form[n] === 'string' ? (form[n] as string) : undefined);
    const many = (n: string) => ([] as unknown[]).concat(form[n] ?? []).filter((x): x is string => typeof x === 'string');
    const k = coordinatesOf(one);
    const key = one('action') as ActionKey | undefined;
    if (!k || !key || !(key in ACTIONS)) return c.html(<Layout title="Apply" session={c.var.session}><Notice kind="error">The form is incomplete.</Notice></Layout>, 400);
    const api = c.var.api;
    const done = (o: Omit<Outcome, 'at' | 'k' | 'action'>) =>
      c.redirect(`/console/versions/result?${new URLSearchParams({ r: sealOutcome(c.var.session, { at: ctx.now(), k, action: key, ...o }) })}`, 303);
    const page = (status: 400, ...children: unknown[]) =>
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
      if (!r.ok) return done({ requestId: r.requestId, status: r.status, error: r.error });
      return done({ requestId: r.requestId, status: r.status, actionedCount: r.body.packages_actioned.length, actioned: r.body.packages_actioned, failed: Object.entries(r.body.packages_failed_to_action).map(([id, f]) => [id, '', f.reason]) });
    }

    const expected = many('expect').map(parseSeen);
    const versions = [...expected.map((s) => s.version), ...many('versions')];
    const versionRevisions: Record<string, string> = Object.create(null) as Record<string, string>;
    for (const s of expected) if (s.revision !== undefined) versionRevisions[s.version] = s.revision;
    const a = ACTIONS[key];
    const path = a.api === 'UpdatePackageVersionsStatus' ? '/v1/package/versions/update_status' : a.api === 'DisposePackageVersions' ? '/v1/package/versions/dispose' : '/v1/package/versions/delete';
    const withRevisions = Object.keys(versionRevisions).length ? { versionRevisions: { ...versionRevisions } } : {};
    let deleteExpecting: { expectedStatus?: string } = {};
    if (a.api === 'DeletePackageVersions' && Object.keys(versionRevisions).length) {
      // CodeArtifact's DeletePackageVersions takes no versionRevisions, so the console checks them
      // itself just before, and refuses the whole request, all or nothing, as the API would. A change
      // in between these reads and the delete is caught only if it changes a status: when the versions
      // share one, it goes as expectedStatus, which the API checks with the delete.
      const now = await Promise.all(Object.entries(versionRevisions).map(async ([v, rev]) => ({ v, rev, d: await describeVersion(api, k, v) })));
      const statuses = new Set(now.map(({ d }) => d.status));
      const [shared] = statuses;
      if (statuses.size === 1 && shared !== undefined) deleteExpecting = { expectedStatus: shared };
      const stale = now.filter(({ rev, d }) => d.revision !== undefined && d.revision !== rev);
      if (stale.length) {
        return done({
          requestId: '',
          status: 200,
          failed: versions.map((v): [string, string, string] => {
            const s = stale.find((x) => x.v === v);
            return s ? [v, 'MISMATCHED_REVISION', `current revision: ${s.d.revision}, expected revision: ${s.rev}`] : [v, 'SKIPPED', `version ${v} is skipped`];
          }),
        });
      }
    }
    const body = a.api === 'UpdatePackageVersionsStatus' ? { versions, targetStatus: a.target, ...withRevisions } : a.api === 'DisposePackageVersions' ? { versions, ...withRevisions } : { versions, ...deleteExpecting };
    const r = await api.post<{ successfulVersions: Record<string, { status: string; revision: string }>; failedVersions: Record<string, { errorCode: string; errorMessage: string }> }>(path, apiQuery(k), body);
    if (!r.ok) return done({ requestId: r.requestId, status: r.status, error: r.error });
    return done({
      requestId: r.requestId,
      status: r.status,
      failed: Object.entries(r.body.failedVersions).map(([v, f]) => [v, f.errorCode, f.errorMessage]),
      successful: Object.entries(r.body.successfulVersions).map(([v, s]) => [v, s.status, s.revision]),
    });
  });

  // The answer to an action, from its sealed link: shown again on a reload, never sent again.
  app.get('/versions/result', async (c) => {
    const opened = unseal<Outcome>(c.var.session, c.req.query('r'), ctx.now());
    if (!opened.ok) {
      return c.html(
        <Layout title="Result" session={c.var.session} current="/console/versions">
          <Notice kind="error">
            {opened.why === 'expired'
              ? `This result is older than ${RESULT_TTL_MS / 60_000} minutes, so it is no longer shown. Nothing was sent again; the audit log has what was done.`
              : 'This result link was not made for your session (or is damaged), so it is not shown. Nothing was sent again; the audit log has what was done.'}
          </Notice>
          <p>
            <a href="/console/versions">Versions</a> · <a href="/console/audit">Audit explorer</a>
          </p>
        </Layout>,
        400,
      );
    }
    const o = opened.value;
    const { k, action: key } = o;
    const a = ACTIONS[key];
    const failed = o.failed ?? [];
    const successful = o.successful ?? [];
    const actioned = o.actioned ?? [];
    const stale = failed.filter(([, code]) => code === 'MISMATCHED_REVISION').length;
    const omitted = o.omitted ? <Notice kind="info">{o.omitted} row(s) are not shown here, to keep this page's link short; the audit log has them all{o.requestId ? ` (request ${o.requestId})` : ''}.</Notice> : null;
    const frame = (status: 200 | 400 | 403 | 404 | 409, ...children: unknown[]) =>
      c.html(
        <Layout title={`${key}: result`} session={c.var.session} current="/console/versions">
          {children as never}
          {omitted}
          <p>
            {o.requestId ? (
              <small>
                Request <code>{o.requestId}</code>, at {new Date(o.at).toISOString().replace(/\.\d{3}Z$/, 'Z')}. Reloading this page shows this answer again; it sends nothing.
              </small>
            ) : null}
          </p>
          <p>
            <a href={backTo(k)}>Back to the versions</a>
          </p>
        </Layout>,
        status,
      );
    if (o.error !== undefined) return frame((o.status >= 400 && o.status < 500 ? o.status : 400) as 403, <Notice kind="error">{key === 'Resync' ? 'The gateway refused the bulk action' : 'The gateway refused'}: {o.error}</Notice>);

    if (key === 'Resync') {
      const n = o.actionedCount ?? actioned.length;
      return frame(
        200,
        <>
          <Notice kind={failed.length ? 'warning' : 'ok'}>
            {n === 1 && actioned.length === 1 ? `Version ${await versionOf(c.var.api, k, actioned[0]!)} has been scheduled for resynchronization.` : `${n} versions have been scheduled for resynchronization.`}
            {failed.length ? ` ${failed.length} could not be (listed below).` : ''}
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
                {failed.map(([id, , reason]) => (
                  <tr class="failed">
                    <th scope="row">{id}</th>
                    <td>{reason}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : null}
          {actioned.length ? await syncProgress(c.var.api, k, actioned) : null}
        </>,
      );
    }

    return frame(
      200,
      <>
        {failed.length ? (
          <Notice kind="error">
            Nothing was changed: {failed.length} version(s) failed, and the request is all or nothing.
            {stale ? ` ${stale} changed since the page was loaded (MISMATCHED_REVISION): go back to the versions to see them as they are now.` : ''}
          </Notice>
        ) : (
          <Notice kind="ok">{successful.length} version(s) now {a.target}.</Notice>
        )}
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
              ? failed.map(([v, code, message]) => (
                  <tr class="failed">
                    <th scope="row">{v}</th>
                    <td>{code}</td>
                    <td>{code === 'MISMATCHED_REVISION' ? `changed since the page was loaded (${message})` : message}</td>
                  </tr>
                ))
              : successful.map(([v, status, revision]) => (
                  <tr>
                    <th scope="row">{v}</th>
                    <td>{status}</td>
                    <td>
                      <code>{revision}</code>
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

/** The version an identifier names, for the words of a message; the identifier when it cannot be read. */
async function versionOf(api: ApiClient, k: Coordinates, identifier: string): Promise<string> {
  const r = await api.get<{ version: string }>(`/v1/packages/${encodeURIComponent(k.domain)}/${encodeURIComponent(k.repository)}/${encodeURIComponent(identifier)}/status/`);
  return r.ok && r.body.version ? r.body.version : identifier;
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
