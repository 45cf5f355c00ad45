/**
 * Runs a reload's checks (validation, compilation, the set's tests, the candidate) in a worker
 * thread (reload-worker.ts) and resolves with its answer. Anything that goes wrong with the worker
 * (it cannot start, crashes, exits without answering, or takes too long) is a refusal: the caller
 * keeps the live set.
 */
import { Worker } from 'node:worker_threads';
import { workerEntry } from '../package-root.ts';
import type { CompiledPolicySet } from './load-policies.ts';
import type { ReloadAnswer, ReloadJob, ReloadMessage } from './reload-worker.ts';

/** A reload that takes longer is refused (a set of tens of thousands of policies checks in seconds). */
export const RELOAD_WORKER_TIMEOUT_MS = 5 * 60_000;

export function checkOffThread(job: ReloadJob, timeoutMs: number = RELOAD_WORKER_TIMEOUT_MS): Promise<ReloadAnswer> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (answer: ReloadAnswer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void worker?.terminate();
      resolve(answer);
    };
    const refuse = (why: string) => done({ live: { errors: [`the policy check failed in its worker thread: ${why}`] } });
    let worker: Worker | undefined;
    const timer = setTimeout(() => refuse(`no answer after ${timeoutMs} ms`), timeoutMs);
    try {
      worker = startPolicyWorker({ versiongateReload: job });
    } catch (err) {
      refuse((err as Error).message);
      return;
    }
    // The parts of the answer arrive one per turn of the event loop: ask for the next only after
    // this turn's requests had their chance (see reloadMessages).
    const parts = { live: emptyParts(), candidate: emptyParts() };
    worker.on('message', (m: ReloadMessage) => {
      if (m.kind === 'part' || m.kind === 'heads') {
        if (m.kind === 'heads') parts[m.which].heads.push(m.json);
        else {
          const into = parts[m.which][m.field];
          for (const [k, v] of m.entries) into[k] = v;
        }
        setImmediate(() => worker?.postMessage('next'));
        return;
      }
      const fill = (set: CompiledPolicySet, p: ReturnType<typeof emptyParts>) =>
        Object.assign(set, { policies: p.policies as CompiledPolicySet['policies'], sources: p.sources as CompiledPolicySet['sources'] });
      const { live, candidate } = m.answer;
      if ('set' in live) {
        fill(live.set, parts.live);
        live.headParts = parts.live.heads;
      }
      if (candidate && 'set' in candidate) {
        fill(candidate.set, parts.candidate);
        candidate.headParts = parts.candidate.heads;
      }
      done(m.answer);
    });
    worker.once('error', (err) => refuse(err.message));
    worker.once('exit', (code) => refuse(`the worker exited (code ${code}) without an answer`));
  });
}

/** A thread of the policy worker (reload-worker.ts) for one job, named by its workerData. */
export function startPolicyWorker(workerData: Record<string, unknown>): Worker {
  return new Worker(workerEntry(import.meta.url, './reload-worker-boot.mjs', 'reload-worker'), {
    workerData,
    // Nothing from the parent's command line: V8 flags such as --no-turbo-inline-js-wasm-calls are
    // process-wide (and refused in a worker's execArgv), and `--import tsx` is not applied to a
    // worker on Node 20; the worker's entry registers tsx itself.
    execArgv: [],
  });
}

function emptyParts(): { policies: Record<string, unknown>; sources: Record<string, unknown>; heads: string[] } {
  return { policies: {}, sources: {}, heads: [] };
}
