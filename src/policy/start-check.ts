/**
 * The start's policy check, begun before the server loads its modules, and before Cedar (nothing
 * here loads it, so the worker starts as early as it can). When the data directory
 * records that this exact set passed its checks under this exact code (checked-set-cache.ts), that
 * record is the answer, read here in a few milliseconds. Otherwise the checks (strict validation,
 * the set's tests) run in a worker thread (reload-worker.ts), on the other core, while this thread
 * loads the server; PolicyManager.startChecked judges the answer, and nothing is served before.
 */
import { checkOffThread } from './check-off-thread.ts';
import { checkKey, codeVersion, readCheckedSet } from './checked-set-cache.ts';
import { readPolicyDir, readTestFiles } from './policy-files.ts';
import type { ReloadAnswer } from './reload-worker.ts';

export interface StartCheckJob {
  dir: string;
  groupsClaim?: string | undefined;
  checkedSetCache: string;
  reloadTimeoutMs?: number | undefined;
}

export function beginStartCheck(job: StartCheckJob): ReloadAnswer | Promise<ReloadAnswer> {
  try {
    const inputs = { sources: readPolicyDir(job.dir), tests: readTestFiles(job.dir), groupsClaim: job.groupsClaim };
    const recorded = readCheckedSet(job.checkedSetCache, checkKey(inputs, codeVersion()), inputs.sources);
    if (recorded) return { live: { set: recorded.set, start: { checks: 'reused', schemaJson: recorded.schemaJson, warnings: [] } } };
  } catch {
    // Anything amiss (a folder that cannot be read, code that cannot be named): the worker's full
    // check finds it again and says what it is.
  }
  return checkOffThread({ dir: job.dir, groupsClaim: job.groupsClaim, start: { checkedSetCache: job.checkedSetCache } }, job.reloadTimeoutMs);
}
