import { StockadeError } from '../../errors.js';
import { MAX_SYMLINK_HOPS, type ArchiveEntryType } from '../archive/paths.js';
import { printable } from '../npm/names.js';

/**
 * Entry path rules shared by the wheel and sdist readers. Archive names are written by the
 * uploader; we accept only canonical relative paths, so that every extractor (pip's wheel
 * installer, Python's zipfile and tarfile, unzip, Windows tools) puts each entry at one and the
 * same place, and that place is inside the destination.
 */

export interface PathLimits {
  /** Most path segments in one entry path. */
  maxDepth: number;
  /** Longest entry path in characters. */
  maxPathLength: number;
}

export type { ArchiveEntryType };

export interface CheckedPath {
  /** Canonical: `/`-separated, no trailing `/`, no empty, `.` or `..` segments. */
  path: string;
  /** The name ended in `/`. */
  directory: boolean;
}

export function quote(path: string, max = 160): string {
  return `"${printable(path, max)}"`;
}

function unsafe(why: string): StockadeError {
  return new StockadeError('UNSAFE_ARCHIVE', [why]);
}

/**
 * Checks a raw entry name and returns its canonical form. `where` names the archive in messages
 * (e.g. `wheel demo-1.0-py3-none-any.whl`).
 */
export function checkEntryPath(raw: string, where: string, limits: PathLimits): CheckedPath {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(raw)) throw unsafe(`entry ${quote(raw)} in ${where} has control characters in its name`);
  // Windows and pip on Windows treat `\` as a separator, so `..\x` would climb out there.
  if (raw.includes('\\')) throw unsafe(`entry ${quote(raw)} in ${where} has a backslash in its name`);
  if (raw.startsWith('/') || /^[A-Za-z]:/.test(raw)) throw unsafe(`entry ${quote(raw)} in ${where} has an absolute path`);
  if (raw.length > limits.maxPathLength) {
    throw unsafe(`entry ${quote(raw, 80)} in ${where} has a path longer than ${limits.maxPathLength} characters`);
  }
  const directory = raw.endsWith('/');
  const segments = (directory ? raw.slice(0, -1) : raw).split('/');
  if (segments.includes('..')) throw unsafe(`entry ${quote(raw)} in ${where} has a ".." path segment`);
  // `a//b` and `a/./b` install where `a/b` does: a second name for one file.
  if (segments.some((s) => s === '' || s === '.')) {
    throw unsafe(`entry ${quote(raw)} in ${where} has an empty or "." path segment`);
  }
  if (segments.length > limits.maxDepth) {
    throw unsafe(`entry ${quote(raw, 80)} in ${where} is nested ${segments.length} levels deep (limit ${limits.maxDepth})`);
  }
  return { path: segments.join('/'), directory };
}

/** Case and Unicode folding, as case-insensitive file systems (macOS, Windows) compare names. */
export function foldPath(path: string): string {
  return path.normalize('NFC').toLowerCase();
}

export interface TreeEntry {
  path: string;
  type: ArchiveEntryType;
}

/**
 * Tracks names as entries arrive: the same name twice, or two names that collide once case and
 * Unicode normalization are folded, make extraction order decide which body wins, so a scanner
 * reading one copy could be shown a harmless file. Repeated directories are harmless.
 */
export class NameRegistry {
  readonly #seen = new Map<string, TreeEntry>();
  readonly #where: string;

  constructor(where: string) {
    this.#where = where;
  }

  add(entry: TreeEntry): void {
    const key = foldPath(entry.path);
    const previous = this.#seen.get(key);
    if (previous !== undefined) {
      if (previous.type === 'directory' && entry.type === 'directory') return;
      const why =
        previous.path === entry.path
          ? `${quote(entry.path)} appears twice in ${this.#where}`
          : `${quote(previous.path)} and ${quote(entry.path)} in ${this.#where} differ only in case or Unicode normalization`;
      throw unsafe(`${why}: extractors disagree on which copy is kept`);
    }
    this.#seen.set(key, entry);
  }

  get(path: string): TreeEntry | undefined {
    return this.#seen.get(foldPath(path));
  }

  /** No entry may sit below a file or a symlink: writing it would replace or follow that entry. */
  checkAncestors(): void {
    for (const entry of this.#seen.values()) {
      const segments = entry.path.split('/');
      for (let i = 1; i < segments.length; i++) {
        const ancestor = this.#seen.get(foldPath(segments.slice(0, i).join('/')));
        if (ancestor === undefined || ancestor.type === 'directory') continue;
        const kind = ancestor.type === 'symlink' ? 'the symlink' : `the ${ancestor.type === 'link' ? 'hard link' : 'file'}`;
        throw unsafe(`entry ${quote(entry.path)} in ${this.#where} lies inside ${kind} ${quote(ancestor.path)}`);
      }
    }
  }

  entries(): IterableIterator<TreeEntry> {
    return this.#seen.values();
  }
}

/**
 * Resolves a symlink (target relative to its folder) inside `root`, following other symlinks of
 * the archive. `symlinks` maps folded paths to targets.
 */
export function symlinkStaysInside(linkPath: string, target: string, root: string, symlinks: Map<string, string>): 'inside' | 'outside' | 'loop' {
  if (target.startsWith('/') || /^[A-Za-z]:/.test(target) || target.includes('\\') || target.includes('\0')) return 'outside';
  const rootSegments = root === '' ? [] : root.split('/');
  const stack = linkPath.split('/').slice(0, -1);
  const queue = target.split('/').reverse();
  let hops = 0;
  while (queue.length > 0) {
    const segment = queue.pop() as string;
    if (segment === '' || segment === '.') continue;
    if (segment === '..') {
      if (stack.length <= rootSegments.length) return 'outside';
      stack.pop();
      continue;
    }
    stack.push(segment);
    const next = symlinks.get(foldPath(stack.join('/')));
    if (next !== undefined) {
      if (++hops > MAX_SYMLINK_HOPS) return 'loop';
      if (next.startsWith('/') || /^[A-Za-z]:/.test(next)) return 'outside';
      stack.pop();
      queue.push(...next.split('/').reverse());
    }
  }
  for (let i = 0; i < rootSegments.length; i++) if (stack[i] !== rootSegments[i]) return 'outside';
  return 'inside';
}
