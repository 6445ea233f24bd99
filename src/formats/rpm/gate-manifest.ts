import type { RpmDependency, RpmFile, RpmPackage, RpmScript, RpmTrigger } from './package.js';

/**
 * What the security gate reads about an RPM besides its payload: the header scriptlets (rpm runs
 * them as root; they are not files of the payload), the owner and type of each file (the content
 * view has neither), and the identity the advisory matching needs (source package, version,
 * architecture). Everything is bounded: the header was written by whoever uploaded the package.
 *
 * Contracts read downstream:
 * - `scriptlets: [{ name, body, interpreter?, file?, truncated?, size? }]`, see `manifestScriptlets`
 *   in security/analyzers/os-packages/scriptlets.ts;
 * - `files: [{ path, type, uname, mode, … }]`, see `payloadOwners` in package-contents.ts;
 * - `source`, `sourceVersion`, `dist` (added by the caller), see security/os-ecosystems.ts.
 */

export interface RpmGateManifestOptions {
  /** Where the package is published (`el/9`, `opensuse/15.5`); the vulns analyzer maps it to OSV ecosystems. */
  dist?: string;
}

/** The analyzer reads at most 64 scriptlets; rpm's six plus triggers rarely pass a dozen. */
const MAX_SCRIPTLETS = 64;
/** Per scriptlet; longer bodies are cut and flagged so the analyzer reports them as uninspectable. */
const MAX_SCRIPTLET_CHARS = 1024 * 1024;
/** All scriptlet bodies together. */
const MAX_SCRIPTLET_TOTAL_CHARS = 4 * 1024 * 1024;
/** The analyzer refuses names above 100 characters: trigger conditions are cut to fit. */
const MAX_SCRIPTLET_NAME = 100;
/** Large packages (kernel sources, TeX) list tens of thousands of files; entries that matter come first. */
const MAX_FILES = 20_000;
const MAX_PATH_CHARS = 4096;
const MAX_DEPENDENCIES = 500;
const MAX_TEXT = 1000;

/** Order and names of rpm's own scriptlets (rpm's `%pretrans` … `%posttrans`). */
const SCRIPT_KINDS = ['pretrans', 'pre', 'post', 'preun', 'postun', 'posttrans'] as const;
const TRIGGER_NAMES: Readonly<Record<RpmTrigger['event'], string>> = { prein: 'triggerprein', in: 'triggerin', un: 'triggerun', postun: 'triggerpostun' };
const TRIGGER_SCOPES: Readonly<Record<RpmTrigger['scope'], string>> = { package: '', file: 'file', 'transaction-file': 'transfile' };
const COMPARISON_TEXT: Readonly<Record<string, string>> = { EQ: '=', LT: '<', GT: '>', LE: '<=', GE: '>=' };

type FileType = 'file' | 'dir' | 'symlink' | 'char' | 'block' | 'fifo';

/** stat(2) S_IFMT values; sockets have no entry in the contract and stay untyped. */
const FILE_TYPES: ReadonlyMap<number, FileType> = new Map([
  [0o100000, 'file'],
  [0o040000, 'dir'],
  [0o120000, 'symlink'],
  [0o020000, 'char'],
  [0o060000, 'block'],
  [0o010000, 'fifo'],
]);

export function rpmGateManifest(pkg: RpmPackage, options: RpmGateManifestOptions = {}): Record<string, unknown> {
  const source = parseSourceRpm(pkg.sourceRpm);
  const files = gateFiles(pkg.files);
  const manifest: Record<string, unknown> = {
    name: clipText(pkg.name),
    epoch: pkg.epoch,
    version: clipText(pkg.version),
    release: clipText(pkg.release),
    arch: clipText(pkg.arch),
    license: pkg.license === null ? null : clipText(pkg.license),
    summary: pkg.summary === null ? null : clipText(pkg.summary),
    sourceRpm: pkg.sourceRpm === null ? null : clipText(pkg.sourceRpm),
    // A binary package's subpackages share the source's epoch; the .src.rpm file name omits it.
    source: source?.name ?? null,
    sourceVersion: source === undefined ? null : evrText(pkg.epoch, source.version, source.release),
    isSource: pkg.isSource,
    requires: compactDependencies(pkg.requires),
    provides: compactDependencies(pkg.provides),
    conflicts: compactDependencies(pkg.conflicts),
    obsoletes: compactDependencies(pkg.obsoletes),
    recommends: compactDependencies(pkg.recommends),
    suggests: compactDependencies(pkg.suggests),
    supplements: compactDependencies(pkg.supplements),
    enhances: compactDependencies(pkg.enhances),
    scriptlets: gateScriptlets(pkg),
    files: files.list,
    fileCount: pkg.files.length,
  };
  if (files.truncated) manifest.filesTruncated = true;
  if (options.dist !== undefined) manifest.dist = clipText(options.dist);
  return manifest;
}

/** `[epoch:]version-release`, rpm's EVR spelling (the artifact version of an RPM). */
export function evrText(epoch: number | null, version: string, release: string): string {
  return `${epoch === null ? '' : `${epoch}:`}${version}-${release}`;
}

/**
 * `openssl-3.0.7-16.el9.src.rpm` → name `openssl`, version `3.0.7`, release `16.el9`: rpm names
 * the file `%{NAME}-%{VERSION}-%{RELEASE}.src.rpm` (or `.nosrc.rpm`), and neither version nor
 * release may contain a hyphen, so the last two hyphens split it.
 */
export function parseSourceRpm(fileName: string | null): { name: string; version: string; release: string } | undefined {
  if (fileName === null || fileName.length > 1024) return undefined;
  const m = /^(.+)-([^-]+)-([^-]+)\.(?:no)?src\.rpm$/.exec(fileName);
  if (m === null) return undefined;
  return { name: m[1] as string, version: m[2] as string, release: m[3] as string };
}

function clipText(text: string): string {
  return text.length <= MAX_TEXT ? text : text.slice(0, MAX_TEXT);
}

/** `bash >= 4.0`, `libc.so.6()(64bit)`, `glibc < 3:2.40-1`. */
export function dependencyText(dep: RpmDependency): string {
  const op = dep.flags === null ? undefined : COMPARISON_TEXT[dep.flags];
  if (op === undefined || dep.version === null) return clipText(dep.name);
  const evr = `${dep.epoch === null ? '' : `${dep.epoch}:`}${dep.version}${dep.release === null ? '' : `-${dep.release}`}`;
  return clipText(`${dep.name} ${op} ${evr}`);
}

function compactDependencies(deps: readonly RpmDependency[]): string[] {
  return deps.slice(0, MAX_DEPENDENCIES).map(dependencyText);
}

interface GateScriptlet {
  name: string;
  file: string;
  body: string;
  interpreter?: string;
  /** Set when the body was cut; `size` is the length of the whole body. */
  truncated?: true;
  size?: number;
}

function gateScriptlets(pkg: RpmPackage): GateScriptlet[] {
  const found: { name: string; file: string; script: RpmScript }[] = [];
  for (const kind of SCRIPT_KINDS) {
    const script = pkg.scripts[kind];
    if (script !== undefined) found.push({ name: `%${kind}`, file: `SCRIPTLETS/%${kind}`, script });
  }
  pkg.triggers.forEach((trigger, index) => {
    const kind = `%${TRIGGER_SCOPES[trigger.scope]}${TRIGGER_NAMES[trigger.event]}`;
    const conditions = trigger.conditions.map(dependencyText).join(', ');
    found.push({ name: fitName(`${kind} -- ${conditions}`), file: `SCRIPTLETS/${kind}-${index + 1}`, script: trigger });
  });
  let budget = MAX_SCRIPTLET_TOTAL_CHARS;
  return found.slice(0, MAX_SCRIPTLETS).map(({ name, file, script }) => {
    const limit = Math.min(MAX_SCRIPTLET_CHARS, budget);
    const body = script.body.length <= limit ? script.body : script.body.slice(0, limit);
    budget -= body.length;
    const item: GateScriptlet = { name, file, body };
    if (script.program !== null && script.program !== '') item.interpreter = script.program.slice(0, 200);
    if (body.length < script.body.length) {
      item.truncated = true;
      item.size = script.body.length;
    }
    return item;
  });
}

function fitName(name: string): string {
  return name.length <= MAX_SCRIPTLET_NAME ? name : `${name.slice(0, MAX_SCRIPTLET_NAME - 1)}…`;
}

interface GateFile {
  path: string;
  type?: FileType;
  uname: string;
  gname?: string;
  mode: number;
  ghost?: true;
}

/** Entries whose owner or type changes a judgement: special bits, device nodes, world-writable, non-root. */
function mattersForReview(file: RpmFile): boolean {
  const type = file.mode & 0o170000;
  return (file.mode & 0o6002) !== 0 || type === 0o020000 || type === 0o060000 || (file.user !== null && file.user !== 'root');
}

function gateFiles(files: readonly RpmFile[]): { list: GateFile[]; truncated: boolean } {
  const chosen = files.length <= MAX_FILES ? files : [...files.filter(mattersForReview), ...files.filter((f) => !mattersForReview(f))].slice(0, MAX_FILES);
  const list = chosen
    .filter((f) => f.path.length <= MAX_PATH_CHARS)
    .map((f) => {
      const entry: GateFile = { path: f.path, uname: (f.user ?? '').slice(0, 64), mode: f.mode & 0o7777 };
      const type = FILE_TYPES.get(f.mode & 0o170000);
      if (type !== undefined) entry.type = type;
      if (f.group !== null) entry.gname = f.group.slice(0, 64);
      // Ghost files are owned but not installed by rpm: nothing of theirs lands on disk from the payload.
      if (f.flags.ghost) entry.ghost = true;
      return entry;
    });
  return { list, truncated: files.length > list.length };
}
