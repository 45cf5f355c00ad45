/**
 * Sign-in with the identity provider: OAuth 2.0 authorization code flow with PKCE (RFC 7636, S256),
 * the endpoints from the issuer's discovery document (/.well-known/openid-configuration). The state,
 * code verifier and nonce live in a short HttpOnly cookie bound to this browser; the token endpoint's
 * access token becomes the session, and the gateway verifies it on every call like any other token.
 */
import { createHash, randomBytes } from 'node:crypto';
import { quoted } from './quoted.ts';

export interface OidcSettings {
  issuer: string;
  clientId: string;
  scope: string;
}

export interface Discovery {
  authorization_endpoint: string;
  token_endpoint: string;
}

export class OidcError extends Error {}

/** An OAuth error code (RFC 6749 §4.1.2.1: access_denied, invalid_grant…); anything else is not shown. */
const ERROR_CODE = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * A refusal the identity provider sent, in the console's words: its error code when it looks like one,
 * and its description, if any, labelled as the provider's words and bounded, never as the console's.
 */
export function providerRefusal(error: unknown, description: unknown, what = 'the identity provider refused the sign-in'): string {
  const code = typeof error === 'string' && ERROR_CODE.test(error) ? ` (error code ${error})` : '';
  const words = typeof description === 'string' && description.trim() !== '' ? `. The identity provider's own description, not versiongate's: "${quoted(description)}"` : '';
  return `${what}${code}${words}`;
}

const b64url = (b: Buffer) => b.toString('base64url');

export function newPkce(): { state: string; verifier: string; challenge: string; nonce: string } {
  const verifier = b64url(randomBytes(32));
  return { state: b64url(randomBytes(16)), verifier, challenge: b64url(createHash('sha256').update(verifier).digest()), nonce: b64url(randomBytes(16)) };
}

/** https, or http to a loopback address only (as for VERSIONGATE_JWKS_URL). */
function checkEndpoint(what: string, text: unknown): string {
  if (typeof text !== 'string') throw new OidcError(`the discovery document has no ${what}`);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new OidcError(`the discovery document's ${what} is not a URL`);
  }
  const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) throw new OidcError(`the ${what} must be https (plain http only on loopback)`);
  return url.toString();
}

export function createOidc(settings: OidcSettings, fetchImpl: typeof fetch = fetch) {
  let discovery: Promise<Discovery> | undefined;
  const discover = () =>
    (discovery ??= (async () => {
      const url = `${settings.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
      checkEndpoint('issuer', url);
      const res = await fetchImpl(url, { signal: AbortSignal.timeout(10_000) });
      if (!res.ok) throw new OidcError(`the discovery document ${url} answered HTTP ${res.status}`);
      const doc = (await res.json()) as Record<string, unknown>;
      // The document must name the issuer it was fetched from (OpenID Connect Discovery 1.0, 4.3).
      if (doc.issuer !== settings.issuer) throw new OidcError(`the discovery document names issuer ${String(doc.issuer)}, not ${settings.issuer}`);
      return { authorization_endpoint: checkEndpoint('authorization_endpoint', doc.authorization_endpoint), token_endpoint: checkEndpoint('token_endpoint', doc.token_endpoint) };
    })().catch((err: unknown) => {
      discovery = undefined; // try again next time
      throw err;
    }));

  return {
    settings,
    async authorizationUrl(redirectUri: string, p: { state: string; challenge: string; nonce: string }): Promise<string> {
      const d = await discover();
      const url = new URL(d.authorization_endpoint);
      url.searchParams.set('response_type', 'code');
      url.searchParams.set('client_id', settings.clientId);
      url.searchParams.set('redirect_uri', redirectUri);
      url.searchParams.set('scope', settings.scope);
      url.searchParams.set('state', p.state);
      url.searchParams.set('nonce', p.nonce);
      url.searchParams.set('code_challenge', p.challenge);
      url.searchParams.set('code_challenge_method', 'S256');
      return url.toString();
    },
    /** Exchanges the code; returns the access token (a JWT the gateway verifies). */
    async exchange(code: string, redirectUri: string, verifier: string): Promise<string> {
      const d = await discover();
      const res = await fetchImpl(d.token_endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, client_id: settings.clientId, code_verifier: verifier }),
        signal: AbortSignal.timeout(10_000),
      });
      const body = (await res.json().catch(() => ({}))) as Record<string, unknown>;
      if (!res.ok) throw new OidcError(providerRefusal(body.error, body.error_description, `the identity provider's token endpoint refused the code (HTTP ${res.status})`));
      if (typeof body.access_token !== 'string') throw new OidcError('the token endpoint answered without an access_token');
      return body.access_token;
    },
  };
}

export type Oidc = ReturnType<typeof createOidc>;
