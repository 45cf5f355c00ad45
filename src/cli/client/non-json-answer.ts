/**
 * An answer that is not CodeArtifact's JSON (a proxy's HTML 502 page, a plain-text body) makes the
 * SDK's deserializer fail in its own words ("Unexpected token '<' … Deserialization error: to see
 * the raw response, inspect the hidden field {error}.$response"), or name an "UnknownError", and
 * the body it could not read is gone by then. What the user needs is what came back: its HTTP
 * status and the start of its body. A middleware below the deserializer keeps each answer's bytes,
 * and describeNonJsonAnswer says what a failed command got when that was not a JSON document.
 */
import type { CodeartifactClient } from '@aws-sdk/client-codeartifact';

/** The SDK's HttpResponse, as far as it is used here. */
interface RawResponse {
  statusCode: number;
  reason?: string;
  headers: Record<string, string | undefined>;
  body?: unknown;
}

/** Each answer's bytes, by its response object (the one a failure carries as $response). */
const bodies = new WeakMap<object, Buffer>();

const EXCERPT_CHARS = 200;

export function keepAnswerBodies(client: CodeartifactClient): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      const response = result.response as RawResponse;
      // An asset's bytes stream into OUTFILE and are never held; its error answers are kept as any other.
      if (context.commandName === 'GetPackageVersionAssetCommand' && response.statusCode < 300) return result;
      const bytes = await bytesOf(response.body);
      bodies.set(response, bytes);
      // The SDK's body collector takes bytes as they are (keep-extensions.ts hands them on the same way).
      response.body = new Uint8Array(bytes);
      return result;
    },
    // Below the deserializer (priority low in its step): it sees the answer before it is parsed.
    { step: 'deserialize', priority: 'low', name: 'versiongateKeepAnswerBodies' },
  );
}

/**
 * `http://127.0.0.1:8080 answered HTTP 502 Bad Gateway with a body that is not JSON (text/html):
 * "502 Bad Gateway nginx"`, for a failure whose answer was not a JSON document; undefined otherwise.
 */
export function describeNonJsonAnswer(e: unknown, endpoint: string | undefined): string | undefined {
  const response = (e as { $response?: unknown } | null | undefined)?.$response;
  if (typeof response !== 'object' || response === null) return undefined;
  const bytes = bodies.get(response);
  if (bytes === undefined || isJsonDocument(bytes)) return undefined;
  const { statusCode, reason, headers } = response as RawResponse;
  const answered = `${endpoint ?? 'the endpoint'} answered HTTP ${statusCode}${reason ? ` ${reason}` : ''}`;
  const type = headerValue(headers, 'content-type');
  const excerpt = excerptOf(bytes, type);
  if (excerpt === '') return `${answered} with an empty body, not CodeArtifact's JSON`;
  return `${answered} with a body that is not JSON${type ? ` (${type})` : ''}: "${excerpt}"`;
}

async function bytesOf(body: unknown): Promise<Buffer> {
  if (body === undefined || body === null) return Buffer.alloc(0);
  if (typeof body === 'string') return Buffer.from(body);
  if (body instanceof Uint8Array) return Buffer.from(body);
  const chunks: Buffer[] = [];
  for await (const chunk of body as AsyncIterable<Uint8Array | string>) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

function isJsonDocument(bytes: Buffer): boolean {
  try {
    const value: unknown = JSON.parse(bytes.toString('utf8'));
    return typeof value === 'object' && value !== null;
  } catch {
    return false;
  }
}

function headerValue(headers: RawResponse['headers'], name: string): string | undefined {
  return Object.entries(headers ?? {}).find(([k]) => k.toLowerCase() === name)?.[1];
}

/**
 * The start of the body as one short line: an HTML page's text without its tags, and never a
 * control character (a body could hold escape sequences that would rewrite the user's terminal).
 */
function excerptOf(bytes: Buffer, type: string | undefined): string {
  let text = bytes.subarray(0, 16 * EXCERPT_CHARS).toString('utf8');
  if (type?.includes('html')) text = text.replace(/<(script|style)\b[\s\S]*?(<\/\1>|$)/gi, ' ').replace(/<[^>]*>?/g, ' ');
  text = text.replace(/[\p{Cc}\s]+/gu, ' ').trim();
  return text.length > EXCERPT_CHARS ? `${text.slice(0, EXCERPT_CHARS)}…` : text;
}
