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
 * READ COMMITTED, on purpose: a guard written as `UPDATE … WHERE revision = $read` that waited for
 * another replica's commit re-reads the row it waited for, so a lost race is a stale guard (409),
 * never a lost update; and the head read after waiting for its lock is the committed head.
 */
import type pg from 'pg';
import { linkRecords, type ChainHead } from '../../audit/chain-link.ts';
import type { AuditRecordInput } from '../../audit/audit-record.ts';
import { ServiceUnavailableError } from '../../errors.ts';
import type { GroupCommitOptions } from '../sqlite/group-commit.ts';

/** A record's seq, known once its batch has linked it (read it in the finisher, after commit). */
export interface AuditSeq {
  seq: number;
}

/** What a write runs with: its batch's connection, inside its savepoint. */
export interface PgTx {
  query<R extends pg.QueryResultRow = Record<string, unknown>>(text: string, params?: unknown[]): Promise<pg.QueryResult<R>>;
  /** Queues a record to be linked to the chain with this write (dropped if the write rolls back). */
  audit(record: AuditRecordInput): AuditSeq;
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
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

type Outcome = { ok: true; finish: () => unknown; records: AuditRecordInput[]; seqs: AuditSeq[] } | { ok: false; error: unknown };

export class PgGroupCommitter {
  #queue: Pending[] = [];
  #running: Promise<void> | null = null;
  #closed = false;

  constructor(
    private readonly pool: pg.Pool,
    private readonly options: GroupCommitOptions,
  ) {}

  get queued(): number {
    return this.#queue.length;
  }

  submit<T>(work: PgWork<T>, guard?: PgWriteGuard<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new Error('the store is closed'));
    if (this.#queue.length >= this.options.maxQueued) {
      return Promise.reject(new ServiceUnavailableError(`The gateway has ${this.#queue.length} writes waiting to commit; try again shortly.`));
    }
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ work: work as PgWork<unknown>, guard: guard as PgWriteGuard<unknown> | undefined, resolve: resolve as (v: unknown) => void, reject });
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
      for (const p of batch) p.reject(err);
      return;
    }
    let broken: unknown;
    try {
      await client.query('BEGIN');
      // Never wait forever on another replica's lock: a write that cannot get one fails (and says so).
      await client.query(`SET LOCAL lock_timeout = '15s'`);
      const outcomes: Outcome[] = [];
      for (const p of batch) outcomes.push(await this.#runOne(client, p));
      const records: AuditRecordInput[] = [];
      const seqs: AuditSeq[] = [];
      for (const o of outcomes) if (o.ok) (records.push(...o.records), seqs.push(...o.seqs));
      if (records.length > 0) await appendLinked(client, records, seqs);
      await client.query('COMMIT');
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
      for (const p of batch) p.reject(err);
    } finally {
      // A connection whose transaction failed in an unknown way is not given back to the pool.
      client.release(broken instanceof Error && !isSqlError(broken) ? broken : undefined);
    }
  }

  async #runOne(client: pg.PoolClient, p: Pending): Promise<Outcome> {
    const records: AuditRecordInput[] = [];
    const seqs: AuditSeq[] = [];
    const tx: PgTx = {
      query: (text, params) => client.query(text, params),
      audit: (record) => {
        const seq = { seq: 0 };
        records.push(record);
        seqs.push(seq);
        return seq;
      },
    };
    await client.query('SAVEPOINT write');
    try {
      const finish = p.guard?.cancelled() ? await p.guard.instead(tx) : await p.work(tx);
      await client.query('RELEASE SAVEPOINT write');
      return { ok: true, finish, records, seqs };
    } catch (error) {
      // Throws (failing the whole batch) only if the connection itself is gone.
      await client.query('ROLLBACK TO SAVEPOINT write');
      return { ok: false, error };
    }
  }
}

/** Links records after the head (locked until commit), inserts them and moves the head once. */
export async function appendLinked(client: pg.PoolClient | pg.Client, records: readonly AuditRecordInput[], seqs?: readonly AuditSeq[]): Promise<ChainHead> {
  const head = (await client.query<ChainHead>(`SELECT seq, hash, time FROM audit_head WHERE id = 1 FOR UPDATE`)).rows[0];
  if (!head) throw new Error('the audit chain has no head row: the database was not migrated by versiongate');
  const linked = linkRecords(head, records);
  const col = <K extends keyof (typeof linked)[number]['columns']>(k: K) => linked.map((l) => l.columns[k]);
  await client.query(
    `INSERT INTO audit_log (seq, prev_hash, hash, decision_id, time, request_id, source_ip, principal_issuer, principal_subject,
       principal_groups, action, resource, decision, reason, determining_policies, errors, policy_set_hash, request, changes,
       outcome, http_status, repository_arn, domain_arn, package_name)
     SELECT * FROM unnest($1::int[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
       $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[], $16::text[], $17::text[], $18::text[], $19::text[],
       $20::text[], $21::int[], $22::text[], $23::text[], $24::text[])`,
    [
      col('seq'), col('prevHash'), col('hash'), col('decisionId'), col('time'), col('requestId'), col('sourceIp'), col('principalIssuer'),
      col('principalSubject'), col('principalGroups'), col('action'), col('resource'), col('decision'), col('reason'), col('determiningPolicies'),
      col('errors'), col('policySetHash'), col('request'), col('changes'), col('outcome'), col('httpStatus'), col('repositoryArn'), col('domainArn'),
      col('packageName'),
    ],
  );
  const versionSeqs: number[] = [];
  const versions: string[] = [];
  for (const l of linked) for (const v of l.versions) (versionSeqs.push(l.columns.seq), versions.push(v));
  if (versions.length > 0) await client.query(`INSERT INTO audit_versions (seq, version) SELECT * FROM unnest($1::int[], $2::text[])`, [versionSeqs, versions]);
  const last = linked[linked.length - 1]!.head;
  await client.query(`UPDATE audit_head SET seq = $1, hash = $2, time = $3 WHERE id = 1`, [last.seq, last.hash, last.time]);
  if (seqs) linked.forEach((l, i) => (seqs[i]!.seq = l.columns.seq));
  return last;
}

/** An error PostgreSQL reported (the connection is still good), as opposed to a broken connection. */
export function isSqlError(err: unknown): boolean {
  return typeof (err as { code?: unknown })?.code === 'string' && /^[0-9A-Z]{5}$/.test((err as { code: string }).code);
}
