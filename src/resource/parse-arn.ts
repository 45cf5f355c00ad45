/** A package ARN back into its parts (the inverse of packageArn), for tools that take an ARN. */
import type { RawCoordinates } from './coordinates.ts';

const PACKAGE_ARN = /^arn:aws:codeartifact:([a-z0-9-]+):(\d{12}):package\/([^/]+)\/([^/]+)\/([^/]+)\/([^/]*)\/([^/]+)$/;

export function parsePackageArn(arn: string): (RawCoordinates & { region: string }) | undefined {
  const m = PACKAGE_ARN.exec(arn);
  if (!m) return undefined;
  return { region: m[1]!, domainOwner: m[2]!, domain: m[3]!, repository: m[4]!, format: m[5]!, namespace: m[6] || undefined, package: m[7]! };
}
