/**
 * Policy playground: the live set (files, ids, kinds, last reload, hash) with its source; an editor
 * for a candidate set that starts as the policy folder and is validated on every change (Cedar's
 * diagnostics at file:line:column, POST /v1/policies/check); a request builder whose decision is
 * shown for the live set and the candidate side by side (POST /v1/authorize, once each); the policy
 * tests run against the candidate; and the shadow disagreements of policies/candidate/ from the audit,
 * grouped as `versiongate policy diff` prints them. Nothing here changes the live set.
 */
import type { Context, Hono } from 'hono';
import type { FC } from 'hono/jsx';
import type { ApiClient } from '../api-client.ts';
import { anchorOf, CedarSource } from '../cedar-source.tsx';
import { addDisagreement, sortedDisagreements, type DisagreementRow } from '../../policy/disagreements.ts';
import type { ConsoleContext, ConsoleEnv } from '../console-env.ts';
import { Csrf, Decision, Layout, Notice } from '../layout.tsx';
import type { PolicyStatusBody } from './overview.tsx';

/** A file the candidate always has, empty at first: where a new policy goes. */
export const SCRATCH_FILE = 'playground.cedar';
const SCHEMA = 'schema.cedarschema';
const ACTION_NAMES = [
  'UpdatePackageVersionsStatus',
  'DisposePackageVersions',
  'DeletePackageVersions',
  'Resync',
  'PublishPackageVersion',
  'CopyPackageVersions',
  'ListPackageVersions',
  'DescribePackageVersion',
  'GetPackageVersionAsset',
  'ReadAuditLog',
  'SimulateAuthorization',
  'ReadPolicies',
];

interface FileText {
  file: string;
  text: string;
}
interface Source {
  liveHash: string;
  schema: string;
  files: FileText[];
  templates: FileText[];
  links: FileText[];
  tests: FileText[];
}
interface Explanation {
  decision: string;
  because: string;
  determiningPolicies: Array<{ id: string; file: string; line: number }>;
  errors: string[];
  policySetHash: string;
}
interface Diagnostic {
  file: string;
  line: number;
  column: number;
  severity: string;
  message: string;
  help?: string;
}
interface CheckResult {
  valid: boolean;
  hash?: string;
  diagnostics: Diagnostic[];
  tests?: { passed: number; failed: number; failures: Array<{ file: string; name: string; problems: string[] }> };
}

interface RequestForm {
  sub: string;
  groups: string;
  action: string;
  resourceKind: 'package' | 'AuditLog::"versiongate"' | 'PolicySet::"live"';
  domain: string;
  domainOwner: string;
  repository: string;
  format: string;
  namespace: string;
  package: string;
  context: string;
}

const DEFAULT_REQUEST: RequestForm = {
  sub: 'alice',
  groups: 'release-managers',
  action: 'DisposePackageVersions',
  resourceKind: 'package',
  domain: 'my_domain',
  domainOwner: '111122223333',
  repository: 'my_repo',
  format: 'npm',
  namespace: '',
  package: 'chalk',
  context: '{"versions": ["4.1.0"], "currentStatuses": ["Published"]}',
};

/** Every file of the candidate, as the form carries it: `f:<path>` fields. */
function candidateFromForm(form: Record<string, unknown>): FileText[] {
  return Object.entries(form)
    .filter(([k, v]) => k.startsWith('f:') && typeof v === 'string')
    .map(([k, v]) => ({ file: k.slice(2), text: (v as string).replace(/\r\n/g, '\n') }));
}

function candidateFromSource(s: Source): FileText[] {
  const files = [{ file: SCHEMA, text: s.schema }, ...s.files, ...s.templates, ...s.links, ...s.tests];
  if (!files.some((f) => f.file === SCRATCH_FILE)) files.push({ file: SCRATCH_FILE, text: '' });
  return files;
}

const kindOf = (file: string) => (file === SCHEMA ? 'schema' : file.startsWith('templates/') ? 'template' : file.startsWith('tests/') ? 'test' : file.endsWith('.json') ? 'links' : 'policy');

/** The candidate in the shapes of POST /v1/policies/check and POST /v1/authorize. */
function split(all: FileText[]) {
  // The scratch file left empty is no file at all: the untouched candidate is exactly the folder.
  const files = all.filter((f) => f.file !== SCRATCH_FILE || f.text.trim() !== '');
  const by = (k: string) => files.filter((f) => kindOf(f.file) === k);
  return { schema: files.find((f) => f.file === SCHEMA)?.text ?? '', files: by('policy'), templates: by('template'), links: by('links'), tests: by('test') };
}

function authorizePolicies(files: FileText[]) {
  const s = split(files);
  const links: unknown[] = [];
  for (const l of s.links) {
    try {
      const parsed = JSON.parse(l.text) as unknown;
      if (Array.isArray(parsed)) links.push(...parsed);
    } catch {
      /* reported by the check */
    }
  }
  return {
    schema: s.schema,
    files: Object.fromEntries(s.files.map((f) => [f.file, f.text])),
    templates: Object.fromEntries(s.templates.map((f) => [f.file.slice('templates/'.length), f.text])),
    ...(links.length ? { links } : {}),
  };
}

function requestFromForm(form: Record<string, unknown>): RequestForm {
  const s = (k: keyof RequestForm) => (typeof form[`r:${k}`] === 'string' ? (form[`r:${k}`] as string) : DEFAULT_REQUEST[k]);
  const kind = s('resourceKind');
  return {
    sub: s('sub'),
    groups: s('groups'),
    action: s('action'),
    resourceKind: kind === 'AuditLog::"versiongate"' || kind === 'PolicySet::"live"' ? kind : 'package',
    domain: s('domain'),
    domainOwner: s('domainOwner'),
    repository: s('repository'),
    format: s('format'),
    namespace: s('namespace'),
    package: s('package'),
    context: s('context'),
  };
}

async function decide(api: ApiClient, r: RequestForm, candidate: FileText[]) {
  let context: unknown;
  try {
    context = r.context.trim() ? JSON.parse(r.context) : {};
  } catch (err) {
    return { error: `the context is not JSON: ${(err as Error).message}` };
  }
  const body = {
    principal: { claims: { sub: r.sub, groups: r.groups.split(',').map((g) => g.trim()).filter(Boolean) } },
    action: r.action,
    ...(r.resourceKind === 'package'
      ? { package: { domain: r.domain, domainOwner: r.domainOwner, repository: r.repository, format: r.format, ...(r.namespace ? { namespace: r.namespace } : {}), package: r.package } }
      : { resource: r.resourceKind }),
    context,
  };
  const [live, cand] = await Promise.all([api.post<Explanation>('/v1/authorize', undefined, body), api.post<Explanation>('/v1/authorize', undefined, { ...body, policies: authorizePolicies(candidate) })]);
  return { live, cand };
}

const ExplanationView: FC<{ title: string; r: { ok: boolean; body: Explanation; error?: string }; linkPrefix: string; testid: string }> = ({ title, r, linkPrefix, testid }) => (
  <section class="side" aria-label={title}>
    <h3>{title}</h3>
    {!r.ok ? (
      <Notice kind="error">{r.error}</Notice>
    ) : (
      <dl data-testid={testid}>
        <dt>Decision</dt>
        <dd data-testid={`${testid}-decision`}>
          <Decision decision={r.body.decision} />
        </dd>
        <dt>Because</dt>
        <dd>{r.body.because}</dd>
        <dt>Determining policies</dt>
        <dd>
          {r.body.determiningPolicies.length ? (
            <ul>
              {r.body.determiningPolicies.map((p) => (
                <li>
                  <a href={`#${linkPrefix === 'live' ? anchorOf('live', p.file, p.line) : anchorOf('cand', p.file)}`}>
                    {p.id} ({p.file}:{p.line})
                  </a>
                </li>
              ))}
            </ul>
          ) : (
            'none'
          )}
        </dd>
        {r.body.errors.length ? (
          <>
            <dt>Errors</dt>
            <dd>{r.body.errors.join('; ')}</dd>
          </>
        ) : null}
        <dt>Policy set</dt>
        <dd>
          <code>{r.body.policySetHash.slice(0, 16)}…</code>
        </dd>
      </dl>
    )}
  </section>
);


/** Shadow disagreements among the newest audit records this principal may read, grouped as `policy diff` groups them. */
async function shadowDiff(api: ApiClient): Promise<{ rows: DisagreementRow[]; scanned: number; error?: string }> {
  const rows = new Map<string, DisagreementRow>();
  let cursor: string | undefined;
  let scanned = 0;
  for (let pageNo = 0; pageNo < 4; pageNo++) {
    const page = await api.get<{ records: Array<{ outcome: string; action: string; decision: string; determiningPolicies: string[]; reason: string | null; request: { live?: { decision: string; determiningPolicies: string[] } }; time: string; resource: string | null }>; nextToken?: string }>(
      '/v1/audit',
      { limit: '500', 'next-token': cursor },
    );
    if (!page.ok) return { rows: [], scanned, error: page.error! };
    for (const r of page.body.records) {
      scanned++;
      addDisagreement(rows, r);
    }
    cursor = page.body.nextToken;
    if (!cursor) break;
  }
  return { rows: sortedDisagreements(rows), scanned };
}

const Field: FC<{ name: keyof RequestForm; label: string; value: string }> = ({ name, label, value }) => (
  <span class="field">
    <label for={`r-${name}`}>{label}</label>
    <input id={`r-${name}`} name={`r:${name}`} value={value} />
  </span>
);

export function playgroundPages(app: Hono<ConsoleEnv>, _ctx: ConsoleContext): void {
  const render = async (c: Context<ConsoleEnv>, form: Record<string, unknown> | undefined) => {
    const api = c.var.api;
    const [status, source] = await Promise.all([api.get<PolicyStatusBody>('/v1/policies'), api.get<Source>('/v1/policies/source')]);
    if (!status.ok || !source.ok) {
      return c.html(
        <Layout title="Policy playground" session={c.var.session} current="/console/playground">
          <Notice kind="error">{status.error ?? source.error}</Notice>
          <p>The playground needs ReadPolicies and SimulateAuthorization on PolicySet::"live" (the shipped policies give them to the security group).</p>
        </Layout>,
        status.ok ? (source.status as 403) : (status.status as 403),
      );
    }
    const candidate = form ? candidateFromForm(form) : candidateFromSource(source.body);
    const request = form ? requestFromForm(form) : DEFAULT_REQUEST;
    const todo = form && typeof form.do === 'string' ? form.do : 'check';
    const check = await api.post<CheckResult>('/v1/policies/check', undefined, todo === 'tests' ? split(candidate) : { ...split(candidate), tests: undefined });
    const decision = form && todo === 'decide' && check.ok && check.body.valid ? await decide(api, request, candidate) : undefined;
    const diff = await shadowDiff(api);
    // A gateway without the policy manager's status lists bare ids.
    const live = { ...status.body, policies: status.body.policies.map((p) => (typeof p === 'string' ? { id: p, kind: '?', file: '?', line: 0 } : p)) };
    const liveFiles = [{ file: SCHEMA, text: source.body.schema }, ...source.body.files, ...source.body.templates];

    return c.html(
      <Layout title="Policy playground" session={c.var.session} current="/console/playground">
        <Notice kind="info">
          The playground never changes the live set. A set becomes live only through the policy folder (a reviewed change to policies/, then a reload), and
          policies/candidate/ runs in shadow before it is promoted.
        </Notice>
        <section aria-labelledby="live">
          <h2 id="live">Live set</h2>
          <dl>
            <dt>Hash</dt>
            <dd>
              <code>{live.hash}</code>
            </dd>
            <dt>Loaded</dt>
            <dd>{live.loadedAt ?? 'unknown'}</dd>
            <dt>Last reload</dt>
            <dd>{live.lastReload ? `${live.lastReload.at}: ${live.lastReload.outcome} (${live.lastReload.trigger})` : 'none since start'}</dd>
            <dt>Shadow candidate (policies/candidate/)</dt>
            <dd>{live.candidate ? ('hash' in live.candidate ? `loaded, hash ${live.candidate.hash}` : `refused: ${live.candidate.error}`) : 'none'}</dd>
          </dl>
          <table>
            <caption>{live.policies.length} policies, templates and links</caption>
            <thead>
              <tr>
                <th scope="col">Id</th>
                <th scope="col">Kind</th>
                <th scope="col">Where</th>
              </tr>
            </thead>
            <tbody>
              {live.policies.map((p) => (
                <tr>
                  <th scope="row">{p.id}</th>
                  <td>{p.kind}</td>
                  <td>
                    <a href={`#${anchorOf('live', p.file, p.line)}`}>
                      {p.file}:{p.line}
                    </a>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {source.body.liveHash !== live.hash ? <Notice kind="warning">The folder has changed since the live set was loaded.</Notice> : null}
          {liveFiles.map((f) => (
            <details>
              <summary>{f.file}</summary>
              <CedarSource file={f.file} text={f.text} prefix="live" />
            </details>
          ))}
        </section>

        <form method="post" action="/console/playground" hx-post="/console/playground" hx-trigger="submit, input delay:700ms" hx-select="#results" hx-target="#results" hx-swap="outerHTML">
          <Csrf session={c.var.session} />
          <section aria-labelledby="candidate">
            <h2 id="candidate">Candidate set</h2>
            <p>
              Starts as the policy folder; new policies go in <code>{SCRATCH_FILE}</code>. Validated as you type.
            </p>
            {candidate.map((f) => (
              <details open={f.file === SCRATCH_FILE || undefined}>
                <summary>
                  {f.file} ({kindOf(f.file)})
                </summary>
                <label for={anchorOf('cand', f.file)}>Candidate {f.file}</label>
                <textarea id={anchorOf('cand', f.file)} name={`f:${f.file}`} rows={f.file === SCRATCH_FILE ? 8 : Math.min(30, f.text.split('\n').length + 1)} cols={100} spellcheck={false}>
                  {f.text}
                </textarea>
              </details>
            ))}
          </section>
          <section aria-labelledby="request">
            <h2 id="request">Request</h2>
            <fieldset>
              <legend>Principal (token claims)</legend>
              <Field name="sub" label="sub" value={request.sub} />
              <Field name="groups" label="groups (comma separated)" value={request.groups} />
            </fieldset>
            <fieldset>
              <legend>Action and resource</legend>
              <span class="field">
                <label for="r-action">Action</label>
                <input id="r-action" name="r:action" value={request.action} list="actions" />
                <datalist id="actions">
                  {ACTION_NAMES.map((a) => (
                    <option value={a} />
                  ))}
                </datalist>
              </span>
              <span class="field">
                <label for="r-resourceKind">Resource</label>
                <select id="r-resourceKind" name="r:resourceKind">
                  {(['package', 'AuditLog::"versiongate"', 'PolicySet::"live"'] as const).map((k) => (
                    <option value={k} selected={k === request.resourceKind}>
                      {k === 'package' ? 'the package below' : k}
                    </option>
                  ))}
                </select>
              </span>
              <Field name="domain" label="Domain" value={request.domain} />
              <Field name="domainOwner" label="Domain owner" value={request.domainOwner} />
              <Field name="repository" label="Repository" value={request.repository} />
              <Field name="format" label="Format" value={request.format} />
              <Field name="namespace" label="Namespace" value={request.namespace} />
              <Field name="package" label="Package" value={request.package} />
            </fieldset>
            <label for="r-context">Context (JSON)</label>
            <textarea id="r-context" name="r:context" rows={3} cols={100}>
              {request.context}
            </textarea>
            <p>
              <button type="submit" name="do" value="check">
                Validate
              </button>{' '}
              <button type="submit" name="do" value="decide">
                Decide (live and candidate)
              </button>{' '}
              <button type="submit" name="do" value="tests">
                Run the policy tests against the candidate
              </button>
            </p>
          </section>
        </form>

        <section id="results" aria-live="polite" aria-labelledby="results-h">
          <h2 id="results-h">Results</h2>
          {!check.ok ? (
            <Notice kind="error">{check.error}</Notice>
          ) : check.body.diagnostics.length === 0 ? (
            <Notice kind="ok">
              <span data-testid="validation">the candidate is valid (hash {check.body.hash?.slice(0, 16)}…{check.body.hash === live.hash ? ', the same as the live set' : ''})</span>
            </Notice>
          ) : (
            <>
              <Notice kind={check.body.valid ? 'warning' : 'error'}>
                <span data-testid="validation">{check.body.valid ? 'the candidate is valid, with warnings' : 'the candidate is not valid'}</span>
              </Notice>
              <ul class="diagnostics" data-testid="diagnostics">
                {check.body.diagnostics.map((d) => (
                  <li>
                    <a href={`#${anchorOf('cand', d.file)}`}>
                      {d.file}:{d.line}:{d.column}
                    </a>
                    : {d.severity}: {d.message}
                    {d.help ? ` (help: ${d.help})` : ''}
                  </li>
                ))}
              </ul>
            </>
          )}
          {decision ? (
            'error' in decision ? (
              <Notice kind="error">{decision.error}</Notice>
            ) : (
              <div class="side-by-side">
                <ExplanationView title="Live set" r={decision.live} linkPrefix="live" testid="live" />
                <ExplanationView title="Candidate" r={decision.cand} linkPrefix="cand" testid="candidate" />
                {decision.live.ok && decision.cand.ok ? (
                  <p data-testid="decision-change">
                    {decision.live.body.decision === decision.cand.body.decision ? 'Same decision.' : `The candidate changes the decision: ${decision.live.body.decision} → ${decision.cand.body.decision}.`}
                  </p>
                ) : null}
              </div>
            )
          ) : null}
          {check.ok && check.body.tests ? (
            <div data-testid="tests">
              <h3>Policy tests against the candidate</h3>
              <p>
                {check.body.tests.passed} passed, {check.body.tests.failed} failed
              </p>
              <ul>
                {check.body.tests.failures.map((f) => (
                  <li>
                    FAIL {f.file} › {f.name}: {f.problems.join('; ')}
                  </li>
                ))}
              </ul>
            </div>
          ) : null}
        </section>

        <section aria-labelledby="shadow">
          <h2 id="shadow">Shadow disagreements (policies/candidate/)</h2>
          {diff.error ? (
            <Notice kind="info">Not shown: {diff.error}</Notice>
          ) : diff.rows.length === 0 ? (
            <p>No shadow disagreements among the newest {diff.scanned} audit records: the candidate decides them as the live set does.</p>
          ) : (
            <pre data-testid="policy-diff">
              {[
                `${diff.rows.reduce((n, r) => n + r.count, 0)} request(s) would be decided differently by the candidate set (newest ${diff.scanned} records):`,
                ...diff.rows.flatMap((r) => [
                  `  ${String(r.count).padStart(6)}  ${r.action}: live ${r.live} → candidate ${r.candidate}`,
                  `          e.g. ${[...r.resources].slice(0, 3).join(', ')}${r.resources.size > 3 ? ` (+${r.resources.size - 3} more)` : ''}; ${r.first} … ${r.last}`,
                ]),
              ].join('\n')}
            </pre>
          )}
        </section>
      </Layout>,
    );
  };

  app.get('/playground', (c) => render(c, undefined));
  app.post('/playground', async (c) => render(c, await c.req.parseBody({ all: true })));
}
