import { skeleton } from './confusables.js';
import type { EcosystemNaming } from './ecosystems.js';

/**
 * Lookup tables over one ecosystem's popular names, built once and reused for every artifact.
 * Most techniques become a few hash look-ups. Edit distance scans only the targets whose length
 * is within one of the candidate's and that share its first or its last character (one edit
 * cannot change both ends of a name of three or more characters), with a cheap test before
 * Levenshtein: the index stays small (about 6 MB per 10,000 names) and a check takes tens of
 * microseconds.
 */

export interface PopularEntry {
  /** As listed. */
  name: string;
  /** Normalized for the ecosystem. */
  norm: string;
  /** 1-based rank, 1 = most popular. */
  rank: number;
}

export interface NameIndex {
  naming: EcosystemNaming;
  /** Every listed name, normalized → entry (the exemption list: listed names are never flagged). */
  listed: ReadonlyMap<string, PopularEntry>;
  /** Names exactly as listed, for case-sensitive ecosystems. */
  listedRaw: ReadonlySet<string>;
  /** Targets only (rank ≤ the target cut-off), normalized → entry. */
  targets: ReadonlyMap<string, PopularEntry>;
  /** Targets by `length:first character` and by `length:last character`, for the edit scan. */
  byLengthFirst: ReadonlyMap<string, readonly PopularEntry[]>;
  byLengthLast: ReadonlyMap<string, readonly PopularEntry[]>;
  /** Targets without separators (`cross-env` → `crossenv`). */
  separatorless: ReadonlyMap<string, readonly PopularEntry[]>;
  /** Targets with two or more words, words sorted (`mysql-import` → `import-mysql`). */
  wordSets: ReadonlyMap<string, readonly PopularEntry[]>;
  /** Visual skeletons of targets. */
  skeletons: ReadonlyMap<string, readonly PopularEntry[]>;
  /** Scopes (without `@`) of every listed scoped name: scopes known to belong to a popular publisher. */
  scopes: ReadonlySet<string>;
}

export interface NameIndexOptions {
  /** Only names ranked at or above this are targets; all listed names stay exempt. */
  maxTargetRank: number;
}

export function buildNameIndex(names: readonly string[], naming: EcosystemNaming, options: NameIndexOptions): NameIndex {
  const listed = new Map<string, PopularEntry>();
  const listedRaw = new Set<string>();
  const targets = new Map<string, PopularEntry>();
  const byLengthFirst = new Map<string, PopularEntry[]>();
  const byLengthLast = new Map<string, PopularEntry[]>();
  const separatorless = new Map<string, PopularEntry[]>();
  const wordSets = new Map<string, PopularEntry[]>();
  const skeletons = new Map<string, PopularEntry[]>();
  const scopes = new Set<string>();

  names.forEach((name, i) => {
    const norm = naming.normalize(name);
    listedRaw.add(name);
    const scope = naming.scoped ? scopeOf(norm) : undefined;
    if (scope !== undefined) scopes.add(scope);
    if (listed.has(norm)) return;
    const entry: PopularEntry = { name, norm, rank: i + 1 };
    listed.set(norm, entry);
    if (entry.rank > options.maxTargetRank) return;
    targets.set(norm, entry);
    push(byLengthFirst, `${norm.length}:${norm.charAt(0)}`, entry);
    push(byLengthLast, `${norm.length}:${norm.charAt(norm.length - 1)}`, entry);
    push(separatorless, stripSeparators(norm), entry);
    const words = wordKey(norm);
    if (words !== undefined) push(wordSets, words, entry);
    push(skeletons, skeleton(norm), entry);
  });
  return { naming, listed, listedRaw, targets, byLengthFirst, byLengthLast, separatorless, wordSets, skeletons, scopes };
}

function push<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else if (!list.includes(value)) list.push(value);
}

export function stripSeparators(norm: string): string {
  return norm.replace(/[-_.]/g, '');
}

/** Words sorted, for names of two or more words; scope kept apart. */
export function wordKey(norm: string): string | undefined {
  const bare = bareName(norm) ?? norm;
  const scope = norm.length > bare.length ? norm.slice(0, norm.length - bare.length) : '';
  const words = bare.split(/[-_.]+/).filter((w) => w !== '');
  if (words.length < 2) return undefined;
  return scope + words.sort().join('-');
}

/** `@scope/name` → `name`; undefined for unscoped names. */
export function bareName(norm: string): string | undefined {
  const m = /^@[^/]+\/(.+)$/.exec(norm);
  return m?.[1];
}

/** `@scope/name` → `scope`. */
export function scopeOf(norm: string): string | undefined {
  const m = /^@([^/]+)\//.exec(norm);
  return m?.[1];
}
