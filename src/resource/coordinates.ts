/**
 * Package coordinates as a request names them, checked and normalised before they can become an
 * ARN. A name that could change the ARN's shape or widen a Cedar `like` pattern is refused here.
 */
import { ValidationError } from '../errors.ts';
import { FORMAT_RULES, FORMATS, type PackageFormat } from './formats.ts';

export interface PackageCoordinates {
  domain: string;
  /** Absent when the request leaves it out: resolved from the domain's record. */
  domainOwner?: string;
  repository: string;
  format: PackageFormat;
  /** '' when the package has none. */
  namespace: string;
  name: string;
}

/** Characters that must never reach an ARN: path separators, wildcards, fragments, whitespace, controls, non-ASCII. */
const UNSAFE = /[/*#\\?%\s\x00-\x1f\x7f]|[^\x00-\x7f]/;

function checkSafe(field: string, value: string, min: number, max: number): void {
  if (value.length < min || value.length > max) {
    throw new ValidationError(`${field} must be ${min} to ${max} characters long, got ${value.length}`);
  }
  const bad = UNSAFE.exec(value);
  if (bad) {
    const ch = bad[0];
    const shown = /[\x21-\x7e]/.test(ch) ? `'${ch}'` : `U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
    throw new ValidationError(`${field} contains a character that is not allowed: ${shown}`);
  }
  if (value.includes('..')) throw new ValidationError(`${field} must not contain '..'`);
}

export function checkDomainName(domain: string): string {
  checkSafe('domain', domain, 2, 50);
  // CodeArtifact's pattern, widened to accept '_' as its own documentation's my_domain does.
  if (!/^[a-z][a-z0-9_-]{0,48}[a-z0-9]$/.test(domain)) {
    throw new ValidationError('domain must be lowercase letters, digits, - and _, starting with a letter');
  }
  return domain;
}

export function checkDomainOwner(owner: string): string {
  if (!/^[0-9]{12}$/.test(owner)) throw new ValidationError('domain-owner must be a 12-digit account id');
  return owner;
}

export function checkRepositoryName(repository: string): string {
  checkSafe('repository', repository, 2, 100);
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{1,99}$/.test(repository)) {
    throw new ValidationError('repository must be letters, digits, - . and _, starting with a letter or digit');
  }
  return repository;
}

export function checkFormat(format: string): PackageFormat {
  if (!(FORMATS as readonly string[]).includes(format)) {
    throw new ValidationError(`format must be one of ${FORMATS.join(', ')}; got '${format}'`);
  }
  return format as PackageFormat;
}

export interface RawCoordinates {
  domain: string;
  domainOwner?: string | undefined;
  repository: string;
  format: string;
  namespace?: string | undefined;
  package: string;
}

export function parseCoordinates(raw: RawCoordinates): PackageCoordinates {
  const format = checkFormat(raw.format);
  const rule = FORMAT_RULES[format];
  const domain = checkDomainName(raw.domain);
  const domainOwner = raw.domainOwner === undefined ? undefined : checkDomainOwner(raw.domainOwner);
  const repository = checkRepositoryName(raw.repository);

  let namespace = '';
  if (raw.namespace !== undefined && raw.namespace !== '') {
    if (rule.namespace === 'forbidden') throw new ValidationError(`${format} packages have no namespace`);
    checkSafe('namespace', raw.namespace, 1, 255);
    namespace = rule.normaliseNamespace(raw.namespace);
    if (!rule.namespacePattern!.test(namespace)) {
      throw new ValidationError(`namespace '${raw.namespace}' is not a valid ${format} namespace: ${rule.describe}`);
    }
  } else if (rule.namespace === 'required') {
    throw new ValidationError(`${format} packages need a namespace`);
  }

  checkSafe('package', raw.package, 1, 255);
  if (!rule.namePattern.test(raw.package)) {
    throw new ValidationError(`package '${raw.package}' is not a valid ${format} package name: ${rule.describe}`);
  }
  if (raw.package.length > rule.maxNameLength) {
    throw new ValidationError(`${format} package names are at most ${rule.maxNameLength} characters`);
  }
  const name = rule.normaliseName(raw.package);

  return { domain, ...(domainOwner ? { domainOwner } : {}), repository, format, namespace, name };
}

/** A version as CodeArtifact allows it (1–255 characters, no '#', '/' or whitespace), then normalised. */
export function parseVersion(format: PackageFormat, version: string): string {
  checkSafe('version', version, 1, 255);
  return FORMAT_RULES[format].normaliseVersion(version);
}

export function checkRevision(revision: string): string {
  if (revision.length < 1 || revision.length > 50 || !/^[\x21-\x7e]+$/.test(revision)) {
    throw new ValidationError('a version revision is 1 to 50 printable ASCII characters without spaces');
  }
  return revision;
}
