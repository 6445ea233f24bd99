import { clean as cleanVersion, eq as versionsEqual } from '@renovatebot/pep440';
import { StockadeError } from '../../errors.js';
import { printable } from '../npm/names.js';

/**
 * Python project names and distribution file names: PEP 503 normalization, PEP 508 name
 * validity, wheel names (PEP 427/491, binary distribution format spec) and sdist names (PEP 625,
 * plus the legacy `{name}-{version}` forms older tools wrote). File names come from uploaders,
 * so every parser here refuses rather than guesses.
 */

// PEP 508 / core metadata `Name`: ASCII letters and digits, with `.`, `_`, `-` inside.
const VALID_NAME = /^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$/i;

/** Longest project name accepted; no standard limit exists, this only bounds messages and keys. */
export const MAX_PROJECT_NAME_LENGTH = 200;

/** Longest distribution file name: the usual file-system limit for one path segment. */
export const MAX_FILENAME_LENGTH = 255;

/** PEP 503: lowercase, and every run of `-`, `_` and `.` becomes one `-`. */
export function normalizeProjectName(name: string): string {
  return name.replace(/[-_.]+/g, '-').toLowerCase();
}

export function isValidProjectName(name: string): boolean {
  return name.length <= MAX_PROJECT_NAME_LENGTH && VALID_NAME.test(name);
}

/** Throws INVALID_NAME unless `name` is a valid project name. */
export function assertValidProjectName(name: unknown): asserts name is string {
  if (typeof name !== 'string') throw new StockadeError('INVALID_NAME', [printable(name, 80), 'the name must be a string']);
  if (name.length > MAX_PROJECT_NAME_LENGTH) {
    throw new StockadeError('INVALID_NAME', [printable(name, 80), `longer than ${MAX_PROJECT_NAME_LENGTH} characters`]);
  }
  if (!VALID_NAME.test(name)) {
    throw new StockadeError('INVALID_NAME', [
      printable(name, 80),
      'a name has ASCII letters, digits, ".", "_" and "-", and starts and ends with a letter or digit',
    ]);
  }
}

/** The PEP 440 normalized form of `version`, or undefined when it is not a valid version. */
export function normalizeVersion(version: string): string | undefined {
  // The library accepts surrounding whitespace in places PEP 440 tools disagree on: refuse it.
  if (version.length === 0 || version.length > 128 || /\s/.test(version)) return undefined;
  return cleanVersion(version) ?? undefined;
}

/** PEP 440 equality (`1.0` == `1.0.0`, `1.0-1` == `1.0.post1`); plain string equality otherwise. */
export function sameVersion(a: string, b: string): boolean {
  if (a === b) return true;
  if (normalizeVersion(a) === undefined || normalizeVersion(b) === undefined) return false;
  return versionsEqual(a, b);
}

/** Binary distribution format: `{name}` in file and directory names with runs of `-_.` as `_`. */
export function escapeWheelName(name: string): string {
  return name.replace(/[-_.]+/g, '_');
}

export interface WheelTags {
  /** Each compressed tag set expanded: `py2.py3` → `['py2', 'py3']`. */
  python: string[];
  abi: string[];
  platform: string[];
}

export interface WheelFilename {
  /** The name as written in the file name (escaped: `foo_bar`). */
  name: string;
  /** PEP 503 normalized name. */
  normalizedName: string;
  /** The version as written, with the escaping `_` turned back into `-`. */
  version: string;
  /** Build tag, e.g. `1` or `2b`; it orders builds of one version. */
  build?: { number: number; suffix: string; raw: string };
  tags: WheelTags;
  /** Every `{python}-{abi}-{platform}` tag the file name expands to. */
  expandedTags: string[];
}

export interface SdistFilename {
  /** The name as written in the file name. */
  name: string;
  normalizedName: string;
  version: string;
  extension: '.tar.gz' | '.zip';
  /** `{name}-{version}`: the file name without its extension. */
  stem: string;
}

const TAG = /^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$/;
const BUILD_TAG = /^([0-9]+)([A-Za-z0-9_.]*)$/;

function badFilename(filename: string, why: string): StockadeError {
  return new StockadeError('INVALID_ARCHIVE', [`file name "${printable(filename, 120)}" ${why}`]);
}

/** Refuses file names that could mean a path, or hide characters, before any parsing. */
export function checkUploadFilename(filename: string): void {
  if (filename.length === 0) throw badFilename(filename, 'is empty');
  if (filename.length > MAX_FILENAME_LENGTH) throw badFilename(filename, `is longer than ${MAX_FILENAME_LENGTH} characters`);
  if (/[/\\]/.test(filename)) throw badFilename(filename, 'contains a path separator');
  // Only the characters names, versions and tags can contain: nothing to escape anywhere later.
  if (!/^[A-Za-z0-9._+!-]+$/.test(filename)) throw badFilename(filename, 'contains characters a distribution file name cannot have');
  if (filename.startsWith('.')) throw badFilename(filename, 'starts with "."');
}

/**
 * Parses `{distribution}-{version}(-{build tag})?-{python tag}-{abi tag}-{platform tag}.whl`.
 * Each component is escaped, so the name has no `-`; the build tag starts with a digit.
 */
export function parseWheelFilename(filename: string): WheelFilename {
  checkUploadFilename(filename);
  if (!filename.endsWith('.whl')) throw badFilename(filename, 'does not end in ".whl"');
  const parts = filename.slice(0, -'.whl'.length).split('-');
  if (parts.length !== 5 && parts.length !== 6) {
    throw badFilename(filename, 'must have 5 or 6 "-"-separated parts: {name}-{version}(-{build})?-{python}-{abi}-{platform}.whl');
  }
  const [name, rawVersion] = parts as [string, string];
  const [python, abi, platform] = parts.slice(-3) as [string, string, string];
  if (!isValidProjectName(name)) throw badFilename(filename, `has an invalid project name "${name}"`);
  // The spec writes `-` in a version as `_`; normalized versions never contain either.
  const version = rawVersion.replace(/_/g, '-');
  if (normalizeVersion(version) === undefined) throw badFilename(filename, `has an invalid PEP 440 version "${rawVersion}"`);
  const result: WheelFilename = {
    name,
    normalizedName: normalizeProjectName(name),
    version,
    tags: { python: splitTag(filename, python, 'python'), abi: splitTag(filename, abi, 'abi'), platform: splitTag(filename, platform, 'platform') },
    expandedTags: [],
  };
  if (parts.length === 6) {
    const raw = parts[2] as string;
    const match = BUILD_TAG.exec(raw);
    if (match === null) throw badFilename(filename, `has a build tag "${raw}" that does not start with a digit`);
    const number = Number(match[1]);
    if (!Number.isSafeInteger(number)) throw badFilename(filename, `has a build tag "${raw}" with too large a number`);
    result.build = { number, suffix: match[2] as string, raw };
  }
  for (const p of result.tags.python) {
    for (const a of result.tags.abi) {
      for (const pl of result.tags.platform) result.expandedTags.push(`${p}-${a}-${pl}`);
    }
  }
  return result;
}

function splitTag(filename: string, tag: string, what: string): string[] {
  if (!TAG.test(tag)) throw badFilename(filename, `has an invalid ${what} tag "${tag}"`);
  return tag.split('.');
}

const SDIST_EXTENSIONS = ['.tar.gz', '.zip'] as const;

/**
 * Parses `{name}-{version}.tar.gz` or `.zip`. PEP 625 names have exactly one `-`; legacy names
 * kept the project's dashes (`python-dateutil-2.8.2.tar.gz`), so every split whose right side is
 * a valid version is a candidate, leftmost first. `parseSdistFilename` returns the first;
 * callers that know the project name (from PKG-INFO) pick with `sdistFilenameCandidates`.
 */
export function sdistFilenameCandidates(filename: string): SdistFilename[] {
  checkUploadFilename(filename);
  const extension = SDIST_EXTENSIONS.find((ext) => filename.toLowerCase().endsWith(ext));
  if (extension === undefined) {
    const legacy = /\.(tar\.bz2|tar\.xz|tgz|tar|tbz|egg|exe|rpm|deb)$/i.exec(filename);
    throw badFilename(filename, legacy ? `is a ".${legacy[1]}" file; source distributions must be .tar.gz or .zip` : 'does not end in ".tar.gz" or ".zip"');
  }
  const stem = filename.slice(0, -extension.length);
  const candidates = splitNameVersion(stem).map(({ name, version }) => ({
    name,
    normalizedName: normalizeProjectName(name),
    version,
    extension,
    stem,
  }));
  if (candidates.length === 0) throw badFilename(filename, 'is not {name}-{version} with a valid project name and PEP 440 version');
  return candidates;
}

export function parseSdistFilename(filename: string): SdistFilename {
  return sdistFilenameCandidates(filename)[0] as SdistFilename;
}

/** Every split of `{name}-{version}` into a valid name and a valid version, leftmost first. */
export function splitNameVersion(stem: string): { name: string; version: string }[] {
  const splits: { name: string; version: string }[] = [];
  for (let at = stem.indexOf('-'); at !== -1; at = stem.indexOf('-', at + 1)) {
    const name = stem.slice(0, at);
    const version = stem.slice(at + 1);
    if (isValidProjectName(name) && normalizeVersion(version) !== undefined) splits.push({ name, version });
  }
  return splits;
}
