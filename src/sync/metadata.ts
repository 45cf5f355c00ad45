/**
 * Metadata a format's assets carry: an npm tarball's package/package.json, a Maven pom's name,
 * description and licenses; nothing for generic. A manifest that cannot be read, or that names
 * another package or version, fails the sync with a reason a person can act on.
 */
import type { PackageKey, VersionMetadata } from '../store/store.ts';

export class ManifestError extends Error {
  override readonly name = 'ManifestError';
}

export const NO_METADATA: VersionMetadata = { summary: null, homePage: null, sourceCodeRepository: null, licenses: null };

/** The most of a manifest (an npm package.json, a Maven pom) a sync reads. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

/** What a sync read out of a manifest-bearing asset as its bytes streamed by. */
export interface ManifestRead {
  /** The asset's name. */
  name: string;
  /** The manifest: an npm tarball's package/package.json, or the pom itself; null if the tarball has none. */
  manifest: Buffer | null;
  /** Why the manifest could not be read, for people. */
  problem?: string | undefined;
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
  return { summary: text(manifest.description), homePage: text(manifest.homepage), sourceCodeRepository: repo, licenses: license ? [license] : null };
}

function mavenMetadata(asset: ManifestRead): VersionMetadata {
  if (asset.problem || !asset.manifest) throw new ManifestError(`${asset.name} cannot be read as a Maven pom: ${asset.problem ?? 'it is empty'}.`);
  const xml = asset.manifest.toString('utf8');
  if (!/<project[\s>]/.test(xml)) throw new ManifestError(`${asset.name} is not a Maven pom (no <project> element).`);
  // The project's own elements, not those of <parent>, <dependencies> and the like.
  const body = xml.replace(/<(parent|dependencies|dependencyManagement|build|profiles|developers|organization|scm)[\s>][\s\S]*?<\/\1>/g, '');
  const one = (tag: string) => {
    const m = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(body);
    return m ? text(unescapeXml(m[1]!)) : null;
  };
  const licenseBlock = /<licenses>([\s\S]*?)<\/licenses>/.exec(xml)?.[1] ?? '';
  const licenses = [...licenseBlock.matchAll(/<name>([\s\S]*?)<\/name>/g)].map((m) => unescapeXml(m[1]!).trim()).filter((n) => n !== '');
  const scm = /<scm>[\s\S]*?<url>([\s\S]*?)<\/url>[\s\S]*?<\/scm>/.exec(xml)?.[1];
  return { summary: one('description') ?? one('name'), homePage: one('url'), sourceCodeRepository: scm ? text(unescapeXml(scm)) : null, licenses: licenses.length ? licenses : null };
}

function unescapeXml(s: string): string {
  return s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
}
