import type { VersionScheme } from './scheme.js';

/**
 * Debian package version ordering, as dpkg orders them (Debian Policy 5.6.12; dpkg's
 * `parseversion` and `verrevcmp`). Used for the OSV `Debian` and `Ubuntu` ecosystems.
 *
 * A version is `[epoch:]upstream[-revision]`: the epoch is the digits before the first colon (0
 * when absent), the revision what follows the last hyphen (empty when absent, which compares
 * equal to `0`). Versions compare by epoch numerically, then upstream, then revision. Each of
 * those two strings is read as alternating runs of non-digits and digits: non-digit runs compare
 * character by character with `~` before everything (even the end of the run), then the end,
 * then letters, then every other character, in ASCII order within each group; digit runs compare
 * as numbers of any length.
 */

export interface DpkgVersion {
  epoch: number;
  upstream: string;
  /** Empty when the version has no revision. */
  revision: string;
}

/** dpkg keeps epochs in an `int`. */
const MAX_EPOCH = 2_147_483_647;
/** Version strings are short; the cap keeps hostile input from costing anything. */
const MAX_LENGTH = 256;

/** Characters Debian Policy allows: what dpkg accepts without a warning. */
const POLICY_UPSTREAM = /^[0-9][0-9A-Za-z.+~:-]*$/;
const POLICY_REVISION = /^[0-9A-Za-z.+~]+$/;
/**
 * What dpkg accepts at all (it warns about, but still compares, other printable ASCII).
 * Non-ASCII is refused here although dpkg takes it: dpkg orders such bytes as `char`, whose
 * signedness differs between platforms, so there is no single answer to match.
 */
const PRINTABLE_ASCII = /^[\x21-\x7e]*$/;

export class DpkgVersionError extends TypeError {
  constructor(version: string, reason: string) {
    super(`not a Debian version (${reason}): ${JSON.stringify(version.slice(0, 100))}`);
    this.name = 'DpkgVersionError';
  }
}

/**
 * Splits a version the way dpkg does and refuses what dpkg refuses (empty parts, an epoch that
 * is not a number in `int` range, whitespace inside). Like dpkg, it trims surrounding blanks and
 * lets through what dpkg only warns about (an upstream starting with a letter, stray ASCII
 * punctuation); `isValidDpkgVersion` is the strict, Policy-conforming check.
 */
export function parseDpkgVersion(text: string): DpkgVersion {
  const version = text.replace(/^[ \t]+|[ \t]+$/g, '');
  if (version.length === 0) throw new DpkgVersionError(text, 'empty');
  if (!PRINTABLE_ASCII.test(version)) throw new DpkgVersionError(text, 'whitespace, control or non-ASCII character');
  let rest = version;
  let epoch = 0;
  const colon = version.indexOf(':');
  if (colon !== -1) {
    epoch = parseEpoch(version, version.slice(0, colon));
    rest = version.slice(colon + 1);
    if (rest.length === 0) throw new DpkgVersionError(text, 'nothing after the epoch');
  }
  const hyphen = rest.lastIndexOf('-');
  const upstream = hyphen === -1 ? rest : rest.slice(0, hyphen);
  const revision = hyphen === -1 ? '' : rest.slice(hyphen + 1);
  if (hyphen !== -1 && revision.length === 0) throw new DpkgVersionError(text, 'empty revision');
  if (upstream.length === 0) throw new DpkgVersionError(text, 'empty upstream version');
  return { epoch, upstream, revision };
}

/** dpkg reads the epoch with strtol, so a sign is tolerated; the value must fit an `int`. */
function parseEpoch(version: string, epochText: string): number {
  const match = /^([+-]?)0*([0-9]+)$/.exec(epochText);
  if (match === null) throw new DpkgVersionError(version, epochText.length === 0 ? 'empty epoch' : 'epoch is not a number');
  const digits = match[2]!;
  if (digits.length > 10 || Number(digits) > MAX_EPOCH) throw new DpkgVersionError(version, 'epoch too big');
  const value = Number(digits);
  if (match[1] === '-' && value !== 0) throw new DpkgVersionError(version, 'negative epoch');
  return value;
}

/** Debian Policy syntax on top of what dpkg accepts: nothing dpkg would warn about. */
function conformsToPolicy(text: string, parsed: DpkgVersion): boolean {
  const colon = text.indexOf(':');
  if (colon !== -1 && !/^[0-9]+$/.test(text.slice(0, colon))) return false;
  return POLICY_UPSTREAM.test(parsed.upstream) && (parsed.revision === '' || POLICY_REVISION.test(parsed.revision));
}

const CACHE_LIMIT = 20_000;
let strictCache = new Map<string, DpkgVersion | null>();

/** Strict parse for the scheme: Policy syntax, no surrounding blanks, at most 256 characters. */
function parseStrict(text: string): DpkgVersion | null {
  let parsed = strictCache.get(text);
  if (parsed !== undefined) return parsed;
  parsed = null;
  if (text.length > 0 && text.length <= MAX_LENGTH && PRINTABLE_ASCII.test(text)) {
    try {
      const candidate = parseDpkgVersion(text);
      if (conformsToPolicy(text, candidate)) parsed = candidate;
    } catch (err) {
      if (!(err instanceof DpkgVersionError)) throw err;
    }
  }
  if (strictCache.size >= CACHE_LIMIT) strictCache = new Map();
  strictCache.set(text, parsed);
  return parsed;
}

/** True for a Policy-conforming version: `[epoch:]upstream[-revision]`, upstream starting with a digit. */
export function isValidDpkgVersion(text: string): boolean {
  return parseStrict(text) !== null;
}

const isDigit = (code: number): boolean => code >= 0x30 && code <= 0x39;
const isLetter = (code: number): boolean => (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a);

/**
 * Rank of a character inside a non-digit run. The end of the run (no character, or a digit)
 * ranks 0; `~` ranks below it; letters by ASCII; everything else after all letters.
 */
function nonDigitRank(code: number | undefined): number {
  if (code === undefined || isDigit(code)) return 0;
  if (code === 0x7e) return -1;
  if (isLetter(code)) return code;
  return code + 256;
}

const sign = (n: number): -1 | 0 | 1 => (n < 0 ? -1 : n > 0 ? 1 : 0);

/** dpkg's verrevcmp: order of two upstream versions, or of two revisions. */
export function compareDpkgVersionParts(a: string, b: string): -1 | 0 | 1 {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    // Non-digit run: characters pairwise; the shorter run is padded with rank 0.
    while ((i < a.length && !isDigit(a.charCodeAt(i))) || (j < b.length && !isDigit(b.charCodeAt(j)))) {
      const rankA = nonDigitRank(i < a.length ? a.charCodeAt(i) : undefined);
      const rankB = nonDigitRank(j < b.length ? b.charCodeAt(j) : undefined);
      if (rankA !== rankB) return sign(rankA - rankB);
      // Equal ranks here mean the same non-digit on both sides (only the end ranks 0).
      i++;
      j++;
    }
    // Digit run: as numbers of any length (leading zeros dropped, longer is larger).
    while (a.charCodeAt(i) === 0x30) i++;
    while (b.charCodeAt(j) === 0x30) j++;
    let endA = i;
    let endB = j;
    while (endA < a.length && isDigit(a.charCodeAt(endA))) endA++;
    while (endB < b.length && isDigit(b.charCodeAt(endB))) endB++;
    const lengthDiff = endA - i - (endB - j);
    if (lengthDiff !== 0) return sign(lengthDiff);
    const digitsA = a.slice(i, endA);
    const digitsB = b.slice(j, endB);
    if (digitsA !== digitsB) return digitsA < digitsB ? -1 : 1;
    i = endA;
    j = endB;
  }
  return 0;
}

function compareParsed(a: DpkgVersion, b: DpkgVersion): -1 | 0 | 1 {
  if (a.epoch !== b.epoch) return a.epoch < b.epoch ? -1 : 1;
  return compareDpkgVersionParts(a.upstream, b.upstream) || compareDpkgVersionParts(a.revision, b.revision);
}

/**
 * Order of two Debian versions, as `dpkg --compare-versions`. Accepts whatever dpkg accepts
 * (see `parseDpkgVersion`); throws DpkgVersionError on what it refuses.
 */
export function compareDpkgVersions(a: string, b: string): -1 | 0 | 1 {
  return compareParsed(parseDpkgVersion(a), parseDpkgVersion(b));
}

function parseStrictOrThrow(text: string): DpkgVersion {
  const parsed = parseStrict(text);
  if (parsed !== null) return parsed;
  if (text.length > MAX_LENGTH) throw new DpkgVersionError(text, `longer than ${MAX_LENGTH} characters`);
  // Let the lenient parser name the problem; if it has none, the problem is Policy syntax.
  parseDpkgVersion(text);
  throw new DpkgVersionError(text, 'not Debian Policy syntax');
}

/** A dpkg-ordered scheme for one OSV ecosystem name (Debian, Ubuntu, …). */
export function createDpkgScheme(ecosystem: string): VersionScheme {
  return {
    ecosystem,
    isValid: isValidDpkgVersion,
    compare(a: string, b: string): number {
      if (a === b) {
        parseStrictOrThrow(a);
        return 0;
      }
      return compareParsed(parseStrictOrThrow(a), parseStrictOrThrow(b));
    },
  };
}

export const debianScheme: VersionScheme = createDpkgScheme('Debian');
/** Ubuntu publishes dpkg versions in OSV too. */
export const ubuntuScheme: VersionScheme = createDpkgScheme('Ubuntu');
