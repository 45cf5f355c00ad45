/**
 * The benchmark's knobs, read once from the environment. Only BENCH_SECONDS is meant to be turned:
 * everything else is fixed so that two runs on one machine measure the same thing.
 */
import { resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');

export interface LoadSettings {
  /** Seconds of load per measurement (BENCH_SECONDS, default 20). */
  seconds: number;
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
  return { seconds, memorySeconds, connections: 32, policySizes: [0, 1_000, 10_000], warmupSeconds };
}
