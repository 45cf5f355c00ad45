/**
 * Records keyed by what clients name: versions and identifiers are their text, and "__proto__" or
 * "constructor" are names like any other. On a plain object, `failed["__proto__"] = …` replaced the
 * object's prototype instead of adding a failure (an all-or-nothing change then went ahead with the
 * rest, and its answer hid the failure), and `revisions["constructor"]` found Object's own function
 * (a version so named could never be changed or deleted).
 */

/** An empty record with no prototype: every key is the client's, none inherited. */
export const byVersion = <T>(): Record<string, T> => Object.create(null) as Record<string, T>;

/** The record's own entry for `key`, never an inherited property. */
export const ownEntry = <T>(record: Readonly<Record<string, T>> | undefined, key: string): T | undefined => (record !== undefined && Object.hasOwn(record, key) ? record[key] : undefined);
