/**
 * The server's CPU per answered request, split between its event loop and its other threads (the
 * SQLite writer, V8's garbage-collection helpers, libuv's pool), read from /proc/<pid>/task before
 * and after a run. On a shared machine the request rate moves with whatever else runs, but the CPU a
 * request costs moves much less: it is the figure to compare when a change is meant to make
 * requests cheaper. Linux only; elsewhere the line says it is not available.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

export interface ThreadCpu {
  /** CPU seconds of the thread whose id is the process id: the event loop. */
  main: number;
  /** CPU seconds of every other thread. */
  others: number;
}

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** User + system CPU of each thread of `pid`, or undefined without /proc (or once the process is gone). */
export function threadCpu(pid: number): ThreadCpu | undefined {
  const hz = clockTicks();
  const cpu: ThreadCpu = { main: 0, others: 0 };
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      let stat: string;
      try {
        stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      } catch {
        continue; // a thread that ended meanwhile
      }
      // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const seconds = (Number(fields[11]) + Number(fields[12])) / hz;
      if (Number(tid) === pid) cpu.main += seconds;
      else cpu.others += seconds;
    }
  } catch {
    return undefined;
  }
  return cpu;
}

const micros = (seconds: number, requests: number) => `${Math.round((seconds * 1e6) / requests)} µs`;

/**
 * One line: CPU per answered request. Threads that ended during the run (none do in versiongate)
 * would make `others` fall; the figures are what the threads alive at the end spent.
 */
export function describeCpu(before: ThreadCpu | undefined, after: ThreadCpu | undefined, requests: number): string {
  if (!before || !after || requests === 0) return 'server CPU per request: n/a (needs /proc)';
  const main = after.main - before.main;
  const others = after.others - before.others;
  return `server CPU per request: ${micros(main + others, requests)} (event loop ${micros(main, requests)}, other threads ${micros(others, requests)})`;
}
