import { StockadeError } from '../../errors.js';
import { printable } from '../npm/names.js';
import { normalizeProjectName, normalizeVersion, parseWheelFilename, sdistFilenameCandidates } from './names.js';

/**
 * An upstream index's project page (PEP 691 JSON, API version 1.x), read as hostile input: every
 * field is checked and bounded, and only files that are wheels or sdists of this very project
 * (by their file names) survive. Legacy files (`.egg`, `.exe`, `.tar.bz2`) and entries that do not
 * parse are left out rather than failing the page; a page that is not what PEP 691 describes fails.
 */

/** One file the upstream offers. */
export interface UpstreamFile {
  filename: string;
  /** PEP 440 normalized, as Stockade stores versions. */
  version: string;
  packagetype: 'bdist_wheel' | 'sdist';
  /** Absolute, resolved against the page's URL (PEP 691 allows relative URLs). */
  url: string;
  /** Lower-case hex; null when the upstream gave none (such a file cannot be fetched). */
  sha256: string | null;
  requiresPython?: string;
  /** false, or the reason ('' when none was given). */
  yanked: false | string;
  /** PEP 700 `upload-time` as ISO-8601, or null when the upstream did not say. */
  uploadTime: string | null;
  size?: number;
}

export interface UpstreamProject {
  /** PEP 503 normalized. */
  name: string;
  files: UpstreamFile[];
}

/** More files than any real project has; the byte limit of metadata bounds the rest. */
export const MAX_UPSTREAM_FILES = 100_000;
const MAX_URL_LENGTH = 4096;
const MAX_REQUIRES_PYTHON_LENGTH = 1024;
const MAX_YANK_REASON_LENGTH = 1000;

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const field = (object: Json, key: string): unknown => (Object.hasOwn(object, key) ? object[key] : undefined);

// `why` carries the bare reason for the remote engine's own message.
const invalid = (why: string) => new StockadeError('VALIDATION_FAILED', [why], { why });

/** Parses a project page body for `name` (normalized), fetched from `pageUrl`. */
export function parseUpstreamProject(body: string, name: string, pageUrl: string): UpstreamProject {
  // An index without the JSON API ignores our Accept header and sends its HTML page.
  if (/^\s*</.test(body)) {
    throw invalid('the upstream answered an HTML page; a remote PyPI repository needs an index that serves the JSON Simple API (PEP 691, application/vnd.pypi.simple.v1+json)');
  }
  let raw: unknown;
  try {
    raw = JSON.parse(body);
  } catch {
    throw invalid('the project page is not JSON');
  }
  if (!isObject(raw)) throw invalid('the project page is not a JSON object');
  const meta = field(raw, 'meta');
  const apiVersion = isObject(meta) ? field(meta, 'api-version') : undefined;
  // PEP 691: a client must refuse a major version it does not know.
  if (typeof apiVersion !== 'string' || !/^1\.\d{1,4}$/.test(apiVersion)) {
    throw invalid(`the project page has api-version ${printable(apiVersion, 20)}; only 1.x is understood`);
  }
  const pageName = field(raw, 'name');
  if (typeof pageName !== 'string' || normalizeProjectName(pageName) !== name) {
    throw invalid(`the page for ${name} names the project ${printable(pageName, 100)}`);
  }
  const entries = field(raw, 'files');
  if (!Array.isArray(entries)) throw invalid('the project page has no "files" list');
  if (entries.length > MAX_UPSTREAM_FILES) throw invalid(`the project page lists ${entries.length} files, more than ${MAX_UPSTREAM_FILES}`);
  const files: UpstreamFile[] = [];
  const seen = new Set<string>();
  for (const entry of entries) {
    const file = parseFile(entry, name, pageUrl);
    if (!file || seen.has(file.filename)) continue;
    seen.add(file.filename);
    files.push(file);
  }
  return { name, files: oneSdistPerVersion(files) };
}

/** The release a distribution file name belongs to, if it is a wheel or sdist of `project`. */
function releaseOf(filename: string, project: string): { version: string; packagetype: UpstreamFile['packagetype'] } | null {
  try {
    if (filename.endsWith('.whl')) {
      const wheel = parseWheelFilename(filename);
      return wheel.normalizedName === project ? { version: wheel.version, packagetype: 'bdist_wheel' } : null;
    }
    const match = sdistFilenameCandidates(filename).find((c) => c.normalizedName === project);
    return match ? { version: match.version, packagetype: 'sdist' } : null;
  } catch {
    return null;
  }
}

/** The absolute http(s) URL of a file, without fragment, or null. */
function resolveUrl(value: unknown, pageUrl: string): string | null {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_URL_LENGTH) return null;
  let url: URL;
  try {
    url = new URL(value, pageUrl);
  } catch {
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  url.hash = '';
  return url.href;
}

function parseFile(entry: unknown, project: string, pageUrl: string): UpstreamFile | null {
  if (!isObject(entry)) return null;
  const filename = field(entry, 'filename');
  if (typeof filename !== 'string') return null;
  const release = releaseOf(filename, project);
  const version = release ? normalizeVersion(release.version) : undefined;
  const url = resolveUrl(field(entry, 'url'), pageUrl);
  if (!release || version === undefined || url === null) return null;
  const file: UpstreamFile = { filename, version, packagetype: release.packagetype, url, sha256: sha256Of(field(entry, 'hashes')), yanked: yankOf(field(entry, 'yanked')), uploadTime: timeOf(field(entry, 'upload-time')) };
  const requiresPython = field(entry, 'requires-python');
  if (typeof requiresPython === 'string' && requiresPython.length <= MAX_REQUIRES_PYTHON_LENGTH && requiresPython.trim() !== '') file.requiresPython = requiresPython;
  const size = field(entry, 'size');
  if (typeof size === 'number' && Number.isSafeInteger(size) && size >= 0) file.size = size;
  return file;
}

function sha256Of(hashes: unknown): string | null {
  const value = isObject(hashes) ? field(hashes, 'sha256') : undefined;
  return typeof value === 'string' && /^[0-9a-fA-F]{64}$/.test(value) ? value.toLowerCase() : null;
}

/** PEP 592: `true`, or a reason string; anything else is not yanked. */
function yankOf(value: unknown): false | string {
  if (value === true) return '';
  if (typeof value === 'string') return printable(value, MAX_YANK_REASON_LENGTH);
  return false;
}

function timeOf(value: unknown): string | null {
  if (typeof value !== 'string' || value.length > 64) return null;
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : new Date(at).toISOString();
}

/**
 * Stockade keeps one sdist per release, as PyPI does today; old releases upstream may have two
 * (`.zip` and `.tar.gz`). The `.tar.gz` one (PEP 625's form) is kept, else the first.
 */
function oneSdistPerVersion(files: UpstreamFile[]): UpstreamFile[] {
  const chosen = new Map<string, UpstreamFile>();
  for (const file of files) {
    if (file.packagetype !== 'sdist') continue;
    const current = chosen.get(file.version);
    if (!current || (!current.filename.endsWith('.tar.gz') && file.filename.endsWith('.tar.gz'))) chosen.set(file.version, file);
  }
  return files.filter((f) => f.packagetype !== 'sdist' || chosen.get(f.version) === f);
}

/** Every version the page offers, with the upload time of its first file (null when none says). */
export function upstreamVersions(project: UpstreamProject): { version: string; publishedAt: string | null }[] {
  const earliest = new Map<string, string | null>();
  for (const file of project.files) {
    if (!earliest.has(file.version)) {
      earliest.set(file.version, file.uploadTime);
      continue;
    }
    const known = earliest.get(file.version) ?? null;
    // ISO-8601 UTC strings of one shape sort as the times they name.
    if (file.uploadTime !== null && (known === null || file.uploadTime < known)) earliest.set(file.version, file.uploadTime);
  }
  return [...earliest].map(([version, publishedAt]) => ({ version, publishedAt }));
}
