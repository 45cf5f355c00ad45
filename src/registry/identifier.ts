import { randomInt } from 'node:crypto';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
export const IDENTIFIER_LENGTH = 12;
/** What an identifier looks like (versions created before identifiers existed got 12 lowercase hex ones). */
export const IDENTIFIER_PATTERN = /^[0-9A-Za-z]{12}$/;

/**
 * A package version's permanent identifier, like Cloudsmith's `7jvagMH9vk7u`: 12 random base62
 * characters (about 71 bits), URL-safe. The store's unique index guarantees it is never reused.
 */
export function newIdentifier(): string {
  let id = '';
  for (let i = 0; i < IDENTIFIER_LENGTH; i++) id += BASE62[randomInt(BASE62.length)];
  return id;
}
