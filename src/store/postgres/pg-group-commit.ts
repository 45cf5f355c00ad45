/**
 * Group commit for PostgreSQL, the counterpart of src/store/sqlite/group-commit.ts: the writes that
 * requests submit while a batch is running are committed together in the next transaction, each in a
 * savepoint of its own (a stale guard or a constraint rolls back that write alone), and every
 * submitter learns its outcome only after COMMIT has returned. If the transaction fails, every write
 * of the batch fails with it.
 *
 * The audit chain across replicas: a write only *queues* its audit records. Once every write of the
 * batch has run, the batch locks the chain's head row (FOR UPDATE: every replica's batches take it),
 * links all the records after it (src/audit/chain-link.ts), inserts them in one statement, moves the
 * head once and commits. So the lock is held once per batch, for the inserts and the commit only,
 * and two replicas can never take the same seq or fork the chain (seq is also the primary key, so a
 * locking bug would be an error, never a fork). Row locks of the writes are taken before the head's,
 * always in that order, so the head adds no deadlock.
 *
 * Round trips: on a busy machine each one waits for the server process to be scheduled, so a batch
 * sends as few as it can. The pool's connections are pipelined (node-postgres `pipeline`): BEGIN and
 * the statements of every *single-statement* write (see PgSubmitOptions.single) leave at once, without
 * savepoints; then the other writes run one at a time, each in its savepoint; then the head is locked;
 * then the records inserted and the head moved in one statement, with COMMIT right behind it. A batch
 * of single-statement writes only sends the head's lock with its writes' statements, so it takes two
 * round trips in all: the writes and the lock, then the records and COMMIT. If a single-statement write
 * fails in PostgreSQL (a deadlock with another replica, a lock timeout, a constraint), the transaction
 * is aborted, so it is rolled back and the whole batch runs again the careful way, every write in a
 * savepoint of its own, one after another (nothing was acknowledged yet, so running again is safe).
 *
 * A lost connection (pg-unavailable.ts): if it broke before COMMIT left, PostgreSQL rolled the
 * transaction back with its session, and every write is told it was not made (503). If it broke after,
 * the batch may have committed: it is looked up in the chain (#committed) before anyone is told
 * anything, and its writes get their ordinary answers if it did.
 *
 * READ COMMITTED, on purpose: a guard written as `UPDATE … WHERE revision = $read` that waited for
 * another replica's commit re-reads the row it waited for, so a lost race is a stale guard (409),
 * never a lost update; and the head read after waiting for its lock is the committed head.
 */
import type pg from 'pg';
import { linkRecords, type ChainHead } from '../../audit/chain-link.ts';
import type { AuditRecordInput } from '../../audit/audit-record.ts';
import { ServiceUnavailableError } from '../../errors.ts';
import { holdWrites, sendTogether } from './pg-send-together.ts';
import { within } from '../../within.ts';
import { databaseUnavailable, databaseUnreachable, isSqlError, lockNotGranted } from './pg-unavailable.ts';
import type { GroupCommitOptions } from '../sqlite/group-commit.ts';

/** A record's seq, known once its batch has linked it (read it in the finisher, after commit). */
export interface AuditSeq {
  seq: number;
}

/** What a write runs with: its batch's connection, inside its savepoint. */
export interface PgTx {
  query<R extends pg.QueryResultRow = Record<string, unknown>>(text: string, params?: unknown[]): Promise<pg.QueryResult<R>>;
  /**
   * A hot statement as a named prepared statement: parsed and planned once per connection rather
   * than at every run (on a busy machine, parsing and planning a write's statement cost more than
   * running it). `name` must stand for this one text only.
   */
  prepared<R extends pg.QueryResultRow = Record<string, unknown>>(name: string, text: string, params: unknown[]): Promise<pg.QueryResult<R>>;
  /** Queues a record to be linked to the chain with this write (dropped if the write rolls back). */
  audit(record: AuditRecordInput): AuditSeq;
}

/**
 * Thrown by a single-statement write that finds it changed more or less than it should have: without a
 * savepoint the change cannot be undone alone, so the batch is rolled back and runs again with one.
 */
export class PartialWrite extends Error {}

export interface PgSubmitOptions {
  /**
   * The write runs at most one statement (or none: a write that only queues records), and when it
   * throws (a PartialWrite aside) that statement changed nothing: a guard that did not hold. It then
   * needs no savepoint, and it may run beside the batch's other single-statement writes, all their
   * statements sent at once: each is atomic and guarded on its own, so any order of them is an order
   * they could have run in one by one. Its statement must be sent before the write's first await: the
   * head's lock may leave right after it.
   */
  single?: boolean | undefined;
}

/** A write: runs its statements, and returns how to build its result once the batch is durable. */
export type PgWork<T> = (tx: PgTx) => Promise<() => T>;

export interface PgWriteGuard<T> {
  cancelled(): boolean;
  instead: PgWork<T>;
}

interface Pending {
  work: PgWork<unknown>;
  guard: PgWriteGuard<unknown> | undefined;
  single: boolean;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

type Outcome = { ok: true; finish: () => unknown; records: AuditRecordInput[]; seqs: AuditSeq[] } | { ok: false; error: unknown; aborted?: boolean };

/**
 * One round trip: the transaction, a bound on waiting for another replica's lock (never wait forever:
 * a write that cannot get one fails, and says so), and a bound on this transaction sitting idle. A
 * batch is never idle for long between its statements; one that is belongs to a replica that froze
 * (a paused VM, a stalled process) or lost its network while holding row locks, the chain's head among
 * them, which every replica's next batch needs. PostgreSQL would notice a vanished client only through
 * TCP keepalives, by default hours later; this way it ends that transaction after 5 s, well within
 * the others' 15 s wait, and the replica, if it wakes, finds its session gone: nothing it had not
 * been told was committed.
 */
const BEGIN = `BEGIN; SET LOCAL lock_timeout = '15s'; SET LOCAL idle_in_transaction_session_timeout = '5s'`;

/** How a batch in doubt is asked about while PostgreSQL cannot be reached: for 16 s at most, the pauses doubling from 250 ms. */
export interface DoubtAsking {
  forMs: number;
  firstPauseMs: number;
}
const DOUBT_ASKING: DoubtAsking = { forMs: 16_000, firstPauseMs: 250 };

export class PgGroupCommitter {
  #queue: Pending[] = [];
  #running: Promise<void> | null = null;
  #closed = false;

  constructor(
    private readonly pool: pg.Pool,
    private readonly options: GroupCommitOptions,
    /** How long, and from what first pause, a batch in doubt is asked about (#committed); tests pass short ones. */
    private readonly asking: DoubtAsking = DOUBT_ASKING,
  ) {}

  get queued(): number {
    return this.#queue.length;
  }

  submit<T>(work: PgWork<T>, guard?: PgWriteGuard<T>, options: PgSubmitOptions = {}): Promise<T> {
    if (this.#closed) return Promise.reject(new Error('the store is closed'));
    if (this.#queue.length >= this.options.maxQueued) {
      return Promise.reject(new ServiceUnavailableError(`The gateway has ${this.#queue.length} writes waiting to commit; try again shortly.`));
    }
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ work: work as PgWork<unknown>, guard: guard as PgWriteGuard<unknown> | undefined, single: options.single === true, resolve: resolve as (v: unknown) => void, reject });
      if (!this.#running) this.#running = new Promise<void>((done) => setImmediate(() => void this.#drain().finally(done)));
    });
  }

  /** Commits what waits, then refuses new writes. */
  async close(): Promise<void> {
    while (this.#running) await this.#running;
    this.#closed = true;
  }

  async #drain(): Promise<void> {
    try {
      while (this.#queue.length > 0) await this.#runBatch(this.#queue.splice(0, this.options.maxBatch));
    } finally {
      this.#running = null;
    }
  }

  async #runBatch(batch: Pending[]): Promise<void> {
    const started = performance.now();
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      for (const p of batch) p.reject(databaseUnreachable(err) ? databaseUnavailable(err, 'not made') : err);
      return;
    }
    let broken: unknown;
    try {
      const outcomes = (await this.#attempt(client, batch, true)) ?? (await this.#attempt(client, batch, false))!;
      this.options.onCommit?.(batch.length, (performance.now() - started) / 1000);
      outcomes.forEach((o, i) => {
        const p = batch[i]!;
        if (!o.ok) return p.reject(o.error);
        try {
          p.resolve(o.finish());
        } catch (err) {
          p.reject(err);
        }
      });
    } catch (err) {
      broken = err;
      await client.query('ROLLBACK').catch(() => undefined);
      // Lost before COMMIT left (one lost after it is settled in #attempt): the session took the
      // transaction with it.
      const reason = databaseUnreachable(err) ? databaseUnavailable(err, 'not made') : (lockNotGranted(err) ?? err);
      for (const p of batch) p.reject(reason);
    } finally {
      // A connection whose transaction failed in an unknown way is not given back to the pool.
      client.release(broken instanceof Error && !isSqlError(broken) ? broken : undefined);
    }
  }

  /**
   * The batch's transaction, COMMIT included. `together`: the single-statement writes are sent at once,
   * without savepoints; if one of them aborted the transaction, it is rolled back and the answer is
   * null (run it again with `together` false: every write in its own savepoint, one at a time).
   */
  async #attempt(client: pg.PoolClient, batch: Pending[], together: boolean): Promise<Outcome[] | null> {
    const sending: Sending = { open: true };
    // BEGIN, the single-statement writes' statements and the head's lock are all sent before this
    // function's first await: they leave in one write to the socket (pg-send-together.ts).
    const { begin, early, head } = sendTogether(client, () => {
      const begin = client.query(BEGIN);
      const early = batch.map((p) => (together && p.single ? this.#runOne(client, p, false, sending) : undefined));
      // A batch of single-statement writes only (a replica's status changes): each has sent its
      // statement by now (PgSubmitOptions.single), so the head's lock leaves right behind them, after
      // their row locks as always, without a round trip of its own.
      const head = together && batch.every((p) => p.single) ? lockHead(client) : undefined;
      if (head) {
        sending.open = false;
        head.catch(() => undefined); // awaited below, once the writes' answers are in
      }
      return { begin, early, head };
    });
    const beginError = await begin.then(
      () => undefined,
      (err: unknown) => err ?? new Error('BEGIN failed'),
    );
    const settled = await Promise.all(early);
    if (beginError !== undefined) throw beginError;
    if (settled.some((o) => o && !o.ok && o.aborted)) {
      await client.query('ROLLBACK');
      return null;
    }
    const outcomes: Outcome[] = [];
    for (const [i, p] of batch.entries()) outcomes.push(settled[i] ?? (await this.#runOne(client, p, true, sending)));
    // The chain shows the writes in the order they ran, which is the serial order their answers rest
    // on: the single-statement writes sent with BEGIN first, then the others, one by one. In the
    // batch's own order, a write that saw a row before another write of its batch changed it could
    // be recorded after that change.
    const indexes = [...outcomes.keys()];
    const ran = [...indexes.filter((i) => settled[i] !== undefined), ...indexes.filter((i) => settled[i] === undefined)];
    const records: AuditRecordInput[] = [];
    const seqs: AuditSeq[] = [];
    for (const i of ran) {
      const o = outcomes[i]!;
      if (o.ok) (records.push(...o.records), seqs.push(...o.seqs));
    }
    try {
      await commitLinked(client, records, seqs, head);
    } catch (err) {
      if (!(err instanceof CommitInDoubt)) throw err;
      const made = await this.#committed(err.last);
      if (made === true) return outcomes;
      throw databaseUnavailable(err.cause, made === false ? 'not made' : 'unknown');
    }
    return outcomes;
  }

  /**
   * Whether the batch whose last record is `last` committed, its connection lost after its COMMIT
   * left. Its transaction held the chain's head row until it ended, one way or the other, so the
   * chain is read under that row's lock: once the transaction is over (within BEGIN's idle limit, if
   * the server has not noticed the connection is gone). Undefined: it could not be told (no record to
   * tell by, or PostgreSQL not answering within `asking.forMs`).
   */
  async #committed(last: ChainHead | undefined): Promise<boolean | undefined> {
    if (!last) return undefined;
    // A restart or a failover takes PostgreSQL away for seconds, and every batch it cut off in the
    // middle of its COMMIT is in doubt: ask again while it cannot be reached, rather than answer
    // "could not be checked" to all of them. Bounded as a whole: against a database that hangs, one
    // try alone could take the statement limit. (This replica's other writes wait meanwhile; they
    // could not commit either.)
    const giveUpAt = performance.now() + this.asking.forMs;
    for (let pause = this.asking.firstPauseMs; ; pause *= 2) {
      const answer = await within(giveUpAt - performance.now(), this.#askChain(last));
      if (answer !== 'unreachable') return answer;
      if (performance.now() + pause >= giveUpAt) return undefined;
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }

  /** One try at #committed: the answer, undefined if PostgreSQL answered but not that, or 'unreachable'. */
  async #askChain(last: ChainHead): Promise<boolean | undefined | 'unreachable'> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      return databaseUnreachable(err) ? 'unreachable' : undefined;
    }
    let failed: unknown;
    try {
      await client.query(BEGIN);
      await lockHead(client);
      const row = (await client.query<{ hash: string }>({ name: 'vg_audit_hash_at', text: `SELECT hash FROM audit_log WHERE seq = $1`, values: [last.seq] })).rows[0];
      return row?.hash === last.hash;
    } catch (err) {
      failed = err;
      return databaseUnreachable(err) ? 'unreachable' : undefined;
    } finally {
      await client.query('ROLLBACK').catch(() => undefined);
      client.release(failed instanceof Error && !isSqlError(failed) ? failed : undefined);
    }
  }

  /** Runs one write, in a savepoint of its own unless `savepoint` is false (single-statement writes). */
  async #runOne(client: pg.PoolClient, p: Pending, savepoint: boolean, sending: Sending): Promise<Outcome> {
    const records: AuditRecordInput[] = [];
    const seqs: AuditSeq[] = [];
    // A single-statement write whose statement would leave after the head's lock (sent after its
    // first await) would take a row lock after the head's: the batch runs again the careful way.
    const late = () => !savepoint && !sending.open;
    const tx: PgTx = {
      query: (text, params) => (late() ? Promise.reject(new SentLate()) : client.query(text, params)),
      prepared: (name, text, values) => (late() ? Promise.reject(new SentLate()) : client.query({ name, text, values })),
      audit: (record) => {
        const seq = { seq: 0 };
        records.push(record);
        seqs.push(seq);
        return seq;
      },
    };
    if (savepoint) await client.query('SAVEPOINT write');
    try {
      const finish = p.guard?.cancelled() ? await p.guard.instead(tx) : await p.work(tx);
      if (savepoint) await client.query('RELEASE SAVEPOINT write');
      return { ok: true, finish, records, seqs };
    } catch (error) {
      // Without a savepoint, an error PostgreSQL reported has aborted the whole transaction, and a
      // PartialWrite left a change that cannot be undone alone: the batch must run again, carefully.
      if (!savepoint) return { ok: false, error, aborted: isSqlError(error) || error instanceof PartialWrite || !(error instanceof Error) };
      // Throws (failing the whole batch) only if the connection itself is gone.
      await client.query('ROLLBACK TO SAVEPOINT write');
      return { ok: false, error: lockNotGranted(error) ?? error };
    }
  }
}

/** Whether single-statement writes may still send their statement (not once the head's lock is sent). */
interface Sending {
  open: boolean;
}

/** A single-statement write sent its statement after its first await (see #runOne). */
class SentLate extends PartialWrite {
  constructor() {
    super('a single-statement write sent its statement after its first await');
  }
}


/**
 * The batch's COMMIT was sent, and its answer lost with the connection: the batch may have committed
 * or not. `last`: its last record, by which the chain tells (none when the batch had no record).
 */
class CommitInDoubt extends Error {
  constructor(
    readonly last: ChainHead | undefined,
    options: ErrorOptions,
  ) {
    super('the connection was lost after COMMIT was sent', options);
  }
}

const HEAD_LOCK = { name: 'vg_audit_head_lock', text: `SELECT seq, hash, time FROM audit_head WHERE id = 1 FOR UPDATE` };

/** The chain's head, locked until the transaction ends. */
async function lockHead(client: pg.PoolClient | pg.Client): Promise<ChainHead> {
  const head = (await client.query<ChainHead>(HEAD_LOCK)).rows[0];
  if (!head) throw new Error('the audit chain has no head row: the database was not migrated by versiongate');
  return head;
}

/**
 * Links the records after the head (`head`, if its lock was already sent, else locked here), and
 * commits: the statement that inserts them and moves the head, and COMMIT, leave together (one round
 * trip while the head is locked). COMMIT is sent only once the insert is on its way: a statement the
 * client refuses to send is refused by the next tick (node-postgres reports it on process.nextTick),
 * and then nothing is committed. If PostgreSQL fails the insert, the transaction is aborted and its
 * COMMIT answers ROLLBACK: the batch fails, its writes undone with it.
 */
export async function commitLinked(client: pg.PoolClient | pg.Client, records: readonly AuditRecordInput[], seqs: readonly AuditSeq[], head?: Promise<ChainHead>): Promise<void> {
  const locked = head ? await head : records.length > 0 ? await lockHead(client) : undefined;
  let appended: Promise<unknown> = Promise.resolve();
  let last: ChainHead | undefined;
  // The insert and COMMIT leave in one write (pg-send-together.ts); a refused insert's bytes, if any
  // were queued, still leave before the throw, and no COMMIT with them.
  const release = holdWrites(client);
  let commit: Promise<pg.QueryResult>;
  try {
    if (records.length > 0) {
      let refused: unknown;
      const append = appendStatement(locked!, records, seqs);
      last = append.last;
      appended = new Promise((resolve, reject) =>
        client.query(append.statement, (err: Error | undefined, result: pg.QueryResult) => (err ? reject((refused = err)) : resolve(result))),
      );
      // Settled below, or thrown as `refused` (then never awaited: a rejection nobody handles ends the process).
      appended.catch(() => undefined);
      await new Promise((resolve) => process.nextTick(resolve));
      if (refused !== undefined) throw refused;
    }
    commit = client.query('COMMIT');
  } finally {
    release();
  }
  const [insert, committed] = await Promise.allSettled([appended, commit]);
  if (committed.status === 'fulfilled' && committed.value.command === 'COMMIT') return;
  // PostgreSQL refused the insert: the transaction was aborted, and COMMIT answered ROLLBACK.
  if (insert.status === 'rejected' && !databaseUnreachable(insert.reason)) throw insert.reason;
  if (committed.status === 'fulfilled') throw new Error(`the batch's transaction was not committed (COMMIT answered ${committed.value.command})`);
  if (databaseUnreachable(committed.reason)) throw new CommitInDoubt(last, { cause: committed.reason });
  throw committed.reason;
}

/**
 * The one statement that inserts the records linked after `head`, their versions, and moves the head
 * to `last`, the last of them; `seqs` get the records' seqs (read them only once the transaction
 * committed).
 */
function appendStatement(head: ChainHead, records: readonly AuditRecordInput[], seqs: readonly AuditSeq[]): { statement: pg.QueryConfig; last: ChainHead } {
  const linked = linkRecords(head, records);
  const col = <K extends keyof (typeof linked)[number]['columns']>(k: K) => linked.map((l) => l.columns[k]);
  const versionSeqs: number[] = [];
  const versions: string[] = [];
  for (const l of linked) for (const v of l.versions) (versionSeqs.push(l.columns.seq), versions.push(v));
  const last = linked[linked.length - 1]!.head;
  linked.forEach((l, i) => (seqs[i]!.seq = l.columns.seq));
  const statement = {
    name: 'vg_audit_append',
    text: `WITH records AS (
       INSERT INTO audit_log (seq, prev_hash, hash, decision_id, time, request_id, source_ip, principal_issuer, principal_subject,
         principal_groups, action, resource, decision, reason, determining_policies, errors, policy_set_hash, request, changes,
         outcome, http_status, repository_arn, domain_arn, package_name)
       SELECT * FROM unnest($1::int[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
         $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[], $16::text[], $17::text[], $18::text[], $19::text[],
         $20::text[], $21::int[], $22::text[], $23::text[], $24::text[])
     ), versions AS (
       INSERT INTO audit_versions (seq, version) SELECT * FROM unnest($25::int[], $26::text[])
     )
     UPDATE audit_head SET seq = $27, hash = $28, time = $29 WHERE id = 1`,
    values: [
      col('seq'), col('prevHash'), col('hash'), col('decisionId'), col('time'), col('requestId'), col('sourceIp'), col('principalIssuer'),
      col('principalSubject'), col('principalGroups'), col('action'), col('resource'), col('decision'), col('reason'), col('determiningPolicies'),
      col('errors'), col('policySetHash'), col('request'), col('changes'), col('outcome'), col('httpStatus'), col('repositoryArn'), col('domainArn'),
      col('packageName'), versionSeqs, versions, last.seq, last.hash, last.time,
    ],
  };
  return { statement, last };
}
