/** The README's settings table and Operations section stay true to the code. */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SETTINGS } from '../../src/config.ts';
import { OPS_PATHS } from '../../src/http/ops-gate.ts';
import { createMetrics } from '../../src/metrics/metrics.ts';

const README = readFileSync(resolve(import.meta.dirname, '../../README.md'), 'utf8');
const section = (title: string) => {
  const start = README.indexOf(`\n## ${title}\n`);
  expect(start).toBeGreaterThan(0);
  const end = README.indexOf('\n## ', start + 1);
  return README.slice(start, end < 0 ? undefined : end);
};

describe('README', () => {
  it('lists every setting with its variable, flag and default', () => {
    const table = section('Settings');
    for (const s of Object.values(SETTINGS)) {
      const row = table.split('\n').find((l) => l.startsWith(`| \`${s.env}\` |`));
      expect(row, s.env).toBeDefined();
      expect(row).toContain(`| \`--${s.flag}\` |`);
      if (s.default !== undefined) expect(row).toContain(`\`${s.default}\``);
    }
  });

  it('lists every metric the gateway registers, and every operations endpoint', async () => {
    const ops = section('Operations');
    const names = (await createMetrics().registry.getMetricsAsJSON()).map((m) => m.name);
    expect(names.length).toBeGreaterThan(10);
    for (const name of names) expect(ops, name).toContain(`| \`${name}\` |`);
    for (const path of OPS_PATHS) expect(ops, path).toContain(`\`GET ${path}\``);
  });
});
