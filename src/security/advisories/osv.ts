import type { Severity } from '../types.js';
import { semverScheme, versionSchemeFor, type VersionScheme } from '../versions/index.js';
import { normalizePackageName, splitEcosystem } from './ecosystems.js';
import { maxSeverity, scoreCvssVector, severityFromScore, severityFromWord, type CvssVersion } from './severity.js';
import type { AffectedPackage, AffectedRange, Advisory, EventKind, RangeEvent, RangeType } from './types.js';

export { describeRanges, fixedVersions, isAffected, advisoryAffects } from './match.js';

/**
 * Reading one OSV record (schema 1.x, https://ossf.github.io/osv-schema/) into an `Advisory`.
 *
 * Records come from files anyone can write, so everything is checked for type and bounded in
 * size before it is used, and a bad record fails as a whole with the path of the first problem
 * (`affected[2].ranges[0].events[1]: an event has exactly one key`). What the schema requires is
 * enforced; fields Stockade does not use are ignored rather than checked in depth, and unknown
 * top-level fields are tolerated (newer schema minor versions add some).
 */

/** Bounds on a record. Strings and arrays beyond them make the record invalid, except the free
 * texts (summary, details) and the reference list, which are cut. */
export const OSV_LIMITS = Object.freeze({
  idChars: 256,
  versionChars: 256,
  nameChars: 512,
  ecosystemChars: 256,
  urlChars: 2048,
  aliases: 1_000,
  affected: 5_000,
  rangesPerAffected: 1_000,
  eventsPerRange: 10_000,
  versionsPerAffected: 200_000,
  severities: 100,
  referencesChecked: 10_000,
  /** References kept (the first ones, deduplicated). */
  referencesKept: 100,
  summaryChars: 500,
  detailsChars: 16_384,
});

export class AdvisoryFormatError extends Error {
  /** Where in the record, e.g. `affected[2].ranges[0].events[1]`; empty for the record itself. */
  readonly path: string;
  readonly reason: string;
  constructor(path: string, reason: string) {
    super(path ? `${path}: ${reason}` : reason);
    this.name = 'AdvisoryFormatError';
    this.path = path;
    this.reason = reason;
  }
}

type JsonObject = Record<string, unknown>;

function fail(path: string, reason: string): never {
  throw new AdvisoryFormatError(path, reason);
}

function isObject(value: unknown): value is JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/** An own property only: `__proto__`, `constructor`, … from a prototype never count. */
function field(object: JsonObject, key: string): unknown {
  return Object.hasOwn(object, key) ? object[key] : undefined;
}

function sub(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path ? `${path}.${key}` : key;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (Buffer.isBuffer(value)) return 'binary data';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

// Control characters (C0 except tab/newline/CR, DEL, C1) have no business in identifiers.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/;
// eslint-disable-next-line no-control-regex
const CONTROL_OR_SPACE = /[\u0000-\u0020\u007f-\u009f]/;

function quoted(text: string): string {
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text);
}

function expectString(value: unknown, path: string, maxChars: number): string {
  if (value === undefined) fail(path, 'missing');
  if (typeof value !== 'string') fail(path, `expected a string, got ${describe(value)}`);
  if (value.length > maxChars) fail(path, `longer than ${maxChars} characters`);
  return value;
}

/** A non-empty token without whitespace or control characters (ids, versions). */
function expectToken(value: unknown, path: string, maxChars: number): string {
  const text = expectString(value, path, maxChars);
  if (text.length === 0) fail(path, 'must not be empty');
  if (CONTROL_OR_SPACE.test(text)) fail(path, `${quoted(text)} contains whitespace or control characters`);
  return text;
}

function expectArray(value: unknown, path: string, maxItems: number, nullable = false): unknown[] {
  if (value === undefined || (nullable && value === null)) return [];
  if (!Array.isArray(value)) fail(path, `expected an array, got ${describe(value)}`);
  if (value.length > maxItems) fail(path, `more than ${maxItems} entries`);
  return value;
}

function expectObject(value: unknown, path: string): JsonObject {
  if (!isObject(value)) fail(path, `expected an object, got ${describe(value)}`);
  return value;
}

const STRICT_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
const OFFSET_TIMESTAMP = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/**
 * An RFC 3339 timestamp. The schema wants UTC with `Z`; one with an offset is accepted and
 * converted to UTC (millisecond precision).
 */
function timestamp(value: unknown, path: string): string {
  const text = expectString(value, path, 64);
  const ms = Date.parse(text);
  if (STRICT_TIMESTAMP.test(text) && !Number.isNaN(ms)) return text;
  if (OFFSET_TIMESTAMP.test(text) && !Number.isNaN(ms)) return new Date(ms).toISOString();
  fail(path, `${quoted(text)} is not an RFC 3339 timestamp (e.g. 2024-01-31T12:00:00Z)`);
}

const ID_RE = /^[A-Za-z0-9][A-Za-z0-9._:+-]*$/;

function identifier(value: unknown, path: string): string {
  const text = expectToken(value, path, OSV_LIMITS.idChars);
  if (!ID_RE.test(text)) fail(path, `${quoted(text)} is not a valid identifier`);
  return text;
}

/** Non-fatal problems: reported, the record is still read. */
type Warn = (path: string, reason: string) => void;

/** A list of ids. A malformed id is dropped with a warning: ids do not decide matching. */
function identifierList(value: unknown, path: string, warn: Warn): string[] {
  const items = expectArray(value, path, OSV_LIMITS.aliases, true);
  const out = new Set<string>();
  items.forEach((item, i) => {
    try {
      out.add(identifier(item, sub(path, i)));
    } catch (error) {
      if (!(error instanceof AdvisoryFormatError)) throw error;
      warn(error.path, `${error.reason}; dropped`);
    }
  });
  return [...out];
}

const EVENT_KINDS: readonly EventKind[] = ['introduced', 'fixed', 'last_affected', 'limit'];
const RANGE_TYPES: readonly RangeType[] = ['SEMVER', 'ECOSYSTEM', 'GIT'];
const GIT_COMMIT = /^(0|[a-f0-9]{40}|[a-f0-9]{64})$/;

function parseEvent(value: unknown, path: string, type: RangeType, scheme: VersionScheme | undefined, ecosystem: string, warn: Warn): RangeEvent | null {
  const event = expectObject(value, path);
  const keys = Object.keys(event);
  if (keys.length !== 1) fail(path, `an event has exactly one key (introduced, fixed, last_affected or limit), got ${keys.length}`);
  const kind = keys[0] as EventKind;
  if (!EVENT_KINDS.includes(kind)) fail(path, `unknown event ${quoted(keys[0] ?? '')}`);
  const versionPath = sub(path, kind);
  const version = expectToken(event[kind], versionPath, OSV_LIMITS.versionChars);
  if (type === 'GIT') {
    // GIT ranges never decide whether a package version is affected, so a malformed hash (real
    // databases have a few: abbreviated, with `.patch` appended) is only worth a warning.
    if (!GIT_COMMIT.test(version)) warn(versionPath, `${quoted(version)} is not a full-length git commit hash`);
    return { kind, version };
  }
  const special = (kind === 'introduced' && version === '0') || (kind === 'limit' && version.includes('*'));
  if (!special && scheme !== undefined && !scheme.isValid(version)) {
    // Real databases hold a few (`2019-09-12` as a PyPI fix). Dropping the record would hide
    // the advisory altogether; dropping the event errs towards reporting more versions.
    const what = type === 'SEMVER' ? 'semantic version (SemVer 2.0)' : `${ecosystem} version`;
    warn(versionPath, `${quoted(version)} is not a valid ${what}; event dropped`);
    return null;
  }
  return { kind, version };
}

function parseRange(value: unknown, path: string, ecosystem: string, warn: Warn): AffectedRange {
  const range = expectObject(value, path);
  const type = field(range, 'type');
  if (typeof type !== 'string' || !RANGE_TYPES.includes(type as RangeType)) {
    fail(sub(path, 'type'), `expected one of ${RANGE_TYPES.join(', ')}, got ${typeof type === 'string' ? quoted(type) : describe(type)}`);
  }
  const rangeType = type as RangeType;
  // SEMVER ranges are ordered by SemVer whatever the ecosystem; ECOSYSTEM ranges by the
  // ecosystem's scheme, checked here when Stockade knows it.
  const scheme = rangeType === 'SEMVER' ? semverScheme : rangeType === 'ECOSYSTEM' ? versionSchemeFor(ecosystem) : undefined;
  const eventsPath = sub(path, 'events');
  const rawEvents = expectArray(field(range, 'events'), eventsPath, OSV_LIMITS.eventsPerRange);
  if (rawEvents.length === 0) fail(eventsPath, 'a range needs at least one event');
  const parsed = rawEvents.map((event, i) => parseEvent(event, sub(eventsPath, i), rangeType, scheme, ecosystem, warn));
  const events = parsed.filter((e): e is RangeEvent => e !== null);
  if (!events.some((e) => e.kind === 'introduced')) {
    if (events.length === parsed.length) fail(eventsPath, 'a range needs an introduced event');
    // Its start was unreadable: count the range from the first version.
    events.unshift({ kind: 'introduced', version: '0' });
  }
  if (events.some((e) => e.kind === 'fixed') && events.some((e) => e.kind === 'last_affected')) {
    fail(eventsPath, 'a range cannot mix fixed and last_affected events');
  }
  const out: AffectedRange = { type: rangeType, events };
  const repo = field(range, 'repo');
  if (repo !== undefined) out.repo = expectString(repo, sub(path, 'repo'), OSV_LIMITS.urlChars);
  else if (rangeType === 'GIT') fail(sub(path, 'repo'), 'a GIT range needs a repo');
  const dbSpecific = field(range, 'database_specific');
  if (dbSpecific !== undefined) expectObject(dbSpecific, sub(path, 'database_specific'));
  return out;
}

interface SeverityEntry {
  cvss?: { version: CvssVersion; score: number; severity: Severity };
  word?: Severity;
}

function parseSeverityList(value: unknown, path: string, warn: Warn): SeverityEntry[] {
  const items = expectArray(value, path, OSV_LIMITS.severities, true);
  return items.map((item, i) => {
    const itemPath = sub(path, i);
    const entry = expectObject(item, itemPath);
    const type = expectString(field(entry, 'type'), sub(itemPath, 'type'), 64);
    const score = expectString(field(entry, 'score'), sub(itemPath, 'score'), 512);
    if (type === 'CVSS_V2' || type === 'CVSS_V3' || type === 'CVSS_V4') {
      // A vector that does not score is ignored rather than fatal: the rest of the record is
      // still worth having, and severity falls back to the next source.
      const cvss = scoreCvssVector(score);
      if (!cvss) warn(sub(itemPath, 'score'), `${quoted(score)} is not a complete ${type} vector; ignored`);
      return cvss ? { cvss } : {};
    }
    if (type === 'Ubuntu') {
      const word = severityFromWord(score);
      return word ? { word } : {};
    }
    return {};
  });
}

/**
 * One severity for the record: the CVSS vectors of the newest CVSS version present (the highest
 * score among them), else a severity word (`Ubuntu` type), else `database_specific.severity`
 * (GitHub's LOW / MODERATE / HIGH / CRITICAL), else medium.
 */
function pickSeverity(entries: SeverityEntry[], databaseWord: unknown): Severity {
  let best: SeverityEntry['cvss'];
  for (const { cvss } of entries) {
    if (!cvss) continue;
    if (!best || cvss.version > best.version || (cvss.version === best.version && cvss.score > best.score)) best = cvss;
  }
  if (best) return best.severity;
  let word: Severity | undefined;
  for (const entry of entries) if (entry.word) word = word ? maxSeverity(word, entry.word) : entry.word;
  if (word) return word;
  if (typeof databaseWord === 'number' && databaseWord >= 0 && databaseWord <= 10) return severityFromScore(databaseWord, 3);
  return severityFromWord(databaseWord) ?? 'medium';
}

function parseAffected(value: unknown, path: string, severities: SeverityEntry[], warn: Warn): AffectedPackage | undefined {
  const entry = expectObject(value, path);
  const ranges = expectArray(field(entry, 'ranges'), sub(path, 'ranges'), OSV_LIMITS.rangesPerAffected);
  const versionsPath = sub(path, 'versions');
  const rawVersions = expectArray(field(entry, 'versions'), versionsPath, OSV_LIMITS.versionsPerAffected);
  const severity = field(entry, 'severity');
  if (severity !== undefined) severities.push(...parseSeverityList(severity, sub(path, 'severity'), warn));
  for (const key of ['ecosystem_specific', 'database_specific']) {
    const extra = field(entry, key);
    if (extra !== undefined) expectObject(extra, sub(path, key));
  }

  const pkgValue = field(entry, 'package');
  let ecosystem = { base: '', full: '' };
  let rawName: string | undefined;
  let purl: string | undefined;
  if (pkgValue !== undefined) {
    const pkgPath = sub(path, 'package');
    const pkg = expectObject(pkgValue, pkgPath);
    const ecoPath = sub(pkgPath, 'ecosystem');
    const ecoText = expectString(field(pkg, 'ecosystem'), ecoPath, OSV_LIMITS.ecosystemChars);
    if (CONTROL.test(ecoText) || ecoText.trim() !== ecoText) fail(ecoPath, `${quoted(ecoText)} is not a valid ecosystem`);
    ecosystem = splitEcosystem(ecoText);
    if (ecosystem.base === '') fail(ecoPath, `${quoted(ecoText)} has no ecosystem name`);
    const namePath = sub(pkgPath, 'name');
    rawName = expectString(field(pkg, 'name'), namePath, OSV_LIMITS.nameChars);
    if (rawName.length === 0 || CONTROL.test(rawName) || rawName.trim() !== rawName) fail(namePath, `${quoted(rawName)} is not a valid package name`);
    const purlValue = field(pkg, 'purl');
    if (purlValue !== undefined) purl = expectString(purlValue, sub(pkgPath, 'purl'), OSV_LIMITS.urlChars);
  }

  const parsedRanges = ranges.map((range, i) => parseRange(range, sub(sub(path, 'ranges'), i), ecosystem.base, warn));
  const versions = [...new Set(rawVersions.map((v, i) => expectToken(v, sub(versionsPath, i), OSV_LIMITS.versionChars)))];
  // An entry without a package (allowed for GIT-only records) can never match a package.
  if (rawName === undefined) return undefined;
  const out: AffectedPackage = {
    ecosystem: ecosystem.base,
    ecosystemFull: ecosystem.full,
    name: normalizePackageName(ecosystem.base, rawName),
    ranges: parsedRanges,
    versions,
  };
  if (purl !== undefined) out.purl = purl;
  return out;
}

function parseReferences(value: unknown, path: string): string[] {
  const items = expectArray(value, path, OSV_LIMITS.referencesChecked, true);
  const urls = new Set<string>();
  items.forEach((item, i) => {
    const itemPath = sub(path, i);
    const reference = expectObject(item, itemPath);
    const url = expectString(field(reference, 'url'), sub(itemPath, 'url'), OSV_LIMITS.urlChars);
    const type = field(reference, 'type');
    if (type !== undefined) expectString(type, sub(itemPath, 'type'), 64);
    // Only web links are kept: these end up as links in messages and pages.
    if (urls.size < OSV_LIMITS.referencesKept && isWebUrl(url)) urls.add(url);
  });
  return [...urls];
}

function isWebUrl(text: string): boolean {
  if (!/^https?:\/\//i.test(text) || CONTROL_OR_SPACE.test(text)) return false;
  try {
    const url = new URL(text);
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
}

function oneLine(text: string, maxChars: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > maxChars ? `${flat.slice(0, maxChars - 1)}…` : flat;
}

function cut(text: string, maxChars: number): string {
  return text.length > maxChars ? `${text.slice(0, maxChars - 1)}…` : text;
}

function cweIds(databaseSpecific: JsonObject | undefined): string[] {
  const value = databaseSpecific ? field(databaseSpecific, 'cwe_ids') : undefined;
  if (!Array.isArray(value)) return [];
  return value.slice(0, 1_000).filter((v): v is string => typeof v === 'string');
}

export interface ParseOptions {
  /**
   * Receives non-fatal problems (`aliases[1]: … dropped`): malformed ids, GIT commit hashes or
   * CVSS vectors, none of which decides matching. The record is read all the same.
   */
  warnings?: string[];
}

/**
 * Validates one OSV record and returns it normalized. Throws `AdvisoryFormatError` naming the
 * field at fault.
 */
export function parseOsv(raw: unknown, options: ParseOptions = {}): Advisory {
  const record = expectObject(raw, '');
  const warn: Warn = (path, reason) => options.warnings?.push(path ? `${path}: ${reason}` : reason);

  const schemaVersion = field(record, 'schema_version');
  if (schemaVersion !== undefined) {
    const text = expectString(schemaVersion, 'schema_version', 32);
    if (!/^1(\.\d+){0,2}$/.test(text)) fail('schema_version', `unsupported version ${quoted(text)} (1.x expected)`);
  }
  if (field(record, 'id') === undefined) fail('id', 'missing');
  const id = identifier(field(record, 'id'), 'id');
  if (field(record, 'modified') === undefined) fail('modified', 'missing');
  const modified = timestamp(field(record, 'modified'), 'modified');
  const publishedValue = field(record, 'published');
  const published = publishedValue === undefined ? undefined : timestamp(publishedValue, 'published');
  const withdrawnValue = field(record, 'withdrawn');
  const withdrawn = withdrawnValue === undefined ? undefined : timestamp(withdrawnValue, 'withdrawn');
  const aliases = identifierList(field(record, 'aliases'), 'aliases', warn).filter((alias) => alias !== id);
  const related = identifierList(field(record, 'related'), 'related', warn);
  const upstream = field(record, 'upstream');
  if (upstream !== undefined) identifierList(upstream, 'upstream', warn);

  const summaryValue = field(record, 'summary');
  const detailsValue = field(record, 'details');
  // Free text is bounded by the file size limit of the reader; here it is only cut down.
  const summaryText = summaryValue === undefined ? '' : expectString(summaryValue, 'summary', Number.MAX_SAFE_INTEGER);
  const detailsText = detailsValue === undefined ? '' : expectString(detailsValue, 'details', Number.MAX_SAFE_INTEGER);

  const severities = parseSeverityList(field(record, 'severity'), 'severity', warn);
  const topLevelSeverities = severities.length;

  const affectedValues = expectArray(field(record, 'affected'), 'affected', OSV_LIMITS.affected, true);
  const affectedSeverities: SeverityEntry[] = [];
  const affected: AffectedPackage[] = [];
  affectedValues.forEach((value, i) => {
    const entry = parseAffected(value, sub('affected', i), affectedSeverities, warn);
    if (entry) affected.push(entry);
  });

  const references = parseReferences(field(record, 'references'), 'references');
  const credits = field(record, 'credits');
  if (credits !== undefined) expectArray(credits, 'credits', 10_000);
  const dbValue = field(record, 'database_specific');
  const databaseSpecific = dbValue === undefined ? undefined : expectObject(dbValue, 'database_specific');

  // The schema puts severity either at the top or per package, never both; per-package
  // severities only count when there is none at the top.
  const severity = pickSeverity(
    topLevelSeverities > 0 ? severities : affectedSeverities,
    databaseSpecific ? field(databaseSpecific, 'severity') : undefined,
  );
  const malicious = id.startsWith('MAL-') || cweIds(databaseSpecific).some((cwe) => cwe.trim().toUpperCase() === 'CWE-506');

  const details = cut(detailsText.trim(), OSV_LIMITS.detailsChars);
  const summary =
    oneLine(summaryText, OSV_LIMITS.summaryChars) || oneLine(detailsText.trim().split('\n', 1)[0] ?? '', 200) || id;

  const advisory: Advisory = {
    id,
    modified,
    ...(published !== undefined ? { published } : {}),
    ...(withdrawn !== undefined ? { withdrawn } : {}),
    aliases,
    related,
    summary,
    details,
    severity,
    malicious,
    references,
    affected,
  };
  return advisory;
}
