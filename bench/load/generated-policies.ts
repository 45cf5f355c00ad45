/**
 * Synthetic policies that grow the live set without changing any shipped decision: each permits one
 * user (userN, a principal no token here carries) on one repository of its own (domN/repoN), so the
 * shipped policy tests keep passing and the benchmark's requests are decided by the shipped policies
 * alone. What grows is the work of loading, validating and evaluating a large set.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Policies per file: a set of 10,000 spread over 20 files, as a team's folder might be. */
const PER_FILE = 500;

export function generatedPolicy(n: number): string {
  return (
    `@id("gen-${n}")\n` +
    `permit(principal == User::"user${n}", action == Action::"UpdatePackageVersionsStatus", ` +
    `resource in Repository::"arn:aws:codeartifact:us-east-1:111122223333:repository/dom${n}/repo${n}");\n`
  );
}

/** Writes `count` policies into gen-000.cedar, gen-001.cedar, … in `policyDir`; returns the file names. */
export function writeGeneratedPolicies(policyDir: string, count: number): string[] {
  const files: string[] = [];
  for (let first = 0; first < count; first += PER_FILE) {
    const name = `gen-${String(first / PER_FILE).padStart(3, '0')}.cedar`;
    const lines: string[] = [];
    for (let n = first; n < Math.min(count, first + PER_FILE); n++) lines.push(generatedPolicy(n));
    writeFileSync(join(policyDir, name), lines.join(''));
    files.push(name);
  }
  return files;
}
