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

/** A database server the benchmark started, whose CPU per request is reported beside the gateway's. */
export interface DatabaseProcess {
  name: string;
  /** Its main process (PostgreSQL's postmaster), or undefined once it is gone. */
  pid(): number | undefined;
}

/**
 * CPU seconds of a process and of its children (user + system, as /proc counts them): a database
 * server's postmaster and the backends, writers and checkpointer it forked. A child that ended still
 * counts: once its parent has reaped it, its time is in the parent's cutime and cstime. (Without
 * them, a backend whose connection the pool closed while idle, between two turns of a comparison,
 * took its CPU out of the sum: bench/ab.ts printed PostgreSQL at 12 µs and at −3 µs a request.)
 */
export function processTreeCpu(rootPid: number): number | undefined {
  const hz = clockTicks();
  let seconds = 0;
  let found = false;
  try {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      let stat: string;
      try {
        stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      } catch {
        continue; // a process that ended meanwhile
      }
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // fields[1] is the parent's pid; utime and stime are fields[11] and fields[12]; the reaped
      // children's cutime and cstime, fields[13] and fields[14].
      const isRoot = Number(entry) === rootPid;
      if (!isRoot && Number(fields[1]) !== rootPid) continue;
      found ||= isRoot;
      seconds += (Number(fields[11]) + Number(fields[12]) + (isRoot ? Number(fields[13]) + Number(fields[14]) : 0)) / hz;
    }
  } catch {
    return undefined;
  }
  return found ? seconds : undefined;
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

/** One line: the database server's CPU per answered request, in the same turns as the gateway's. */
export function describeDatabaseCpu(name: string, seconds: number | undefined, requests: number): string {
  if (seconds === undefined || requests === 0) return `${name} CPU per request: n/a (needs /proc)`;
  return `${name} CPU per request: ${micros(seconds, requests)} (its server process and the processes it started)`;
}
