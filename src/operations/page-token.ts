/**
 * Pagination tokens for ListPackageVersions and ListPackageVersionAssets: the cursor of the next page,
 * with an HMAC-SHA256 over it and the request it belongs to (operation, package ARN, version, filters).
 * A token is therefore accepted only by the listing that issued it: it cannot be edited, nor replayed
 * against another package (whose ARN Cedar judged separately), another version or other filters.
 * The key is generated on first use and kept in the store, so it survives restarts and is shared by
 * every instance on the same database.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { ValidationError } from '../errors.ts';
import type { Store } from '../store/store.ts';

const SECRET_NAME = 'page-token-hmac-sha256';
/** A token is a few hundred characters; anything much longer was not issued here. */
const MAX_TOKEN_LENGTH = 2048;

/** What a token is bound to: it is valid only for a request with the same scope. */
export interface PageScope {
  operation: string;
  resource: string;
  [field: string]: string | number | undefined;
}

export interface PageTokens {
  issue(scope: PageScope, cursor: unknown): Promise<string>;
  /** The cursor in a token issued for this scope; a ValidationException for anything else. */
  read(scope: PageScope, token: string): Promise<unknown>;
}

export function createPageTokens(store: Pick<Store, 'ensureSecret'>): PageTokens {
  let key: Promise<Uint8Array> | undefined;
  const secret = () => (key ??= store.ensureSecret(SECRET_NAME, randomBytes(32)).catch((err: unknown) => {
    key = undefined; // a failed read is retried by the next request, not cached
    throw err;
  }));
  const mac = async (scope: PageScope, payload: string) =>
    createHmac('sha256', await secret())
      .update(scopeText(scope))
      .update('\n')
      .update(payload)
      .digest();

  return {
    async issue(scope, cursor) {
      const payload = Buffer.from(JSON.stringify(cursor)).toString('base64url');
      return `${payload}.${(await mac(scope, payload)).toString('base64url')}`;
    },
    async read(scope, token) {
      const invalid = () => new ValidationError('next-token is not a token this listing issued: pass the nextToken of the previous page of the same request');
      if (token.length > MAX_TOKEN_LENGTH) throw invalid();
      const match = /^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]{43})$/.exec(token);
      if (!match) throw invalid();
      const [, payload, signature] = match as unknown as [string, string, string];
      const expected = await mac(scope, payload);
      const given = Buffer.from(signature, 'base64url');
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalid();
      try {
        return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as unknown;
      } catch {
        throw invalid();
      }
    },
  };
}

/** The scope as one unambiguous text: fields sorted, JSON-encoded, absent ones left out. */
function scopeText(scope: PageScope): string {
  return JSON.stringify(
    Object.keys(scope)
      .filter((k) => scope[k] !== undefined)
      .sort()
      .map((k) => [k, scope[k]]),
  );
}
