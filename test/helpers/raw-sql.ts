/**
 * SQL run straight on a test gateway's database, as someone with access to it would: to put it in a
 * state the gateway never writes (tampering), or the one a database written by older code is in.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { TestGateway } from './gateway.ts';

/** `constraintsOff`: foreign keys (SQLite) and triggers with them (PostgreSQL's replica role) are not enforced. */
export async function sqlOnGateway(gw: TestGateway, statements: string[], { constraintsOff = false } = {}): Promise<void> {
  if (gw.databaseUrl) {
    const client = new pg.Client({ connectionString: gw.databaseUrl });
    await client.connect();
    try {
      if (constraintsOff) await client.query('SET session_replication_role = replica');
      for (const s of statements) await client.query(s);
    } finally {
      await client.end();
    }
    return;
  }
  const db = new Database(join(gw.dataDir, 'data', 'versiongate.db'));
  try {
    if (constraintsOff) db.pragma('foreign_keys = OFF');
    for (const s of statements) db.exec(s);
  } finally {
    db.close();
  }
}
