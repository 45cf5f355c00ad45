/** Sign-in: paste a token, or (with an identity provider client configured) sign in there. */
import type { FC } from 'hono/jsx';
import { Layout, Notice } from '../layout.tsx';
import type { OidcSettings } from '../oidc.ts';
import { CSRF_FIELD } from '../session.ts';

/**
 * What `/console/sign-in?error=<code>` may say. Only these fixed texts: anyone can send a person a
 * link, so a message taken from the link itself ("your session expired, re-enter your token at
 * https://evil.example") would be the attacker's words in the console's voice.
 */
export const SIGN_IN_ERRORS = {
  expired: "The gateway refused your session's token: it has expired. Sign in again with a new token.",
  refused: "The gateway refused your session's token (not signed by a key it trusts, meant for another issuer or audience, or otherwise not valid). Sign in again.",
  ended: 'Your session has ended (you signed out, or its token expired a while ago), so this browser holds no token. Sign in again.',
} as const;
export type SignInErrorCode = keyof typeof SIGN_IN_ERRORS;
/** For a code this console never sends: it says nothing the link chose. */
export const UNKNOWN_SIGN_IN_ERROR = 'The sign-in did not complete. Sign in again.';

/** The fixed text of a sign-in error code from a link, if the link has one. */
export function signInErrorText(code: string | undefined): string | undefined {
  if (code === undefined) return undefined;
  return Object.hasOwn(SIGN_IN_ERRORS, code) ? SIGN_IN_ERRORS[code as SignInErrorCode] : UNKNOWN_SIGN_IN_ERROR;
}

export const SIGNED_OUT =
  'Signed out: this browser no longer holds your token. The token itself stays valid until it expires; to end it sooner, revoke it at your identity provider.';
export const PLAIN_HTTP_WARNING =
  'If the address bar shows http:// (not https://), your browser will not keep the sign-in cookies (they are Secure everywhere but on 127.0.0.1 and localhost), and signing in will fail. Reach the console over https (a TLS proxy in front of the gateway, sending X-Forwarded-Proto: https), or on 127.0.0.1.';

export const SignInPage: FC<{ devMode: boolean; oidc?: OidcSettings | undefined; csrf: string; error?: string | undefined; signedOut?: boolean; plainHttp?: boolean }> = ({
  devMode,
  oidc,
  csrf,
  error,
  signedOut,
  plainHttp,
}) => (
  <Layout title="Sign in">
    {error ? <Notice kind="error">{error}</Notice> : null}
    {signedOut ? <Notice kind="info">{SIGNED_OUT}</Notice> : null}
    {plainHttp ? <Notice kind="warning">{PLAIN_HTTP_WARNING}</Notice> : null}
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
        and may do is what Cedar allows your token; everything is in the audit log. Signing out removes the token from this browser; the token stays valid until it
        expires.
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
