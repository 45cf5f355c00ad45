/**
 * The order files start in: the longest first, so that with two workers no long file starts last
 * and runs alone at the end (a fresh clone, as in CI, has no timings cached, and vitest then orders
 * by file size, which put the 1–3 minute kill -9 file anywhere). The list is the longest files of a
 * measured run (2026-12-06), longest first; every other file follows in vitest's own order (by the
 * durations it cached, else by size). A file missing here only runs later, never not at all.
 */
import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

export const SLOWEST_FIRST = [
  'test/security/kill-under-load.test.ts',
  'test/readme/readme-examples.test.ts',
  'test/ops/refusals.test.ts',
  'test/policy/engine-differential.test.ts',
  'test/aws-cli/aws-cli.test.ts',
  'test/policy/reload-shadow.test.ts',
  'test/ops/cli-shutdown.test.ts',
  'test/store/group-commit.test.ts',
  'test/conformance/service-model.test.ts',
  'test/ops/crash-group-commit.test.ts',
  'test/store/contract/store-contract.test.ts',
  'test/sdk/aws-sdk-lifecycle.test.ts',
  'test/security/version-model.test.ts',
];

export default class SlowFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (spec: TestSpecification) => {
      const i = SLOWEST_FIRST.indexOf(relative(this.ctx.config.root, spec.moduleId).replaceAll('\\', '/'));
      return i === -1 ? SLOWEST_FIRST.length : i;
    };
    // Array.prototype.sort is stable: the rest keep vitest's order.
    return sorted.sort((a, b) => rank(a) - rank(b));
  }
}
