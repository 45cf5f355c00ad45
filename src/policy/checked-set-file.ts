/** The record of the checked policy set (checked-set-cache.ts), in the data directory; named apart from its code, which loads Cedar. */
export const CHECKED_SET_FILE = 'policy-check-cache.json';
