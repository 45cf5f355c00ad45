/**
 * The V8 profiler's flags of the process's command line (`--cpu-prof`, `--cpu-prof-dir DIR`,
 * `--cpu-prof-name=NAME`, …), for a worker thread to profile itself as the main thread does. A flag
 * that takes a value may have it after `=` or as the next argument: the value goes with it, since a
 * worker given `--cpu-prof-dir` alone refuses to start.
 */
export function profilerFlags(execArgv: readonly string[]): string[] {
  const flags: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i]!;
    if (!arg.startsWith('--cpu-prof')) continue;
    flags.push(arg);
    if (arg !== '--cpu-prof' && !arg.includes('=') && i + 1 < execArgv.length) flags.push(execArgv[++i]!);
  }
  return flags;
}
