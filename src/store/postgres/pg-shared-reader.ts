/**
 * The read every write request makes first (readPackage, one statement per turn of the event loop:
 * pg-coalesced-reads.ts), on a few connections that those reads share.
 *
 * Through the pool, each of these reads takes a connection of its own for one round trip. Under load
 * (32 requests at once) the pool's connections were all busy, and a read waited for one longer than
 * it ran (~5 ms on average with 10 connections), while a group-commit batch held another. Here the
 * reads keep up to `size` of the pool's connections and send their statements on them pipelined
 * (node-postgres `pipeline`): a read is sent at once, on the connection with the fewest reads in
 * flight, without waiting for those before it. Each pipelined statement ends with its own Sync, so
 * outside a transaction one read's error is that read's alone.
 *
 * The connections come out of the pool, so the replica still opens at most its pool size; a pool too
 * small to spare them (see readerConnections) leaves the reads on the pool as before. A connection
 * that fails (not a SQL error: the connection itself) is dropped and a new one taken at the next read.
 */
import type pg from 'pg';
import { connectionLost } from './pg-unavailable.ts';

interface Held {
  client: pg.PoolClient;
  inFlight: number;
  dropped: boolean;
}

/**
 * Connections the reads may keep, out of a pool of `poolSize`: two, when the pool has room for them
 * beside a batch and the transactions that are not grouped; none (reads through the pool) otherwise.
 */
export function readerConnections(poolSize: number): number {
  return poolSize >= 6 ? 2 : 0;
}

export class PgSharedReader {
  #held: Held[] = [];
  #connecting: Promise<Held> | null = null;
  #inFlight = new Set<Promise<unknown>>();
  #closed = false;

  constructor(
    private readonly pool: pg.Pool,
    private readonly size: number,
  ) {}

  query<R extends pg.QueryResultRow>(config: pg.QueryConfig): Promise<pg.QueryResult<R>> {
    if (this.#closed) return Promise.reject(new Error('the store is closed'));
    if (this.size === 0) return this.pool.query<R>(config);
    const run = this.#run<R>(config);
    this.#inFlight.add(run);
    const forget = () => this.#inFlight.delete(run);
    run.then(forget, forget);
    return run;
  }

  async #run<R extends pg.QueryResultRow>(config: pg.QueryConfig): Promise<pg.QueryResult<R>> {
    const held = await this.#pick();
    held.inFlight++;
    try {
      return await held.client.query<R>(config);
    } catch (err) {
      if (connectionLost(err)) this.#drop(held, err);
      throw err;
    } finally {
      held.inFlight--;
    }
  }

  /** An idle held connection; else a new one if there is room; else the least busy one. */
  async #pick(): Promise<Held> {
    let least: Held | undefined;
    for (const h of this.#held) if (!least || h.inFlight < least.inFlight) least = h;
    if (least && least.inFlight === 0) return least;
    if (this.#held.length < this.size && !this.#connecting) {
      this.#connecting = this.#connect().finally(() => (this.#connecting = null));
      if (!least) return this.#connecting;
    }
    return least ?? this.#connecting!;
  }

  async #connect(): Promise<Held> {
    const client = await this.pool.connect();
    const held: Held = { client, inFlight: 0, dropped: false };
    // A held connection is out of the pool, which listens for errors only on idle ones: without this
    // listener, a connection the server ends would take the process down.
    client.on('error', (err) => this.#drop(held, err));
    client.on('end', () => this.#drop(held, new Error('the connection ended')));
    if (this.#closed) {
      client.release();
      throw new Error('the store is closed');
    }
    this.#held.push(held);
    return held;
  }

  #drop(held: Held, err: unknown): void {
    if (held.dropped) return;
    held.dropped = true;
    this.#held = this.#held.filter((h) => h !== held);
    held.client.release(err instanceof Error ? err : new Error(String(err)));
  }

  /** Waits for the reads in flight, then gives the connections back to the pool. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.allSettled([...this.#inFlight]);
    await this.#connecting?.catch(() => undefined);
    for (const h of this.#held) if (!h.dropped) ((h.dropped = true), h.client.release());
    this.#held = [];
  }
}
