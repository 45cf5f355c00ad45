/**
 * Every SQLite LIMIT whose value is bound at run time. It matters for the statements prepared once
 * and run many times: SQLite (3.46 and later) reads the value of a bare `LIMIT ?` while it plans the query,
 * so binding a value marks the prepared statement expired and its next run prepares it all over
 * again: a ListPackageVersions page re-parsed and re-planned its SQL on every request (~14 µs of the
 * event loop, 7% of an audited read, in `perf` under bench:load's scenario 2). Behind a CAST the
 * planner cannot see the value, plans once (the plan it made for a LIMIT it could not see anyway),
 * and the statement stays prepared. The value is still an integer: callers bind whole numbers.
 */
export const BOUND_LIMIT = 'LIMIT CAST(? AS INTEGER)';
