/**
 * `versiongate serve`: starts the gateway and runs until SIGTERM or SIGINT; SIGHUP reloads the
 * policy set. Loaded only by this command: it brings the whole server (hono, cedar, drizzle…).
 *
 * The signals are taken from the first moment, not once the start is done: a start can take a while
 * (blob removals queued by a crash, migrations), and Node's own answer to SIGHUP is to exit, so a
 * policy deploy that signalled every replica killed the one that was starting. A SIGHUP during the
 * start reloads once it is done; a SIGTERM or SIGINT closes the gateway as soon as it has started; a
 * second one exits at once.
 */
import type { Config } from '../config.ts';
import { startGateway, type Gateway } from '../main.ts';

export async function serve(cfg: Config, io: { err(text: string): void }): Promise<number> {
  let gateway: Gateway | undefined;
  let stopRequested: string | undefined;
  let reloadRequested = false;
  let finish: ((code: number) => void) | undefined;
  const done = new Promise<number>((resolve) => (finish = resolve));

  const close = (g: Gateway, signal: string) => {
    io.err(`versiongate: ${signal} received, closing\n`);
    g.close().then(
      () => finish!(0),
      (err: unknown) => {
        io.err(`versiongate: closing failed: ${(err as Error).message}\n`);
        finish!(1);
      },
    );
  };
  const stop = (signal: string) => {
    // A second signal: the operator wants out now. Nothing is half-written: each commit is one
    // synchronous SQLite transaction, and the signal handler cannot run in the middle of one.
    if (stopRequested) {
      io.err(`versiongate: ${signal} received again, exiting now\n`);
      process.exit(1);
    }
    stopRequested = signal;
    if (gateway) close(gateway, signal);
    else io.err(`versiongate: ${signal} received while starting; closing once started\n`);
  };
  // SIGHUP reloads the policy set: validated and tested first, swapped in only if both pass.
  const reload = (g: Gateway) =>
    void g.reloadPolicies().then((o) => io.err(`versiongate: SIGHUP: policy set ${o.outcome}${o.hash ? ` (${o.hash.slice(0, 12)})` : ''}\n`));
  const onHup = () => {
    if (gateway) reload(gateway);
    else reloadRequested = true;
  };
  const onTerm = () => stop('SIGTERM');
  const onInt = () => stop('SIGINT');
  process.on('SIGTERM', onTerm);
  process.on('SIGINT', onInt);
  process.on('SIGHUP', onHup);
  try {
    gateway = await startGateway(cfg);
  } catch (err) {
    process.off('SIGTERM', onTerm);
    process.off('SIGINT', onInt);
    process.off('SIGHUP', onHup);
    throw err;
  }
  if (stopRequested) close(gateway, stopRequested);
  else if (reloadRequested) reload(gateway);
  return done;
}
