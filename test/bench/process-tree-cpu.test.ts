import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { processTreeCpu } from '../../bench/load/thread-cpu.ts';

// A child that spends 300 ms of its own CPU, says so, and stays alive until its stdin closes: the
// postmaster's backends are children like it.
const BURNER = `
const until = 0.3e6;
while (process.cpuUsage().user + process.cpuUsage().system < until) {}
process.stdout.write('burnt\\n');
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
`;

describe('processTreeCpu', () => {
  it("counts a process's children with it: the database server's backends are its children", async () => {
    const before = processTreeCpu(process.pid);
    expect(before).toBeTypeOf('number');
    const child = spawn(process.execPath, ['-e', BURNER], { stdio: ['pipe', 'pipe', 'inherit'] });
    try {
      await once(child.stdout!, 'data');
      const after = processTreeCpu(process.pid)!;
      // The child alone burnt 0.3 s (clock ticks round down by at most 10 ms); this process spent some too.
      expect(after - before!).toBeGreaterThanOrEqual(0.28);
      // The child's own figure: a process without children is just itself.
      expect(processTreeCpu(child.pid!)).toBeGreaterThanOrEqual(0.28);
    } finally {
      child.stdin!.end();
      await once(child, 'exit');
    }
  });

  it('keeps counting a child that ended: a backend whose connection closed took its CPU with it', async () => {
    const before = processTreeCpu(process.pid)!;
    const child = spawn(process.execPath, ['-e', BURNER], { stdio: ['pipe', 'pipe', 'inherit'] });
    await once(child.stdout!, 'data');
    child.stdin!.end();
    // 'exit' comes once node has reaped it: its time is now this process's cutime and cstime.
    await once(child, 'exit');
    expect(processTreeCpu(process.pid)! - before).toBeGreaterThanOrEqual(0.28);
  });

  it('says undefined for a process that is not there', () => {
    expect(processTreeCpu(2 ** 22 + 12345)).toBeUndefined();
  });
});
