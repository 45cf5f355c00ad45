/**
 * An action on versions, from a button to its answer: a version's own button or the selection's goes
 * to a confirmation that shows each version as it is now and says what will happen (or, when the
 * bulk form came without an action, or with one none of the versions can take, asks which, offering
 * only what they can take); the confirmation sends one API request (all or nothing); its answer is a
 * GET page of its own, sealed into its link, so a reload never sends the action again.
 */
import type { Hono } from 'hono';
import type { ApiClient } from '../api-client.ts';
import type { ConsoleContext, ConsoleEnv } from '../console-env.ts';
import { Csrf, Layout, Notice } from '../layout.tsx';
import { RESULT_TTL_MS, seal, unseal } from '../sealed-result.ts';
import type { Session } from '../session.ts';
import { ACTIONS, choicesFor, parseSeen, permissions, SelectionButtons, seenValue, type ActionKey, type Seen } from './version-actions.tsx';
import { apiQuery, backTo, coordinatesOf, type Coordinates, describeVersion, type Described, displayName, Hidden, pkgValue, SyncCell, syncStatusPath, type SyncState } from './version-package.tsx';

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

/** The chosen versions as they are now: described, and (for a resync, or to choose) with their sync state. */
async function asTheyAreNow(api: ApiClient, k: Coordinates, chosen: Seen[], withSync: boolean): Promise<Array<{ seen: Seen; now: Described; sync?: SyncState | undefined }>> {
  return Promise.all(
    chosen.map(async (seen) => {
      const now = await describeVersion(api, k, seen.version);
      if (!withSync || !now.identifier) return { seen, now };
      const sync = await api.get<SyncState>(syncStatusPath(k, now.identifier));
      return { seen, now, sync: sync.ok ? sync.body : undefined };
    }),
  );
}

export function versionChangeFlow(app: Hono<ConsoleEnv>, ctx: ConsoleContext): void {
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
    const api = c.var.api;
    const chosenAction = action === undefined ? undefined : Object.hasOwn(ACTIONS, action) ? (action as ActionKey) : null;
    if (chosenAction === null) return c.html(<Layout title="Confirm" session={c.var.session}><Notice kind="error">Pick a package and an action first.</Notice></Layout>, 400);
    // Each version as it is now, beside what the list showed: a version someone changed since is
    // named here, and its revision from the list goes on, so the API refuses it rather than
    // overwriting that change.
    const described = await asTheyAreNow(api, k, chosen, chosenAction === undefined || chosenAction === 'Resync');
    // What these versions can take, as the list's script offers it for ticked boxes: an action none of
    // them can take (its state, or Cedar, asked about oneself in one request) is not offered.
    const rows = described.flatMap(({ now, sync }) => (now.status ? [{ version: now.version, status: now.status, sync }] : []));
    const choices = choicesFor(rows, rows.length ? await permissions(api, k, rows) : new Map());
    const noneCan = chosenAction === undefined ? undefined : choices.find((ch) => ch.action === chosenAction && ch.can.length === 0 && rows.length === described.length);
    if (chosenAction === undefined || noneCan) {
      // The bulk form sent without an action (Enter in a checkbox), or with one none of them can take: ask which.
      return c.html(
        <Layout title="Choose an action" session={c.var.session} current="/console/versions">
          {noneCan ? (
            <Notice kind="warning">
              None of the selected versions can take {noneCan.action}, so nothing was done: {noneCan.cannot.map((x) => `${x.versions.join(', ')}: ${x.reason}`).join('; ')}.
            </Notice>
          ) : null}
          <form method="get" action="/console/versions/confirm">
            <Hidden k={k} />
            {chosen.map((s) => (s.revision ? <input type="hidden" name="seen" value={seenValue(s.revision, s.version)} /> : <input type="hidden" name="versions" value={s.version} />))}
            <p>
              {chosen.length} version(s) of {displayName(k)} selected: {chosen.map((s) => s.version).join(', ')}. What should be done with them?
            </p>
            <p class="bulk-buttons">
              <SelectionButtons choices={choices} none="none of them can" idPrefix="choose-none-can" />
              <a href={backTo(k)}>Cancel</a>
            </p>
          </form>
        </Layout>,
      );
    }
    const key = chosenAction;
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
    if (!k || !key || !Object.hasOwn(ACTIONS, key)) return c.html(<Layout title="Apply" session={c.var.session}><Notice kind="error">The form is incomplete.</Notice></Layout>, 400);
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
    // The revisions the person saw go with every change, the delete included (versiongate takes them
    // there too, an extension of CodeArtifact's), and are checked in the change's own transaction: a
    // version changed since, even keeping its status (a resync completing), is refused, never changed.
    const withRevisions = Object.keys(versionRevisions).length ? { versionRevisions: { ...versionRevisions } } : {};
    const body = a.api === 'UpdatePackageVersionsStatus' ? { versions, targetStatus: a.target, ...withRevisions } : { versions, ...withRevisions };
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

/** The version an identifier names, for the words of a message; the identifier when it cannot be read. */
async function versionOf(api: ApiClient, k: Coordinates, identifier: string): Promise<string> {
  const r = await api.get<{ version: string }>(syncStatusPath(k, identifier));
  return r.ok && r.body.version ? r.body.version : identifier;
}

async function syncProgress(api: ApiClient, k: Coordinates, identifiers: string[]) {
  const statuses = await Promise.all(
    identifiers.map(async (id) => ({ id, r: await api.get<SyncState & { version: string }>(syncStatusPath(k, id)) })),
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
