/** Sign-in: paste a token, or (with an identity provider client configured) sign in there. */
import type { FC } from 'hono/jsx';
import { Layout, Notice } from '../layout.tsx';
import type { OidcSettings } from '../oidc.ts';
import { CSRF_FIELD } from '../session.ts';

export const SignInPage: FC<{ devMode: boolean; oidc?: OidcSettings | undefined; csrf: string; error?: string | undefined }> = ({ devMode, oidc, csrf, error }) => (
  <Layout title="Sign in">
    {error ? <Notice kind="error">{error}</Notice> : null}
    {oidc ? (
      <section aria-labelledby="idp">
        <h2 id="idp">With your identity provider</h2>
        <p>
          <a class="button" href="/console/oauth/start">
            Sign in with {new URL(oidc.issuer).host}
          </a>
        </p>
      </section>
    ) : null}
    <section aria-labelledby="paste">
      <h2 id="paste">With a token</h2>
      <form method="post" action="/console/sign-in">
        <input type="hidden" name={CSRF_FIELD} value={csrf} />
        <label for="token">Bearer token (JWT)</label>
        <textarea id="token" name="token" rows={5} cols={80} required autocomplete="off" spellcheck={false}></textarea>
        <button type="submit">Sign in</button>
      </form>
      <p>
        The token is kept in an HttpOnly cookie that expires with it, and the gateway verifies it on every request the console makes on your behalf. What you see
        and may do is what Cedar allows your token; everything is in the audit log.
      </p>
      {devMode ? (
        <Notice kind="info">
          This gateway runs in development mode. Mint a token with:
          <pre>
            <code>npx versiongate token --sub alice --group release-managers</code>
          </pre>
        </Notice>
      ) : null}
    </section>
  </Layout>
);
