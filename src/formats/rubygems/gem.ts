import { createHash } from 'node:crypto';
import { createGunzip, gunzipSync } from 'node:zlib';
import type { ReadEntry } from 'tar';
import { StockadeError } from '../../errors.js';
import type { ContentView } from '../../security/types.js';
import { createContentView, DEFAULT_VIEW_BUDGET, type ViewBudget, type ViewEntryInput } from '../../security/view.js';
import { checkTarEntryPath, findEntryBelowSymlink, foldCase, InstallPaths, isAbsolutePath, resolveInside, splitSegments, type ArchiveEntryType } from '../archive/paths.js';
import { BodyCollector, StrictTarReader, TAR_ENTRY_TYPES } from '../archive/strict-tar.js';
import { printable } from '../npm/names.js';
import { DEFAULT_RUBY_YAML_LIMITS, parseGemSpec, readRubyYaml, type GemSpec, type RubyValue } from './spec-yaml.js';

/**
 * Reads a `.gem` written by anyone, without extracting it. A gem is a plain tar holding exactly
 * `metadata.gz` (the gzip'd YAML Gem::Specification), `data.tar.gz` (the files) and
 * `checksums.yaml.gz`, plus optional `<member>.sig` signatures. The checksums are verified
 * against the bytes before anything is decompressed further; data.tar.gz is streamed, checked
 * entry by entry and never written anywhere. Dangerous archives (escaping paths or links,
 * devices, bombs, ambiguous duplicates) are UNSAFE_ARCHIVE; anything else RubyGems would refuse
 * or could read differently is INVALID_ARCHIVE. Nothing else is thrown.
 */

export interface GemLimits {
  /** Largest decompressed metadata.gz (the spec YAML). */
  maxSpecBytes: number;
  /** Largest decompressed checksums.yaml.gz. */
  maxChecksumsBytes: number;
  /** Largest `*.sig` member. */
  maxSignatureBytes: number;
  /** Most alias expansions in a YAML document (alias bombs). */
  maxAliasCount: number;
  /** Largest decompressed data.tar. */
  maxUnpackedBytes: number;
  /** Largest single file in data.tar. */
  maxEntryBytes: number;
  /** Highest decompressed:compressed ratio of data.tar.gz, enforced past `ratioGraceBytes` of output. */
  maxRatio: number;
  /** Output any data.tar.gz may reach whatever its ratio: tar headers and padding compress extremely well. */
  ratioGraceBytes: number;
  /** Most entries (files, directories, links) in data.tar. */
  maxEntries: number;
  /** Most path segments in one entry path. */
  maxDepth: number;
}

const KiB = 1024;
const MiB = 1024 * KiB;

export const DEFAULT_GEM_LIMITS: Readonly<GemLimits> = Object.freeze({
  maxSpecBytes: DEFAULT_RUBY_YAML_LIMITS.maxBytes,
  maxChecksumsBytes: 64 * KiB,
  maxSignatureBytes: 64 * KiB,
  maxAliasCount: DEFAULT_RUBY_YAML_LIMITS.maxAliasCount,
  // data.tar is streamed, never held whole (except the view's bodies); this bounds CPU time.
  maxUnpackedBytes: 2048 * MiB,
  // Native gems vendoring prebuilt libraries (libv8, grpc) ship single files of a few hundred MiB.
  maxEntryBytes: 1024 * MiB,
  // Gems compress at 3-10:1; 200:1 past the grace keeps a 1 MiB upload from inflating past 200 MiB.
  maxRatio: 200,
  ratioGraceBytes: 64 * MiB,
  maxEntries: 100_000,
  maxDepth: 64,
});

export type GemFileType = ArchiveEntryType;

export interface GemFile {
  /** Path inside the gem's directory, normalized (`./lib/x.rb` → `lib/x.rb`). */
  path: string;
  /** Body size for regular files, 0 otherwise. */
  size: number;
  /** Permission bits (`& 0o7777`). */
  mode: number;
  type: GemFileType;
  /** Symlinks: the target as written (never followed). Hard links: the normalized target path. */
  linkTarget?: string;
}

export type ChecksumAlgorithm = 'SHA1' | 'SHA256' | 'SHA384' | 'SHA512';

export interface GemContents {
  spec: GemSpec;
  /** metadata.gz decompressed, exactly as shipped. */
  specYaml: string;
  /** checksums.yaml.gz as shipped: algorithm → member name → lowercase hex. Empty when absent. */
  checksums: Record<string, Record<string, string>>;
  /** Algorithms whose every listed digest matched the bytes, e.g. `['SHA256', 'SHA512']`. */
  verified: ChecksumAlgorithm[];
  /** Signature members present (`metadata.gz.sig`, …); they are not verified here. */
  signatures: string[];
  /** Every entry of data.tar, in archive order. */
  files: GemFile[];
  /** Sum of regular file sizes in data.tar. */
  unpackedSize: number;
  /**
   * The spec's `files` list against data.tar, as facts (RubyGems installs what data.tar holds):
   * `missing` are listed but absent, `unlisted` are present (files and links) but not listed.
   */
  fileList: { missing: string[]; unlisted: string[] };
  /**
   * data.tar for the security gate, paths as in `files`. Ruby sources, Rakefiles, extconf.rb,
   * gemspecs and bin/exe scripts are kept first; other bodies may use at most half the budget.
   */
  view: ContentView;
}

export interface ParseGemOptions {
  limits?: Partial<GemLimits>;
  /** Budget of the content view. */
  view?: Partial<ViewBudget>;
  /**
   * Accept a gem without checksums.yaml.gz (RubyGems < 2.0, before 2013). Off by default: such a
   * gem carries nothing to check its members against.
   */
  allowMissingChecksums?: boolean;
}

const METADATA = 'metadata.gz';
const DATA = 'data.tar.gz';
const CHECKSUMS = 'checksums.yaml.gz';
const MEMBERS = [METADATA, DATA, CHECKSUMS];
const SIGNATURES = MEMBERS.map((m) => `${m}.sig`);

const HASHES: Record<ChecksumAlgorithm, string> = { SHA1: 'sha1', SHA256: 'sha256', SHA384: 'sha384', SHA512: 'sha512' };
/** At least one of these must cover metadata.gz and data.tar.gz: SHA1 alone is forgeable. */
const STRONG: ChecksumAlgorithm[] = ['SHA256', 'SHA384', 'SHA512'];

export async function parseGem(data: Buffer, options: ParseGemOptions = {}): Promise<GemContents> {
  const limits: GemLimits = { ...DEFAULT_GEM_LIMITS, ...options.limits };
  const members = readOuterTar(data, limits);

  const metadata = members.get(METADATA);
  const dataTar = members.get(DATA);
  const checksumsGz = members.get(CHECKSUMS);
  if (metadata === undefined) throw new StockadeError('INVALID_ARCHIVE', [`the gem has no ${METADATA} member`]);
  if (dataTar === undefined) throw new StockadeError('INVALID_ARCHIVE', [`the gem has no ${DATA} member`]);
  if (checksumsGz === undefined && !options.allowMissingChecksums) {
    throw new StockadeError('INVALID_ARCHIVE', [`the gem has no ${CHECKSUMS} member, so its contents cannot be verified`]);
  }

  // Checksums first: they cover the compressed bytes, so nothing forged gets decompressed.
  const checksums = Object.create(null) as Record<string, Record<string, string>>;
  const verified: ChecksumAlgorithm[] = [];
  if (checksumsGz !== undefined) {
    const text = gunzipSmall(CHECKSUMS, checksumsGz, limits.maxChecksumsBytes);
    Object.assign(checksums, readChecksums(text, limits));
    verified.push(...verifyChecksums(checksums, members));
  }

  const specYaml = gunzipSmall(METADATA, metadata, limits.maxSpecBytes);
  const spec = parseGemSpec(specYaml, { source: METADATA, limits: { maxBytes: limits.maxSpecBytes, maxAliasCount: limits.maxAliasCount } });

  const budget: ViewBudget = { ...DEFAULT_VIEW_BUDGET, ...options.view };
  const area = await readDataArea(dataTar, limits, budget);

  const present = new Set(area.files.filter((f) => f.type !== 'directory').map((f) => f.path));
  const listed = new Set(spec.files.map(normalizeListed));
  const fileList = {
    missing: [...listed].filter((p) => !present.has(p)),
    unlisted: [...present].filter((p) => !listed.has(p)),
  };

  const inputs: ViewEntryInput[] = area.files.map((file) => {
    const input: ViewEntryInput = { path: file.path, type: file.type, size: file.size, mode: file.mode };
    if (file.linkTarget !== undefined) input.linkTarget = file.linkTarget;
    const body = area.bodies.get(file.path);
    if (body !== undefined) input.body = body;
    return input;
  });

  return {
    spec,
    specYaml,
    checksums,
    verified,
    signatures: SIGNATURES.filter((name) => members.has(name)),
    files: area.files,
    unpackedSize: area.unpackedSize,
    fileList,
    view: createContentView(inputs, budget),
  };
}

// ---------------------------------------------------------------------------------------------
// The outer tar

function readOuterTar(data: Buffer, limits: GemLimits): Map<string, Buffer> {
  const chunksByName = new Map<string, Buffer[]>();
  const reader = new StrictTarReader({
    label: 'the gem',
    onEntry(entry: ReadEntry) {
      const raw = entry.path;
      const name = `"${printable(raw, 120)}"`;
      if (chunksByName.size >= MEMBERS.length + SIGNATURES.length) {
        throw new StockadeError('INVALID_ARCHIVE', [`the gem has too many members (at ${name})`]);
      }
      if (!MEMBERS.includes(raw) && !SIGNATURES.includes(raw)) {
        const why = /[/\\]/.test(raw) ? ' (gem members never have a path)' : '';
        throw new StockadeError('INVALID_ARCHIVE', [
          `unexpected gem member ${name}${why}; a gem holds ${MEMBERS.join(', ')} and optional .sig signatures`,
        ]);
      }
      if (TAR_ENTRY_TYPES[entry.type] !== 'file') {
        throw new StockadeError('INVALID_ARCHIVE', [`gem member ${name} is a ${entry.type}, not a regular file`]);
      }
      if (chunksByName.has(raw)) {
        // Readers disagree on which copy counts: never ambiguous.
        throw new StockadeError('INVALID_ARCHIVE', [`the gem has two ${name} members`]);
      }
      // The other members are bounded by the gem's own size and by their decompression limits.
      if (SIGNATURES.includes(raw) && entry.size > limits.maxSignatureBytes) {
        throw new StockadeError('INVALID_ARCHIVE', [`gem member ${name} is ${entry.size} bytes (limit ${limits.maxSignatureBytes})`]);
      }
      const chunks: Buffer[] = [];
      chunksByName.set(raw, chunks);
      entry.on('data', (chunk: Buffer) => chunks.push(chunk));
    },
  });
  if (data.length < 512) throw new StockadeError('INVALID_ARCHIVE', [`the gem is ${data.length} bytes, too short for a tar archive`]);
  reader.write(data);
  reader.end();
  const members = new Map<string, Buffer>();
  for (const [name, chunks] of chunksByName) members.set(name, Buffer.concat(chunks));
  return members;
}

function gunzipSmall(name: string, body: Buffer, maxBytes: number): string {
  if (body.length < 2 || body[0] !== 0x1f || body[1] !== 0x8b) {
    throw new StockadeError('INVALID_ARCHIVE', [`${name} is not gzip-compressed`]);
  }
  let out: Buffer;
  try {
    out = gunzipSync(body, { maxOutputLength: maxBytes });
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new StockadeError('UNSAFE_ARCHIVE', [`${name} decompresses to more than ${maxBytes} bytes`]);
    }
    throw new StockadeError('INVALID_ARCHIVE', [`${name} is not valid gzip data (${printable((error as Error).message, 120)})`]);
  }
  const text = out.toString('utf8');
  if (text.includes('\uFFFD') && !Buffer.from(text, 'utf8').equals(out)) {
    throw new StockadeError('INVALID_ARCHIVE', [`${name} is not UTF-8 text`]);
  }
  return text.replace(/^\uFEFF/, '');
}

// ---------------------------------------------------------------------------------------------
// Checksums

function readChecksums(text: string, limits: GemLimits): Record<string, Record<string, string>> {
  const root = readRubyYaml(text, CHECKSUMS, { maxBytes: limits.maxChecksumsBytes, maxAliasCount: limits.maxAliasCount });
  const result = Object.create(null) as Record<string, Record<string, string>>;
  const shapeError = (what: string) => new StockadeError('INVALID_ARCHIVE', [`${CHECKSUMS}: ${what}`]);
  if (!isHash(root)) throw shapeError('must map algorithm names to { file: hex digest } maps');
  for (const [algorithm, files] of root.entries) {
    if (!Object.hasOwn(HASHES, algorithm)) {
      // RubyGems fails on a digest it cannot compute; so do we, rather than skip a check.
      throw shapeError(`unsupported checksum algorithm "${printable(algorithm, 40)}" (expected SHA256 or SHA512)`);
    }
    if (!isHash(files)) throw shapeError(`${algorithm} must map member names to hex digests`);
    const digests = Object.create(null) as Record<string, string>;
    const length = createHash(HASHES[algorithm as ChecksumAlgorithm]).digest().length * 2;
    for (const [file, hex] of files.entries) {
      if (typeof hex !== 'string' || hex.length !== length || !/^[0-9a-fA-F]+$/.test(hex)) {
        throw shapeError(`the ${algorithm} digest of "${printable(file, 60)}" is not ${length} hex digits`);
      }
      digests[file] = hex.toLowerCase();
    }
    result[algorithm] = digests;
  }
  return result;
}

function isHash(value: RubyValue): value is Extract<RubyValue, { kind: 'hash' }> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && value.kind === 'hash';
}

function verifyChecksums(checksums: Record<string, Record<string, string>>, members: Map<string, Buffer>): ChecksumAlgorithm[] {
  const verified: ChecksumAlgorithm[] = [];
  for (const [algorithm, digests] of Object.entries(checksums)) {
    for (const [file, expected] of Object.entries(digests)) {
      const body = members.get(file);
      if (body === undefined) {
        throw new StockadeError('INVALID_ARCHIVE', [`${CHECKSUMS} lists a ${algorithm} checksum for "${printable(file, 80)}", which the gem does not contain`]);
      }
      const actual = createHash(HASHES[algorithm as ChecksumAlgorithm]).update(body).digest('hex');
      if (actual !== expected) {
        throw new StockadeError('INVALID_ARCHIVE', [`${algorithm} checksum mismatch for ${file}: ${CHECKSUMS} says ${expected}, the bytes hash to ${actual}`]);
      }
    }
    verified.push(algorithm as ChecksumAlgorithm);
  }
  for (const file of [METADATA, DATA]) {
    if (!STRONG.some((algorithm) => checksums[algorithm]?.[file] !== undefined)) {
      throw new StockadeError('INVALID_ARCHIVE', [`${CHECKSUMS} has no SHA256 or SHA512 checksum for ${file}`]);
    }
  }
  return verified;
}

// ---------------------------------------------------------------------------------------------
// data.tar.gz

interface DataArea {
  files: GemFile[];
  bodies: Map<string, Buffer>;
  unpackedSize: number;
}

/** What the gate's Ruby analysis reads: code that runs at install or require time. */
function isPriority(path: string): boolean {
  const base = path.slice(path.lastIndexOf('/') + 1);
  return (
    /\.(rb|rake|gemspec)$/.test(base) ||
    /^(Rakefile|rakefile|Gemfile|mkrf_conf)$/.test(base) ||
    /^(bin|exe)\/[^/]+$/.test(path)
  );
}

async function readDataArea(body: Buffer, limits: GemLimits, budget: ViewBudget): Promise<DataArea> {
  const files: GemFile[] = [];
  const installed = new InstallPaths<GemFileType>(`"${DATA}" entries`, 'directory');
  const collector = new BodyCollector(budget);
  let unpackedSize = 0;
  let entries = 0;

  const reader = new StrictTarReader({
    label: `"${DATA}"`,
    onEntry(entry: ReadEntry) {
      const raw = entry.path;
      if (++entries > limits.maxEntries) {
        throw new StockadeError('UNSAFE_ARCHIVE', [`"${DATA}" has more than ${limits.maxEntries} entries (at "${printable(raw)}")`]);
      }
      const type = TAR_ENTRY_TYPES[entry.type];
      if (type === undefined) {
        const what = /Device|FIFO/.test(entry.type) ? `a ${entry.type} special file` : `of unsupported type ${entry.type}`;
        throw new StockadeError('UNSAFE_ARCHIVE', [`"${DATA}" entry "${printable(raw)}" is ${what}`]);
      }
      const segments = checkTarEntryPath(raw, limits.maxDepth, `"${DATA}" entry`);
      const path = segments.join('/');
      if (path === '') {
        // `./` is the gem directory itself.
        if (type === 'directory') return void entry.resume();
        throw new StockadeError('UNSAFE_ARCHIVE', [`"${DATA}" ${type} "${printable(raw)}" would replace the gem directory`]);
      }
      installed.claim(path, raw, type);
      const size = type === 'file' ? entry.size : 0;
      if (size > limits.maxEntryBytes) {
        throw new StockadeError('UNSAFE_ARCHIVE', [`"${DATA}" entry "${printable(raw)}" is ${size} bytes (limit ${limits.maxEntryBytes})`]);
      }
      const file: GemFile = { path, size, mode: (entry.mode ?? 0) & 0o7777, type };
      if (type === 'symlink') {
        const target = entry.linkpath ?? '';
        if (target === '' || target.includes('\0')) {
          throw new StockadeError('UNSAFE_ARCHIVE', [`"${DATA}" symlink "${printable(raw)}" has an empty target or one with a NUL byte`]);
        }
        if (isAbsolutePath(target)) {
          throw new StockadeError('UNSAFE_ARCHIVE', [`"${DATA}" symlink "${printable(raw)}" points to the absolute path "${printable(target)}"`]);
        }
        file.linkTarget = target;
      } else if (type === 'link') {
        const rawTarget = entry.linkpath ?? '';
        const target = checkTarEntryPath(rawTarget, limits.maxDepth, `"${DATA}" entry`).join('/');
        // A tar hard link names an earlier member; anything else cannot be extracted inside the gem.
        if (installed.typeOf(target) !== 'file') {
          throw new StockadeError('UNSAFE_ARCHIVE', [
            `"${DATA}" hard link "${printable(raw)}" points to "${printable(rawTarget)}", which is not an earlier file of the gem`,
          ]);
        }
        file.linkTarget = target;
      }
      files.push(file);
      if (type === 'file') {
        unpackedSize += size;
        const room = isPriority(path) ? budget.maxTotalBytes : Math.floor(budget.maxTotalBytes / 2);
        if (collector.keep(entry, path, size, room)) return;
      }
      entry.resume();
    },
  });

  await gunzipInto(body, limits, (chunk) => reader.write(chunk));
  reader.end();
  checkLinks(files);

  return { files, bodies: collector.bodies(), unpackedSize };
}

/** Streams data.tar.gz's output into `sink`, stopping as soon as the budget is passed. */
async function gunzipInto(body: Buffer, limits: GemLimits, sink: (chunk: Buffer) => void): Promise<void> {
  if (body.length < 2 || body[0] !== 0x1f || body[1] !== 0x8b) {
    throw new StockadeError('INVALID_ARCHIVE', [`"${DATA}" is not gzip-compressed`]);
  }
  const byRatio = Math.max(limits.ratioGraceBytes, body.length * limits.maxRatio);
  const max = Math.min(limits.maxUnpackedBytes, byRatio);
  const why =
    max === limits.maxUnpackedBytes
      ? 'the limit for unpacked gems'
      : `a compression ratio above ${limits.maxRatio}:1 for a ${body.length}-byte member: likely a decompression bomb`;
  let produced = 0;
  const gunzip = createGunzip();
  gunzip.end(body);
  try {
    // Leaving the loop (a sink error) destroys the stream, so no inflating continues.
    for await (const chunk of gunzip) {
      produced += (chunk as Buffer).length;
      if (produced > max) throw new StockadeError('UNSAFE_ARCHIVE', [`"${DATA}" decompresses to more than ${max} bytes (${why})`]);
      sink(chunk as Buffer);
    }
  } catch (error) {
    if (error instanceof StockadeError) throw error;
    const detail = error instanceof Error ? error.message : String(error);
    throw new StockadeError('INVALID_ARCHIVE', [`"${DATA}" is not valid gzip data (${printable(detail, 120)})`]);
  }
}

function normalizeListed(path: string): string {
  return path
    .split('/')
    .filter((s) => s !== '' && s !== '.')
    .join('/');
}

/**
 * Symlinks must resolve inside the gem even when other symlinks in it are followed (RubyGems
 * checks this too, Gem::Package#extract_tar_gz), and no entry may sit below a symlink: writing
 * through it would land wherever it points.
 */
function checkLinks(files: GemFile[]): void {
  const symlinks = new Map<string, string>();
  for (const file of files) if (file.type === 'symlink' && file.linkTarget !== undefined) symlinks.set(foldCase(file.path), file.linkTarget);
  if (symlinks.size === 0) return;
  const below = findEntryBelowSymlink(files.map((f) => f.path), symlinks);
  if (below !== undefined) {
    throw new StockadeError('UNSAFE_ARCHIVE', [`"${DATA}" entry "${printable(below.path)}" lies inside the symlink "${printable(below.ancestor)}"`]);
  }
  for (const file of files) {
    if (file.type !== 'symlink' || file.linkTarget === undefined) continue;
    const outcome = resolveInside([...file.path.split('/').slice(0, -1), ...splitSegments(file.linkTarget)], symlinks);
    if (outcome !== 'inside') {
      const why = outcome === 'loop' ? 'loops through symlinks' : 'resolves outside the gem';
      throw new StockadeError('UNSAFE_ARCHIVE', [`"${DATA}" symlink "${printable(file.path)}" -> "${printable(file.linkTarget)}" ${why}`]);
    }
  }
}
