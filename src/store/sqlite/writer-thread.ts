/**
 * The SQLite writer thread: a connection of its own that makes every write of the store, grouped
 * into commits (group-commit.ts), so the SQL of the writes and the fsync of each COMMIT run beside the
 * event loop instead of on it. WAL lets the main thread's connection keep reading meanwhile, and a
 * reader starting after a COMMIT sees it; the main thread ends its open read snapshot before it takes
 * in these answers (turn-snapshot.ts), so a request that reads after its write was acknowledged
 * sees its own change.
 *
 * Answers leave only after the COMMIT that holds their write has returned (synchronous=FULL), one
 * message per batch. The thread's clock is the system clock: the main thread keeps its writes in
 * process when it is given another (tests).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { systemClock } from '../../clock.ts';
import type { Store, VersionCommit } from '../store.ts';
import { openSqliteConnection } from './sqlite-store.ts';
import { decodeWrites, flattenError, type WriteAnswer, type WriteRequest, type WriterInit, type WriterMessage } from './writer-protocol.ts';

const init = (workerData as { versiongateWriter: WriterInit }).versiongateWriter;
const port = parentPort!;
let answers: WriteAnswer[] = [];
let commits: number[] = [];
let flushScheduled = false;
/** Writes submitted and not yet answered: close() answers every one before the thread ends. */
const inFlight = new Set<Promise<void>>();

// Not through answeringUnavailable: its SqliteErrors cross as they are, and the store on the other
// side (threaded-store.ts) answers them as it answers its own reads'.
const store: Store = openSqliteConnection({
  file: init.file,
  clock: systemClock,
  migrate: false,
  groupCommit: {
    maxBatch: init.maxBatch,
    maxQueued: init.maxQueued,
    onCommit: (size) => {
      commits.push(size);
      scheduleFlush();
    },
  },
}).store;

/** Every answer settled in this turn of the loop (a batch's, resolved together) leaves in one message. */
function scheduleFlush(): void {
  if (flushScheduled) return;
  flushScheduled = true;
  setImmediate(() => {
    flushScheduled = false;
    const message: WriterMessage = { answers, commits };
    answers = [];
    commits = [];
    port.postMessage(message);
  });
}

function answer(a: WriteAnswer): void {
  answers.push(a);
  scheduleFlush();
}

/**
 * The deadline crosses as a point in time (performance.timeOrigin + now()): the same instant in every
 * thread. The timeout's record is written by the parent, which can build it.
 */
function withDeadline(arg: unknown): unknown {
  if (typeof arg !== 'object' || arg === null || !('deadlineAt' in arg)) return arg;
  const { deadlineAt, ...rest } = arg as { deadlineAt: number };
  const check = () => performance.timeOrigin + performance.now() >= deadlineAt;
  return { ...rest, expired: { check, remainingMs: () => Math.max(0, deadlineAt - performance.timeOrigin - performance.now()) } satisfies VersionCommit['expired'] };
}

// 'close' is the one message that is neither a list of writes nor one as JSON text (which starts with '[').
port.on('message', (m: WriteRequest[] | string) => {
  if (m === 'close') {
    // Commits what waits, answers all of it (every answer settles a few ticks after its commit), then
    // ends: the parent waits for the exit.
    const end = (closeError?: unknown) => {
      port.postMessage({ answers, commits, ...(closeError === undefined ? {} : { closeError: flattenError(closeError) }) });
      port.close();
    };
    store
      .close()
      .then(() => Promise.allSettled(inFlight))
      .then(() => end(), end);
    return;
  }
  for (const request of decodeWrites(m)) run(request);
});

/** Submits one write to the group committer (synchronously, so one message's writes share a batch). */
function run(m: WriteRequest): void {
  const method = (store as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>)[m.method];
  if (typeof method !== 'function') {
    answer({ id: m.id, ok: false, error: flattenError(new Error(`the writer has no method ${m.method}`)) });
    return;
  }
  const args = m.args.map(withDeadline);
  const answered = method.apply(store, args).then(
    (value) => answer({ id: m.id, ok: true, value }),
    (err: unknown) => answer({ id: m.id, ok: false, error: flattenError(err) }),
  );
  inFlight.add(answered);
  void answered.finally(() => inFlight.delete(answered));
}
