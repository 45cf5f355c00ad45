/**
 * Runs the policy bench's work on a supplied set (candidate-job.ts) in a worker thread of its own, so
 * that checking a set of thousands of policies never holds up the requests of the event loop (a
 * 4,588-policy check had held every request, /healthz included, for 2.6 s). At most
 * MAX_CANDIDATE_WORKERS run at once: each holds its own cedar-wasm instance (tens of MiB), and the
 * bench is no reason for a gateway to run out of memory. A worker that cannot start, fails, or has
 * not answered when the request's deadline comes is a 503: nothing was changed, and the live set is
 * untouched. What a failed worker said goes to the log, not to the client: it may name the gateway's
 * files (a module that would not load) or Cedar's internals.
 */
import { ServiceUnavailableError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { CandidateAnswer, CandidateJob } from './candidate-job.ts';
import { startPolicyWorker } from './check-off-thread.ts';

/** How many candidate workers a gateway runs at once, by default. */
export const MAX_CANDIDATE_WORKERS = 2;

export interface CandidateRunner {
  /** The job's answer from a worker thread; a 503 when the workers are all taken or the worker fails. */
  run(job: CandidateJob, timeoutMs: number): Promise<CandidateAnswer>;
  /** How many workers are running now. */
  running(): number;
}

export function createCandidateRunner(logger: Logger, maxWorkers = MAX_CANDIDATE_WORKERS): CandidateRunner {
  let running = 0;
  return {
    running: () => running,
    run(job, timeoutMs) {
      if (running >= maxWorkers) {
        return Promise.reject(new ServiceUnavailableError(`${running} policy checks are running already, the most this gateway runs at once: nothing was done; try again shortly.`));
      }
      running++;
      return inWorker(job, timeoutMs, logger).finally(() => running--);
    },
  };
}

function inWorker(job: CandidateJob, timeoutMs: number, logger: Logger): Promise<CandidateAnswer> {
  return new Promise<CandidateAnswer>((resolve, reject) => {
    let settled = false;
    const finish = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void worker?.terminate();
      outcome();
    };
    /** `said` is for the client; `err`, when the worker failed, only for the log. */
    const fail = (said: string, err?: unknown) =>
      finish(() => {
        if (err !== undefined) logger.error('a policy check worker failed', { err });
        reject(new ServiceUnavailableError(`The policy check could not run in its worker thread (${said}): nothing was changed; try again shortly.`, { cause: err }));
      });
    let worker: ReturnType<typeof startPolicyWorker> | undefined;
    const timer = setTimeout(() => fail(`no answer within the request's ${Math.round(timeoutMs)} ms`), timeoutMs);
    try {
      worker = startPolicyWorker({ versiongateCandidate: job });
    } catch (err) {
      fail('it could not start', err);
      return;
    }
    worker.once('message', (answer: CandidateAnswer) => finish(() => resolve(answer)));
    worker.once('error', (err) => fail('it failed', err));
    worker.once('exit', (code) => fail(`it exited (code ${code}) without an answer`));
  });
}
