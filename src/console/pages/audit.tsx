/**
 * Audit explorer: GET /v1/audit's filters, cursor paging (next-token), each record in full, the
 * chain head (GET /v1/audit/head) and a verify of the chain (POST /v1/audit/verify), and the current
 * filter exported as NDJSON (every page, newest first, as GET /v1/audit returns them). Cedar decides
 * which records this principal may read; each page read is itself audited.
 */
import type { Hono } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { ConsoleContext, ConsoleEnv } from '../console-env.ts';
import { Csrf, Decision, Layout, Notice } from '../layout.tsx';

const FILTERS = [
  { name: 'principal', label: 'Principal (sub)' },
  { name: 'action', label: 'Action' },
  { name: 'resource', label: 'Resource (ARN, or prefix*)' },
  { name: 'package', label: 'Package' },
  { name: 'version', label: 'Version' },
  { name: 'since', label: 'Since (ISO 8601, inclusive)' },
  { name: 'until', label: 'Until (ISO 8601, exclusive)' },
] as const;

interface AuditRecordView {
  seq: number;
  time: string;
  requestId: string;
  sourceIp: string | null;
  principal: { subject: string; groups: string[]; issuer: string } | null;
  action: string;
  resource: string | null;
  decision: string;
  reason: string | null;
  outcome: string;
  httpStatus: number;
  determiningPolicies: string[];
  errors: string[];
  policySetHash: string | null;
  request: unknown;
  changes: unknown[];
  prevHash?: string;
  hash?: string;
}

function filterOf(q: (n: string) => string | undefined): Record<string, string | undefined> {
  const f: Record<string, string | undefined> = {};
  for (const { name } of FILTERS) f[name] = q(name) || undefined;
  f.decision = q('decision') || undefined;
  return f;
}

export function auditPages(app: Hono<ConsoleEnv>, ctx: ConsoleContext): void {
  app.get('/audit', async (c) => {
    const api = c.var.api;
    const filter = filterOf((n) => c.req.query(n));
    const limit = c.req.query('limit') || '25';
    const cursor = c.req.query('next-token') || undefined;
    const [page, head] = await Promise.all([
      api.get<{ records: AuditRecordView[]; nextToken?: string }>('/v1/audit', { ...filter, limit, 'next-token': cursor }),
      api.get<{ seq: number | null; hash: string | null; head: string | null }>('/v1/audit/head'),
    ]);
    const qs = new URLSearchParams(Object.entries({ ...filter, limit }).filter((e): e is [string, string] => e[1] !== undefined));
    return c.html(
      <Layout title="Audit explorer" session={c.var.session} current="/console/audit">
        <form method="get" action="/console/audit" class="filters">
          <fieldset>
            <legend>Filter (GET /v1/audit)</legend>
            {FILTERS.map((f) => (
              <span class="field">
                <label for={`f-${f.name}`}>{f.label}</label>
                <input id={`f-${f.name}`} name={f.name} value={filter[f.name] ?? ''} />
              </span>
            ))}
            <span class="field">
              <label for="f-decision">Decision</label>
              <select id="f-decision" name="decision">
                <option value="">any</option>
                {['allow', 'deny', 'unauthenticated', 'none'].map((d) => (
                  <option value={d} selected={d === filter.decision}>
                    {d}
                  </option>
                ))}
              </select>
            </span>
            <span class="field">
              <label for="f-limit">Per page</label>
              <input id="f-limit" name="limit" type="number" min="1" max="500" value={limit} />
            </span>
            <button type="submit">Search</button> <a href={`/console/audit/export.ndjson?${qs}`} download="audit.ndjson">Export this filter as NDJSON</a>
          </fieldset>
        </form>
        <section aria-labelledby="chain">
          <h2 id="chain">Chain</h2>
          {head.ok ? (
            <p>
              Head: <code data-testid="chain-head">{head.body.head ?? 'empty log'}</code>
            </p>
          ) : (
            <Notice kind="info">The chain head is not shown: {head.error}</Notice>
          )}
          <form hx-post="/console/audit/verify" hx-target="#verify-result" hx-swap="innerHTML" method="post" action="/console/audit/verify">
            <Csrf session={c.var.session} />
            <label for="expected-head">Saved head to check against (optional, SEQ:HASH)</label>
            <input id="expected-head" name="head" size={40} />
            <button type="submit">Verify the chain</button>
          </form>
          <div id="verify-result" aria-live="polite"></div>
        </section>
        <section aria-labelledby="records">
          <h2 id="records">Records</h2>
          {!page.ok ? (
            <Notice kind="error">{page.error}</Notice>
          ) : (
            <>
              <table class="audit">
                <caption>{page.body.records.length} record(s), newest first</caption>
                <thead>
                  <tr>
                    <th scope="col">Seq</th>
                    <th scope="col">Time</th>
                    <th scope="col">Principal</th>
                    <th scope="col">Action</th>
                    <th scope="col">Resource</th>
                    <th scope="col">Decision</th>
                    <th scope="col">Outcome</th>
                    <th scope="col">Detail</th>
                  </tr>
                </thead>
                <tbody>
                  {page.body.records.map((r) => (
                    <tr data-seq={r.seq}>
                      <th scope="row">{r.seq}</th>
                      <td>{r.time}</td>
                      <td>{r.principal?.subject ?? '—'}</td>
                      <td>{r.action}</td>
                      <td class="resource">{r.resource ?? '—'}</td>
                      <td>
                        <Decision decision={r.decision} />
                      </td>
                      <td>
                        {r.outcome} ({r.httpStatus})
                      </td>
                      <td>
                        <details>
                          <summary>Record {r.seq}</summary>
                          <dl>
                            <dt>Request id</dt>
                            <dd>{r.requestId}</dd>
                            <dt>Source address</dt>
                            <dd>{r.sourceIp ?? '—'}</dd>
                            <dt>Principal</dt>
                            <dd>{r.principal ? `${r.principal.subject} (${r.principal.issuer}) groups [${r.principal.groups.join(', ')}]` : '—'}</dd>
                            <dt>Determining policies</dt>
                            <dd>{r.determiningPolicies.join(', ') || '—'}</dd>
                            <dt>Reason</dt>
                            <dd>{r.reason ?? '—'}</dd>
                            <dt>Cedar errors</dt>
                            <dd>{r.errors.join('; ') || '—'}</dd>
                            <dt>Policy set hash</dt>
                            <dd>
                              <code>{r.policySetHash ?? '—'}</code>
                            </dd>
                            <dt>Chain position</dt>
                            <dd>
                              seq {r.seq}
                              {r.hash ? `, hash ${r.hash}, previous ${r.prevHash}` : ''}
                            </dd>
                            <dt>Request</dt>
                            <dd>
                              <pre>{JSON.stringify(r.request, null, 2)}</pre>
                            </dd>
                            <dt>Changes (before → after)</dt>
                            <dd>
                              <pre>{r.changes.length ? JSON.stringify(r.changes, null, 2) : 'none'}</pre>
                            </dd>
                          </dl>
                        </details>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
              {page.body.nextToken ? (
                <p>
                  <a href={`/console/audit?${new URLSearchParams([...qs, ['next-token', page.body.nextToken]])}`} rel="next">
                    Older records
                  </a>
                </p>
              ) : (
                <p>No older records.</p>
              )}
            </>
          )}
        </section>
      </Layout>,
    );
  });

  app.post('/audit/verify', async (c) => {
    const form = await c.req.parseBody({ all: true });
    const head = typeof form.head === 'string' && form.head.trim() ? form.head.trim() : undefined;
    const r = await c.var.api.post<{ ok: boolean; records: number; head: string | null; break?: { seq: number; problem: string } }>('/v1/audit/verify', undefined, head ? { head } : {});
    const result = !r.ok ? (
      <Notice kind="error">{r.error}</Notice>
    ) : r.body.ok ? (
      <Notice kind="ok">
        <span data-testid="verify-result">the chain is intact: {r.body.records} record(s), head {r.body.head}</span>
      </Notice>
    ) : (
      <Notice kind="error">
        <span data-testid="verify-result">
          the chain breaks at record {r.body.break?.seq}: {r.body.break?.problem}
        </span>
      </Notice>
    );
    if (c.req.header('hx-request')) return c.html(result);
    return c.html(
      <Layout title="Audit chain" session={c.var.session} current="/console/audit">
        {result}
        <p>
          <a href="/console/audit">Back to the audit explorer</a>
        </p>
      </Layout>,
    );
  });

  // Every page of the filter, one record per line, as GET /v1/audit returns them (newest first). The
  // first page is asked for before anything is sent, so a filter the API refuses (a mistyped time, a
  // denied read) is an error page with the API's status, not a 200 download holding an error. A page
  // that fails later, once the file is on its way, breaks the download off: a browser marks it failed,
  // and a truncated export is never mistaken for a whole one.
  app.get('/audit/export.ndjson', async (c) => {
    const api = c.var.api;
    const filter = filterOf((n) => c.req.query(n));
    const pageAt = (cursor: string | undefined) => api.get<{ records: unknown[]; nextToken?: string }>('/v1/audit', { ...filter, limit: '500', 'next-token': cursor });
    const first = await pageAt(undefined);
    if (!first.ok) {
      return c.html(
        <Layout title="Export refused" session={c.var.session} current="/console/audit">
          <Notice kind="error">The export was refused: {first.error}</Notice>
        </Layout>,
        first.status as ContentfulStatusCode,
      );
    }
    c.header('content-type', 'application/x-ndjson; charset=utf-8');
    c.header('content-disposition', 'attachment; filename="audit.ndjson"');
    const encoder = new TextEncoder();
    let page = first;
    // One page a pull: the next is asked for only once the client has taken this one.
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        controller.enqueue(encoder.encode(page.body.records.map((r) => `${JSON.stringify(r)}\n`).join('')));
        const cursor = page.body.nextToken;
        if (!cursor) return controller.close();
        const next = await pageAt(cursor);
        if (!next.ok) {
          ctx.logger.warn('audit export broken off', { requestId: c.get('requestId'), status: next.status, error: next.error });
          return controller.error(new Error(`the audit export failed after its first page: ${next.error}`));
        }
        page = next;
      },
    });
    return c.body(body);
  });
}
