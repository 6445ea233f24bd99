import type { VersionScheme } from './scheme.js';

/**
 * RubyGems version ordering (Gem::Version). Used for the OSV `RubyGems` ecosystem, and by the
 * rubysec converter to turn `patched_versions`/`unaffected_versions` requirements into OSV ranges.
 *
 * Gem::Version, briefly: `-` is read as `.pre.`; the version splits into segments, runs of digits
 * (numbers) and runs of letters (strings); a version with a letter is a pre-release. Comparison
 * drops trailing zeros from the numeric part and from the pre-release part (`1.0.0` equals `1`,
 * `1.0.a` equals `1.a`), then compares segment by segment, a missing segment counting as 0; a
 * string sorts before a number (`1.0.a` < `1.0`), strings compare bytewise, numbers numerically.
 *
 * Valid is what `Gem::Version.correct?` accepts, surrounding whitespace included (Ruby's `\s`:
 * ASCII only), except two deliberate refusals: a blank string (Gem reads it as `0`) and more than
 * 256 characters.
 */

/** Gem::Version::VERSION_PATTERN. */
const VERSION_RE = /^[0-9]+(?:\.[0-9a-zA-Z]+)*(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/;
/** Ruby's `\s` (`[ \t\r\n\f\v]`); String#trim would also strip Unicode spaces Gem refuses. */
const RUBY_SPACE = /^[ \t\r\n\f\v]+|[ \t\r\n\f\v]+$/g;

type Segment = bigint | string;

interface ParsedGem {
  segments: Segment[];
  canonical: Segment[];
}

const CACHE_LIMIT = 20_000;
let cache = new Map<string, ParsedGem | null>();

function segmentsOf(normalized: string): Segment[] {
  const out: Segment[] = [];
  for (const match of normalized.matchAll(/[0-9]+|[a-z]+/gi)) {
    const text = match[0];
    out.push(/^[0-9]/.test(text) ? BigInt(text) : text);
  }
  return out;
}

function dropTrailingZeros(segments: Segment[]): Segment[] {
  let end = segments.length;
  while (end > 0 && segments[end - 1] === 0n) end--;
  return segments.slice(0, end);
}

function parseGem(v: string): ParsedGem | null {
  let parsed = cache.get(v);
  if (parsed !== undefined) return parsed;
  // The length is checked before trimming: a long run of blanks must not cost anything either.
  const text = v.length > 256 ? '' : v.replace(RUBY_SPACE, '');
  if (text.length === 0 || !VERSION_RE.test(text)) {
    parsed = null;
  } else {
    const segments = segmentsOf(text.replace(/-/g, '.pre.'));
    const firstString = segments.findIndex((s) => typeof s === 'string');
    const numeric = firstString === -1 ? segments : segments.slice(0, firstString);
    const rest = firstString === -1 ? [] : segments.slice(firstString);
    parsed = { segments, canonical: [...dropTrailingZeros(numeric), ...dropTrailingZeros(rest)] };
  }
  if (cache.size >= CACHE_LIMIT) cache = new Map();
  cache.set(v, parsed);
  return parsed;
}

function parseOrThrow(v: string): ParsedGem {
  const parsed = parseGem(v);
  if (parsed === null) throw new TypeError(`not a RubyGems version: ${JSON.stringify(v.slice(0, 100))}`);
  return parsed;
}

function compareSegments(lhs: readonly Segment[], rhs: readonly Segment[]): number {
  const limit = Math.max(lhs.length, rhs.length);
  for (let i = 0; i < limit; i++) {
    const l = lhs[i] ?? 0n;
    const r = rhs[i] ?? 0n;
    if (l === r) continue;
    const lString = typeof l === 'string';
    const rString = typeof r === 'string';
    if (lString && !rString) return -1;
    if (!lString && rString) return 1;
    if (lString && rString) return l < r ? -1 : 1; // bytewise for ASCII letters
    return (l as bigint) < (r as bigint) ? -1 : 1;
  }
  return 0;
}

export const rubyGemsScheme: VersionScheme = {
  ecosystem: 'RubyGems',
  isValid(v: string): boolean {
    return parseGem(v) !== null;
  },
  compare(a: string, b: string): number {
    return compareSegments(parseOrThrow(a).canonical, parseOrThrow(b).canonical);
  },
};

/**
 * Gem::Version#prerelease?: true for versions with a letter (`1.0.rc1`, `2.0.0-beta`, and
 * `1.0-1`, read as `1.0.pre.1`). Throws TypeError on an invalid version.
 */
export function isPrerelease(v: string): boolean {
  return parseOrThrow(v).segments.some((s) => typeof s === 'string');
}

/**
 * Gem::Version#bump, the exclusive upper bound of `~> v`: drop the pre-release part, then the
 * last segment (unless it is the only one), then increment the new last segment.
 * `1.2.3` → `1.3`, `1.2` → `2`, `1` → `2`, `3.1.0.rc6` → `3.2`.
 */
export function gemBump(v: string): string {
  const segments = parseOrThrow(v).segments;
  const firstString = segments.findIndex((s) => typeof s === 'string');
  // A copy: `segments` is the cached parse of `v`, shared with every later call.
  const release = segments.slice(0, firstString === -1 ? segments.length : firstString) as bigint[];
  if (release.length > 1) release.pop();
  const last = release.length - 1;
  release[last] = (release[last] ?? 0n) + 1n;
  return release.join('.');
}
