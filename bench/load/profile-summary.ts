/**
 * A V8 CPU profile (`node --cpu-prof`'s .cpuprofile) reduced to what bench:profile prints: the time
 * each function was sampled in, on its own and with its callees, within the window the load ran.
 */

export interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  /** Microseconds, on the system's monotonic clock (the one process.hrtime reads). */
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** A thread's samples taken while the load ran: microseconds by function, its own and with its callees. */
export interface ThreadProfile {
  /** Microseconds of samples in the window, idle excluded. */
  busy: number;
  self: Map<string, number>;
  total: Map<string, number>;
}

/** Samples of a thread with nothing to run. */
const IDLE = new Set(['(idle)', '(program)']);

/** A function as `name file:line` (node_modules and the checkout's path left out), or a native one's name. */
export function frameName(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  if (url === '') return functionName || '(anonymous)';
  const file = url.replace(/^.*\/node_modules\//, '').replace(/^file:\/\/.*\/(dist|src|bench)\//, '$1/');
  return `${functionName || '(anonymous)'} ${file}:${lineNumber + 1}`;
}

/**
 * The samples of `profile` whose time falls in [fromUs, toUs] (V8's profile clock and
 * process.hrtime are the same monotonic clock, in microseconds), by function. A sample's time is
 * its function's own; with callees, each function on the sample's stack gets it once, however
 * often it recurs there.
 */
export function summarise(profile: CpuProfile, fromUs: number, toUs: number): ThreadProfile {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  let busy = 0;
  let at = profile.startTime;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (at < fromUs || at > toUs) return;
    const node = byId.get(id)!;
    if (IDLE.has(node.callFrame.functionName)) return;
    busy += delta;
    const own = frameName(node);
    self.set(own, (self.get(own) ?? 0) + delta);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const name = frameName(byId.get(cur)!);
      if (seen.has(name) || name === '(root)') continue;
      seen.add(name);
      total.set(name, (total.get(name) ?? 0) + delta);
    }
  });
  return { busy, self, total };
}
