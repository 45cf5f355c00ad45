/**
 * Package coordinates → CodeArtifact ARNs: per-format naming rules and normalisation, and the
 * characters that must never reach an ARN (or widen a Cedar `like` pattern).
 */
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.ts';
import { parseCoordinates, parseVersion, type RawCoordinates } from '../../src/resource/coordinates.ts';
import { arnsFor, domainArn, packageArn, repositoryArn } from '../../src/resource/package-arn.ts';

const REGION = 'us-east-1';
const OWNER = '111122223333';
const PKG_PREFIX = `arn:aws:codeartifact:${REGION}:${OWNER}:package/my_domain/my_repo`;

function raw(over: Partial<RawCoordinates> & Pick<RawCoordinates, 'format' | 'package'>): RawCoordinates {
  return { domain: 'my_domain', domainOwner: OWNER, repository: 'my_repo', ...over };
}

/** parseCoordinates, then the package ARN built from the checked coordinates. */
function arnOf(over: Partial<RawCoordinates> & Pick<RawCoordinates, 'format' | 'package'>): string {
  const c = parseCoordinates(raw(over));
  return packageArn({ region: REGION, domainOwner: c.domainOwner!, domain: c.domain, repository: c.repository, format: c.format, namespace: c.namespace, name: c.name });
}

/** Runs fn and returns the ValidationError it throws (fails the test if it throws anything else or nothing). */
function validationError(fn: () => unknown): ValidationError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    const v = err as ValidationError;
    expect(v.status).toBe(400);
    expect(v.type).toBe('ValidationException');
    expect(v.reason).toBe('FIELD_VALIDATION_FAILED');
    return v;
  }
  throw new Error('expected a ValidationError, but nothing was thrown');
}

describe('ARN shapes', () => {
  it('builds domain and repository ARNs', () => {
    expect(domainArn(REGION, OWNER, 'my_domain')).toBe('arn:aws:codeartifact:us-east-1:111122223333:domain/my_domain');
    expect(repositoryArn(REGION, OWNER, 'my_domain', 'my_repo')).toBe('arn:aws:codeartifact:us-east-1:111122223333:repository/my_domain/my_repo');
  });

  it('arnsFor gives the domain, repository and package ARNs of one package', () => {
    const c = parseCoordinates(raw({ format: 'npm', namespace: '@nestjs', package: 'core' }));
    expect(c).toEqual({ domain: 'my_domain', domainOwner: OWNER, repository: 'my_repo', format: 'npm', namespace: 'nestjs', name: 'core' });
    expect(arnsFor({ region: REGION, domainOwner: OWNER, domain: c.domain, repository: c.repository, format: c.format, namespace: c.namespace, name: c.name })).toEqual({
      domain: 'arn:aws:codeartifact:us-east-1:111122223333:domain/my_domain',
      repository: 'arn:aws:codeartifact:us-east-1:111122223333:repository/my_domain/my_repo',
      package: 'arn:aws:codeartifact:us-east-1:111122223333:package/my_domain/my_repo/npm/nestjs/core',
    });
  });

  it('leaves domainOwner out of the coordinates when the request does not name it', () => {
    const c = parseCoordinates({ domain: 'my_domain', repository: 'my_repo', format: 'npm', package: 'chalk' });
    expect(c).toEqual({ domain: 'my_domain', repository: 'my_repo', format: 'npm', namespace: '', name: 'chalk' });
    expect('domainOwner' in c).toBe(false);
  });
});

describe('package ARNs per format', () => {
  it('npm without a scope leaves an empty namespace segment', () => {
    expect(arnOf({ format: 'npm', package: 'chalk' })).toBe('arn:aws:codeartifact:us-east-1:111122223333:package/my_domain/my_repo/npm//chalk');
    expect(arnOf({ format: 'npm', namespace: '', package: 'chalk' })).toBe('arn:aws:codeartifact:us-east-1:111122223333:package/my_domain/my_repo/npm//chalk');
  });

  it('npm scope: nestjs and @nestjs name the same package', () => {
    expect(arnOf({ format: 'npm', namespace: 'nestjs', package: 'core' })).toBe(`${PKG_PREFIX}/npm/nestjs/core`);
    expect(arnOf({ format: 'npm', namespace: '@nestjs', package: 'core' })).toBe(`${PKG_PREFIX}/npm/nestjs/core`);
  });

  it('pypi names are PEP 503 normalised', () => {
    expect(arnOf({ format: 'pypi', package: 'Pigeon_CLI' })).toBe(`${PKG_PREFIX}/pypi//pigeon-cli`);
    expect(arnOf({ format: 'pypi', package: 'pigeon.cli' })).toBe(`${PKG_PREFIX}/pypi//pigeon-cli`);
    expect(arnOf({ format: 'pypi', package: 'pigeon-cli' })).toBe(`${PKG_PREFIX}/pypi//pigeon-cli`);
    expect(arnOf({ format: 'pypi', package: 'a__b' })).toBe(`${PKG_PREFIX}/pypi//a-b`);
    expect(arnOf({ format: 'pypi', package: 'A-_.B' })).toBe(`${PKG_PREFIX}/pypi//a-b`);
    expect(arnOf({ format: 'pypi', package: 'Requests' })).toBe(`${PKG_PREFIX}/pypi//requests`);
  });

  it('maven: groupId as namespace, artifactId as name, case kept', () => {
    expect(arnOf({ format: 'maven', namespace: 'org.apache.logging.log4j', package: 'log4j' })).toBe(`${PKG_PREFIX}/maven/org.apache.logging.log4j/log4j`);
    expect(arnOf({ format: 'maven', namespace: 'com.Example', package: 'MyLib' })).toBe(`${PKG_PREFIX}/maven/com.Example/MyLib`);
  });

  it('nuget names are lowercased', () => {
    expect(arnOf({ format: 'nuget', package: 'Newtonsoft.JSON' })).toBe(`${PKG_PREFIX}/nuget//newtonsoft.json`);
  });

  it('generic keeps namespace and name as given', () => {
    expect(arnOf({ format: 'generic', namespace: 'my-ns', package: 'my-package' })).toBe(`${PKG_PREFIX}/generic/my-ns/my-package`);
    expect(arnOf({ format: 'generic', namespace: 'Tools', package: 'Build~1+x=y@z' })).toBe(`${PKG_PREFIX}/generic/Tools/Build~1+x=y@z`);
  });

  it('ruby has no namespace', () => {
    expect(arnOf({ format: 'ruby', package: 'rails' })).toBe(`${PKG_PREFIX}/ruby//rails`);
  });

  it('swift lowercases both name and namespace', () => {
    expect(arnOf({ format: 'swift', namespace: 'Apple', package: 'Swift-Argument-Parser' })).toBe(`${PKG_PREFIX}/swift/apple/swift-argument-parser`);
    expect(arnOf({ format: 'swift', namespace: 'apple', package: 'swift-argument-parser' })).toBe(`${PKG_PREFIX}/swift/apple/swift-argument-parser`);
  });

  it('cargo has no namespace', () => {
    expect(arnOf({ format: 'cargo', package: 'serde' })).toBe(`${PKG_PREFIX}/cargo//serde`);
    expect(arnOf({ format: 'cargo', package: 'serde_json' })).toBe(`${PKG_PREFIX}/cargo//serde_json`);
  });
});

describe('versions', () => {
  it('nuget versions are normalised as NuGet does', () => {
    expect(parseVersion('nuget', '12.0.03.0')).toBe('12.0.3');
    expect(parseVersion('nuget', '1.0.0.0')).toBe('1.0.0');
    expect(parseVersion('nuget', '1.0.7+r3456')).toBe('1.0.7');
    expect(parseVersion('nuget', '1.00')).toBe('1.0.0');
    expect(parseVersion('nuget', '1.00.0.1')).toBe('1.0.0.1');
    expect(parseVersion('nuget', '1.01.1')).toBe('1.1.1');
  });

  it('other formats keep the version as given', () => {
    expect(parseVersion('npm', '4.1.0')).toBe('4.1.0');
    expect(parseVersion('npm', '1.0.0-Beta.1+build.5')).toBe('1.0.0-Beta.1+build.5');
    expect(parseVersion('maven', '2.13.1')).toBe('2.13.1');
    expect(parseVersion('swift', '1.2.3')).toBe('1.2.3');
    expect(parseVersion('pypi', '1.0.post1')).toBe('1.0.post1');
  });

  it('rejects unsafe versions', () => {
    for (const bad of ['4.1.0/x', '4.1.*', '4.1.0#x', '4.1 0', '4.1\t0', '4.1\n0', '4.1\u00000', '4..1', 'ä1.0', '1.0?', '1.0%2F', '1\\0']) {
      expect(validationError(() => parseVersion('npm', bad)).message, JSON.stringify(bad)).toMatch(/^version /);
    }
    expect(validationError(() => parseVersion('npm', '4.1.0/x')).message).toBe("version contains a character that is not allowed: '/'");
    expect(validationError(() => parseVersion('npm', '4..1')).message).toBe("version must not contain '..'");
    expect(validationError(() => parseVersion('npm', '')).message).toBe('version must be 1 to 255 characters long, got 0');
    expect(validationError(() => parseVersion('npm', '1'.repeat(256))).message).toBe('version must be 1 to 255 characters long, got 256');
    expect(parseVersion('npm', '1'.repeat(255))).toBe('1'.repeat(255));
  });
});

describe('namespace rules', () => {
  it.each(['maven', 'generic', 'swift'])('%s needs a namespace', (format) => {
    expect(validationError(() => parseCoordinates(raw({ format, package: 'thing' }))).message).toBe(`${format} packages need a namespace`);
    expect(validationError(() => parseCoordinates(raw({ format, namespace: '', package: 'thing' }))).message).toBe(`${format} packages need a namespace`);
  });

  it.each(['pypi', 'nuget', 'ruby', 'cargo'])('%s forbids a namespace', (format) => {
    expect(validationError(() => parseCoordinates(raw({ format, namespace: 'ns', package: 'thing' }))).message).toBe(`${format} packages have no namespace`);
    // An empty namespace is the same as none.
    expect(parseCoordinates(raw({ format, namespace: '', package: 'thing' })).namespace).toBe('');
  });

  it('npm scope is optional and follows the npm name rules', () => {
    expect(parseCoordinates(raw({ format: 'npm', package: 'chalk' })).namespace).toBe('');
    expect(validationError(() => parseCoordinates(raw({ format: 'npm', namespace: 'NestJS', package: 'core' }))).message).toMatch(/^namespace 'NestJS' is not a valid npm namespace/);
    expect(validationError(() => parseCoordinates(raw({ format: 'npm', namespace: '@', package: 'core' }))).message).toMatch(/^namespace '@' is not a valid npm namespace/);
    expect(validationError(() => parseCoordinates(raw({ format: 'npm', namespace: '.nestjs', package: 'core' }))).message).toMatch(/not a valid npm namespace/);
    expect(validationError(() => parseCoordinates(raw({ format: 'npm', namespace: '_nestjs', package: 'core' }))).message).toMatch(/not a valid npm namespace/);
  });

  it('swift namespace allows only letters, digits and -', () => {
    expect(validationError(() => parseCoordinates(raw({ format: 'swift', namespace: 'my_scope', package: 'pkg' }))).message).toMatch(/not a valid swift namespace/);
    expect(validationError(() => parseCoordinates(raw({ format: 'swift', namespace: 'my.scope', package: 'pkg' }))).message).toMatch(/not a valid swift namespace/);
  });
});

describe('npm names', () => {
  it('rejects uppercase', () => {
    expect(validationError(() => parseCoordinates(raw({ format: 'npm', package: 'Chalk' }))).message).toBe(
      "package 'Chalk' is not a valid npm package name: lowercase letters, digits and - . _ ~, not starting with . or _",
    );
  });

  it('rejects a leading . or _', () => {
    expect(validationError(() => parseCoordinates(raw({ format: 'npm', package: '.chalk' }))).message).toMatch(/^package '\.chalk' is not a valid npm package name/);
    expect(validationError(() => parseCoordinates(raw({ format: 'npm', package: '_chalk' }))).message).toMatch(/^package '_chalk' is not a valid npm package name/);
  });

  it('accepts the usual npm names', () => {
    for (const ok of ['chalk', 'lodash.merge', 'is_even', 'a-b~c', '1to2']) expect(parseCoordinates(raw({ format: 'npm', package: ok })).name).toBe(ok);
  });

  it('npm names are at most 214 characters', () => {
    expect(parseCoordinates(raw({ format: 'npm', package: 'a'.repeat(214) })).name).toBe('a'.repeat(214));
    expect(validationError(() => parseCoordinates(raw({ format: 'npm', package: 'a'.repeat(215) }))).message).toBe('npm package names are at most 214 characters');
  });
});

describe('unsafe characters', () => {
  const UNSAFE: Array<[label: string, value: string, shown: string]> = [
    ['slash', 'a/b', "'/'"],
    ['asterisk', 'ch*alk', "'*'"],
    ['hash', 'ch#alk', "'#'"],
    ['space', 'ch alk', 'U+0020'],
    ['tab', 'ch\talk', 'U+0009'],
    ['newline', 'ch\nalk', 'U+000A'],
    ['NUL', 'ch\u0000alk', 'U+0000'],
    ['non-ASCII å', 'chålk', 'U+00E5'],
    ['Cyrillic а homoglyph', 'ch\u0430lk', 'U+0430'],
    ['question mark', 'ch?alk', "'?'"],
    ['percent', 'ch%2Falk', "'%'"],
    ['backslash', 'ch\\alk', "'\\'"],
  ];

  it.each(UNSAFE)('package with %s is refused', (_label, value, shown) => {
    expect(validationError(() => parseCoordinates(raw({ format: 'npm', package: value }))).message).toBe(`package contains a character that is not allowed: ${shown}`);
  });

  it.each(UNSAFE)('namespace with %s is refused', (_label, value, shown) => {
    expect(validationError(() => parseCoordinates(raw({ format: 'npm', namespace: value, package: 'core' }))).message).toBe(`namespace contains a character that is not allowed: ${shown}`);
    expect(validationError(() => parseCoordinates(raw({ format: 'maven', namespace: value, package: 'log4j' }))).message).toBe(`namespace contains a character that is not allowed: ${shown}`);
  });

  it.each(UNSAFE)('repository with %s is refused', (_label, value, shown) => {
    expect(validationError(() => parseCoordinates(raw({ format: 'npm', repository: value, package: 'chalk' }))).message).toBe(`repository contains a character that is not allowed: ${shown}`);
  });

  it.each(UNSAFE)('version with %s is refused', (_label, value, shown) => {
    expect(validationError(() => parseVersion('npm', value)).message).toBe(`version contains a character that is not allowed: ${shown}`);
    expect(validationError(() => parseVersion('nuget', value)).message).toBe(`version contains a character that is not allowed: ${shown}`);
  });

  it("'..' is refused in package, namespace, repository and version", () => {
    expect(validationError(() => parseCoordinates(raw({ format: 'npm', package: 'a..b' }))).message).toBe("package must not contain '..'");
    expect(validationError(() => parseCoordinates(raw({ format: 'pypi', package: 'a..b' }))).message).toBe("package must not contain '..'");
    expect(validationError(() => parseCoordinates(raw({ format: 'maven', namespace: 'org..apache', package: 'log4j' }))).message).toBe("namespace must not contain '..'");
    expect(validationError(() => parseCoordinates(raw({ format: 'npm', repository: 'my..repo', package: 'chalk' }))).message).toBe("repository must not contain '..'");
    expect(validationError(() => parseCoordinates(raw({ format: 'npm', package: '..' }))).message).toBe("package must not contain '..'");
    expect(validationError(() => parseVersion('npm', '1..0')).message).toBe("version must not contain '..'");
  });

  it('wildcards are refused for every format, so no ARN can become a Cedar pattern', () => {
    const cases: RawCoordinates[] = [
      raw({ format: 'npm', package: '*' }),
      raw({ format: 'pypi', package: 'a*' }),
      raw({ format: 'maven', namespace: 'org.*', package: 'log4j' }),
      raw({ format: 'nuget', package: 'Newtonsoft.*' }),
      raw({ format: 'generic', namespace: 'ns', package: '*' }),
      raw({ format: 'ruby', package: 'rai*s' }),
      raw({ format: 'swift', namespace: 'apple', package: '*' }),
      raw({ format: 'cargo', package: 'serde*' }),
    ];
    for (const c of cases) expect(validationError(() => parseCoordinates(c)).message).toMatch(/contains a character that is not allowed: '\*'$/);
  });
});

describe('lengths and patterns', () => {
  it('package names are at most 255 characters', () => {
    expect(parseCoordinates(raw({ format: 'maven', namespace: 'org', package: 'a'.repeat(255) })).name).toBe('a'.repeat(255));
    expect(validationError(() => parseCoordinates(raw({ format: 'maven', namespace: 'org', package: 'a'.repeat(256) }))).message).toBe('package must be 1 to 255 characters long, got 256');
    expect(validationError(() => parseCoordinates(raw({ format: 'npm', package: 'a'.repeat(256) }))).message).toBe('package must be 1 to 255 characters long, got 256');
    expect(validationError(() => parseCoordinates(raw({ format: 'npm', package: '' }))).message).toBe('package must be 1 to 255 characters long, got 0');
  });

  it('per-format maximum name lengths', () => {
    expect(validationError(() => parseCoordinates(raw({ format: 'nuget', package: 'a'.repeat(101) }))).message).toBe('nuget package names are at most 100 characters');
    expect(parseCoordinates(raw({ format: 'cargo', package: 'a'.repeat(64) })).name).toBe('a'.repeat(64));
    expect(validationError(() => parseCoordinates(raw({ format: 'cargo', package: 'a'.repeat(65) }))).message).toMatch(/not a valid cargo package name|cargo package names are at most 64 characters/);
  });

  it('domain: lowercase start, 2 to 50 characters, _ allowed', () => {
    for (const ok of ['my_domain', 'ab', 'a1', 'my-domain', 'a'.repeat(50)]) expect(parseCoordinates(raw({ domain: ok, format: 'npm', package: 'chalk' })).domain).toBe(ok);
    expect(validationError(() => parseCoordinates(raw({ domain: 'a', format: 'npm', package: 'chalk' }))).message).toBe('domain must be 2 to 50 characters long, got 1');
    expect(validationError(() => parseCoordinates(raw({ domain: 'a'.repeat(51), format: 'npm', package: 'chalk' }))).message).toBe('domain must be 2 to 50 characters long, got 51');
    for (const bad of ['My_domain', '1domain', '_domain', '-domain', 'my_domain_', 'my-domain-', 'my.domain']) {
      expect(validationError(() => parseCoordinates(raw({ domain: bad, format: 'npm', package: 'chalk' }))).message, bad).toBe(
        'domain must be lowercase letters, digits, - and _, starting with a letter',
      );
    }
    expect(validationError(() => parseCoordinates(raw({ domain: 'my/domain', format: 'npm', package: 'chalk' }))).message).toBe("domain contains a character that is not allowed: '/'");
    expect(validationError(() => parseCoordinates(raw({ domain: 'my*', format: 'npm', package: 'chalk' }))).message).toBe("domain contains a character that is not allowed: '*'");
  });

  it('domain-owner is a 12-digit account id', () => {
    expect(parseCoordinates(raw({ domainOwner: '000000000000', format: 'npm', package: 'chalk' })).domainOwner).toBe('000000000000');
    for (const bad of ['abc', '11112222333', '1111222233334', '11112222333a', '', ' 111122223333', '１１１１２２２２３３３３']) {
      expect(validationError(() => parseCoordinates(raw({ domainOwner: bad, format: 'npm', package: 'chalk' }))).message, bad).toBe('domain-owner must be a 12-digit account id');
    }
  });

  it('repository: letters, digits, - . _, starting with a letter or digit, 2 to 100 characters', () => {
    for (const ok of ['my_repo', 'prod', 'My.Repo-1', '1r', 'a'.repeat(100)]) expect(parseCoordinates(raw({ repository: ok, format: 'npm', package: 'chalk' })).repository).toBe(ok);
    for (const bad of ['-repo', '_repo', '.repo', 'my+repo', 'my@repo']) {
      expect(validationError(() => parseCoordinates(raw({ repository: bad, format: 'npm', package: 'chalk' }))).message, bad).toBe(
        'repository must be letters, digits, - . and _, starting with a letter or digit',
      );
    }
    expect(validationError(() => parseCoordinates(raw({ repository: 'r', format: 'npm', package: 'chalk' }))).message).toBe('repository must be 2 to 100 characters long, got 1');
    expect(validationError(() => parseCoordinates(raw({ repository: 'a'.repeat(101), format: 'npm', package: 'chalk' }))).message).toBe('repository must be 2 to 100 characters long, got 101');
  });

  it('format must be one of the eight', () => {
    expect(validationError(() => parseCoordinates(raw({ format: 'rpm', package: 'bash' }))).message).toBe("format must be one of npm, pypi, maven, nuget, generic, ruby, swift, cargo; got 'rpm'");
    expect(validationError(() => parseCoordinates(raw({ format: 'NPM', package: 'chalk' }))).message).toMatch(/^format must be one of/);
  });
});
