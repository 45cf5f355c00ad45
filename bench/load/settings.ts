/**
 * The benchmark's knobs, read once from the environment. Only BENCH_SECONDS (and BENCH_ROUNDS) is
 * meant to be turned: everything else is fixed so that two runs on one machine measure the same thing.
 */
import { resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');

export interface LoadSettings {
  /** Seconds of load per round of a measurement, for each server (BENCH_SECONDS, default 20). */
  seconds: number;
  /**
   * Rounds of each measurement (BENCH_ROUNDS, default 3): the bare server and versiongate take turns,
   * and the ratio is the median of the rounds' own ratios. On a shared machine one server's run alone
   * can land in someone else's busy seconds (the bare server's rate moved from 18,000 to 40,000 req/s
   * between the rows of one run); a turn each, several times, sees both servers under the same load.
   */
  rounds: number;
  /** Seconds of the memory run: 60 by default, scaled by BENCH_SECONDS/20 when set, never under 12. */
  memorySeconds: number;
  /** Concurrent keep-alive connections the driver holds open (the issue fixes 32). */
  connections: number;
  /** Generated policies beside the shipped ones, one versiongate start each. */
  policySizes: readonly number[];
  /**
   * Seconds of the same load each server gets, unmeasured, before its first measurement
   * (BENCH_WARMUP, default 3): a fresh process runs its first seconds in V8's interpreter and
   * baseline code while the optimizing compiler catches up, which a gateway that runs for days pays once.
   */
  warmupSeconds: number;
}

const DEFAULT_SECONDS = 20;
const DEFAULT_MEMORY_SECONDS = 60;
const DEFAULT_WARMUP_SECONDS = 3;
const DEFAULT_ROUNDS = 3;
/** RSS is compared from the 10th second on, so the memory run must outlast it with samples to spare. */
const MIN_MEMORY_SECONDS = 12;

export function loadSettings(env: NodeJS.ProcessEnv): LoadSettings {
  const text = env.BENCH_SECONDS;
  let seconds = DEFAULT_SECONDS;
  let memorySeconds = DEFAULT_MEMORY_SECONDS;
  if (text !== undefined && text !== '') {
    seconds = Number(text);
    if (!/^\d+$/.test(text) || seconds < 1 || seconds > 3600) {
      throw new Error(`BENCH_SECONDS must be a whole number of seconds from 1 to 3600, got '${text}'`);
    }
    memorySeconds = Math.max(MIN_MEMORY_SECONDS, Math.round((DEFAULT_MEMORY_SECONDS * seconds) / DEFAULT_SECONDS));
  }
  const warmupText = env.BENCH_WARMUP;
  const warmupSeconds = warmupText === undefined || warmupText === '' ? DEFAULT_WARMUP_SECONDS : Number(warmupText);
  if (warmupText !== undefined && warmupText !== '' && (!/^\d+$/.test(warmupText) || warmupSeconds > 600)) {
    throw new Error(`BENCH_WARMUP must be a whole number of seconds from 0 to 600, got '${warmupText}'`);
  }
  const roundsText = env.BENCH_ROUNDS;
  const rounds = roundsText === undefined || roundsText === '' ? DEFAULT_ROUNDS : Number(roundsText);
  if (roundsText !== undefined && roundsText !== '' && (!/^\d+$/.test(roundsText) || rounds < 1 || rounds > 100)) {
    throw new Error(`BENCH_ROUNDS must be a whole number from 1 to 100, got '${roundsText}'`);
  }
  return { seconds, memorySeconds, connections: 32, policySizes: [0, 1_000, 10_000], warmupSeconds, rounds };
}
