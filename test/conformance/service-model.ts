/**
 * CodeArtifact's published service model, as the aws CLI's botocore carries it
 * (botocore/data/codeartifact/<api date>/service-2.json, gzipped in recent releases). The
 * conformance test reads the model from the machine rather than from a copy in this repository, so
 * it checks the gateway against what AWS ships, and a newer CLI brings a newer model with it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { gunzipSync } from 'node:zlib';

export interface ShapeRef {
  shape: string;
  location?: 'querystring' | 'header' | 'headers' | 'uri' | 'statusCode';
  locationName?: string;
  /** Present (true) on a member that is an operation's HTTP payload as a whole. */
  streaming?: boolean;
  jsonvalue?: boolean;
}

export interface Shape {
  type: 'structure' | 'list' | 'map' | 'string' | 'integer' | 'long' | 'boolean' | 'timestamp' | 'blob' | 'double' | 'float';
  members?: Record<string, ShapeRef>;
  required?: string[];
  payload?: string;
  member?: ShapeRef;
  key?: ShapeRef;
  value?: ShapeRef;
  enum?: string[];
  pattern?: string;
  min?: number;
  max?: number;
  streaming?: boolean;
  timestampFormat?: string;
  exception?: boolean;
  error?: { httpStatusCode: number; senderFault?: boolean };
}

export interface Operation {
  name: string;
  http: { method: string; requestUri: string; responseCode?: number };
  input?: { shape: string };
  output?: { shape: string };
  errors?: Array<{ shape: string }>;
}

export interface ServiceModel {
  /** Where the model was read from, for messages. */
  file: string;
  apiVersion: string;
  protocol: string;
  operations: Record<string, Operation>;
  shapes: Record<string, Shape>;
}

const INSTALL_HINT =
  "CodeArtifact's service model was not found. It comes with the aws CLI's botocore: install one with " +
  '`apt-get install -y awscli` (as root; .ci/run does this) or `pip install awscli`, or point ' +
  'CODEARTIFACT_SERVICE_MODEL at a service-2.json or service-2.json.gz.';

/** Loads the newest CodeArtifact model found on this machine; throws (never skips) when there is none. */
export function loadServiceModel(): ServiceModel {
  const file = findServiceModel();
  if (!file) throw new Error(`${INSTALL_HINT}\nLooked in: ${botocoreDataDirs().join(', ') || '(no botocore found)'}`);
  const raw = readModel(file);
  if (raw.metadata.protocol !== 'rest-json') throw new Error(`${file}: expected a rest-json model, got ${raw.metadata.protocol}`);
  const operations = Object.fromEntries(Object.entries(raw.operations).map(([name, op]) => [name, { ...op, name }]));
  return { file, apiVersion: raw.metadata.apiVersion, protocol: raw.metadata.protocol, operations, shapes: raw.shapes };
}

export function findServiceModel(): string | undefined {
  const explicit = process.env['CODEARTIFACT_SERVICE_MODEL'];
  if (explicit) {
    if (!existsSync(explicit)) throw new Error(`CODEARTIFACT_SERVICE_MODEL names ${explicit}, which does not exist`);
    return explicit;
  }
  const found: Array<{ date: string; file: string; operations: number }> = [];
  for (const data of botocoreDataDirs()) {
    const service = join(data, 'codeartifact');
    if (!isDir(service)) continue;
    for (const date of readdirSync(service)) {
      for (const name of ['service-2.json', 'service-2.json.gz']) {
        const file = join(service, date, name);
        if (existsSync(file)) found.push({ date, file, operations: Object.keys(readModel(file).operations).length });
      }
    }
  }
  // The newest API version wins. Releases of one API version only add operations (Debian's awscli
  // 2.9 has 36, a 2026 botocore 48), so among those the one with the most is the newest; on a tie,
  // the aws on PATH's copy (found first) stays first.
  found.sort((a, b) => b.date.localeCompare(a.date) || b.operations - a.operations);
  return found[0]?.file;
}

function readModel(file: string): { metadata: { apiVersion: string; protocol: string }; operations: Record<string, Omit<Operation, 'name'>>; shapes: Record<string, Shape> } {
  const bytes = readFileSync(file);
  return JSON.parse((file.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8'));
}

/** botocore data folders: the aws on PATH's own first, then the places pip, pyenv and Debian install it. */
function botocoreDataDirs(): string[] {
  const dirs: string[] = [];
  const add = (d: string | undefined) => {
    if (d && isDir(d) && !dirs.includes(d)) dirs.push(d);
  };
  for (const python of awsPythons()) for (const root of packageRoots(python)) add(join(root, 'data'));
  const sitePackages = [
    '/usr/lib/python3/dist-packages',
    '/usr/local/aws-cli/v2/current/dist',
    ...globDirs('/usr/lib', /^python3/, 'site-packages'),
    ...globDirs('/usr/local/lib', /^python3/, 'site-packages'),
    ...globDirs('/usr/local/lib', /^python3/, 'dist-packages'),
    ...globDirs(join(process.env['PYENV_ROOT'] ?? join(homedir(), '.pyenv'), 'versions'), /./, 'lib').flatMap((lib) => globDirs(lib, /^python3/, 'site-packages')),
  ];
  for (const site of sitePackages) {
    add(join(site, 'botocore', 'data'));
    add(join(site, 'awscli', 'botocore', 'data')); // aws CLI v2 carries its own botocore
  }
  return dirs;
}

/** The Python interpreters behind the `aws` commands on PATH (a pyenv shim is asked which one it runs). */
function awsPythons(): string[] {
  const pythons: string[] = [];
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    let script = join(dir, 'aws');
    if (!existsSync(script)) continue;
    try {
      let firstLine = readFileSync(script, 'utf8').split('\n', 1)[0] ?? '';
      if (!firstLine.includes('python') && readFileSync(script, 'utf8').includes('pyenv')) {
        script = execFileSync('pyenv', ['which', 'aws'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
        firstLine = readFileSync(script, 'utf8').split('\n', 1)[0] ?? '';
      }
      const shebang = /^#!\s*(\S+)(?:\s+(\S+))?/.exec(firstLine);
      if (!shebang) continue; // a binary (the v2 installer's): its botocore is found by location
      pythons.push(shebang[1]!.endsWith('/env') && shebang[2] ? shebang[2] : shebang[1]!);
    } catch {
      // unreadable or not a script: the known locations below still apply
    }
  }
  return pythons;
}

/** Where this Python imports botocore from (and the aws CLI v2's own copy, when it has one). */
function packageRoots(python: string): string[] {
  const program = [
    'import importlib.util, os',
    "for name in ('botocore', 'awscli'):",
    '    spec = importlib.util.find_spec(name)',
    '    if spec and spec.origin:',
    '        root = os.path.dirname(spec.origin)',
    "        print(root if name == 'botocore' else os.path.join(root, 'botocore'))",
  ].join('\n');
  try {
    return execFileSync(python, ['-c', program], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 20_000 }).split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

function globDirs(parent: string, name: RegExp, child: string): string[] {
  if (!isDir(parent)) return [];
  return readdirSync(parent)
    .filter((entry) => name.test(entry))
    .map((entry) => join(parent, entry, child))
    .filter(isDir);
}

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
