import { createHash, getHashes } from 'node:crypto';
import { posix } from 'node:path';
import semver from 'semver';
import ssri from 'ssri';
import { StockadeError } from '../../errors.js';
import { printable } from './names.js';

/**
 * Manifest confusion (detection.md §9): the version document a client PUTs is stored apart from
 * the package.json in the tarball, and installers trust the latter. We compare the fields that
 * change what gets installed or run. Both sides go through the same model of what npm 11 does
 * to package.json on publish and install (@npmcli/package-json `fix` + `prepare`,
 * npm-normalize-package-bin, hosted git specs), so neither an honest `npm publish` nor a client
 * sending the raw package.json shows a difference.
 */

type Json = unknown;
type JsonMap = Record<string, Json>;

export interface ManifestDifference {
  /** The top-level package.json field. */
  field: string;
  /** For map-valued fields, the first key that differs (e.g. `postinstall` in `scripts`). */
  key?: string;
}

export interface CompareOptions {
  /**
   * The tarball's entries (as returned by readNpmTarball). npm adds scripts and bins derived from
   * files on publish: `install: node-gyp rebuild` for a root `*.gyp`, `start: node server.js`,
   * and `bin` from `directories.bin`. Without the list those additions count as differences.
   */
  files?: readonly { path: string; type: string }[];
}

const DEPENDENCY_FIELDS = ['dependencies', 'optionalDependencies', 'peerDependencies', 'devDependencies'] as const;

/** Compared fields, in the order differences are reported. */
export const COMPARED_FIELDS = [
  'name',
  'version',
  ...DEPENDENCY_FIELDS,
  'bundleDependencies',
  'scripts',
  'bin',
  'main',
  'os',
  'cpu',
  'engines',
  'directories',
] as const;

const DEPENDENCY_SET = new Set<string>(DEPENDENCY_FIELDS);
const MAP_FIELDS = new Set<string>(['scripts', 'bin', 'engines', 'directories']);

/** Lists the fields where the claimed metadata and the tarball's package.json disagree. */
export function compareManifest(claimed: JsonMap, actual: JsonMap, options: CompareOptions = {}): ManifestDifference[] {
  const a = canonicalManifest(claimed, options.files);
  const b = canonicalManifest(actual, options.files);
  const differences: ManifestDifference[] = [];
  for (const field of COMPARED_FIELDS) {
    const left = a[field];
    const right = b[field];
    if (DEPENDENCY_SET.has(field)) {
      const key = firstDifferentKey(left as JsonMap, right as JsonMap, sameSpec);
      if (key !== undefined) differences.push({ field, key });
    } else if (MAP_FIELDS.has(field) && isMap(left) && isMap(right)) {
      const key = firstDifferentKey(left, right, deepEqual);
      if (key !== undefined) differences.push({ field, key });
    } else if (!deepEqual(left, right)) {
      differences.push({ field });
    }
  }
  return differences;
}

/** Throws MANIFEST_MISMATCH naming the first differing field. */
export function assertManifestMatches(claimed: JsonMap, actual: JsonMap, options: CompareOptions = {}): void {
  const [first] = compareManifest(claimed, actual, options);
  if (first !== undefined) {
    const where = first.key === undefined ? first.field : `${first.field}.${first.key}`;
    throw new StockadeError('MANIFEST_MISMATCH', [printable(where, 120)], { field: first.field, key: first.key });
  }
}

function canonicalManifest(raw: JsonMap, files: CompareOptions['files']): Record<(typeof COMPARED_FIELDS)[number], Json> {
  const name = typeof raw.name === 'string' ? raw.name.trim() : raw.name;
  const deps = Object.fromEntries(DEPENDENCY_FIELDS.map((f) => [f, dependencyMap(raw[f])])) as Record<
    (typeof DEPENDENCY_FIELDS)[number],
    JsonMap
  >;
  const bundle = bundleList(raw, deps.dependencies);
  // normalize-package-data lists bundled names missing from dependencies as `*`.
  for (const dep of bundle) {
    if (!Object.hasOwn(deps.dependencies, dep)) deps.dependencies[dep] = '*';
  }
  return {
    name,
    version: typeof raw.version === 'string' ? (semver.clean(raw.version, { loose: true }) ?? raw.version) : raw.version,
    ...deps,
    bundleDependencies: bundle,
    scripts: scriptMap(raw, files),
    bin: binMap(raw, files),
    main: typeof raw.main === 'string' ? normalizePath(raw.main) : raw.main,
    os: stringSet(raw.os),
    cpu: stringSet(raw.cpu),
    engines: raw.engines ?? {},
    directories: pathMap(raw.directories),
  };
}

function isMap(value: Json): value is JsonMap {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// Maps built from package.json keys must not have a prototype (`__proto__` is a legal key).
function emptyMap(): JsonMap {
  return Object.create(null) as JsonMap;
}

/** @npmcli/package-json fixDependencies: strings and arrays become maps, non-string specs drop. */
function dependencyMap(value: Json): JsonMap {
  let entries: Json = value;
  if (typeof entries === 'string') entries = entries.trim().split(/[\n\r\s\t ,]+/);
  const map = emptyMap();
  if (Array.isArray(entries)) {
    for (const item of entries) {
      if (typeof item !== 'string') continue;
      const parts = item.trim().split(/(:?[@\s><=])/);
      const depName = parts.shift() ?? '';
      map[depName] = parts.join('').replace(/^@/, '').trim();
    }
    return map;
  }
  if (!isMap(entries)) return map;
  for (const [key, spec] of Object.entries(entries)) {
    if (typeof spec === 'string') map[key] = spec;
  }
  return map;
}

function bundleList(raw: JsonMap, dependencies: JsonMap): string[] {
  let bundle = raw.bundleDependencies === undefined ? raw.bundledDependencies : raw.bundleDependencies;
  if (bundle === true) bundle = Object.keys(isMap(raw.dependencies) ? raw.dependencies : dependencies);
  else if (isMap(bundle)) bundle = Object.keys(bundle);
  if (!Array.isArray(bundle)) return [];
  return [...new Set(bundle.filter((d): d is string => typeof d === 'string' && d !== ''))].sort();
}

const BIN_PREFIX = /^(\.[/\\])?node_modules[/\\].bin[\\/]/;

function scriptMap(raw: JsonMap, files: CompareOptions['files']): JsonMap {
  const source = isMap(raw.scripts) ? raw.scripts : {};
  const scripts = emptyMap();
  for (const [key, value] of Object.entries(source)) {
    // npm's scriptpath step: node_modules/.bin is on PATH for scripts anyway.
    if (typeof value === 'string') scripts[key] = value.replace(BIN_PREFIX, '');
  }
  if (files !== undefined) {
    // Mirrors the publish-time additions; npm runs the same defaults at install/start time.
    const rootGyp = files.some((f) => !f.path.includes('/') && /^[^.][^/]*\.gyp$/.test(f.path));
    if (rootGyp && !source.install && !source.preinstall && raw.gypfile !== false) {
      scripts.install = 'node-gyp rebuild';
    }
    if (!source.start && files.some((f) => f.path === 'server.js')) scripts.start = 'node server.js';
  }
  return scripts;
}

/** npm-normalize-package-bin, which npm applies when publishing and again when linking bins. */
function binMap(raw: JsonMap, files: CompareOptions['files']): JsonMap {
  let bin: Json = raw.bin;
  const directories = isMap(raw.directories) ? raw.directories : {};
  if (!bin && typeof directories.bin === 'string' && directories.bin !== '' && files !== undefined) {
    bin = binsFromDirectory(directories.bin, files);
  } else if (typeof bin === 'string') {
    bin = typeof raw.name === 'string' && raw.name !== '' ? { [raw.name]: bin } : undefined;
  } else if (Array.isArray(bin)) {
    const fromArray = emptyMap();
    for (const item of bin) {
      if (typeof item === 'string') fromArray[posix.basename(item)] = item;
    }
    bin = fromArray;
  }
  const clean = emptyMap();
  if (!isMap(bin)) return clean;
  for (const [key, target] of Object.entries(bin)) {
    const base = posix.join('/', posix.basename(key.replace(/\\|:/g, '/'))).slice(1);
    if (typeof target !== 'string' || base === '') continue;
    const cleanTarget = posix.join('/', target.replace(/\\/g, '/')).slice(1);
    if (cleanTarget !== '') clean[base] = cleanTarget;
  }
  return clean;
}

/** `directories.bin` expands to everything glob('**') finds there, dot entries excluded. */
function binsFromDirectory(dir: string, files: NonNullable<CompareOptions['files']>): JsonMap {
  const secured = posix.join('.', posix.join('/', dir.replace(/\\|:/g, '/')));
  const binPath = secured.startsWith('./') || secured === '.' ? '' : secured.replace(/\/+$/, '');
  const prefix = binPath === '' ? '' : `${binPath}/`;
  const found = new Set<string>();
  for (const file of files) {
    if (!file.path.startsWith(prefix)) continue;
    const segments = file.path.slice(prefix.length).split('/');
    // glob reports the folders on the way too.
    for (let i = 1; i <= segments.length; i++) found.add(segments.slice(0, i).join('/'));
  }
  const bins = emptyMap();
  for (const rel of found) {
    if (rel === '' || rel.split('/').some((s) => s.startsWith('.'))) continue;
    bins[posix.basename(rel)] = `${prefix}${rel}`;
  }
  return bins;
}

/** `./x`, `x`, `x/` and `a/../x` name the same file for Node's resolver. */
function normalizePath(value: string): string {
  const normal = posix.normalize(value.replace(/\\/g, '/'));
  return normal.length > 1 ? normal.replace(/\/+$/, '') : normal;
}

function pathMap(value: Json): Json {
  if (value === undefined || value === null) return emptyMap();
  if (!isMap(value)) return value;
  const map = emptyMap();
  for (const [key, path] of Object.entries(value)) map[key] = typeof path === 'string' ? normalizePath(path) : path;
  return map;
}

/** os/cpu: npm-install-checks accepts a string or a list, and order carries no meaning. */
function stringSet(value: Json): Json {
  if (value === undefined || value === null) return [];
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || !list.every((v) => typeof v === 'string')) return value;
  return [...new Set(list as string[])].sort();
}

function firstDifferentKey(left: JsonMap, right: JsonMap, same: (a: Json, b: Json) => boolean): string | undefined {
  for (const key of Object.keys(left)) {
    if (!Object.hasOwn(right, key) || !same(left[key], right[key])) return key;
  }
  return Object.keys(right).find((key) => !Object.hasOwn(left, key));
}

function deepEqual(a: Json, b: Json): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((item, i) => deepEqual(item, b[i]));
  }
  const left = a as JsonMap;
  const right = b as JsonMap;
  return firstDifferentKey(left, right, deepEqual) === undefined;
}

/** Two specs for one hosted repo and ref are the same dependency to pacote, whatever the URL form. */
function sameSpec(a: Json, b: Json): boolean {
  if (a === b) return true;
  if (typeof a !== 'string' || typeof b !== 'string') return false;
  const hostedA = hostedRepo(a);
  return hostedA !== undefined && hostedA === hostedRepo(b);
}

const HOSTS: Record<string, string> = { 'github.com': 'github', 'gitlab.com': 'gitlab', 'bitbucket.org': 'bitbucket' };
const SHORTCUT = /^(github|gitlab|bitbucket):([^/#\s]+(?:\/[^/#\s]+)+?)(?:\.git)?(#.*)?$/;
const GITHUB_SHORTHAND = /^([^@%/\s.-][^:@%/\s]*)\/([^:@\s/%#]+?)(?:\.git)?(#.*)?$/;
const URL_FORM = /^(?:git\+)?(?:https?|ssh|git):\/\/(?:[^@/]+@)?(?:www\.)?([^/:]+)(?::\d+)?\/([^#\s]+?)(?:\.git)?\/?(#.*)?$/;
const SCP_FORM = /^(?:git\+ssh:\/\/)?[^@/\s]+@([^/:]+):\/?([^#\s]+?)(?:\.git)?(#.*)?$/;

/**
 * `host:owner/repo#ref` for the hosted-git-info forms npm rewrites on publish (`user/repo` →
 * `github:user/repo`, `https://github.com/u/r` → `git+https://github.com/u/r.git`, …).
 */
function hostedRepo(spec: string): string | undefined {
  let host: string | undefined;
  let path: string | undefined;
  let ref: string | undefined;
  let match = SHORTCUT.exec(spec);
  if (match) [, host, path, ref] = match;
  else if ((match = GITHUB_SHORTHAND.exec(spec))) [host, path, ref] = ['github', `${match[1]}/${match[2]}`, match[3]];
  else if ((match = URL_FORM.exec(spec) ?? SCP_FORM.exec(spec))) {
    host = HOSTS[(match[1] ?? '').toLowerCase()];
    [, , path, ref] = match;
  }
  if (host === undefined || path === undefined) return undefined;
  const segments = path.split('/');
  // github and bitbucket have exactly owner/repo; gitlab allows subgroups.
  if (segments.length < 2 || (host !== 'gitlab' && segments.length !== 2) || segments.some((s) => s === '')) return undefined;
  return `${host}:${path}${ref ?? ''}`;
}

/**
 * Hashes the uploaded tarball and checks it against what the client claimed (`dist.integrity`,
 * any algorithm ssri parses; `dist.shasum`, sha1 hex). Returns the digests to store.
 */
export function verifyIntegrity(
  data: Buffer,
  claimed: { integrity?: unknown; shasum?: unknown },
): { integrity: string; shasum: string } {
  const integrity = ssri.fromData(data, { algorithms: ['sha512'] }).toString();
  const shasum = createHash('sha1').update(data).digest('hex');
  if (claimed.integrity !== undefined) checkClaimedIntegrity(data, claimed.integrity, integrity);
  if (claimed.shasum !== undefined) {
    if (typeof claimed.shasum !== 'string' || claimed.shasum.toLowerCase() !== shasum) {
      throw new StockadeError('INTEGRITY_MISMATCH', [
        `dist.shasum "${printable(claimed.shasum, 80)}" does not match the uploaded tarball (sha1 ${shasum})`,
      ]);
    }
  }
  return { integrity, shasum };
}

function checkClaimedIntegrity(data: Buffer, claimed: unknown, computed: string): void {
  const mismatch = (why: string): never => {
    throw new StockadeError('INTEGRITY_MISMATCH', [`dist.integrity "${printable(claimed, 120)}" ${why}`]);
  };
  if (typeof claimed !== 'string') mismatch('is not a string');
  // ssri.parse returns null (despite its types) when no hash in the string is usable.
  const parsed: object | null = ssri.parse(claimed as string);
  const supported = new Set(getHashes());
  let checked = 0;
  // Every listed hash must match, not just the strongest one as in ssri.checkData.
  for (const [algorithm, hashes] of Object.entries(parsed ?? {})) {
    if (!Array.isArray(hashes)) continue;
    if (!supported.has(algorithm)) mismatch(`uses the unsupported algorithm ${printable(algorithm, 20)}`);
    const digest = createHash(algorithm).update(data).digest('base64');
    for (const hash of hashes as { digest: string }[]) {
      if (hash.digest !== digest) mismatch(`does not match the uploaded tarball (${computed})`);
      checked++;
    }
  }
  if (checked === 0) mismatch('is not a valid integrity string');
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Decodes `_attachments[file].data`. Buffer.from(…, 'base64') skips junk silently, so the
 * alphabet, padding and canonical form are checked first; a declared `length` must match.
 */
export function decodeAttachment(data: unknown, declaredLength?: unknown): Buffer {
  if (typeof data !== 'string' || data.length === 0) {
    throw new StockadeError('INVALID_ATTACHMENT', ['data must be a non-empty base64 string']);
  }
  if (!BASE64.test(data)) {
    const at = data.search(/[^A-Za-z0-9+/=]/);
    const detail =
      at === -1
        ? `padding "=" appears before the end (offset ${data.indexOf('=')})`
        : `character "${printable(data.charAt(at))}" at offset ${at} is outside the base64 alphabet`;
    throw new StockadeError('INVALID_ATTACHMENT', [`data is not valid base64: ${detail}`]);
  }
  if (data.length % 4 !== 0) {
    throw new StockadeError('INVALID_ATTACHMENT', [`data is not valid base64: length ${data.length} is not a multiple of 4`]);
  }
  // Non-zero bits in the last quantum's padding mean a non-canonical (tampered or truncated) encoding.
  const tail = data.slice(-4);
  if (Buffer.from(tail, 'base64').toString('base64') !== tail) {
    throw new StockadeError('INVALID_ATTACHMENT', ['data is not valid base64: bad padding']);
  }
  const bytes = Buffer.from(data, 'base64');
  if (declaredLength !== undefined) {
    if (typeof declaredLength !== 'number' || !Number.isSafeInteger(declaredLength) || declaredLength < 0) {
      const got = typeof declaredLength === 'number' ? String(declaredLength) : `a ${typeof declaredLength}`;
      throw new StockadeError('INVALID_ATTACHMENT', [`length must be a non-negative integer, got ${got}`]);
    }
    if (declaredLength !== bytes.length) {
      throw new StockadeError('INVALID_ATTACHMENT', [
        `declared length ${declaredLength} differs from the ${bytes.length} decoded bytes`,
      ]);
    }
  }
  return bytes;
}
