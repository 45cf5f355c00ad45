/**
 * Several statements on one connection as one write to its socket. node-postgres writes each
 * statement (its Parse/Bind/Describe/Execute/Sync) with a write of its own: one system call each, and
 * to a server on this machine one wake-up of its backend each, which under load cost the event loop
 * more than anything else on the PostgreSQL path (bench:load --postgres, profiled). With the socket
 * corked, the statements sent meanwhile queue in order and leave together when it is uncorked; the
 * bytes, and so what PostgreSQL runs, are the same as without.
 */
import type pg from 'pg';

type Corkable = { cork?(): void; uncork?(): void };

function socketOf(client: pg.ClientBase): Corkable | undefined {
  return (client as unknown as { connection?: { stream?: Corkable } }).connection?.stream;
}

/** Holds the client's writes until `release` is called (once); each cork needs its release. */
export function holdWrites(client: pg.ClientBase): () => void {
  const socket = socketOf(client);
  if (!socket?.cork || !socket.uncork) return () => undefined;
  socket.cork();
  let released = false;
  return () => {
    if (released) return;
    released = true;
    socket.uncork!();
  };
}

/** Runs `send` (which sends statements without waiting for them) so that they leave in one write. */
export function sendTogether<T>(client: pg.ClientBase, send: () => T): T {
  const release = holdWrites(client);
  try {
    return send();
  } finally {
    release();
  }
}
