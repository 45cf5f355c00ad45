import type { ApiClient, Fetch } from './api-client.ts';
import type { Session, Sessions } from './session.ts';
import type { OidcSettings } from './oidc.ts';
import type { Logger } from '../log.ts';

/** Per-request variables of the console's pages. */
export interface ConsoleEnv {
  Variables: {
    /** Set by the gateway's request-context middleware. */
    requestId: string;
    session: Session;
    api: ApiClient;
  };
}

export interface ConsoleDeps {
  /** The gateway app's own fetch handler: the console's only way to data. */
  fetch: Fetch;
  now: () => number;
  logger: Logger;
  /** Development mode: the sign-in page shows the `versiongate token` command. */
  devMode?: boolean | undefined;
  /** Sign-in with the identity provider (authorization code + PKCE), when a client id is set. */
  oidc?: OidcSettings | undefined;
}

export interface ConsoleContext extends ConsoleDeps {
  sessions: Sessions;
}

/** What the server configures; the rest comes from the app. */
export type ConsoleSettings = Pick<ConsoleDeps, 'devMode' | 'oidc'>;
