/**
 * Builds dist/ once before any test runs: the tests that start `versiongate` as a process run
 * bin/versiongate.js, which runs the built code (the tests themselves import the TypeScript
 * sources). Building here, not in each test, also keeps parallel workers from building at once.
 */
export default async function setup(): Promise<void> {
  // @ts-expect-error: a plain .mjs build script, without type declarations.
  const { build } = (await import('../scripts/build.mjs')) as { build(options: { quiet: boolean }): Promise<void> };
  await build({ quiet: true });
}
