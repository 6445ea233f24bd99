import semver from 'semver';
import { bad, dateToTimestamp, isPlainObject, numberField, own, text, textList, type Converted, type JsonObject } from './convert-common.js';
import { scoreCvssVector, severityFromScore } from './severity.js';

/**
 * Node.js security working group advisories (github.com/nodejs/security-wg, `vuln/npm/<id>.json`)
 * → OSV.
 *
 * Fields read: `id`, `module_name`, `title`, `overview`, `recommendation`, `created_at`,
 * `updated_at`, `publish_date`, `cves`, `vulnerable_versions` and `patched_versions` (npm semver
 * ranges), `cvss_vector`, `cvss_score`, `references`.
 *
 * The OSV id is `NSWG-ECO-<id>`, the name the working group itself published these under.
 * Affected versions come from `vulnerable_versions` alone (`patched_versions` is kept in
 * `database_specific` for reference). Each comparator set of the range becomes one SEMVER range:
 *
 *   `>=a <b` → introduced a, fixed b     `<=b` → last_affected b      `a` / `=a` → versions [a]
 *   `>a`     → introduced at the next version after a in SemVer order (a.b.(c+1)-0, or
 *              a-pre.0 for a pre-release a): exact, since nothing sorts between the two.
 *
 * Approximations (SemVer ordering is OSV's; npm's range semantics differ on pre-releases):
 * - npm ranges exclude pre-releases unless a comparator names one on the same x.y.z; OSV ranges
 *   are plain intervals, so `<2.0.0` also covers `1.5.0-beta` here. For an advisory that is the
 *   safer reading.
 * - semver rewrites x-ranges and carets with a `-0` upper bound (`1.x` → `<2.0.0-0`); the `-0` is
 *   dropped (fixed `2.0.0`), so `2.0.0-rc.1` counts as affected.
 * - `<=99.999.99999` (and similar 99.999.x bounds) is the working group's way of saying "every
 *   version"; it becomes an open-ended range.
 * A range string semver cannot read yields no affected versions and a warning.
 */

const SOURCE_URL = 'https://github.com/nodejs/security-wg/blob/main/vuln/npm/';

interface Bound {
  version: semver.SemVer;
  inclusive: boolean;
}

/** The smallest version greater than v in SemVer precedence. */
function successor(v: semver.SemVer): string {
  if (v.prerelease.length > 0) return `${v.version}.0`;
  return `${v.major}.${v.minor}.${v.patch + 1}-0`;
}

function isEveryVersionSentinel(v: semver.SemVer): boolean {
  return v.major >= 99 && v.minor >= 999 && v.prerelease.length === 0;
}

function tighterLower(a: Bound | undefined, b: Bound): Bound {
  if (a === undefined) return b;
  const c = a.version.compare(b.version);
  if (c !== 0) return c > 0 ? a : b;
  return a.inclusive ? b : a;
}

function tighterUpper(a: Bound | undefined, b: Bound): Bound {
  if (a === undefined) return b;
  const c = a.version.compare(b.version);
  if (c !== 0) return c < 0 ? a : b;
  return a.inclusive ? b : a;
}

export interface SemverRangeEvents {
  ranges: { type: 'SEMVER'; events: Record<string, string>[] }[];
  versions: string[];
  warnings: string[];
}

/**
 * An npm semver range (`<1.2.3 || >=2.0.0 <2.1.0`) as OSV SEMVER ranges and exact versions.
 * Never throws: what cannot be expressed is reported in `warnings`.
 */
export function semverRangeToOsv(rangeText: string): SemverRangeEvents {
  const out: SemverRangeEvents = { ranges: [], versions: [], warnings: [] };
  let range: semver.Range;
  try {
    if (rangeText.trim() === '' || rangeText.length > 1024) throw new TypeError('empty or too long');
    range = new semver.Range(rangeText);
  } catch {
    out.warnings.push(`${JSON.stringify(rangeText.slice(0, 100))} is not a semver range; no affected versions recorded`);
    return out;
  }
  for (const set of range.set) {
    let lower: Bound | undefined;
    let upper: Bound | undefined;
    for (const comparator of set) {
      // `*` (any version) is a comparator whose semver is a sentinel symbol, not a SemVer.
      if (!(comparator.semver instanceof semver.SemVer)) continue;
      const version = comparator.semver;
      switch (comparator.operator) {
        case '':
        case '=':
          lower = tighterLower(lower, { version, inclusive: true });
          upper = tighterUpper(upper, { version, inclusive: true });
          break;
        case '>=':
        case '>':
          lower = tighterLower(lower, { version, inclusive: comparator.operator === '>=' });
          break;
        case '<':
        case '<=': {
          let bound = version;
          // semver's own `-0` on x-range/caret upper bounds: `<2.0.0-0` → fixed 2.0.0.
          if (comparator.operator === '<' && bound.prerelease.length === 1 && bound.prerelease[0] === 0) {
            bound = new semver.SemVer(`${bound.major}.${bound.minor}.${bound.patch}`);
          }
          if (isEveryVersionSentinel(bound)) break;
          upper = tighterUpper(upper, { version: bound, inclusive: comparator.operator === '<=' });
          break;
        }
      }
    }
    if (lower && upper) {
      const c = lower.version.compare(upper.version);
      if (c > 0 || (c === 0 && !(lower.inclusive && upper.inclusive))) {
        out.warnings.push(`${JSON.stringify(set.map((cmp) => cmp.value).join(' '))} matches no version; skipped`);
        continue;
      }
      if (c === 0) {
        if (!out.versions.includes(lower.version.version)) out.versions.push(lower.version.version);
        continue;
      }
    }
    const events: Record<string, string>[] = [
      { introduced: lower === undefined ? '0' : lower.inclusive ? lower.version.version : successor(lower.version) },
    ];
    if (upper) events.push(upper.inclusive ? { last_affected: upper.version.version } : { fixed: upper.version.version });
    out.ranges.push({ type: 'SEMVER', events });
  }
  return out;
}

/** True when the object looks like a Node.js security WG advisory. */
export function isNodeSecurityWgAdvisory(value: unknown): value is JsonObject {
  return isPlainObject(value) && typeof own(value, 'module_name') === 'string' && own(value, 'vulnerable_versions') !== undefined;
}

/**
 * True for the working group's `vuln/npm/index.json`: an object of advisories keyed by their id.
 */
export function isNodeSecurityWgIndex(value: unknown): value is JsonObject {
  if (!isPlainObject(value)) return false;
  const keys = Object.keys(value);
  if (keys.length === 0 || own(value, 'module_name') !== undefined) return false;
  return keys.every((key) => /^[0-9]+$/.test(key) && isNodeSecurityWgAdvisory(value[key]));
}

const MALICIOUS_TITLE = /\bmalicious (package|code|module)\b/i;

export function convertNodeSecurityWg(raw: unknown): Converted {
  if (!isPlainObject(raw)) bad('', 'expected a Node.js security WG advisory object');
  const warnings: string[] = [];
  const idValue = own(raw, 'id');
  const id = typeof idValue === 'number' && Number.isSafeInteger(idValue) ? String(idValue) : typeof idValue === 'string' ? idValue.trim() : '';
  if (!/^[0-9A-Za-z][0-9A-Za-z._-]{0,63}$/.test(id)) bad('id', 'missing or not a valid advisory number');

  const name = text(raw, 'module_name', 214)?.trim();
  if (!name) bad('module_name', 'missing');
  const title = text(raw, 'title', 10_000) ?? '';
  const overview = text(raw, 'overview', 1_000_000) ?? '';
  const recommendation = text(raw, 'recommendation', 1_000_000) ?? '';
  const vulnerable = text(raw, 'vulnerable_versions', 1024);
  if (vulnerable === undefined) bad('vulnerable_versions', 'missing');
  const patched = text(raw, 'patched_versions', 1024);

  const createdAt = text(raw, 'created_at', 64);
  const updatedAt = text(raw, 'updated_at', 64);
  const publishDate = text(raw, 'publish_date', 64);
  const published = publishDate ?? createdAt;
  const modified = updatedAt ?? published;
  if (modified === undefined) bad('updated_at', 'missing (and no publish_date or created_at)');

  const aliases = textList(raw, 'cves', 100, 64)
    .map((cve) => cve.trim())
    .filter((cve) => {
      if (/^CVE-\d{4}-\d{4,}$/.test(cve)) return true;
      warnings.push(`cves: ${JSON.stringify(cve.slice(0, 40))} is not a CVE id; dropped`);
      return false;
    });

  const converted = semverRangeToOsv(vulnerable);
  warnings.push(...converted.warnings.map((w) => `vulnerable_versions: ${w}`));

  const severity: Record<string, string>[] = [];
  const databaseSpecific: Record<string, unknown> = { source: 'nodejs-security-wg' };
  const vector = text(raw, 'cvss_vector', 512)?.trim();
  const score = numberField(raw, 'cvss_score');
  if (vector) {
    const scored = scoreCvssVector(vector);
    if (scored) severity.push({ type: scored.version === 4 ? 'CVSS_V4' : scored.version === 3 ? 'CVSS_V3' : 'CVSS_V2', score: vector });
    else warnings.push(`cvss_vector: ${JSON.stringify(vector.slice(0, 100))} is not a CVSS vector; ignored`);
  }
  if (score !== undefined) {
    databaseSpecific.cvss_score = score;
    if (severity.length === 0 && score >= 0 && score <= 10) databaseSpecific.severity = severityFromScore(score, 3).toUpperCase();
  }
  if (MALICIOUS_TITLE.test(title)) databaseSpecific.cwe_ids = ['CWE-506'];

  const references = [{ type: 'ADVISORY', url: `${SOURCE_URL}${id}.json` }];
  for (const url of textList(raw, 'references', 1_000, 2048)) {
    if (/^https?:\/\//i.test(url.trim())) references.push({ type: 'WEB', url: url.trim() });
  }

  const details = [overview.trim(), recommendation.trim() ? `## Recommendation\n\n${recommendation.trim()}` : '']
    .filter(Boolean)
    .join('\n\n');

  const affected: Record<string, unknown> = {
    package: { ecosystem: 'npm', name, purl: `pkg:npm/${name.startsWith('@') ? `%40${name.slice(1)}` : name}` },
    ranges: converted.ranges,
    versions: converted.versions,
    database_specific: { vulnerable_versions: vulnerable, ...(patched !== undefined ? { patched_versions: patched } : {}) },
  };

  const osv: Record<string, unknown> = {
    schema_version: '1.6.0',
    id: `NSWG-ECO-${id}`,
    modified: dateToTimestamp(modified, updatedAt !== undefined ? 'updated_at' : 'publish_date'),
    ...(published !== undefined ? { published: dateToTimestamp(published, publishDate !== undefined ? 'publish_date' : 'created_at') } : {}),
    aliases,
    summary: title.trim(),
    details,
    ...(severity.length > 0 ? { severity } : {}),
    affected: [affected],
    references,
    database_specific: databaseSpecific,
  };
  return { osv, warnings };
}
