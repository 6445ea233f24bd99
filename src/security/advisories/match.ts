import { semverScheme, versionSchemeFor, type VersionScheme } from '../versions/index.js';
import { normalizePackageName, splitEcosystem } from './ecosystems.js';
import type { AffectedPackage, AffectedRange, Advisory, RangeEvent } from './types.js';

/**
 * The OSV evaluation algorithm (osv-schema, "Evaluation"):
 *
 *   IsVulnerable(v) = v is listed in `versions`, or some range includes v;
 *   a range includes v when v is below one of its `limit`s (no limit: always) and, walking its
 *   events sorted by version, the last event that applies to v is an `introduced`, where
 *   `introduced x` applies when v >= x (`"0"` sorts before everything), `fixed x` when v >= x,
 *   `last_affected x` when v > x.
 *
 * "The last applying event of the sorted list" is found in one pass, without sorting: it is the
 * applying event with the greatest version. Events with equal versions keep the order the record
 * gives them (a stable sort), so `introduced 1.0, fixed 2.0, introduced 2.0` includes 2.0.
 *
 * SEMVER ranges are ordered by SemVer whatever the ecosystem. ECOSYSTEM ranges need the
 * ecosystem's scheme; without one only a range that starts at "0" and never ends can be decided.
 * GIT ranges describe commits, never package versions: they never match here (the `versions`
 * list, which OSV derives from them, does).
 *
 * Hot path: called for every (advisory, version) pair. No allocation per call beyond the first
 * for a given affected entry (the lookup structures for `versions` are cached per object, so an
 * `AffectedPackage` must not be mutated once matched against).
 */

const INTRODUCED_ZERO = '0';

function isIntroducedZero(event: RangeEvent): boolean {
  return event.kind === 'introduced' && event.version === INTRODUCED_ZERO;
}

function isInfiniteLimit(event: RangeEvent): boolean {
  return event.version.includes('*');
}

/** scheme.compare, or undefined when either side does not parse. */
function compareSafe(scheme: VersionScheme, a: string, b: string): number | undefined {
  try {
    return scheme.compare(a, b);
  } catch {
    return undefined;
  }
}

/** Order of two events by version, `introduced "0"` first; undefined when unordered. */
function compareEvents(scheme: VersionScheme, a: RangeEvent, b: RangeEvent): number | undefined {
  const aZero = isIntroducedZero(a);
  const bZero = isIntroducedZero(b);
  if (aZero || bZero) return aZero && bZero ? 0 : aZero ? -1 : 1;
  return compareSafe(scheme, a.version, b.version);
}

/** A range with nothing but `introduced "0"` (and infinite limits): every version. */
function coversEverything(range: AffectedRange): boolean {
  return range.events.every((e) => isIntroducedZero(e) || (e.kind === 'limit' && isInfiniteLimit(e)));
}

function rangeIncludes(range: AffectedRange, version: string, scheme: VersionScheme | undefined): boolean {
  if (scheme === undefined) return coversEverything(range);
  if (!scheme.isValid(version)) return false;
  let hasLimit = false;
  let belowALimit = false;
  let last: RangeEvent | undefined;
  for (const event of range.events) {
    if (event.kind === 'limit') {
      hasLimit = true;
      if (!belowALimit) {
        if (isInfiniteLimit(event)) belowALimit = true;
        else {
          const c = compareSafe(scheme, version, event.version);
          if (c !== undefined && c < 0) belowALimit = true;
        }
      }
      continue;
    }
    let applies: boolean;
    if (isIntroducedZero(event)) applies = true;
    else {
      const c = compareSafe(scheme, version, event.version);
      if (c === undefined) continue; // an event the scheme cannot read is ignored
      applies = event.kind === 'last_affected' ? c > 0 : c >= 0;
    }
    if (!applies) continue;
    if (last === undefined) last = event;
    else {
      const order = compareEvents(scheme, event, last);
      if (order !== undefined && order >= 0) last = event;
    }
  }
  if (hasLimit && !belowALimit) return false;
  return last !== undefined && last.kind === 'introduced';
}

interface VersionIndex {
  exact: Set<string>;
  /** Listed versions valid in a scheme, sorted by it, for equality by the scheme (`1.0.0+b` = `1.0.0`). */
  sorted: Map<VersionScheme, string[]>;
}

const versionIndexes = new WeakMap<AffectedPackage, VersionIndex>();

function listedIn(affected: AffectedPackage, version: string, scheme: VersionScheme | undefined): boolean {
  const versions = affected.versions;
  if (versions.length === 0) return false;
  if (versions.length <= 8 && scheme === undefined) return versions.includes(version);
  let index = versionIndexes.get(affected);
  if (index === undefined) {
    index = { exact: new Set(versions), sorted: new Map() };
    versionIndexes.set(affected, index);
  }
  if (index.exact.has(version)) return true;
  if (scheme === undefined || !scheme.isValid(version)) return false;
  let sorted = index.sorted.get(scheme);
  if (sorted === undefined) {
    sorted = versions.filter((v) => scheme.isValid(v)).sort((a, b) => scheme.compare(a, b));
    index.sorted.set(scheme, sorted);
  }
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const c = scheme.compare(sorted[mid]!, version);
    if (c === 0) return true;
    if (c < 0) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

/**
 * Whether `version` of the package in `affected` is affected. `scheme` orders ECOSYSTEM ranges
 * (`versionSchemeFor(affected.ecosystem)`); pass undefined when the ecosystem has none. Never
 * throws: a version the scheme cannot parse is not affected by any range (it can still be listed
 * verbatim in `versions`).
 */
export function isAffected(affected: AffectedPackage, version: string, scheme: VersionScheme | undefined): boolean {
  if (listedIn(affected, version, scheme)) return true;
  for (const range of affected.ranges) {
    if (range.type === 'GIT') continue;
    if (rangeIncludes(range, version, range.type === 'SEMVER' ? semverScheme : scheme)) return true;
  }
  return false;
}

/**
 * Whether the advisory affects `name@version` in `ecosystem` (base name, e.g. `npm`; the name is
 * normalized like the advisory's). Withdrawn advisories are the caller's call: this only reads
 * the ranges.
 */
export function advisoryAffects(
  advisory: Advisory,
  ecosystem: string,
  name: string,
  version: string,
  scheme: VersionScheme | undefined = versionSchemeFor(ecosystem),
): boolean {
  const base = splitEcosystem(ecosystem).base;
  const wanted = normalizePackageName(base, name);
  return advisory.affected.some((a) => a.ecosystem === base && a.name === wanted && isAffected(a, version, scheme));
}

function schemeForRange(range: AffectedRange, affected: AffectedPackage, scheme: VersionScheme | undefined): VersionScheme | undefined {
  if (range.type === 'SEMVER') return semverScheme;
  if (range.type === 'ECOSYSTEM') return scheme ?? versionSchemeFor(affected.ecosystem);
  return undefined;
}

/** Events sorted by version (stable); in record order when they cannot be ordered. */
function sortedEvents(range: AffectedRange, scheme: VersionScheme | undefined): RangeEvent[] {
  const events = range.events.filter((e) => e.kind !== 'limit');
  if (scheme === undefined) return events;
  return events
    .map((event, i) => ({ event, i }))
    .sort((a, b) => compareEvents(scheme, a.event, b.event) || a.i - b.i)
    .map(({ event }) => event);
}

function describeRange(range: AffectedRange, scheme: VersionScheme | undefined): string[] {
  const parts: string[] = [];
  let lower: string | undefined;
  let open = false;
  for (const event of sortedEvents(range, scheme)) {
    if (event.kind === 'introduced') {
      if (open) continue; // already inside an affected stretch
      open = true;
      lower = event.version === INTRODUCED_ZERO ? undefined : event.version;
    } else if (open) {
      const upper = event.kind === 'fixed' ? `<${event.version}` : `<=${event.version}`;
      parts.push(lower === undefined ? upper : `>=${lower} ${upper}`);
      open = false;
    }
  }
  if (open) {
    const limits = range.events.filter((e) => e.kind === 'limit' && !isInfiniteLimit(e)).map((e) => `<${e.version}`);
    const upper = limits.length > 0 ? limits.join(' || ') : undefined;
    const text = [lower === undefined ? undefined : `>=${lower}`, upper].filter((t) => t !== undefined).join(' ');
    parts.push(text || '*');
  }
  return parts;
}

const LISTED_VERSIONS_SHOWN = 10;

function entriesOf(affected: AffectedPackage | readonly AffectedPackage[]): readonly AffectedPackage[] {
  return Array.isArray(affected) ? (affected as readonly AffectedPackage[]) : [affected as AffectedPackage];
}

/**
 * The affected versions as one line for people: `>=1.0.0 <1.2.3, 2.0.0`; `*` for every version.
 * Ranges come first, with their events in version order; listed versions follow when there is
 * no SEMVER/ECOSYSTEM range, or (when the scheme is known) when no range covers them — OSV
 * databases usually list every version a range covers, which would only repeat the range.
 * Empty when nothing is affected (GIT-only entries without versions).
 */
export function describeRanges(affected: AffectedPackage | readonly AffectedPackage[], scheme?: VersionScheme): string {
  const parts: string[] = [];
  for (const entry of entriesOf(affected)) {
    const versionRanges = entry.ranges.filter((r) => r.type !== 'GIT');
    for (const range of versionRanges) {
      for (const part of describeRange(range, schemeForRange(range, entry, scheme))) if (!parts.includes(part)) parts.push(part);
    }
    const entryScheme = scheme ?? versionSchemeFor(entry.ecosystem);
    let listed: string[];
    if (versionRanges.length === 0) listed = entry.versions;
    else if (entryScheme === undefined) listed = [];
    else {
      const rangesOnly: AffectedPackage = { ...entry, versions: [] };
      listed = entry.versions.filter((v) => !isAffected(rangesOnly, v, entryScheme));
    }
    if (listed.length > LISTED_VERSIONS_SHOWN) {
      const shown = listed.slice(0, LISTED_VERSIONS_SHOWN);
      parts.push(...shown, `and ${listed.length - shown.length} more`);
    } else {
      for (const v of listed) if (!parts.includes(v)) parts.push(v);
    }
  }
  return parts.join(', ');
}

/**
 * The versions that fix the vulnerability (`fixed` events of SEMVER/ECOSYSTEM ranges),
 * deduplicated, in version order when the scheme is known.
 */
export function fixedVersions(affected: AffectedPackage | readonly AffectedPackage[], scheme?: VersionScheme): string[] {
  const out: string[] = [];
  let order: VersionScheme | undefined;
  let mixed = false;
  for (const entry of entriesOf(affected)) {
    for (const range of entry.ranges) {
      if (range.type === 'GIT') continue;
      const rangeScheme = schemeForRange(range, entry, scheme);
      if (order === undefined) order = rangeScheme;
      else if (rangeScheme !== order) mixed = true;
      for (const event of range.events) if (event.kind === 'fixed' && !out.includes(event.version)) out.push(event.version);
    }
  }
  if (order !== undefined && !mixed) {
    const scheme = order;
    out.sort((a, b) => compareSafe(scheme, a, b) ?? 0);
  }
  return out;
}
