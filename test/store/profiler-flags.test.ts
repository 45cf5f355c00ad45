import { describe, expect, it } from 'vitest';
import { profilerFlags } from '../../src/store/sqlite/profiler-flags.ts';

describe('profilerFlags: what a worker thread takes of the command line', () => {
  it('keeps the profiler flags with their values, in either form, and nothing else', () => {
    expect(profilerFlags(['--no-turbo-inline-js-wasm-calls', '--cpu-prof', '--cpu-prof-dir', '/tmp/p', '--cpu-prof-interval=500', '--max-old-space-size=512'])).toEqual([
      '--cpu-prof',
      '--cpu-prof-dir',
      '/tmp/p',
      '--cpu-prof-interval=500',
    ]);
    expect(profilerFlags(['--cpu-prof', '--cpu-prof-dir=/tmp/p'])).toEqual(['--cpu-prof', '--cpu-prof-dir=/tmp/p']);
    expect(profilerFlags(['--import', 'tsx'])).toEqual([]);
  });
});
