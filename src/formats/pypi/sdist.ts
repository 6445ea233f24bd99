import { gunzipSync } from 'node:zlib';
import { Parser, type ReadEntry } from 'tar';
import { StockadeError } from '../../errors.js';
import type { ContentView } from '../../security/types.js';
import { createContentView, DEFAULT_VIEW_BUDGET, type ViewBudget, type ViewEntryInput } from '../../security/view.js';
import { TAR_ENTRY_TYPES } from '../archive/strict-tar.js';
import { printable } from '../npm/names.js';
import { checkEntryPath, foldPath, NameRegistry, quote, symlinkStaysInside, type ArchiveEntryType, type PathLimits } from './archive-paths.js';
import { DEFAULT_METADATA_LIMITS, parseCoreMetadata, type CoreMetadata, type MetadataLimits } from './metadata.js';
import { normalizeProjectName, sameVersion, sdistFilenameCandidates, splitNameVersion, type SdistFilename } from './names.js';
import { openZip, type ZipLimits } from './zip.js';

/**
 * Reads a source distribution (`{name}-{version}.tar.gz` or `.zip`, PEP 625 and the sdist
 * format spec) written by anyone, without extracting it: one top-level `{name}-{version}/`
 * directory with PKG-INFO at its root, naming the same project and version as the file name.
 * Links that leave that directory, special files, unsafe or colliding paths and decompression
 * bombs are UNSAFE_ARCHIVE; anything malformed is INVALID_ARCHIVE.
 */

export interface SdistLimits extends PathLimits {
  /** Most entries (files, folders, links). */
  maxEntries: number;
  /**
   * Largest unpacked size. A .tar.gz is decompressed in memory before the tar is read, so this
   * bounds memory as well as time.
   */
  maxUnpackedBytes: number;
  /** Highest uncompressed:compressed ratio past `ratioGraceBytes` (the archive, and zip entries). */
  maxRatio: number;
  ratioGraceBytes: number;
  metadata: MetadataLimits;
}

const MiB = 1024 * 1024;

export const DEFAULT_SDIST_LIMITS: Readonly<SdistLimits> = Object.freeze({
  maxEntries: 100_000,
  // The largest sdists (vendored C/C++ libraries) unpack to a few hundred MiB.
  maxUnpackedBytes: 512 * MiB,
  // tar headers and padding compress far beyond the content's ratio, hence the grace.
  maxRatio: 200,
  ratioGraceBytes: 16 * MiB,
  maxDepth: 64,
  maxPathLength: 4096,
  metadata: DEFAULT_METADATA_LIMITS,
});

export interface SdistFile {
  /** Path inside the project directory (the top-level `{name}-{version}/` removed). */
  path: string;
  type: ArchiveEntryType;
  size: number;
  mode: number;
  /** Symlinks: the target as written. Hard links: the target's path inside the project. */
  linkTarget?: string;
}

export interface SdistContents {
  /** As in PKG-INFO. */
  name: string;
  normalizedName: string;
  version: string;
  filename: SdistFilename;
  format: 'tar.gz' | 'zip';
  /** The top-level directory, e.g. `demo-1.0`. */
  topDir: string;
  metadata: CoreMetadata;
  /** PKG-INFO exactly as shipped. */
  pkgInfoBytes: Buffer;
  pkgInfoText: string;
  files: SdistFile[];
  unpackedSize: number;
  /** Project paths (`setup.py`, `pyproject.toml`, `src/x.py`), for the gate. */
  view: ContentView;
}

export interface ParseSdistOptions {
  limits?: Partial<Omit<SdistLimits, 'metadata'>> & { metadata?: Partial<MetadataLimits> };
  view?: Partial<ViewBudget>;
}

interface RawEntry {
  path: string;
  type: ArchiveEntryType;
  size: number;
  mode: number;
  linkTarget?: string;
  chunks?: Buffer[];
}

const MAX_LINK_TARGET = 4096;

function invalid(why: string): StockadeError {
  return new StockadeError('INVALID_ARCHIVE', [why]);
}

function unsafe(why: string): StockadeError {
  return new StockadeError('UNSAFE_ARCHIVE', [why]);
}

export async function parseSdist(data: Buffer, filename: string, options: ParseSdistOptions = {}): Promise<SdistContents> {
  const limits: SdistLimits = {
    ...DEFAULT_SDIST_LIMITS,
    ...options.limits,
    metadata: { ...DEFAULT_SDIST_LIMITS.metadata, ...options.limits?.metadata },
  };
  const budget: ViewBudget = { ...DEFAULT_VIEW_BUDGET, ...options.view };
  const candidates = sdistFilenameCandidates(filename);
  const extension = (candidates[0] as SdistFilename).extension;
  const where = `sdist "${printable(filename, 120)}"`;
  const names = new NameRegistry(where);
  const raw = extension === '.zip' ? await readZipEntries(data, where, limits, names) : readTarEntries(data, where, limits, names);
  names.checkAncestors();

  const topDir = findTopDir(raw, where);
  const pkgInfoEntry = raw.find((e) => e.path === `${topDir}/PKG-INFO`);
  if (pkgInfoEntry === undefined || pkgInfoEntry.type !== 'file' || pkgInfoEntry.chunks === undefined) {
    throw invalid(`${where} has no ${topDir}/PKG-INFO file`);
  }
  const pkgInfoBytes = Buffer.concat(pkgInfoEntry.chunks);
  const { metadata, text: pkgInfoText } = parseCoreMetadata(pkgInfoBytes, { source: `${where}: ${topDir}/PKG-INFO`, limits: limits.metadata });

  const chosen = candidates.find((c) => c.normalizedName === metadata.normalizedName);
  if (chosen === undefined) {
    const fromFile = (candidates[0] as SdistFilename).name;
    throw invalid(`${topDir}/PKG-INFO says Name "${printable(metadata.name, 80)}" but the file name says "${fromFile}" (${where})`);
  }
  if (!sameVersion(metadata.version, chosen.version)) {
    throw invalid(`${topDir}/PKG-INFO says Version "${printable(metadata.version, 80)}" but the file name says "${chosen.version}" (${where})`);
  }
  const dirMatches = splitNameVersion(topDir).some(
    (split) => normalizeProjectName(split.name) === metadata.normalizedName && sameVersion(split.version, metadata.version),
  );
  if (!dirMatches) {
    throw invalid(`${where} has the top-level directory ${quote(topDir)}, which does not match ${metadata.name}-${metadata.version}`);
  }

  checkLinks(raw, topDir, where);

  const prefix = `${topDir}/`;
  const files: SdistFile[] = [];
  const inputs: ViewEntryInput[] = [];
  let unpackedSize = 0;
  const keep = chooseBodies(raw, prefix, budget);
  for (const entry of raw) {
    if (entry.path === topDir) continue;
    const path = entry.path.slice(prefix.length);
    const file: SdistFile = { path, type: entry.type, size: entry.size, mode: entry.mode };
    const input: ViewEntryInput = { path, type: entry.type, size: entry.size, mode: entry.mode };
    if (entry.linkTarget !== undefined) {
      file.linkTarget = entry.type === 'link' ? entry.linkTarget.slice(prefix.length) : entry.linkTarget;
      input.linkTarget = file.linkTarget;
    }
    if (entry.type === 'file') unpackedSize += entry.size;
    if (keep.has(entry) && entry.chunks !== undefined) input.body = Buffer.concat(entry.chunks, entry.size);
    files.push(file);
    inputs.push(input);
  }

  return {
    name: metadata.name,
    normalizedName: metadata.normalizedName,
    version: metadata.version,
    filename: chosen,
    format: extension === '.zip' ? 'zip' : 'tar.gz',
    topDir,
    metadata,
    pkgInfoBytes,
    pkgInfoText,
    files,
    unpackedSize,
    view: createContentView(inputs, budget),
  };
}

/** Every entry sits in one top-level directory; nothing else is at the root. */
function findTopDir(entries: RawEntry[], where: string): string {
  let top: string | undefined;
  for (const entry of entries) {
    const first = entry.path.split('/')[0] as string;
    if (top === undefined) top = first;
    else if (first !== top) {
      throw invalid(`${where} has entries in two top-level directories (${quote(top, 80)} and ${quote(first, 80)}); an sdist has one, {name}-{version}/`);
    }
    if (entry.path === first && entry.type !== 'directory') {
      throw invalid(`${where} has the ${entry.type} ${quote(entry.path)} at its root; an sdist has only the {name}-{version}/ directory there`);
    }
  }
  if (top === undefined) throw invalid(`${where} is empty`);
  return top;
}

/** Symlinks must resolve inside the project directory; hard links must name an earlier file. */
function checkLinks(entries: RawEntry[], topDir: string, where: string): void {
  const symlinks = new Map<string, string>();
  for (const entry of entries) if (entry.type === 'symlink') symlinks.set(foldPath(entry.path), entry.linkTarget ?? '');
  const seenFiles = new Set<string>();
  for (const entry of entries) {
    if (entry.type === 'file') seenFiles.add(entry.path);
    if (entry.type === 'symlink') {
      const outcome = symlinkStaysInside(entry.path, entry.linkTarget ?? '', topDir, symlinks);
      if (outcome !== 'inside') {
        const why = outcome === 'loop' ? 'loops through symlinks' : `resolves outside ${topDir}/`;
        throw unsafe(`symlink ${quote(entry.path)} -> ${quote(entry.linkTarget ?? '')} in ${where} ${why}`);
      }
    }
    if (entry.type === 'link') {
      const target = entry.linkTarget ?? '';
      // Extractors link to an entry already written; anything else is a path outside the archive.
      if (!seenFiles.has(target)) {
        throw unsafe(`hard link ${quote(entry.path)} -> ${quote(target)} in ${where} does not point to a regular file earlier in the archive`);
      }
    }
  }
}

function chooseBodies(entries: RawEntry[], prefix: string, budget: ViewBudget): Set<RawEntry> {
  // What a build runs first: the build files at the project root, then everything else.
  const first = new Set(['PKG-INFO', 'setup.py', 'setup.cfg', 'pyproject.toml', 'MANIFEST.in']);
  const ranked = entries
    .filter((e) => e.type === 'file')
    .map((e, index) => {
      const path = e.path.slice(prefix.length);
      const rank = first.has(path) ? 0 : /^[^/]+\.(py|pth|cfg|toml|in|txt)$/.test(path) ? 1 : 2;
      return { e, index, rank };
    })
    .sort((a, b) => a.rank - b.rank || a.index - b.index);
  const keep = new Set<RawEntry>();
  let held = 0;
  for (const { e } of ranked) {
    if (e.size <= budget.maxFileBytes && held + e.size <= budget.maxTotalBytes) {
      keep.add(e);
      held += e.size;
    }
  }
  return keep;
}

// ---------------------------------------------------------------------------------------------
// zip sdists

async function readZipEntries(data: Buffer, where: string, limits: SdistLimits, names: NameRegistry): Promise<RawEntry[]> {
  const zip = await openZip(data, where, limits as ZipLimits);
  try {
    const entries: RawEntry[] = [];
    for (const info of zip.entries) {
      names.add({ path: info.path, type: info.type });
      const entry: RawEntry = { path: info.path, type: info.type, size: info.type === 'file' ? info.size : 0, mode: info.mode };
      if (info.type === 'symlink') {
        // Info-ZIP stores a symlink's target as the entry's data.
        const target = await zip.readAll(info, MAX_LINK_TARGET);
        entry.linkTarget = target.toString('utf8');
      } else if (info.type === 'file') {
        const chunks: Buffer[] = [];
        await zip.inflate(info, (chunk) => chunks.push(chunk));
        entry.chunks = chunks;
      }
      entries.push(entry);
    }
    return entries;
  } finally {
    zip.close();
  }
}

// ---------------------------------------------------------------------------------------------
// tar.gz sdists

function gunzip(data: Buffer, where: string, limits: SdistLimits): Buffer {
  if (data.length < 2 || data[0] !== 0x1f || data[1] !== 0x8b) throw invalid(`${where} is not gzip-compressed`);
  const byRatio = Math.max(limits.ratioGraceBytes, data.length * limits.maxRatio);
  const budget = Math.min(limits.maxUnpackedBytes, byRatio);
  try {
    return gunzipSync(data, { maxOutputLength: budget });
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE') {
      const why =
        budget === limits.maxUnpackedBytes
          ? 'the limit for unpacked sdists'
          : `a compression ratio above ${limits.maxRatio}:1 for a ${data.length}-byte file: likely a decompression bomb`;
      throw unsafe(`${where} decompresses to more than ${budget} bytes (${why})`);
    }
    throw invalid(`${where} has corrupt gzip data (${printable((error as Error).message, 120)})`);
  }
}

function readTarEntries(data: Buffer, where: string, limits: SdistLimits, names: NameRegistry): RawEntry[] {
  const tar = gunzip(data, where, limits);
  // tar's Parser would gunzip a nested stream itself, past our output limit.
  if (tar[0] === 0x1f && tar[1] === 0x8b) throw invalid(`${where} is gzip-compressed twice`);
  const entries: RawEntry[] = [];
  let lastEntry: string | undefined;
  let failure: unknown;
  let done = false;
  const fail = (error: unknown): never => {
    failure ??= error;
    throw failure;
  };
  const onEntry = (entry: ReadEntry, ignored: boolean): void => {
    const rawPath = entry.path;
    lastEntry = rawPath;
    if (entries.length >= limits.maxEntries) throw unsafe(`${where} has more than ${limits.maxEntries} entries (at ${quote(rawPath)})`);
    const type = ignored ? undefined : TAR_ENTRY_TYPES[entry.type];
    if (type === undefined) {
      const what = /Device|FIFO/.test(entry.type) ? `a ${entry.type} special file` : `of unsupported type ${entry.type}`;
      throw unsafe(`entry ${quote(rawPath)} in ${where} is ${what}`);
    }
    // GNU tar writes `./` before every name when asked to archive `.`.
    const checked = checkEntryPath(rawPath.startsWith('./') ? rawPath.slice(2) : rawPath, where, limits);
    if (checked.directory !== (type === 'directory') && checked.directory) {
      throw invalid(`entry ${quote(rawPath)} in ${where} is a ${type} with a folder name`);
    }
    names.add({ path: checked.path, type });
    const result: RawEntry = { path: checked.path, type, size: type === 'file' ? entry.size : 0, mode: (entry.mode ?? 0) & 0o7777 };
    if (type === 'symlink' || type === 'link') {
      const target = entry.linkpath ?? '';
      if (target === '' || target.length > MAX_LINK_TARGET || target.includes('\0')) {
        throw unsafe(`${type === 'link' ? 'hard link' : 'symlink'} ${quote(rawPath)} in ${where} has an empty, overlong or NUL-carrying target`);
      }
      if (type === 'link') {
        // A hard link's target is an archive path: it gets the same rules as entry names.
        result.linkTarget = checkEntryPath(target.startsWith('./') ? target.slice(2) : target, where, limits).path;
      } else {
        result.linkTarget = target;
      }
    }
    if (type === 'file') {
      const chunks: Buffer[] = [];
      result.chunks = chunks;
      entry.on('data', (chunk: Buffer) => chunks.push(chunk));
    } else {
      entry.resume();
    }
    entries.push(result);
  };

  // Strict mode turns tar's warnings (bad checksum, truncation) into errors, so garbage cannot
  // pass as an empty archive. Compression sniffing is off: the input is plain tar by now.
  const parser = new Parser({ strict: true, zstd: false, brotli: false });
  parser.on('entry', (entry: ReadEntry) => {
    try {
      onEntry(entry, false);
    } catch (error) {
      fail(error);
    }
  });
  parser.on('ignoredEntry', (entry: ReadEntry) => {
    if (entry.meta) return;
    try {
      onEntry(entry, true);
    } catch (error) {
      fail(error);
    }
  });
  parser.on('meta', (text: string) => {
    // tar cuts pax/GNU long names at a NUL; Python's tarfile does not: two names for one entry.
    if (/\0+[^\0]/.test(text)) {
      fail(unsafe(`an extended header ${lastEntry === undefined ? 'before the first entry' : `after ${quote(lastEntry)}`} in ${where} contains a NUL byte`));
    }
  });
  parser.on('error', (error: Error) => {
    const detail = printable(error.message.replace(/^TAR_[A-Z_]+: /, ''), 120);
    fail(invalid(lastEntry === undefined ? `${where} is not a tar archive (${detail})` : `${where} is corrupt after entry ${quote(lastEntry)} (${detail})`));
  });
  parser.on('end', () => {
    done = true;
  });
  try {
    parser.end(tar);
  } catch (error) {
    throw failure ?? error;
  }
  if (failure !== undefined) throw failure;
  if (!done) throw invalid(`${where} ends unexpectedly`);
  for (const entry of entries) {
    if (entry.chunks !== undefined) {
      const actual = entry.chunks.reduce((sum, c) => sum + c.length, 0);
      if (actual !== entry.size) throw invalid(`entry ${quote(entry.path)} in ${where} has ${actual} bytes, not the declared ${entry.size}`);
    }
  }
  return entries;
}
