import { gemBump, rubyGemsScheme } from '../versions/rubygems.js';
import { bad, dateToTimestamp, isPlainObject, numberField, own, text, textList, type Converted, type JsonObject } from './convert-common.js';
import { severityFromScore, type CvssVersion } from './severity.js';

/**
 * rubysec advisories (github.com/rubysec/ruby-advisory-db, `gems/<gem>/<id>.yml`) → OSV.
 *
 * Fields read: `gem`, `cve`, `ghsa`, `osvdb`, `url`, `title`, `description`, `date`,
 * `cvss_v2`/`cvss_v3`/`cvss_v4` (scores, not vectors), `patched_versions`,
 * `unaffected_versions` (lists of Gem::Requirement strings such as `~> 1.2.3, >= 1.2.3.1`),
 * `related` (`url`, `cve`, `ghsa`, `osvdb` lists).
 *
 * The OSV id is `RUBYSEC-<gem>-<file name>` (the file name is the advisory's CVE/GHSA/OSVDB id;
 * the same CVE has one file per affected gem, hence the gem in the id); aliases are the CVE, GHSA
 * and OSVDB ids. Severity comes from the newest CVSS score given (v4, else v3, else v2) and is
 * stored as a word in `database_specific.severity`, since there is no vector to put in `severity`.
 *
 * Affected versions are the standard conversion (as bundler-audit reads the file): a version is
 * affected unless it satisfies one of the patched or unaffected requirements. Each requirement
 * (comma-separated constraints, all of which must hold) is an interval of the RubyGems order;
 * their union is the safe set, and its complement becomes ECOSYSTEM events: one range holding
 * the introduced/fixed pairs, plus one range per stretch that ends inclusively (`last_affected`,
 * which cannot share a range with `fixed`); a stretch of one version goes to `versions`.
 * `~> 1.2.3` is `>= 1.2.3` and `v.release < 1.3` (Gem::Requirement, 1.3 from Gem::Version#bump),
 * which rejects pre-releases of 1.3 as well: the upper bound is written `1.3.A`, the lowest
 * pre-release of 1.3 (`A` is the smallest letter a version may hold), so the stretch after it
 * starts with `introduced: 1.3.A` and `1.3.0.rc1` is affected, as bundler-audit says.
 *
 * One approximation: affected versions right after a safe requirement that ends inclusively
 * (`<= x`, `= x`). OSV's `introduced` is inclusive and a RubyGems version has no "next
 * version", so the stretch is written `introduced x`, which reports x itself as affected too. A
 * warning says so (13 of the 1,234 advisories in the test data). The opposite case is exact: a
 * patched `> x` makes the stretch before it end with `last_affected x`.
 */

interface Bound {
  version: string;
  inclusive: boolean;
}

/** `lo`/`hi` undefined: unbounded. */
interface Interval {
  lo?: Bound;
  hi?: Bound;
}

const cmp = (a: string, b: string): number => rubyGemsScheme.compare(a, b);

function isEmpty(i: Interval): boolean {
  if (!i.lo || !i.hi) return false;
  const c = cmp(i.lo.version, i.hi.version);
  return c > 0 || (c === 0 && !(i.lo.inclusive && i.hi.inclusive));
}

function tighterLo(a: Bound | undefined, b: Bound | undefined): Bound | undefined {
  if (!a) return b;
  if (!b) return a;
  const c = cmp(a.version, b.version);
  if (c !== 0) return c > 0 ? a : b;
  return a.inclusive ? b : a;
}

function tighterHi(a: Bound | undefined, b: Bound | undefined): Bound | undefined {
  if (!a) return b;
  if (!b) return a;
  const c = cmp(a.version, b.version);
  if (c !== 0) return c < 0 ? a : b;
  return a.inclusive ? b : a;
}

function looserHi(a: Bound | undefined, b: Bound | undefined): Bound | undefined {
  if (!a || !b) return undefined;
  const c = cmp(a.version, b.version);
  if (c !== 0) return c > 0 ? a : b;
  return a.inclusive ? a : b;
}

function compareLo(a: Bound | undefined, b: Bound | undefined): number {
  if (!a || !b) return !a && !b ? 0 : !a ? -1 : 1;
  const c = cmp(a.version, b.version);
  if (c !== 0) return c;
  return a.inclusive === b.inclusive ? 0 : a.inclusive ? -1 : 1;
}

const CONSTRAINT = /^\s*(=|!=|>=|<=|~>|>|<)?\s*([0-9][0-9A-Za-z.-]*)\s*$/;

function constraintIntervals(constraint: string, path: string): Interval[] {
  const match = CONSTRAINT.exec(constraint);
  const version = match?.[2];
  if (!match || version === undefined || !rubyGemsScheme.isValid(version)) {
    bad(path, `${JSON.stringify(constraint.slice(0, 100))} is not a RubyGems requirement`);
  }
  const at = (inclusive: boolean): Bound => ({ version, inclusive });
  switch (match[1] ?? '=') {
    case '=':
      return [{ lo: at(true), hi: at(true) }];
    case '!=':
      return [{ hi: at(false) }, { lo: at(false) }];
    case '>':
      return [{ lo: at(false) }];
    case '>=':
      return [{ lo: at(true) }];
    case '<':
      return [{ hi: at(false) }];
    case '<=':
      return [{ hi: at(true) }];
    default: // '~>'
      // `v.release < bump` also refuses the bump's pre-releases; `<bump>.A` is the lowest one.
      return [{ lo: at(true), hi: { version: `${gemBump(version)}.A`, inclusive: false } }];
  }
}

/** One requirement line (`~> 4.2.5, >= 4.2.5.1`): the intersection of its constraints. */
function requirementIntervals(requirement: string, path: string): Interval[] {
  let result: Interval[] = [{}];
  for (const constraint of requirement.split(',')) {
    const next: Interval[] = [];
    for (const a of result) {
      for (const b of constraintIntervals(constraint, path)) {
        const i: Interval = { lo: tighterLo(a.lo, b.lo), hi: tighterHi(a.hi, b.hi) };
        if (!isEmpty(i)) next.push(i);
      }
    }
    result = next;
  }
  return result;
}

/** Sorted, merged union. */
function union(intervals: Interval[]): Interval[] {
  const sorted = [...intervals].sort((a, b) => compareLo(a.lo, b.lo));
  const out: Interval[] = [];
  for (const next of sorted) {
    const current = out[out.length - 1];
    if (current) {
      const touches =
        !current.hi ||
        !next.lo ||
        (() => {
          const c = cmp(next.lo.version, current.hi.version);
          return c < 0 || (c === 0 && (next.lo.inclusive || current.hi.inclusive));
        })();
      if (touches) {
        current.hi = looserHi(current.hi, next.hi);
        continue;
      }
    }
    out.push({ ...next });
  }
  return out;
}

function complement(safe: Interval[]): Interval[] {
  const gaps: Interval[] = [];
  let previous: Bound | undefined; // upper bound of the previous safe interval
  let first = true;
  for (const interval of safe) {
    if (!(first && !interval.lo)) {
      const gap: Interval = {
        lo: first ? undefined : previous && { version: previous.version, inclusive: !previous.inclusive },
        hi: interval.lo && { version: interval.lo.version, inclusive: !interval.lo.inclusive },
      };
      if (!isEmpty(gap)) gaps.push(gap);
    }
    first = false;
    if (!interval.hi) return gaps;
    previous = interval.hi;
  }
  gaps.push(first ? {} : { lo: previous && { version: previous.version, inclusive: !previous.inclusive } });
  return gaps;
}

export interface GemRangeResult {
  ranges: { type: 'ECOSYSTEM'; events: Record<string, string>[] }[];
  versions: string[];
  warnings: string[];
}

/**
 * OSV ECOSYSTEM ranges for "affected = not (patched or unaffected)". Throws AdvisoryFormatError
 * for a requirement that does not parse.
 */
export function gemRequirementsToOsv(patched: readonly string[], unaffected: readonly string[]): GemRangeResult {
  const safe: Interval[] = [];
  patched.forEach((r, i) => safe.push(...requirementIntervals(r, `patched_versions[${i}]`)));
  unaffected.forEach((r, i) => safe.push(...requirementIntervals(r, `unaffected_versions[${i}]`)));
  const result: GemRangeResult = { ranges: [], versions: [], warnings: [] };
  const pairs: Record<string, string>[] = [];
  for (const gap of complement(union(safe))) {
    // Below "0" there are only pre-releases of 0 (`0.a`); `>= 0` means every version.
    if (!gap.lo && gap.hi && !gap.hi.inclusive && cmp(gap.hi.version, '0') === 0) continue;
    if (gap.lo && gap.hi && gap.lo.inclusive && gap.hi.inclusive && cmp(gap.lo.version, gap.hi.version) === 0) {
      result.versions.push(gap.lo.version);
      continue;
    }
    if (gap.lo && !gap.lo.inclusive) {
      result.warnings.push(`${gap.lo.version} is not affected, but OSV cannot start a range just after it; it is reported as affected`);
    }
    const introduced = { introduced: gap.lo ? gap.lo.version : '0' };
    if (gap.hi?.inclusive) result.ranges.push({ type: 'ECOSYSTEM', events: [introduced, { last_affected: gap.hi.version }] });
    else pairs.push(introduced, ...(gap.hi ? [{ fixed: gap.hi.version }] : []));
  }
  if (pairs.length > 0) result.ranges.unshift({ type: 'ECOSYSTEM', events: pairs });
  return result;
}

/** True when the object looks like a rubysec advisory. */
export function isRubysecAdvisory(value: unknown): value is JsonObject {
  return isPlainObject(value) && typeof own(value, 'gem') === 'string' && (own(value, 'title') !== undefined || own(value, 'date') !== undefined);
}

const FILE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export interface RubysecOptions {
  /** The advisory's file name without extension (`CVE-2023-50725`); the default is derived from cve/ghsa/osvdb. */
  fileName?: string;
}

export function convertRubysec(raw: unknown, options: RubysecOptions = {}): Converted {
  if (!isPlainObject(raw)) bad('', 'expected a rubysec advisory mapping');
  const gem = text(raw, 'gem', 214)?.trim();
  if (!gem || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(gem)) bad('gem', 'missing or not a valid gem name');
  const cve = text(raw, 'cve', 64, { numbers: true })?.trim();
  const ghsa = text(raw, 'ghsa', 64)?.trim();
  const osvdb = text(raw, 'osvdb', 64, { numbers: true })?.trim();
  const aliases: string[] = [];
  if (cve) aliases.push(`CVE-${cve.replace(/^CVE-/i, '')}`);
  if (ghsa) aliases.push(`GHSA-${ghsa.replace(/^GHSA-/i, '')}`);
  if (osvdb) aliases.push(`OSVDB-${osvdb.replace(/^OSVDB-/i, '')}`);
  const fileId = options.fileName !== undefined && FILE_ID.test(options.fileName) ? options.fileName : aliases[0];
  if (fileId === undefined) bad('cve', 'no cve, ghsa or osvdb id to name the advisory by');

  const dateText = text(raw, 'date', 64);
  if (dateText === undefined) bad('date', 'missing');
  const date = dateToTimestamp(dateText, 'date');
  const title = text(raw, 'title', 10_000) ?? '';
  const description = text(raw, 'description', 1_000_000) ?? '';
  const patched = textList(raw, 'patched_versions', 1_000, 1024);
  const unaffected = textList(raw, 'unaffected_versions', 1_000, 1024);
  const converted = gemRequirementsToOsv(patched, unaffected);

  const databaseSpecific: Record<string, unknown> = { source: 'rubysec' };
  let severityScore: { score: number; version: CvssVersion } | undefined;
  for (const [key, version] of [['cvss_v4', 4], ['cvss_v3', 3], ['cvss_v2', 2]] as const) {
    const score = numberField(raw, key);
    if (score === undefined) continue;
    if (score < 0 || score > 10) bad(key, 'a CVSS score is between 0 and 10');
    databaseSpecific[key] = score;
    severityScore ??= { score, version };
  }
  if (severityScore) databaseSpecific.severity = severityFromScore(severityScore.score, severityScore.version).toUpperCase();
  if (patched.length > 0) databaseSpecific.patched_versions = patched;
  if (unaffected.length > 0) databaseSpecific.unaffected_versions = unaffected;

  const references: { type: string; url: string }[] = [];
  const url = text(raw, 'url', 2048)?.trim();
  if (url) references.push({ type: 'ADVISORY', url });
  const related: string[] = [];
  const relatedValue = own(raw, 'related');
  if (relatedValue !== undefined && relatedValue !== null) {
    if (!isPlainObject(relatedValue)) bad('related', 'expected a mapping');
    for (const link of textList(relatedValue, 'url', 1_000, 2048, 'related.url')) if (link.trim() !== url) references.push({ type: 'WEB', url: link.trim() });
    for (const [key, prefix] of [['cve', 'CVE-'], ['ghsa', 'GHSA-'], ['osvdb', 'OSVDB-']] as const) {
      for (const id of textList(relatedValue, key, 1_000, 64, `related.${key}`)) {
        const full = `${prefix}${id.trim().replace(new RegExp(`^${prefix}`, 'i'), '')}`;
        if (!aliases.includes(full) && !related.includes(full)) related.push(full);
      }
    }
  }

  const osv: Record<string, unknown> = {
    schema_version: '1.6.0',
    id: `RUBYSEC-${gem}-${fileId}`,
    modified: date,
    published: date,
    aliases,
    related,
    summary: title.trim(),
    details: description.trim(),
    affected: [
      {
        package: { ecosystem: 'RubyGems', name: gem, purl: `pkg:gem/${gem}` },
        ranges: converted.ranges,
        versions: converted.versions,
      },
    ],
    references,
    database_specific: databaseSpecific,
  };
  return { osv, warnings: converted.warnings };
}
