/**
 * Per-format package naming rules and normalisation, as CodeArtifact applies them before a name
 * becomes part of an ARN. The ARN and the store key both use the normalised name, so two spellings
 * of one package can never be two resources for Cedar.
 */
export const FORMATS = ['npm', 'pypi', 'maven', 'nuget', 'generic', 'ruby', 'swift', 'cargo'] as const;
export type PackageFormat = (typeof FORMATS)[number];

interface FormatRule {
  namespace: 'required' | 'optional' | 'forbidden';
  namespacePattern?: RegExp;
  namePattern: RegExp;
  /** Human-readable form of the patterns, for error messages. */
  describe: string;
  maxNameLength: number;
  normaliseNamespace(ns: string): string;
  normaliseName(name: string): string;
  normaliseVersion(version: string): string;
}

const same = (s: string) => s;
const lower = (s: string) => s.toLowerCase();

export const FORMAT_RULES: Record<PackageFormat, FormatRule> = {
  npm: {
    namespace: 'optional',
    // npm: lowercase, URL-safe, and no leading dot or underscore (name and scope alike).
    namespacePattern: /^[a-z0-9~-][a-z0-9._~-]*$/,
    namePattern: /^[a-z0-9~-][a-z0-9._~-]*$/,
    describe: 'lowercase letters, digits and - . _ ~, not starting with . or _',
    maxNameLength: 214,
    // The scope is the namespace without its '@': accept either spelling.
    normaliseNamespace: (ns) => (ns.startsWith('@') ? ns.slice(1) : ns),
    normaliseName: same,
    normaliseVersion: same,
  },
  pypi: {
    namespace: 'forbidden',
    namePattern: /^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$/,
    describe: 'letters, digits and - . _, starting and ending with a letter or digit',
    maxNameLength: 255,
    normaliseNamespace: same,
    // PEP 503, as CodeArtifact does: lowercase, and every run of . - _ becomes one -.
    normaliseName: (name) => name.toLowerCase().replace(/[-_.]+/g, '-'),
    normaliseVersion: same,
  },
  maven: {
    namespace: 'required',
    namespacePattern: /^[A-Za-z0-9_.-]+$/,
    namePattern: /^[A-Za-z0-9_.-]+$/,
    describe: 'letters, digits and - . _ (the namespace is the groupId)',
    maxNameLength: 255,
    normaliseNamespace: same,
    normaliseName: same,
    normaliseVersion: same,
  },
  nuget: {
    namespace: 'forbidden',
    namePattern: /^[A-Za-z0-9_.-]+$/,
    describe: 'letters, digits and - . _',
    maxNameLength: 100,
    normaliseNamespace: same,
    // CodeArtifact lowercases NuGet names and normalises versions the way NuGet does.
    normaliseName: lower,
    normaliseVersion: normaliseNugetVersion,
  },
  generic: {
    namespace: 'required',
    namespacePattern: /^[A-Za-z0-9._~+=@-]+$/,
    namePattern: /^[A-Za-z0-9._~+=@-]+$/,
    describe: 'letters, digits and - . _ ~ + = @',
    maxNameLength: 255,
    normaliseNamespace: same,
    normaliseName: same,
    normaliseVersion: same,
  },
  ruby: {
    namespace: 'forbidden',
    namePattern: /^[A-Za-z0-9._-]+$/,
    describe: 'letters, digits and - . _',
    maxNameLength: 255,
    normaliseNamespace: same,
    normaliseName: same,
    normaliseVersion: same,
  },
  swift: {
    namespace: 'required',
    namespacePattern: /^[A-Za-z0-9][A-Za-z0-9-]{0,38}$/,
    namePattern: /^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/,
    describe: 'letters, digits, - and _ (the namespace is the scope: letters, digits and -)',
    maxNameLength: 100,
    // CodeArtifact lowercases Swift names and scopes.
    normaliseNamespace: lower,
    normaliseName: lower,
    normaliseVersion: same,
  },
  cargo: {
    namespace: 'forbidden',
    namePattern: /^[A-Za-z][A-Za-z0-9_-]{0,63}$/,
    describe: 'letters, digits, - and _, starting with a letter, at most 64 characters',
    maxNameLength: 64,
    normaliseNamespace: same,
    normaliseName: same,
    normaliseVersion: same,
  },
};

/**
 * NuGet's normalised version: leading zeros dropped from each number, a zero fourth part omitted,
 * SemVer build metadata removed (1.00.0.1 → 1.0.0.1, 1.0.0.0 → 1.0.0, 1.0.7+r3456 → 1.0.7).
 */
export function normaliseNugetVersion(version: string): string {
  const withoutBuild = version.split('+', 1)[0]!;
  const dash = withoutBuild.indexOf('-');
  const core = dash === -1 ? withoutBuild : withoutBuild.slice(0, dash);
  const release = dash === -1 ? '' : withoutBuild.slice(dash);
  const parts = core.split('.');
  if (!parts.every((p) => /^\d+$/.test(p))) return withoutBuild;
  const numbers = parts.map((p) => String(BigInt(p)));
  while (numbers.length < 3) numbers.push('0');
  if (numbers.length === 4 && numbers[3] === '0') numbers.pop();
  return numbers.join('.') + release.toLowerCase();
}
