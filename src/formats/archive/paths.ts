import { win32 } from 'node:path';
import { StockadeError } from '../../errors.js';
import { printable } from '../npm/names.js';

/**
 * Entry path rules for tarballs that are installed by unpacking them into a directory (npm
 * packages, a gem's data.tar.gz; the .deb reader shares the duplicate check). Names and link
 * targets are written by the uploader: each check makes sure that every extractor, on any OS,
 * keeps each entry inside the destination and at one and the same place. PyPI archives follow
 * stricter, canonical-name rules (`pypi/archive-paths.ts`).
 */

/** What an extractor creates for an entry; anything else (devices, FIFOs) is refused. */
export type ArchiveEntryType = 'file' | 'directory' | 'symlink' | 'link';

/** Linux's ELOOP limit. */
export const MAX_SYMLINK_HOPS = 40;

/** Windows treats `\` as a separator as well, so both split. */
export function splitSegments(path: string): string[] {
  return path.split(/[\\/]/);
}

/** Unix-absolute, `\\server\share`, `C:\x` and drive-relative `C:x` all count as absolute. */
export function isAbsolutePath(path: string): boolean {
  return win32.isAbsolute(path) || win32.parse(path).root !== '';
}

/**
 * Rejects names that could land outside the destination; returns the segments left once empty
 * and `.` segments are dropped. `subject` starts each message, e.g. `entry` or
 * `"data.tar.gz" entry`.
 */
export function checkTarEntryPath(raw: string, maxDepth: number, subject: string): string[] {
  const where = `${subject} "${printable(raw)}"`;
  if (raw.includes('\0')) throw new StockadeError('UNSAFE_ARCHIVE', [`${where} has a NUL byte in its path`]);
  if (isAbsolutePath(raw)) throw new StockadeError('UNSAFE_ARCHIVE', [`${where} has an absolute path`]);
  // Windows treats `\` as a separator, so `..\..\x` is traversal there.
  const segments = splitSegments(raw);
  if (segments.includes('..')) throw new StockadeError('UNSAFE_ARCHIVE', [`${where} has a ".." path segment`]);
  const kept = segments.filter((s) => s !== '' && s !== '.');
  if (kept.length > maxDepth) {
    throw new StockadeError('UNSAFE_ARCHIVE', [`${subject} "${printable(raw, 80)}" is nested ${kept.length} levels deep (limit ${maxDepth})`]);
  }
  return kept;
}

/**
 * Where each entry installs. Extraction keeps the last of two entries with one path, so a scanner
 * reading the first would be fooled: only a directory may repeat.
 */
export class InstallPaths<T extends string> {
  readonly #seen = new Map<string, { type: T; raw: string }>();
  readonly #subject: string;
  readonly #directory: T;

  /** `subject` starts the message (`entries`, `"data.tar.gz" entries`); `directory` is the type that may repeat. */
  constructor(subject: string, directory: T) {
    this.#subject = subject;
    this.#directory = directory;
  }

  /** Records that `raw` (as written in the archive) installs to `path`. */
  claim(path: string, raw: string, type: T): void {
    const previous = this.#seen.get(path);
    if (previous !== undefined && !(previous.type === this.#directory && type === this.#directory)) {
      throw new StockadeError('UNSAFE_ARCHIVE', [
        `${this.#subject} "${printable(previous.raw)}" and "${printable(raw)}" both install to "${printable(path)}"`,
      ]);
    }
    this.#seen.set(path, { type, raw });
  }

  /** The type of the entry last claimed at `path`. */
  typeOf(path: string): T | undefined {
    return this.#seen.get(path)?.type;
  }
}

/** Case and Unicode folding as on macOS/Windows file systems (tar's path reservations do the same). */
export function foldCase(path: string): string {
  return path.normalize('NFD').toLowerCase();
}

/**
 * The first entry that sits below a symlink, if any: writing it would land wherever the link
 * points. `symlinks` is keyed by folded path.
 */
export function findEntryBelowSymlink(paths: Iterable<string>, symlinks: ReadonlyMap<string, string>): { path: string; ancestor: string } | undefined {
  if (symlinks.size === 0) return undefined;
  for (const path of paths) {
    const segments = path.split('/');
    for (let i = 1; i < segments.length; i++) {
      const ancestor = segments.slice(0, i).join('/');
      if (symlinks.has(foldCase(ancestor))) return { path, ancestor };
    }
  }
  return undefined;
}

/**
 * Walks `segments` from the destination root, following the archive's symlinks (`symlinks`,
 * keyed by folded path, targets relative to their folder), and tells whether the walk stays
 * inside the root.
 */
export function resolveInside(segments: string[], symlinks: ReadonlyMap<string, string>): 'inside' | 'outside' | 'loop' {
  const stack: string[] = [];
  const queue = segments.slice().reverse();
  let hops = 0;
  while (queue.length > 0) {
    const segment = queue.pop() as string;
    if (segment === '' || segment === '.') continue;
    if (segment === '..') {
      if (stack.length === 0) return 'outside';
      stack.pop();
      continue;
    }
    stack.push(segment);
    const target = symlinks.get(foldCase(stack.join('/')));
    if (target !== undefined) {
      if (++hops > MAX_SYMLINK_HOPS) return 'loop';
      stack.pop();
      queue.push(...splitSegments(target).reverse());
    }
  }
  return 'inside';
}
