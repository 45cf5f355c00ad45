/**
 * Text as a database column can hold it. A lone UTF-16 surrogate has no UTF-8 encoding (both stores
 * write U+FFFD instead) and PostgreSQL's text refuses NUL outright, failing the whole statement.
 * Raw-text columns of an audit record (and the index columns derived from it) go through here before
 * they are hashed, so the hash covers what is stored. JSON-valued columns need no such care: their
 * canonical text escapes both.
 */
const UNSTORABLE = /[\0\p{Cs}]/u;
const UNSTORABLE_ALL = /[\0\p{Cs}]/gu;

export const holdsUnstorable = (s: string | null | undefined): boolean => typeof s === 'string' && UNSTORABLE.test(s);

/** The text with each lone surrogate and NUL replaced by U+FFFD; the same string when it has none. */
export const storableText = (s: string): string => (UNSTORABLE.test(s) ? s.replace(UNSTORABLE_ALL, '\ufffd') : s);

export const storableOrNull = (s: string | null): string | null => (s === null ? null : storableText(s));
