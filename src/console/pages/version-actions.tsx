/**
 * The actions on versions, and which a version can take: its state rules some out (stateProblem), and
 * Cedar others, asked in advance about the signed-in principal itself in one request per page
 * (POST /v1/authorize/batch, one audit record). Buttons for what cannot be done are off, with the
 * reason; the API still decides every action.
 */
import type { FC } from 'hono/jsx';
import { MAX_OWN_ACCESS_QUESTIONS } from '../../http/authorize-batch-api.ts';
import type { ApiClient } from '../api-client.ts';
import type { Coordinates, VersionRow } from './version-package.tsx';

export const ACTIONS = {
  Publish: { api: 'UpdatePackageVersionsStatus', target: 'Published', says: 'sets their status to Published: consumers see and install them again.' },
  Unlist: { api: 'UpdatePackageVersionsStatus', target: 'Unlisted', says: 'sets their status to Unlisted: hidden from version listings, still installable by exact version.' },
  Archive: { api: 'UpdatePackageVersionsStatus', target: 'Archived', says: 'sets their status to Archived: they can no longer be installed; their assets are kept and Publish restores them.' },
  Dispose: { api: 'DisposePackageVersions', target: 'Disposed', says: 'deletes their assets for good and sets their status to Disposed. This cannot be undone.' },
  Delete: { api: 'DeletePackageVersions', target: 'Deleted', says: 'deletes the versions and their assets; the version numbers can be published again, possibly with other bytes. This cannot be undone.' },
  Resync: { api: 'Resync', target: undefined, says: "re-reads their assets, checks them and extracts their metadata again (Cloudsmith's resync); each gets a new revision." },
} as const;
export type ActionKey = keyof typeof ACTIONS;
export const ACTION_KEYS = Object.keys(ACTIONS) as ActionKey[];

/**
 * A version as the person saw it: its name and, when the page that sent it showed one, its revision.
 * A checkbox sends `seen` (`<revision> <version>`), a row's button `row` (`<action> <revision>
 * <version>`): a revision never holds a space (checkRevision), so the first spaces split them whatever
 * the version. The revision goes to the API as versionRevisions, which refuses a version that changed
 * since (MISMATCHED_REVISION), rather than silently overwriting another person's change.
 * (`versions` and `single`, without a revision, are still taken: the confirmation page then shows the
 * version's current revision and status, and that is what is checked.)
 */
export interface Seen {
  version: string;
  revision?: string | undefined;
}
export const seenValue = (revision: string, version: string) => `${revision} ${version}`;
export function parseSeen(value: string): Seen {
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

export type Permission = { allowed: true } | { allowed: false; reason: string } | { allowed: 'unknown'; reason: string };
/** Cedar's answers for a page, by version and action (permissionKey). */
export type Permissions = Map<string, Permission>;
export const permissionKey = (version: string, action: ActionKey) => `${version}\n${action}`;

/** Why Cedar denies, in words: the deny's kind and the policies that determined it. */
function denyReason(e: { because?: string; determiningPolicies?: Array<{ id: string }>; errors?: string[] }): string {
  const ids = (e.determiningPolicies ?? []).map((p) => p.id).join(', ');
  if (e.because === 'forbid') return `forbidden by ${ids}`;
  if (e.because === 'error') return `a policy failed to evaluate (${(e.errors ?? []).join('; ')}), so it is denied`;
  return 'no policy permits it';
}

interface OwnAccessAnswer {
  decision: string;
  because: string;
  determiningPolicies: Array<{ id: string }>;
  errors: string[];
}

/**
 * Asks the gateway whether each action is allowed on each version, as this session's own principal:
 * a question per version and action, since a policy may turn on either, all of them in one
 * POST /v1/authorize/batch (a page of 100 versions asks up to 600: one at a time, they were 600
 * requests and audit records). An action a version's state rules out (stateProblem) is not asked.
 */
export async function permissions(api: ApiClient, k: Coordinates, rows: Array<Pick<VersionRow, 'version' | 'status' | 'sync'>>): Promise<Permissions> {
  const out: Permissions = new Map();
  const questions = rows.flatMap((row) => ACTION_KEYS.filter((key) => stateProblem(row, key) === undefined).map((key) => ({ row, key })));
  const pkg = { domain: k.domain, domainOwner: k.domainOwner, repository: k.repository, format: k.format, ...(k.namespace ? { namespace: k.namespace } : {}), package: k.package };
  for (let start = 0; start < questions.length; start += MAX_OWN_ACCESS_QUESTIONS) {
    const batch = questions.slice(start, start + MAX_OWN_ACCESS_QUESTIONS);
    const r = await api.post<{ answers: OwnAccessAnswer[] }>('/v1/authorize/batch', undefined, {
      questions: batch.map(({ row, key }) => {
        const a = ACTIONS[key];
        const context: Record<string, unknown> = { versions: [row.version], currentStatuses: [row.status] };
        if (a.api === 'UpdatePackageVersionsStatus') context.targetStatus = a.target;
        return { action: a.api, package: pkg, context };
      }),
    });
    // Without the bench (a 403) the console cannot ask in advance; the gateway still decides each action.
    const unknown: Permission | undefined = r.ok ? undefined : { allowed: 'unknown', reason: r.status === 403 ? `not checked in advance: ${r.error}` : `not checked: ${r.error}` };
    batch.forEach(({ row, key }, i) => {
      const answer = r.ok ? r.body.answers[i] : undefined;
      out.set(permissionKey(row.version, key), unknown ?? (answer?.decision === 'allow' ? { allowed: true } : { allowed: false, reason: answer ? denyReason(answer) : 'no answer' }));
    });
  }
  return out;
}

/** Why `row` cannot take `action` as it stands (its state, or Cedar), or undefined when it can. */
export function refusalOf(row: Pick<VersionRow, 'version' | 'status' | 'sync'>, action: ActionKey, perms: Permissions): string | undefined {
  const permission = perms.get(permissionKey(row.version, action));
  return permission?.allowed === false ? `not allowed: ${permission.reason}` : stateProblem(row, action);
}

/** A version's own button for an action: off, with the reason, when the version cannot take it. */
export const ActionButton: FC<{ row: VersionRow; action: ActionKey; perms: Permissions }> = ({ row, action, perms }) => {
  const whyId = `why-${row.identifier}-${action}`;
  const refusal = refusalOf(row, action, perms);
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

/** What a set of versions can take: for each action, the versions that can, and why the others cannot. */
export interface Choice {
  action: ActionKey;
  can: string[];
  /** Each reason the others cannot, with the versions it holds for. */
  cannot: Array<{ reason: string; versions: string[] }>;
}

export function choicesFor(rows: Array<Pick<VersionRow, 'version' | 'status' | 'sync'>>, perms: Permissions): Choice[] {
  return ACTION_KEYS.map((action) => {
    const can: string[] = [];
    const cannot = new Map<string, string[]>();
    for (const row of rows) {
      const refusal = refusalOf(row, action, perms);
      if (refusal === undefined) can.push(row.version);
      else cannot.set(refusal, [...(cannot.get(refusal) ?? []), row.version]);
    }
    return { action, can, cannot: [...cannot].map(([reason, versions]) => ({ reason, versions })) };
  });
}

/**
 * Why none of the versions can take the choice's action, in words: the one reason they share, or
 * each version's (a few), or where to find them (many).
 */
export function noneCanReason(choice: Choice, none: string): string {
  if (choice.cannot.length === 1) return `${none}: ${choice.cannot[0]!.reason}`;
  if (choice.cannot.length <= 4) return `${none}: ${choice.cannot.map((c) => `${c.versions.join(', ')} ${c.reason.startsWith('not allowed') ? c.reason : `(${c.reason})`}`).join('; ')}`;
  return `${none}: each version's reason is beside its buttons`;
}

/**
 * The buttons for a selection, each off with its reason when none of `choices`' versions can take it,
 * so a page without scripts offers only what the selection can take (the script then narrows them to
 * the ticked boxes: data-off-for-all keeps this reason).
 */
export const SelectionButtons: FC<{ choices: Choice[]; none: string; idPrefix: string }> = ({ choices, none, idPrefix }) => (
  <>
    {choices.map((choice) => {
      const off = choice.can.length === 0;
      const whyId = `${idPrefix}-${choice.action}`;
      return (
        <span class="action">
          <button type="submit" name="action" value={choice.action} disabled={off} data-off-for-all={off ? whyId : undefined} aria-describedby={off ? whyId : undefined}>
            {choice.action} selected
          </button>
          {off ? (
            <span id={whyId} class="reason">
              ⊘ {noneCanReason(choice, none)}
            </span>
          ) : null}{' '}
        </span>
      );
    })}
  </>
);
