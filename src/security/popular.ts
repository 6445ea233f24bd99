import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PopularNames } from './types.js';

/**
 * The popular-name lists the typosquat analyzer compares against. They ship as product data in
 * `assets/popular/` (one `name<TAB>figure` line per package, most popular first) and are read
 * lazily, once per ecosystem, on first use.
 */

export interface PopularNamesOptions {
  /** Lists given directly, by OSV ecosystem, most popular first (tests, custom deployments). */
  lists?: Readonly<Record<string, readonly string[]>>;
  /** A directory holding the `.tsv` files instead of the shipped `assets/popular/`. */
  directory?: string;
}

/** OSV ecosystem → file in assets/popular/. */
const FILES: Readonly<Record<string, string>> = Object.freeze({ npm: 'npm.tsv', PyPI: 'pypi.tsv', RubyGems: 'rubygems.tsv' });

const ASSETS = join('assets', 'popular');

export function createPopularNames(options: PopularNamesOptions = {}): PopularNames {
  const cache = new Map<string, readonly string[]>();
  if (options.lists !== undefined) {
    for (const [ecosystem, names] of Object.entries(options.lists)) cache.set(ecosystem, Object.freeze([...names]));
  }
  let directory = options.directory;

  return {
    list(ecosystem: string): readonly string[] {
      const cached = cache.get(ecosystem);
      if (cached !== undefined) return cached;
      // Given lists are the whole truth: an ecosystem they leave out has no popular names.
      const file = options.lists === undefined && Object.hasOwn(FILES, ecosystem) ? FILES[ecosystem] : undefined;
      let names: readonly string[] = Object.freeze([]);
      if (file !== undefined) {
        directory ??= findAssetsDirectory();
        names = parseList(readFileSync(join(directory, file), 'utf8'));
      }
      cache.set(ecosystem, names);
      return names;
    },
  };
}

/** Names from a `name<TAB>figure` file, in file order; blank lines and `#` comments skipped. */
export function parseList(text: string): readonly string[] {
  const names: string[] = [];
  for (const line of text.split('\n')) {
    const name = line.split('\t')[0]?.trim() ?? '';
    if (name === '' || name.startsWith('#')) continue;
    names.push(name);
  }
  return Object.freeze(names);
}

/**
 * The package root is found by walking up from this module: it runs from `src/security/` under
 * tsx and from `dist/security/` (or deeper) once built, and assets/ stays at the root.
 */
function findAssetsDirectory(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, ASSETS);
    if (existsSync(join(candidate, FILES.npm as string))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new Error(`popular-name lists not found: no ${ASSETS}/ above ${fileURLToPath(import.meta.url)}`);
}
