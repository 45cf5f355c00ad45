/**
 * What each long gap between two turns of a benchmark's load was made of: time the event-loop thread
 * waited for a CPU while it could have run (the kernel's run-queue delay, from
 * /proc/self/task/<pid>/schedstat), garbage-collection pauses (perf_hooks 'gc' entries), and the rest,
 * which is work on the thread itself. On a shared 2-core machine the first part is other people's
 * processes; the other two are ours. Linux only: elsewhere the run-queue part reads as 0.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';

export interface Stall {
  /** performance.now() at the end of the last turn before the gap, and the gap's length (ms). */
  at: number;
  ms: number;
  /** Of it: on a CPU, waiting for a CPU while runnable (the rest the thread slept: GC helpers, locks), and garbage collection (ms). */
  runMs: number;
  waitMs: number;
  gcMs: number;
  /** The GC pauses inside it, e.g. "scavenge 23.1". */
  gcs: string[];
  /** What the caller was doing then (a phase name), when it said. */
  phase: string;
  /** The gap's end on the monotonic clock in µs, as V8's CPU profiles stamp their samples. */
  endMicros: number;
}

const micros = () => Number(process.hrtime.bigint() / 1000n);

const GC_KINDS: Record<number, string> = { 1: 'scavenge', 2: 'mark-compact', 4: 'incremental', 8: 'weak-callbacks', 16: 'minor-mark-compact' };

export class StallRecorder {
  readonly stalls: Stall[] = [];
  readonly #gcs: PerformanceEntry[] = [];
  readonly #observer: PerformanceObserver;
  readonly #fd: number | undefined;
  readonly #buf = Buffer.alloc(128);
  #lastEnd = performance.now();
  #lastWait = 0;
  #lastRun = 0;
  #runAtStart = 0;
  #lastRead = 0;
  #turnStart = 0;
  #waitAtStart = 0;
  phase = '';

  constructor(readonly thresholdMs: number) {
    let fd: number | undefined;
    try {
      fd = openSync(`/proc/self/task/${process.pid}/schedstat`, 'r');
    } catch {
      fd = undefined;
    }
    this.#fd = fd;
    this.#observer = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) if (e.duration >= 1) this.#gcs.push(e);
    });
    this.#observer.observe({ entryTypes: ['gc'] });
  }

  /** Time on a CPU and run-queue delay of the event-loop thread so far (ms, as run * 1e7 + wait would lose precision: two fields). */
  #sched(): [number, number] {
    if (this.#fd === undefined) return [0, 0];
    const n = readSync(this.#fd, this.#buf, 0, this.#buf.length, 0);
    const [run, wait] = this.#buf.toString('latin1', 0, n).split(' ');
    return [Number(run) / 1e6, Number(wait) / 1e6];
  }

  /** Call at the start of each turn of the load. */
  turnStart(): void {
    const now = performance.now();
    this.#turnStart = now;
    const gap = now - this.#lastEnd;
    if (gap > this.thresholdMs) {
      const [run, wait] = this.#sched();
      this.stalls.push({ at: this.#lastEnd, ms: gap, runMs: run - this.#lastRun, waitMs: wait - this.#lastWait, gcMs: 0, gcs: [], phase: this.phase, endMicros: micros() });
      this.#lastWait = wait;
      this.#lastRun = run;
      this.#lastRead = now;
    }
    this.#waitAtStart = this.#lastWait;
    this.#runAtStart = this.#lastRun;
  }

  /** Call at the end of each turn of the load. */
  turnEnd(): void {
    const now = performance.now();
    this.#lastEnd = now;
    if (now - this.#turnStart > this.thresholdMs) {
      const [run, wait] = this.#sched();
      this.stalls.push({ at: this.#turnStart, ms: now - this.#turnStart, runMs: run - this.#runAtStart, waitMs: wait - this.#waitAtStart, gcMs: 0, gcs: [], phase: `a turn of the load${this.phase ? `, ${this.phase}` : ''}`, endMicros: micros() });
      this.#lastWait = wait;
      this.#lastRun = run;
      this.#lastRead = now;
      return;
    }
    // The run-queue counter is read at most once a millisecond: a stall's own part is then off by a
    // millisecond at most, and the load is not slowed by a read per turn.
    if (now - this.#lastRead >= 1) {
      [this.#lastRun, this.#lastWait] = this.#sched();
      this.#lastRead = now;
    }
  }

  /** Fills each stall's GC part (entries arrive after the fact) and stops observing. */
  finish(): Stall[] {
    this.#observer.disconnect();
    if (this.#fd !== undefined) closeSync(this.#fd);
    for (const s of this.stalls) {
      for (const g of this.#gcs) {
        const from = Math.max(s.at, g.startTime);
        const to = Math.min(s.at + s.ms, g.startTime + g.duration);
        if (to <= from) continue;
        s.gcMs += to - from;
        s.gcs.push(`${GC_KINDS[(g as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind ?? 0] ?? 'gc'} ${g.duration.toFixed(1)}`);
      }
    }
    return this.stalls;
  }
}

/** One line per stall, longest first: "  41.2 ms: on a CPU 9.1, waiting for one 30.1, asleep 2.0; gc 9.0 (scavenge 9.0) [phase]". */
export function describeStalls(stalls: Stall[], limit = 15, by: 'ms' | 'runMs' = 'ms'): string[] {
  return [...stalls]
    .sort((a, b) => b[by] - a[by])
    .slice(0, limit)
    .map((s) => {
      const asleep = Math.max(0, s.ms - s.runMs - s.waitMs);
      return `  ${s.ms.toFixed(1).padStart(7)} ms: on a CPU ${s.runMs.toFixed(1)}, waiting for one ${s.waitMs.toFixed(1)}, asleep ${asleep.toFixed(1)}; gc ${s.gcMs.toFixed(1)}${s.gcs.length ? ` (${s.gcs.join(', ')})` : ''}${s.phase ? ` [${s.phase}]` : ''}`;
    });
}
