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
import { createLogger } from '../log.ts';
import { startGateway, type Gateway } from '../main.ts';

export async function serve(cfg: Config): Promise<number> {
  // The gateway's own logger: what the signals do is said in its JSON lines, as everything else is.
  const logger = createLogger(cfg.logLevel);
  let gateway: Gateway | undefined;
  let stopRequested: string | undefined;
  let reloadRequested = false;
  let finish: ((code: number) => void) | undefined;
  const done = new Promise<number>((resolve) => (finish = resolve));

  const close = (g: Gateway, signal: string) => {
    logger.info('signal received: closing', { signal });
    g.close().then(
      () => finish!(0),
      (err: unknown) => {
        logger.error('closing failed', { err: (err as Error).message });
        finish!(1);
      },
    );
  };
  const stop = (signal: string) => {
    // A second signal: the operator wants out now. Nothing is half-written: each commit is one
    // synchronous SQLite transaction, and the signal handler cannot run in the middle of one.
    if (stopRequested) {
      logger.warn('signal received again: exiting now', { signal });
      process.exit(1);
    }
    stopRequested = signal;
    if (gateway) close(gateway, signal);
    else logger.info('signal received while starting: closing once started', { signal });
  };
  // SIGHUP reloads the policy set: validated and tested first, swapped in only if both pass.
  const reload = (g: Gateway) => void g.reloadPolicies().then((o) => logger.info('policy reload on SIGHUP', { outcome: o.outcome, hash: o.hash ?? null }));
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
    gateway = await startGateway(cfg, { logger });
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
