import type { VersionScheme } from './scheme.js';

/**
 * RPM version ordering, as rpm 4.18 orders them (`rpmvercmp` for one string, `rpmverCmp` for a
 * whole `[epoch:]version[-release]`). Used for the OSV ecosystems of RPM-based distributions.
 *
 * rpmvercmp reads a string as segments: runs of ASCII digits or of ASCII letters; anything else
 * only separates them. `~` sorts before anything, even the end of the string (`1.0~rc1` <
 * `1.0`); `^` sorts after the end but before any further segment (`1.0` < `1.0^git1` <
 * `1.0.1`). Digit segments compare as numbers of any length and beat letter segments; letter
 * segments compare bytewise. When one string runs out of segments first, the other is newer.
 */

export interface RpmEvr {
  /** Absent means 0. */
  epoch?: string | number;
  version: string;
  /** Absent sorts before every release, even an empty one (rpm's rule). */
  release?: string;
}

const TILDE = 0x7e;
const CARET = 0x5e;

const isDigit = (code: number): boolean => code >= 0x30 && code <= 0x39;
const isLetter = (code: number): boolean => (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a);
const isSegmentChar = (code: number): boolean => isDigit(code) || isLetter(code);

/** rpmvercmp: order of two version (or release) strings. Any string is accepted. */
export function compareRpmVersions(a: string, b: string): -1 | 0 | 1 {
  if (a === b) return 0;
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    // Skip separators; `~` and `^` are not separators but markers with their own order.
    while (i < a.length && !isSegmentChar(a.charCodeAt(i)) && a.charCodeAt(i) !== TILDE && a.charCodeAt(i) !== CARET) i++;
    while (j < b.length && !isSegmentChar(b.charCodeAt(j)) && b.charCodeAt(j) !== TILDE && b.charCodeAt(j) !== CARET) j++;
    const charA = a.charCodeAt(i); // NaN past the end
    const charB = b.charCodeAt(j);

    if (charA === TILDE || charB === TILDE) {
      if (charA !== TILDE) return 1;
      if (charB !== TILDE) return -1;
      i++;
      j++;
      continue;
    }
    if (charA === CARET || charB === CARET) {
      // The side that has ended is older than a caret; a caret is older than a segment.
      if (i >= a.length) return -1;
      if (j >= b.length) return 1;
      if (charA !== CARET) return 1;
      if (charB !== CARET) return -1;
      i++;
      j++;
      continue;
    }
    if (i >= a.length || j >= b.length) break;

    // The segment's kind is set by `a`; `b` contributes a segment of the same kind, maybe empty.
    const numeric = isDigit(charA);
    const inSegment = numeric ? isDigit : isLetter;
    let endA = i;
    let endB = j;
    while (endA < a.length && inSegment(a.charCodeAt(endA))) endA++;
    while (endB < b.length && inSegment(b.charCodeAt(endB))) endB++;
    // Different kinds: a number is newer than letters.
    if (endB === j) return numeric ? 1 : -1;

    let segmentA = a.slice(i, endA);
    let segmentB = b.slice(j, endB);
    if (numeric) {
      segmentA = segmentA.replace(/^0+/, '');
      segmentB = segmentB.replace(/^0+/, '');
      if (segmentA.length !== segmentB.length) return segmentA.length > segmentB.length ? 1 : -1;
    }
    // Same-length digit strings and ASCII letters: code unit order is strcmp's byte order.
    if (segmentA !== segmentB) return segmentA < segmentB ? -1 : 1;
    i = endA;
    j = endB;
  }
  // Equal segments, maybe different separators: whichever still has a segment left is newer.
  if (i >= a.length && j >= b.length) return 0;
  return i < a.length ? 1 : -1;
}

/**
 * Splits `[epoch:]version[-release]` exactly as rpm does: the epoch is the leading digits when a
 * colon follows them (an empty one reads as `0`), the release what follows the last hyphen.
 * Throws on an empty string, which rpm refuses; anything else parses.
 */
export function parseRpmEvr(text: string): RpmEvr {
  if (text.length === 0) throw new TypeError('not an RPM version: empty');
  let versionStart = 0;
  while (versionStart < text.length && isDigit(text.charCodeAt(versionStart))) versionStart++;
  const evr: RpmEvr = { version: '' };
  if (text.charCodeAt(versionStart) === 0x3a) {
    evr.epoch = versionStart === 0 ? '0' : text.slice(0, versionStart);
    versionStart++;
  } else {
    versionStart = 0;
  }
  const hyphen = text.lastIndexOf('-');
  if (hyphen >= versionStart) {
    evr.version = text.slice(versionStart, hyphen);
    evr.release = text.slice(hyphen + 1);
  } else {
    evr.version = text.slice(versionStart);
  }
  return evr;
}

/** rpmverCmp: epoch (absent = 0), then version, then release (absent sorts first). */
export function compareEvr(a: RpmEvr, b: RpmEvr): -1 | 0 | 1 {
  const byEpoch = compareRpmVersions(String(a.epoch ?? '0'), String(b.epoch ?? '0'));
  if (byEpoch !== 0) return byEpoch;
  const byVersion = compareRpmVersions(a.version, b.version);
  if (byVersion !== 0) return byVersion;
  if (a.release === undefined || b.release === undefined) {
    return a.release === b.release ? 0 : a.release === undefined ? -1 : 1;
  }
  return compareRpmVersions(a.release, b.release);
}

/**
 * What the scheme accepts: a digits-only epoch, then version and release made of the characters
 * rpmbuild allows in them (letters, digits, `.`, `_`, `+`, `~`, `^`), neither empty and without
 * hyphens or colons. rpm itself compares any string; the strictness catches garbled EVRs.
 */
const SCHEME_EVR = /^(?:[0-9]+:)?[A-Za-z0-9._+~^]+(?:-[A-Za-z0-9._+~^]+)?$/;
const MAX_LENGTH = 256;

const CACHE_LIMIT = 20_000;
let cache = new Map<string, RpmEvr | null>();

function parseValid(text: string): RpmEvr | null {
  let parsed = cache.get(text);
  if (parsed !== undefined) return parsed;
  parsed = text.length <= MAX_LENGTH && SCHEME_EVR.test(text) ? parseRpmEvr(text) : null;
  if (cache.size >= CACHE_LIMIT) cache = new Map();
  cache.set(text, parsed);
  return parsed;
}

function parseValidOrThrow(text: string): RpmEvr {
  const parsed = parseValid(text);
  if (parsed === null) throw new TypeError(`not an RPM [epoch:]version[-release]: ${JSON.stringify(text.slice(0, 100))}`);
  return parsed;
}

export function isValidRpmEvr(text: string): boolean {
  return parseValid(text) !== null;
}

/** An rpm-ordered scheme for one OSV ecosystem name. */
export function createRpmScheme(ecosystem: string): VersionScheme {
  return {
    ecosystem,
    isValid: isValidRpmEvr,
    compare(a: string, b: string): number {
      const left = parseValidOrThrow(a);
      if (a === b) return 0;
      return compareEvr(left, parseValidOrThrow(b));
    },
  };
}

/** OSV ecosystems whose packages are RPMs (names as in osv-schema's ecosystems list). */
export const RPM_ECOSYSTEMS = [
  'AlmaLinux',
  'Azure Linux',
  'Mageia',
  'openEuler',
  'openSUSE',
  'Photon OS',
  'Red Hat',
  'Rocky Linux',
  'SUSE',
] as const;

export const rpmSchemes: readonly VersionScheme[] = RPM_ECOSYSTEMS.map(createRpmScheme);
