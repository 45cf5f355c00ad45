/**
 * `versiongate serve`: starts the gateway and runs until SIGTERM or SIGINT; SIGHUP reloads the
 * policy set. Loaded only by this command: it brings the whole server (hono, cedar, drizzle…).
 */
import type { Config } from '../config.ts';
import { startGateway } from '../main.ts';

export async function serve(cfg: Config, io: { err(text: string): void }): Promise<number> {
  const gateway = await startGateway(cfg);
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      // A second signal: the operator wants out now. Nothing is half-written: each commit is one
      // synchronous SQLite transaction, and the signal handler cannot run in the middle of one.
      if (stopping) {
        io.err(`versiongate: ${signal} received again, exiting now\n`);
        process.exit(1);
      }
      stopping = true;
      io.err(`versiongate: ${signal} received, closing\n`);
      gateway.close().then(
        () => resolve(0),
        (err: unknown) => {
          io.err(`versiongate: closing failed: ${(err as Error).message}\n`);
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
    // SIGHUP reloads the policy set: validated and tested first, swapped in only if both pass.
    process.on('SIGHUP', () => {
      void gateway.reloadPolicies().then((o) => io.err(`versiongate: SIGHUP: policy set ${o.outcome}${o.hash ? ` (${o.hash.slice(0, 12)})` : ''}\n`));
    });
  });
}
