/**
 * Packages in CodeArtifact's wire shapes (PackageDescription, PackageSummary, PackageDependency), as
 * @aws-sdk/client-codeartifact deserializes them.
 */
import type { OriginRestrictions, PackageDependency } from '../store/store.ts';
import type { PackageFacts } from './version-view.ts';

const originConfiguration = (origin: OriginRestrictions) => ({ restrictions: { publish: origin.publish, upstream: origin.upstream } });

/** DescribePackage's `package`: the name is `name` here, `package` in a summary, as CodeArtifact has it. */
export function packageDescription(pkg: Omit<PackageFacts, 'repository'>, origin: OriginRestrictions) {
  return { format: pkg.format, ...(pkg.namespace ? { namespace: pkg.namespace } : {}), name: pkg.name, originConfiguration: originConfiguration(origin) };
}

export function packageSummary(pkg: Omit<PackageFacts, 'repository'>, origin: OriginRestrictions) {
  return { format: pkg.format, ...(pkg.namespace ? { namespace: pkg.namespace } : {}), package: pkg.name, originConfiguration: originConfiguration(origin) };
}

export { originConfiguration };

/** A dependency with its absent members left out, as CodeArtifact sends it. */
export function dependencyView(d: PackageDependency) {
  return {
    ...(d.namespace ? { namespace: d.namespace } : {}),
    package: d.package,
    ...(d.dependencyType ? { dependencyType: d.dependencyType } : {}),
    ...(d.versionRequirement ? { versionRequirement: d.versionRequirement } : {}),
  };
}
