import { VERSION_PATTERN } from '@renovatebot/pep440/lib/version.js';
import type { VersionScheme } from './scheme.js';

/**
 * PEP 440 version ordering, as pip orders them (`packaging.version.Version`). Used for the OSV
 * `PyPI` ecosystem.
 *
 * A version is `[N!]N(.N)*[{a|b|rc}N][.postN][.devN][+local]`, with the spellings PEP 440's
 * "Normalization" section allows (`alpha`, `c`, `pre`, `preview`, `rev`, `r`, `-1` for `.post1`,
 * `-`/`_`/`.` separators, implicit zeros, a leading `v`, any case). The grammar is the one
 * `@renovatebot/pep440` ports from packaging (its `VERSION_PATTERN`). The ordering key is built
 * here rather than taken from that library's `compare`: it reads every number as a JS Number
 * (wrong past 2^53) and decides whether a local segment is numeric with `Number()` (`1e5`,
 * `0x10` and `Infinity` come out as numbers; packaging compares them as strings).
 *
 * Ordering (packaging's `_cmpkey`): epoch; release without trailing zeros (`1.0` == `1`);
 * pre-release (`.devN` alone sorts before any pre-release, no pre-release after all of them;
 * `a` < `b` < `rc`); post-release (none first); dev-release (none last); local (none first;
 * segments one by one, numbers numerically and after strings, strings bytewise, shorter first).
 *
 * Deliberately stricter than packaging: non-ASCII characters and strings over 256 characters are
 * refused. Python's case-insensitive matching lets `ſ` (U+017F) stand for `s` and `K` (U+212A)
 * for `k`, and `\s` takes Unicode spaces; none of that belongs in a version a gate relies on.
 */

interface Pep440Version {
  epoch: bigint;
  release: bigint[];
  /** Normalized letter (`a`, `b`, `rc`) and number. */
  pre?: { letter: string; n: bigint };
  post?: bigint;
  dev?: bigint;
  /** Lowercased; all-digit segments as numbers. */
  local?: (bigint | string)[];
}

const MAX_LENGTH = 256;
/** Anchored without `^\s*…\s*$`: surrounding whitespace is trimmed first (see `parse`). */
const PATTERN = new RegExp(`^${VERSION_PATTERN}$`, 'i');
/** Printable ASCII plus what Python's `\s` takes in ASCII (it includes \x1c–\x1f). */
// eslint-disable-next-line no-control-regex -- Python's whitespace includes these controls
const ALLOWED = /^[\x20-\x7e\t\n\v\f\r\x1c-\x1f]*$/;
// eslint-disable-next-line no-control-regex -- as above
const PY_SPACE = /^[ \t\n\v\f\r\x1c-\x1f]+|[ \t\n\v\f\r\x1c-\x1f]+$/g;

/** PEP 440 "Pre-release spelling" and "Post-release spelling". */
const LETTER_SPELLINGS: Readonly<Record<string, string>> = Object.assign(Object.create(null) as Record<string, string>, {
  alpha: 'a',
  beta: 'b',
  c: 'rc',
  pre: 'rc',
  preview: 'rc',
  rev: 'post',
  r: 'post',
});

const normalizeLetter = (letter: string): string => {
  const lower = letter.toLowerCase();
  return LETTER_SPELLINGS[lower] ?? lower;
};

const CACHE_LIMIT = 20_000;
let cache = new Map<string, Pep440Version | null>();

function parseUncached(v: string): Pep440Version | null {
  if (v.length > MAX_LENGTH || !ALLOWED.test(v)) return null;
  const groups = PATTERN.exec(v.replace(PY_SPACE, ''))?.groups;
  if (groups === undefined) return null;
  const parsed: Pep440Version = {
    epoch: BigInt(groups.epoch ?? 0),
    release: groups.release!.split('.').map(BigInt),
  };
  // PEP 440: a pre-release letter without a number means 0; so do post (`1.0.post`) and dev.
  if (groups.pre_l !== undefined) parsed.pre = { letter: normalizeLetter(groups.pre_l), n: BigInt(groups.pre_n ?? 0) };
  const postNumber = groups.post_n1 ?? groups.post_n2;
  if (groups.post_l !== undefined || postNumber !== undefined) parsed.post = BigInt(postNumber ?? 0);
  if (groups.dev_l !== undefined) parsed.dev = BigInt(groups.dev_n ?? 0);
  if (groups.local !== undefined) {
    parsed.local = groups.local.split(/[._-]/).map((part) => (/^[0-9]+$/.test(part) ? BigInt(part) : part.toLowerCase()));
  }
  return parsed;
}

function parse(v: string): Pep440Version | null {
  let parsed = cache.get(v);
  if (parsed !== undefined) return parsed;
  parsed = parseUncached(v);
  if (cache.size >= CACHE_LIMIT) cache = new Map();
  cache.set(v, parsed);
  return parsed;
}

function parseOrThrow(v: string): Pep440Version {
  const parsed = parse(v);
  if (parsed === null) throw new TypeError(`not a PEP 440 version: ${JSON.stringify(v.slice(0, 100))}`);
  return parsed;
}

const order = <T extends bigint | string>(a: T, b: T): number => (a < b ? -1 : a > b ? 1 : 0);

function withoutTrailingZeros(release: readonly bigint[]): readonly bigint[] {
  let end = release.length;
  while (end > 0 && release[end - 1] === 0n) end--;
  return release.slice(0, end);
}

function compareRelease(a: readonly bigint[], b: readonly bigint[]): number {
  const lhs = withoutTrailingZeros(a);
  const rhs = withoutTrailingZeros(b);
  for (let i = 0; i < Math.min(lhs.length, rhs.length); i++) {
    const c = order(lhs[i]!, rhs[i]!);
    if (c !== 0) return c;
  }
  return lhs.length - rhs.length;
}

/** -1 for a bare dev release (before every pre-release), 1 for a final release, 0 when `pre` decides. */
const preRank = (v: Pep440Version): number => (v.pre !== undefined ? 0 : v.post === undefined && v.dev !== undefined ? -1 : 1);

function comparePre(a: Pep440Version, b: Pep440Version): number {
  const rank = preRank(a) - preRank(b);
  if (rank !== 0 || a.pre === undefined || b.pre === undefined) return rank;
  return order(a.pre.letter, b.pre.letter) || order(a.pre.n, b.pre.n);
}

/** Absent sorts as `absent` (-1: before every value, 1: after). */
function compareOptional(a: bigint | undefined, b: bigint | undefined, absent: -1 | 1): number {
  if (a === undefined || b === undefined) return a === b ? 0 : a === undefined ? absent : -absent;
  return order(a, b);
}

function compareLocal(a: Pep440Version['local'], b: Pep440Version['local']): number {
  if (a === undefined || b === undefined) return a === b ? 0 : a === undefined ? -1 : 1;
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const l = a[i]!;
    const r = b[i]!;
    const lNumber = typeof l === 'bigint';
    if (lNumber !== (typeof r === 'bigint')) return lNumber ? 1 : -1;
    const c = order(l, r);
    if (c !== 0) return c;
  }
  return a.length - b.length;
}

function compareParsed(a: Pep440Version, b: Pep440Version): number {
  return (
    order(a.epoch, b.epoch) ||
    compareRelease(a.release, b.release) ||
    comparePre(a, b) ||
    compareOptional(a.post, b.post, -1) ||
    compareOptional(a.dev, b.dev, 1) ||
    compareLocal(a.local, b.local)
  );
}

const sign = (n: number): -1 | 0 | 1 => (n < 0 ? -1 : n > 0 ? 1 : 0);

export const pep440Scheme: VersionScheme = {
  ecosystem: 'PyPI',
  isValid(v: string): boolean {
    return parse(v) !== null;
  },
  compare(a: string, b: string): number {
    return sign(compareParsed(parseOrThrow(a), parseOrThrow(b)));
  },
};

/**
 * The canonical form of a valid version (packaging's `str(Version(v))`): `1.0.0-RC1` →
 * `1.0.0rc1`, `v1.0-1` → `1.0.post1`, `1!01.2.dev` → `1!1.2.dev0`, `1.0+Ubuntu-1` → `1.0+ubuntu.1`.
 * Trailing zeros stay (`1.0` is not `1`). Throws TypeError on an invalid version.
 */
export function normalizePep440(v: string): string {
  const parsed = parseOrThrow(v);
  let text = parsed.epoch === 0n ? '' : `${parsed.epoch}!`;
  text += parsed.release.join('.');
  if (parsed.pre !== undefined) text += `${parsed.pre.letter}${parsed.pre.n}`;
  if (parsed.post !== undefined) text += `.post${parsed.post}`;
  if (parsed.dev !== undefined) text += `.dev${parsed.dev}`;
  if (parsed.local !== undefined) text += `+${parsed.local.join('.')}`;
  return text;
}

/**
 * True for pre-releases and dev releases (`1.0a1`, `1.0.dev0`, `1.0.post1.dev1`), which pip
 * skips unless asked (PEP 440 "Handling of pre-releases"). Throws TypeError on an invalid version.
 */
export function isPrerelease(v: string): boolean {
  const parsed = parseOrThrow(v);
  return parsed.pre !== undefined || parsed.dev !== undefined;
}
