/**
 * Where the client commands send their requests, and with which token.
 *
 * They use the unmodified AWS SDK for CodeArtifact rather than hand-written fetch calls: versiongate
 * promises that the SDK works against it, so the CLI is one more proof of that promise instead of a
 * second, private implementation of the wire format (paths, query names, header bindings, error
 * types) that could drift from it. The SDK signs with SigV4 as usual, with placeholder credentials
 * that the gateway never reads; a middleware after signing replaces the Authorization header with
 * the bearer token.
 */
import type { CodeartifactClient } from '@aws-sdk/client-codeartifact';
import { ClientUsageError, type FlagSpec, type FlagValues } from './args.ts';
import { keepAnswerBodies } from './non-json-answer.ts';
import { sdk } from './sdk.ts';

export const CONNECTION_FLAGS: readonly FlagSpec[] = [
  { name: 'endpoint-url', type: 'string', help: 'The gateway, e.g. http://127.0.0.1:8080 (or VERSIONGATE_ENDPOINT).' },
  { name: 'token', type: 'string', help: 'The bearer token (or VERSIONGATE_TOKEN, which other local users cannot read from the process list).' },
  { name: 'cli-connect-timeout', type: 'integer', help: 'Seconds to wait for a connection; 0 waits forever. Default 60.' },
  { name: 'cli-read-timeout', type: 'integer', help: 'Seconds a connection may stay silent; 0 waits forever. Default 60.' },
];

export interface Connection {
  endpoint: string;
  token: string;
  connectTimeoutMs: number;
  readTimeoutMs: number;
}

const DEFAULT_TIMEOUT_SECONDS = 60;
/** A JWT (three base64url parts) or any other RFC 6750 token68: nothing that could break a header. */
const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*$/;

export function resolveConnection(values: FlagValues, env: NodeJS.ProcessEnv): Connection {
  const endpoint = (values['endpoint-url'] as string | undefined) ?? env.VERSIONGATE_ENDPOINT;
  if (!endpoint) throw new ClientUsageError('no endpoint: give --endpoint-url or set VERSIONGATE_ENDPOINT (for example http://127.0.0.1:8080)');
  const token = ((values.token as string | undefined) ?? env.VERSIONGATE_TOKEN ?? '').trim();
  if (!token) throw new ClientUsageError('no token: give --token or set VERSIONGATE_TOKEN (for example TOKEN=$(versiongate token --sub alice))');
  if (!TOKEN68.test(token)) throw new ClientUsageError('the token is not a bearer token (expected a JWT such as eyJ…)');
  return {
    endpoint: checkEndpoint(endpoint),
    token,
    connectTimeoutMs: 1000 * ((values['cli-connect-timeout'] as number | undefined) ?? DEFAULT_TIMEOUT_SECONDS),
    readTimeoutMs: 1000 * ((values['cli-read-timeout'] as number | undefined) ?? DEFAULT_TIMEOUT_SECONDS),
  };
}

/**
 * An http(s) URL without credentials. The bearer token is a password for as long as it lives, so,
 * as with the JWKS URL, plain http is accepted only to a loopback address: anywhere else the token
 * would cross the network readable by anyone on the path.
 */
function checkEndpoint(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ClientUsageError(`the endpoint URL '${raw}' is not a URL (expected for example http://127.0.0.1:8080)`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ClientUsageError(`the endpoint URL must be http or https, got '${raw}'`);
  if (url.username || url.password) throw new ClientUsageError('the endpoint URL must not contain credentials; give the token with --token or VERSIONGATE_TOKEN');
  if (url.search || url.hash) throw new ClientUsageError(`the endpoint URL must not have a query or fragment, got '${raw}'`);
  if (url.protocol === 'http:' && !isLoopback(url.hostname)) {
    throw new ClientUsageError(`refusing to send the token over plain http to ${url.host}: use https (plain http is only for a loopback address such as 127.0.0.1)`);
  }
  return url.href.replace(/\/$/, '');
}

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

/**
 * `retries`: whether the SDK may repeat a request that failed with a throttling or server error
 * (its standard mode, 3 attempts, as the aws CLI does). Reads may. Changes are sent once: a change
 * the server committed before the connection broke would, retried, come back as a confusing
 * MISMATCHED_REVISION or NOT_ALLOWED, and a streamed upload cannot be replayed anyway.
 */
const ignore = () => {};
const SILENT = { trace: ignore, debug: ignore, info: ignore, warn: ignore, error: ignore };

export function codeArtifactClient(connection: Connection, options: { retries: boolean }): CodeartifactClient {
  const client = new (sdk().CodeartifactClient)({
    endpoint: connection.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'versiongate', secretAccessKey: 'unused' },
    maxAttempts: options.retries ? 3 : 1,
    requestHandler: { connectionTimeout: connection.connectTimeoutMs, socketTimeout: connection.readTimeoutMs },
    // Without a logger of its own the SDK writes some warnings to the console (a failed streamed
    // upload adds "An error was encountered in a non-retryable streaming request."); the command
    // reports every failure itself, in one line.
    logger: SILENT,
  });
  const authorization = `Bearer ${connection.token}`;
  client.middlewareStack.add(
    (next) => async (args) => {
      (args.request as { headers: Record<string, string> }).headers['authorization'] = authorization;
      return next(args);
    },
    // finalizeRequest runs after the SigV4 signer, so this header is the one that is sent.
    { step: 'finalizeRequest', priority: 'low', name: 'versiongateBearerToken' },
  );
  keepAnswerBodies(client);
  return client;
}
