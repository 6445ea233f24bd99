import semver from 'semver';
import type { VersionScheme } from './scheme.js';

/**
 * Parsed versions by their text. Advisory matching compares the same few strings (event
 * versions, the version being checked) over and over, so parsing once pays off. Bounded: the
 * map is dropped when it grows past the limit (cheap, and a flood of distinct strings cannot
 * hold memory).
 */
const CACHE_LIMIT = 20_000;
let cache = new Map<string, semver.SemVer | null>();

function parse(v: string): semver.SemVer | null {
  let parsed = cache.get(v);
  if (parsed !== undefined) return parsed;
  // Strict parsing (loose: false): SemVer 2.0, with npm's tolerance for a leading `v` or `=`.
  parsed = v.length <= 256 ? semver.parse(v) : null;
  if (cache.size >= CACHE_LIMIT) cache = new Map();
  cache.set(v, parsed);
  return parsed;
}

function parseOrThrow(v: string): semver.SemVer {
  const parsed = parse(v);
  if (parsed === null) throw new TypeError(`not a semantic version: ${JSON.stringify(v.slice(0, 100))}`);
  return parsed;
}

/**
 * SemVer 2.0 precedence (section 11): major, minor, patch numerically, a pre-release sorts before
 * its release, pre-release identifiers compared one by one. Build metadata is ignored, so
 * `1.0.0+a` equals `1.0.0+b`. Used for npm and for every OSV `SEMVER` range.
 */
export const semverScheme: VersionScheme = {
  ecosystem: 'npm',
  isValid(v: string): boolean {
    return parse(v) !== null;
  },
  compare(a: string, b: string): number {
    if (a === b) return 0;
    return parseOrThrow(a).compare(parseOrThrow(b));
  },
};
