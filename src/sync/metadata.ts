/**
 * Metadata a format's assets carry: an npm tarball's package/package.json, a Maven pom's name,
 * description and licenses; nothing for generic. A manifest that cannot be read, or that names
 * another package or version, fails the sync with a reason a person can act on.
 */
import { XMLParser } from 'fast-xml-parser';
import type { PackageDependency, PackageKey, VersionMetadata } from '../store/store.ts';

export class ManifestError extends Error {
  override readonly name = 'ManifestError';
}

export const NO_METADATA: VersionMetadata = { summary: null, homePage: null, sourceCodeRepository: null, licenses: null, readme: null, dependencies: null };

/** The most of a README a sync keeps; a longer one is not kept (GetPackageVersionReadme then has none). */
export const MAX_README_BYTES = 1024 * 1024;

/** An npm tarball's README, as npm itself finds it: package/README, any case, any extension. */
export const isNpmReadme = (path: string) => /^package\/readme(\.[a-z]+)?$/i.test(path);

/** The most of a manifest (an npm package.json, a Maven pom) a sync reads. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

/**
 * The most dependencies a manifest may name. Each one is a row of ListPackageVersionDependencies's
 * one-page answer, parsed from the version's record at every call: a 4 MiB package.json can name
 * 100,000, which made every such call ~0.25 s of the event loop. Real manifests name tens.
 */
export const MAX_DEPENDENCIES = 10_000;

/** What a sync read out of a manifest-bearing asset as its bytes streamed by. */
export interface ManifestRead {
  /** The asset's name. */
  name: string;
  /** The manifest: an npm tarball's package/package.json, or the pom itself; null if the tarball has none. */
  manifest: Buffer | null;
  /** Why the manifest could not be read, for people. */
  problem?: string | undefined;
  /** An npm tarball's README, when it has one that could be read; a README is never a reason to fail. */
  readme?: Buffer | null | undefined;
}

export function extractMetadata(key: PackageKey, version: string, assets: readonly ManifestRead[]): VersionMetadata {
  if (key.format === 'npm') {
    const tgz = assets.find((a) => a.name.endsWith('.tgz'));
    return tgz ? npmMetadata(key, version, tgz) : NO_METADATA;
  }
  if (key.format === 'maven') {
    const pom = assets.find((a) => a.name.endsWith('.pom'));
    return pom ? mavenMetadata(pom) : NO_METADATA;
  }
  return NO_METADATA;
}

const text = (v: unknown): string | null => (typeof v === 'string' && v.trim() !== '' ? v.trim() : null);

function npmMetadata(key: PackageKey, version: string, asset: ManifestRead): VersionMetadata {
  if (asset.problem) throw new ManifestError(`${asset.name} is not a readable npm tarball: ${asset.problem}.`);
  const raw = asset.manifest;
  if (!raw) throw new ManifestError(`${asset.name} has no package/package.json.`);
  let manifest: Record<string, unknown>;
  try {
    manifest = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
    if (typeof manifest !== 'object' || manifest === null || Array.isArray(manifest)) throw new Error('not an object');
  } catch (err) {
    throw new ManifestError(`The package.json in ${asset.name} is not valid JSON (${(err as Error).message}).`);
  }
  const expectedName = key.namespace ? `@${key.namespace}/${key.name}` : key.name;
  if (manifest.name !== expectedName) {
    throw new ManifestError(`The package.json in ${asset.name} names package ${JSON.stringify(manifest.name)}, not ${expectedName}.`);
  }
  if (manifest.version !== version) {
    throw new ManifestError(`The package.json in ${asset.name} names version ${JSON.stringify(manifest.version)}, not ${version}.`);
  }
  const repository = manifest.repository;
  const repo = text(repository) ?? (typeof repository === 'object' && repository !== null ? text((repository as { url?: unknown }).url) : null);
  const license = text(manifest.license);
  return {
    summary: text(manifest.description),
    homePage: text(manifest.homepage),
    sourceCodeRepository: repo,
    licenses: license ? [license] : null,
    // The tarball's README file; failing that, the readme npm's registry keeps in package.json.
    readme: (asset.readme ? text(asset.readme.toString('utf8')) : null) ?? text(manifest.readme),
    dependencies: npmDependencies(`The package.json in ${asset.name}`, manifest),
  };
}

/** CodeArtifact's npm dependency types, from the package.json sections that hold them. */
const NPM_DEPENDENCY_SECTIONS = [
  ['dependencies', 'regular'],
  ['devDependencies', 'dev'],
  ['peerDependencies', 'peer'],
  ['optionalDependencies', 'optional'],
] as const;

function npmDependencies(name: string, manifest: Record<string, unknown>): PackageDependency[] | null {
  const found: PackageDependency[] = [];
  for (const [section, dependencyType] of NPM_DEPENDENCY_SECTIONS) {
    const entries = manifest[section];
    if (typeof entries !== 'object' || entries === null || Array.isArray(entries)) continue;
    const listed = Object.entries(entries as Record<string, unknown>);
    checkDependencyCount(name, found.length + listed.length);
    for (const [fullName, range] of listed) {
      // "@scope/name": the scope is the namespace, without its @, as everywhere in CodeArtifact.
      const scoped = /^@([^/]+)\/(.+)$/.exec(fullName);
      found.push({
        namespace: scoped ? scoped[1]! : null,
        package: scoped ? scoped[2]! : fullName,
        dependencyType,
        versionRequirement: typeof range === 'string' ? range : null,
      });
    }
  }
  return found.length > 0 ? found : null;
}

/**
 * The pom is parsed as XML (fast-xml-parser), not matched by patterns: comments, CDATA, namespaces
 * and entities are read as XML reads them, and only <project>'s own children count (never those of
 * <parent>, <dependencies> and the like). A DOCTYPE is refused: no pom needs one, and its entities
 * are the way to make a parser expand a document without bound.
 */
const pomParser = new XMLParser({
  ignoreAttributes: true,
  removeNSPrefix: true,
  parseTagValue: false,
  trimValues: false,
  processEntities: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  maxNestedTags: 100,
});

function mavenMetadata(asset: ManifestRead): VersionMetadata {
  if (asset.problem || !asset.manifest) throw new ManifestError(`${asset.name} cannot be read as a Maven pom: ${asset.problem ?? 'it is empty'}.`);
  const xml = asset.manifest.toString('utf8');
  if (/<!DOCTYPE/i.test(xml)) throw new ManifestError(`${asset.name} has a DOCTYPE, which a Maven pom never needs; it is not read.`);
  let doc: Record<string, unknown>;
  try {
    doc = pomParser.parse(xml, true) as Record<string, unknown>;
  } catch (err) {
    throw new ManifestError(`${asset.name} is not well-formed XML (${(err as Error).message.split('\n')[0]}).`);
  }
  const project = doc.project;
  if (typeof project !== 'object' || project === null) throw new ManifestError(`${asset.name} is not a Maven pom (no <project> element).`);
  const p = project as Record<string, unknown>;
  const one = (v: unknown) => (typeof v === 'string' ? text(unescapeXml(v)) : null);
  const many = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined ? [] : [v]);
  const licenses = many((p.licenses as { license?: unknown } | undefined)?.license)
    .map((l) => one((l as { name?: unknown } | null)?.name))
    .filter((n): n is string => n !== null);
  return {
    summary: one(p.description) ?? one(p.name),
    homePage: one(p.url),
    sourceCodeRepository: one((p.scm as { url?: unknown } | undefined)?.url),
    licenses: licenses.length ? licenses : null,
    readme: null,
    dependencies: mavenDependencies(asset.name, p, one, many),
  };
}

/**
 * The pom's <parent> (dependencyType "parent", as CodeArtifact reports it) and its <dependencies>:
 * the scope as the type (compile when absent), or "optional" for an optional dependency.
 */
function mavenDependencies(name: string, p: Record<string, unknown>, one: (v: unknown) => string | null, many: (v: unknown) => unknown[]): PackageDependency[] | null {
  const found: PackageDependency[] = [];
  const listed = many((p.dependencies as { dependency?: unknown } | undefined)?.dependency);
  checkDependencyCount(name, listed.length + (p.parent === undefined ? 0 : 1));
  const entry = (d: unknown, type: (d: Record<string, unknown>) => string) => {
    if (typeof d !== 'object' || d === null) return;
    const r = d as Record<string, unknown>;
    const artifact = one(r.artifactId);
    if (!artifact) return;
    found.push({ namespace: one(r.groupId), package: artifact, dependencyType: type(r), versionRequirement: one(r.version) });
  };
  entry(p.parent, () => 'parent');
  for (const d of listed) {
    entry(d, (r) => (one(r.optional) === 'true' ? 'optional' : (one(r.scope) ?? 'compile')));
  }
  return found.length > 0 ? found : null;
}

function checkDependencyCount(manifest: string, count: number) {
  if (count > MAX_DEPENDENCIES) throw new ManifestError(`${manifest} names more than ${MAX_DEPENDENCIES} dependencies, the most a sync records.`);
}

/** The five predefined entities and character references; processEntities is off, so none other exists. */
function unescapeXml(s: string): string {
  return s
    .replace(/&#x([0-9a-f]{1,6});/gi, (m, h: string) => codePoint(m, parseInt(h, 16)))
    .replace(/&#([0-9]{1,7});/g, (m, d: string) => codePoint(m, parseInt(d, 10)))
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');
}

/** A character reference's character; one that names no character is left as written. */
const codePoint = (written: string, cp: number) => (cp <= 0x10ffff ? String.fromCodePoint(cp) : written);
