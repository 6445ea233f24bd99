import { gunzipSync } from 'node:zlib';
import { Parser, type ReadEntry } from 'tar';
import { StockadeError } from '../../errors.js';
import type { ContentView } from '../../security/types.js';
import { createContentView, DEFAULT_VIEW_BUDGET, type ViewBudget, type ViewEntryInput } from '../../security/view.js';
import { checkTarEntryPath, findEntryBelowSymlink, foldCase, InstallPaths, isAbsolutePath, resolveInside, splitSegments, type ArchiveEntryType } from '../archive/paths.js';
import { TAR_ENTRY_TYPES } from '../archive/strict-tar.js';
import { printable } from './names.js';

/** Bounds on what an uploaded or proxied npm tarball may expand to. */
export interface TarballLimits {
  /** Largest decompressed tar stream in bytes. */
  maxUnpackedBytes: number;
  /** Highest decompressed:compressed ratio, enforced only past `ratioGraceBytes` of output. */
  maxRatio: number;
  /**
   * Output any tarball may reach whatever its ratio: small packages legitimately compress
   * far beyond 200:1 because tar headers and block padding are mostly zeros.
   */
  ratioGraceBytes: number;
  /** Most tar entries (files, directories, links). */
  maxFiles: number;
  /** Most path segments in one entry path. */
  maxDepth: number;
  /** Largest package.json accepted. */
  maxManifestBytes: number;
  /** README bytes kept; the rest is cut off. */
  maxReadmeBytes: number;
}

const MiB = 1024 * 1024;

export const DEFAULT_TARBALL_LIMITS: Readonly<TarballLimits> = Object.freeze({
  maxUnpackedBytes: 256 * MiB,
  // Real packages stay under ~20:1 (typescript's tarball is ~5:1); 200:1 leaves a wide margin
  // while a 1 MiB upload still cannot make us inflate more than 200 MiB.
  maxRatio: 200,
  ratioGraceBytes: 16 * MiB,
  maxFiles: 100_000,
  maxDepth: 64,
  maxManifestBytes: MiB,
  maxReadmeBytes: 64 * 1024,
});

export type NpmTarballEntryType = ArchiveEntryType;

export interface NpmTarballFile {
  /** Path inside the package: the first component (usually `package/`) stripped, as npm does. */
  path: string;
  size: number;
  mode: number;
  type: NpmTarballEntryType;
  linkTarget?: string;
}

export interface NpmTarballContents {
  /** The parsed package.json, as it will be installed. */
  manifest: Record<string, unknown>;
  /** Regular files and their total size, counted the way `npm pack` counts them. */
  fileCount: number;
  unpackedSize: number;
  files: NpmTarballFile[];
  /** README at the package root, cut at `maxReadmeBytes`. */
  readme?: string;
  /** The unpacked contents for the security gate, when asked for. */
  view?: ContentView;
}

export interface ReadOptions {
  /** Keep file bodies (within the budget) and return them as a ContentView. */
  view?: boolean | Partial<ViewBudget>;
}

// @npmcli/package-json picks a markdown README first, then a bare README.
const README_NAME = /^readme(\.[^/]*)?$/i;
const MARKDOWN_README = /\.(md|markdown)$/i;

interface LinkEntry {
  raw: string;
  path: string;
  target: string;
  type: 'symlink' | 'link';
}

/**
 * Reads an npm package tarball (`.tgz`) written by anyone, without extracting it. Rejects
 * archives whose extraction could escape the package directory or exhaust resources
 * (UNSAFE_ARCHIVE) and anything that is not a gzip'd tar with a package.json (INVALID_ARCHIVE).
 * Entry bodies are discarded except package.json and the README.
 */
export function readNpmTarball(data: Buffer, limits: Partial<TarballLimits> = {}, options: ReadOptions = {}): NpmTarballContents {
  const opts: TarballLimits = { ...DEFAULT_TARBALL_LIMITS, ...limits };
  const budget = options.view ? { ...DEFAULT_VIEW_BUDGET, ...(options.view === true ? {} : options.view) } : undefined;
  const bodies = new Map<string, Buffer[]>();
  let held = 0;
  const tar = gunzip(data, opts);
  // tar's Parser would transparently gunzip a nested stream, bypassing our output limit.
  if (tar[0] === 0x1f && tar[1] === 0x8b) {
    throw new StockadeError('INVALID_ARCHIVE', ['not a tar archive (the content is gzip-compressed twice)']);
  }

  const files: NpmTarballFile[] = [];
  const installed = new InstallPaths<NpmTarballEntryType>('entries', 'directory');
  const links: LinkEntry[] = [];
  const rootFiles: string[] = [];
  let entryCount = 0;
  let fileCount = 0;
  let unpackedSize = 0;
  let lastEntry: string | undefined;
  let manifestEntry: { raw: string; chunks: Buffer[] } | undefined;
  let readme: { priority: number; chunks: Buffer[]; size: number; truncated: boolean } | undefined;

  const onEntry = (entry: ReadEntry, ignored: boolean): void => {
    const raw = entry.path;
    lastEntry = raw;
    if (++entryCount > opts.maxFiles) {
      throw new StockadeError('UNSAFE_ARCHIVE', [`more than ${opts.maxFiles} entries (at ${quote(raw)})`]);
    }
    checkTarEntryPath(raw, opts.maxDepth, 'entry');
    const type = ignored ? undefined : TAR_ENTRY_TYPES[entry.type];
    if (type === undefined) {
      const what = /Device|FIFO/.test(entry.type) ? `a ${entry.type} special file` : `of unsupported type ${entry.type}`;
      throw new StockadeError('UNSAFE_ARCHIVE', [`entry ${quote(raw)} is ${what}`]);
    }
    const path = stripFirstComponent(raw);
    if (type === 'symlink' || type === 'link') {
      const target = entry.linkpath ?? '';
      checkLinkTarget(raw, target, type);
      if (path === '') {
        throw new StockadeError('UNSAFE_ARCHIVE', [
          `${type} ${quote(raw)} sits at the top level, where npm puts the package folder`,
        ]);
      }
      links.push({ raw, path, target, type });
    }
    if (path === '') {
      // npm strips the first component, so top-level entries are never installed.
      if (type === 'file') rootFiles.push(raw);
      entry.resume();
      return;
    }
    installed.claim(path, raw, type);
    const size = type === 'file' ? entry.size : 0;
    const file: NpmTarballFile = { path, size, mode: entry.mode ?? 0, type };
    if (entry.linkpath && (type === 'symlink' || type === 'link')) file.linkTarget = entry.linkpath;
    files.push(file);
    if (type === 'file') {
      fileCount++;
      unpackedSize += size;
      // The declared size decides up front, so a body is either kept whole or not at all.
      if (budget && size <= budget.maxFileBytes && held + size <= budget.maxTotalBytes) {
        held += size;
        const chunks: Buffer[] = [];
        bodies.set(path, chunks);
        entry.on('data', (chunk: Buffer) => chunks.push(chunk));
      }
    }

    if (path === 'package.json') {
      if (type !== 'file') {
        throw new StockadeError('INVALID_ARCHIVE', [`${quote(raw)} is a ${type}, not a regular file`]);
      }
      if (size > opts.maxManifestBytes) {
        throw new StockadeError('INVALID_ARCHIVE', [`${quote(raw)} is larger than ${opts.maxManifestBytes} bytes (${size})`]);
      }
      const chunks: Buffer[] = [];
      manifestEntry = { raw, chunks };
      entry.on('data', (chunk: Buffer) => chunks.push(chunk));
      return;
    }
    if (type === 'file' && !path.includes('/') && README_NAME.test(path)) {
      const priority = MARKDOWN_README.test(path) ? 2 : /^readme$/i.test(path) ? 1 : 0;
      if (readme === undefined || priority > readme.priority) {
        const current = { priority, chunks: [] as Buffer[], size: 0, truncated: size > opts.maxReadmeBytes };
        readme = current;
        entry.on('data', (chunk: Buffer) => {
          const room = opts.maxReadmeBytes - current.size;
          if (room <= 0) return;
          const kept = chunk.subarray(0, room);
          current.chunks.push(kept);
          current.size += kept.length;
        });
        return;
      }
    }
    entry.resume();
  };

  parseTar(tar, {
    onEntry,
    describeFailure: (detail) =>
      lastEntry === undefined
        ? `not a tar archive (${detail})`
        : `corrupt tar archive after entry ${quote(lastEntry)} (${detail})`,
    describeMeta: (detail) =>
      `the extended header ${lastEntry === undefined ? 'before the first entry' : `after entry ${quote(lastEntry)}`} ${detail}`,
  });

  if (links.length > 0) checkLinks(links, files);

  if (manifestEntry === undefined) {
    const hint = rootFiles.includes('package.json')
      ? ' (package.json sits at the archive root; npm expects it inside a top-level folder such as package/)'
      : '';
    throw new StockadeError('INVALID_ARCHIVE', [`no package.json in the top-level folder${hint}`]);
  }
  const result: NpmTarballContents = {
    manifest: parseManifest(manifestEntry.raw, Buffer.concat(manifestEntry.chunks)),
    fileCount,
    unpackedSize,
    files,
  };
  if (readme !== undefined) {
    result.readme = decodeTruncated(Buffer.concat(readme.chunks), readme.truncated);
  }
  if (budget) {
    const inputs: ViewEntryInput[] = files.map((f) => {
      const chunks = bodies.get(f.path);
      const input: ViewEntryInput = { path: f.path, type: f.type, size: f.size, mode: f.mode };
      if (chunks) input.body = Buffer.concat(chunks);
      if (f.linkTarget !== undefined) input.linkTarget = f.linkTarget;
      return input;
    });
    result.view = createContentView(inputs, budget);
  }
  return result;
}

function gunzip(data: Buffer, limits: TarballLimits): Buffer {
  if (data.length < 2 || data[0] !== 0x1f || data[1] !== 0x8b) {
    throw new StockadeError('INVALID_ARCHIVE', ['not gzip-compressed']);
  }
  const byRatio = Math.max(limits.ratioGraceBytes, data.length * limits.maxRatio);
  const budget = Math.min(limits.maxUnpackedBytes, byRatio);
  try {
    return gunzipSync(data, { maxOutputLength: budget });
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE') {
      const why =
        budget === limits.maxUnpackedBytes
          ? 'the limit for unpacked packages'
          : `a compression ratio above ${limits.maxRatio}:1 for a ${data.length}-byte tarball: likely a decompression bomb`;
      throw new StockadeError('UNSAFE_ARCHIVE', [`decompresses to more than ${budget} bytes (${why})`]);
    }
    throw new StockadeError('INVALID_ARCHIVE', [`corrupt gzip data (${(error as Error).message})`]);
  }
}

interface ParseHandlers {
  onEntry: (entry: ReadEntry, ignored: boolean) => void;
  describeFailure: (detail: string) => string;
  describeMeta: (detail: string) => string;
}

/**
 * Feeds the whole tar stream to tar's Parser synchronously. Strict mode turns every warning
 * (bad checksum, truncation, "Unrecognized archive format") into an error, so garbage cannot
 * pass as an empty archive. Our handlers throw out of the parser's event callbacks.
 */
function parseTar(tar: Buffer, handlers: ParseHandlers): void {
  let failure: unknown;
  let done = false;
  const fail = (error: unknown): never => {
    failure ??= error;
    throw failure;
  };
  // Compression sniffing is off: the input is already gunzipped and must be plain tar.
  const parser = new Parser({ strict: true, zstd: false, brotli: false });
  parser.on('entry', (entry: ReadEntry) => {
    try {
      handlers.onEntry(entry, false);
    } catch (error) {
      fail(error);
    }
  });
  parser.on('ignoredEntry', (entry: ReadEntry) => {
    // Oversized pax headers are skipped by tar itself; anything else is an unknown entry type.
    if (entry.meta) return;
    try {
      handlers.onEntry(entry, true);
    } catch (error) {
      fail(error);
    }
  });
  parser.on('meta', (text: string) => {
    // tar cuts pax/GNU long paths at a NUL; other extractors may not, so the name is ambiguous.
    if (/\0+[^\0]/.test(text)) {
      fail(new StockadeError('UNSAFE_ARCHIVE', [handlers.describeMeta('contains a NUL byte')]));
    }
  });
  parser.on('error', (error: Error) => {
    fail(new StockadeError('INVALID_ARCHIVE', [handlers.describeFailure(tarDetail(error))]));
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
  if (!done) {
    throw new StockadeError('INVALID_ARCHIVE', [handlers.describeFailure('the archive ended unexpectedly')]);
  }
}

function tarDetail(error: Error): string {
  return printable(error.message.replace(/^TAR_[A-Z_]+: /, ''), 120);
}

function checkLinkTarget(raw: string, target: string, type: 'symlink' | 'link'): void {
  if (target.includes('\0')) {
    throw new StockadeError('UNSAFE_ARCHIVE', [`${type} ${quote(raw)} has a NUL byte in its target`]);
  }
  if (isAbsolutePath(target)) {
    throw new StockadeError('UNSAFE_ARCHIVE', [`${type} ${quote(raw)} points to the absolute path ${quote(target)}`]);
  }
  // Hardlink targets are archive paths; tar refuses any `..` in them, and so do we.
  if (type === 'link' && splitSegments(target).includes('..')) {
    throw new StockadeError('UNSAFE_ARCHIVE', [`link ${quote(raw)} -> ${quote(target)} has a ".." path segment`]);
  }
}

/** What npm installs: tar's `strip: 1` drops everything up to the first `/`. */
function stripFirstComponent(raw: string): string {
  const slash = raw.indexOf('/');
  if (slash === -1) return '';
  return raw
    .slice(slash + 1)
    .split('/')
    .filter((s) => s !== '' && s !== '.')
    .join('/');
}

/**
 * Links must resolve inside the package even when other symlinks in the archive are followed,
 * and no entry may sit below a symlink (writing through it would land wherever it points).
 */
function checkLinks(links: LinkEntry[], files: NpmTarballFile[]): void {
  const symlinks = new Map<string, string>();
  for (const link of links) {
    if (link.type === 'symlink') symlinks.set(foldCase(link.path), link.target);
  }
  const below = findEntryBelowSymlink(files.map((f) => f.path), symlinks);
  if (below !== undefined) {
    throw new StockadeError('UNSAFE_ARCHIVE', [`entry ${quote(below.path)} lies inside the symlink ${quote(below.ancestor)}`]);
  }
  for (const link of links) {
    // A symlink target is relative to the link's folder; a hardlink target is an archive path.
    const start =
      link.type === 'symlink'
        ? [...link.path.split('/').slice(0, -1), ...splitSegments(link.target)]
        : splitSegments(stripFirstComponent(link.target));
    const outcome = resolveInside(start, symlinks);
    if (outcome !== 'inside') {
      const why = outcome === 'loop' ? 'loops through symlinks' : 'resolves outside the package';
      throw new StockadeError('UNSAFE_ARCHIVE', [`${link.type} ${quote(link.raw)} -> ${quote(link.target)} ${why}`]);
    }
  }
}

function parseManifest(raw: string, bytes: Buffer): Record<string, unknown> {
  // npm strips a UTF-8 BOM before parsing package.json.
  const text = bytes.toString('utf8').replace(/^\uFEFF/, '');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new StockadeError('INVALID_ARCHIVE', [`${quote(raw)} is not valid JSON (${printable((error as Error).message, 120)})`]);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    const kind = value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
    throw new StockadeError('INVALID_ARCHIVE', [`${quote(raw)} must contain a JSON object, not ${kind}`]);
  }
  return value as Record<string, unknown>;
}

function decodeTruncated(bytes: Buffer, truncated: boolean): string {
  const text = bytes.toString('utf8');
  // A cut may split a multi-byte character; drop the replacement char it leaves.
  return truncated ? text.replace(/\uFFFD$/, '') : text;
}

function quote(path: string, max = 200): string {
  return `"${printable(path, max)}"`;
}
