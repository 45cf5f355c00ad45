/**
 * Resident memory of another process, read from /proc/<pid>/status (VmRSS) once a second: the
 * kernel's own figure, so sampling costs the process under test nothing.
 */
import { readFileSync } from 'node:fs';

/** VmRSS in KiB; undefined when the process is gone or /proc is not there (not Linux). */
export function readRssKiB(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

export interface RssSampler {
  /** Stops sampling; returns the samples, the i-th taken i+1 seconds after the start. */
  stop(): number[];
}

export function sampleRss(pid: number, everyMs = 1_000): RssSampler {
  const samples: number[] = [];
  const timer = setInterval(() => {
    const kib = readRssKiB(pid);
    if (kib !== undefined) samples.push(kib);
  }, everyMs);
  // Never what keeps the benchmark alive, should a failure skip stop().
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      return samples;
    },
  };
}
