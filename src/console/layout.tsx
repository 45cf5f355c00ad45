/**
 * The page frame: navigation, who is signed in, sign-out, and the one script and stylesheet served
 * by the gateway itself (no inline script or style, so the Content-Security-Policy can forbid both).
 */
import { raw } from 'hono/html';
import type { Child, FC } from 'hono/jsx';
import { CSRF_FIELD, type Session } from './session.ts';

export const PAGES = [
  { path: '/console/overview', title: 'Overview' },
  { path: '/console/versions', title: 'Versions' },
  { path: '/console/playground', title: 'Policy playground' },
  { path: '/console/audit', title: 'Audit explorer' },
] as const;

/**
 * htmx without eval or injected styles, which a strict CSP would refuse (htmx issues #862, #3063). A
 * request unanswered after HTMX_TIMEOUT_MS is given up (htmx:timeout), so a hung gateway is said
 * (console.js) rather than a poll that silently stops.
 */
export const HTMX_TIMEOUT_MS = 15_000;
const HTMX_CONFIG = JSON.stringify({ includeIndicatorStyles: false, allowEval: false, allowScript: false, selfRequestsOnly: true, historyCacheSize: 0, timeout: HTMX_TIMEOUT_MS });

export const Layout: FC<{ title: string; session?: Session | undefined; current?: string; children?: Child }> = ({ title, session, current, children }) => (
  <>
  {raw('<!DOCTYPE html>')}
  <html lang="en">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <meta name="htmx-config" content={HTMX_CONFIG} />
      <title>{`${title} · versiongate console`}</title>
      <link rel="stylesheet" href="/console/assets/console.css" />
      <script src="/console/assets/htmx.min.js" defer></script>
      <script src="/console/assets/console.js" defer></script>
    </head>
    <body>
      <a class="skip" href="#main">Skip to content</a>
      <header>
        <span class="brand">versiongate</span>
        {session ? (
          <>
            <nav aria-label="Console pages">
              <ul>
                {PAGES.map((p) => (
                  <li>
                    <a href={p.path} aria-current={current === p.path ? 'page' : undefined}>
                      {p.title}
                    </a>
                  </li>
                ))}
              </ul>
            </nav>
            <form method="post" action="/console/sign-out" class="sign-out">
              <input type="hidden" name={CSRF_FIELD} value={session.csrf} />
              <span>
                Signed in as <strong data-testid="subject">{session.subject}</strong> until {new Date(session.expiresAt).toISOString().replace('.000Z', 'Z')}
              </span>{' '}
              <button type="submit">Sign out</button>
            </form>
          </>
        ) : null}
      </header>
      <main id="main">
        <h1>{title}</h1>
        {children}
      </main>
    </body>
  </html>
  </>
);

/** A message box; the word in front says what kind, so nothing depends on its colour. */
export const Notice: FC<{ kind: 'error' | 'ok' | 'info' | 'warning'; children?: Child }> = ({ kind, children }) => (
  <div class={`notice notice-${kind}`} role={kind === 'error' ? 'alert' : 'status'}>
    <strong>{{ error: 'Error: ', ok: 'Done: ', info: 'Note: ', warning: 'Warning: ' }[kind]}</strong>
    {children}
  </div>
);

export const Csrf: FC<{ session: Session }> = ({ session }) => <input type="hidden" name={CSRF_FIELD} value={session.csrf} />;

/** A decision, in words and a symbol, never by colour alone. */
export const Decision: FC<{ decision: string }> = ({ decision }) => (
  <span class={`decision decision-${decision}`}>{decision === 'allow' ? '✔ allow' : decision === 'deny' ? '✘ deny' : decision}</span>
);
