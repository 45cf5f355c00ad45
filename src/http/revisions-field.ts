/**
 * `versionRevisions` as the operations take it: version → revision, every key the client sent kept.
 * zod's record builds its result with `result[key] = value`, and a key "__proto__" set that way
 * changes the result's prototype instead of adding an entry: a revision given for a version named
 * `__proto__` was dropped, and the change it was meant to guard went ahead unguarded. JSON.parse keeps
 * such a key as an own property, so the entries are read from the parsed body as they are, into a
 * record with no prototype (by-version.ts).
 */
import { z } from '@hono/zod-openapi';
import { byVersion } from '../registry/by-version.ts';

function isStringMap(value: unknown): value is Record<string, string> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  return Object.values(value).every((v) => typeof v === 'string');
}

export const revisionsField = z
  .custom<Record<string, string>>(isStringMap, { message: 'versionRevisions must be an object of version: revision strings' })
  .transform((raw) => {
    const out = byVersion<string>();
    for (const [version, revision] of Object.entries(raw)) out[version] = revision;
    return out;
  })
  .optional()
  .openapi({ type: 'object', additionalProperties: { type: 'string' }, example: { '4.1.0': '25/UjBleHs1DZewk+zozoeqH/R80Rc9gL1P8vbzVMJ4=' } });
