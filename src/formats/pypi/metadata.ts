import { validRange } from '@renovatebot/pep440';
import { StockadeError } from '../../errors.js';
import { printable } from '../npm/names.js';
import { isValidProjectName, normalizeProjectName, normalizeVersion } from './names.js';

/**
 * Core metadata (PKG-INFO in sdists, METADATA in wheels, and the PEP 658 `.metadata` file):
 * RFC 822 style headers, then an optional body. Versions 1.0 to 2.4 of the core metadata
 * specification are read. The input is hostile: sizes are bounded, identity fields must be
 * unique and valid, and any line Python's email parser would read differently is refused.
 */

export interface MetadataLimits {
  /** Largest file, description included. */
  maxBytes: number;
  /** Most header lines (fields, not counting continuation lines). */
  maxHeaders: number;
  /** Longest header value; `Description` and `License` are bounded only by `maxBytes`. */
  maxFieldBytes: number;
}

const KiB = 1024;

export const DEFAULT_METADATA_LIMITS: Readonly<MetadataLimits> = Object.freeze({
  // Long descriptions are whole READMEs; the largest seen in the wild are around 1 MiB.
  maxBytes: 4 * KiB * KiB,
  // Projects with many extras list a few thousand Requires-Dist lines at most.
  maxHeaders: 10_000,
  maxFieldBytes: 128 * KiB,
});

export interface HeaderField {
  /** As written, e.g. `Requires-Dist`. */
  name: string;
  /** Unfolded value (see parseHeaders). */
  value: string;
  /** 1-based line of the field name. */
  line: number;
}

export interface ParsedHeaders {
  fields: HeaderField[];
  /** Text after the first empty line, or undefined when there is none. */
  body?: string;
}

export interface ParseHeadersOptions {
  /** Names the file in messages, e.g. `"demo-1.0.dist-info/METADATA"`. */
  source: string;
  limits?: Partial<MetadataLimits>;
  /** Fields whose continuation lines keep their line breaks (multi-line text). */
  multiline?: ReadonlySet<string>;
}

// Python's email parser splits lines on all three of these, so we do too.
const LINE_BREAK = /\r\n|\r|\n/;
// RFC 5322 field names: printable ASCII except the colon.
const FIELD_LINE = /^([\x21-\x39\x3b-\x7e]+):[ \t]?(.*)$/s;
// Core metadata spec: continuation lines of multi-line fields start with 7 spaces and `|` (or
// 8 spaces, as setuptools wrote before it switched).
const MULTILINE_PREFIX = /^( {7}\||[ \t]{1,8})/;

const MULTILINE_FIELDS: ReadonlySet<string> = new Set(['description', 'license']);

function metadataError(source: string, why: string): StockadeError {
  return new StockadeError('INVALID_ARCHIVE', [`${source}: ${why}`]);
}

/**
 * Decodes UTF-8 strictly. The core metadata spec requires UTF-8; packaging refuses anything else,
 * and guessing an encoding would let two tools read two different names.
 */
export function decodeMetadataBytes(data: Buffer, source: string, maxBytes: number): string {
  if (data.length > maxBytes) throw metadataError(source, `is ${data.length} bytes, more than the limit of ${maxBytes}`);
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(data);
  } catch {
    const at = firstInvalidUtf8(data);
    const line = data.subarray(0, at).toString('latin1').split(LINE_BREAK).length;
    throw metadataError(source, `is not valid UTF-8 (byte 0x${(data[at] ?? 0).toString(16).padStart(2, '0')} on line ${line})`);
  }
}

function firstInvalidUtf8(data: Buffer): number {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let lo = 0;
  let hi = data.length;
  // The longest valid prefix, by bisection: decoding a prefix cut inside a character also fails,
  // so the answer is within 3 bytes of the boundary found.
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    try {
      decoder.decode(data.subarray(0, mid));
      lo = mid;
    } catch {
      hi = mid - 1;
    }
  }
  return lo;
}

/**
 * Reads RFC 822 style headers the way Python's `email` parser (compat32) does for metadata:
 * a line starting with a space or tab continues the previous field; the first empty line ends
 * the headers. Continuation lines are unfolded (the line break removed) except for the fields in
 * `multiline`, whose lines keep their breaks with the indentation prefix removed. A line that is
 * neither a field nor a continuation is refused: Python would silently end the headers there.
 */
export function parseHeaders(text: string, options: ParseHeadersOptions): ParsedHeaders {
  const limits = { ...DEFAULT_METADATA_LIMITS, ...options.limits };
  const multiline = options.multiline ?? MULTILINE_FIELDS;
  const source = options.source;
  if (text.length > limits.maxBytes) throw metadataError(source, `is larger than ${limits.maxBytes} bytes`);
  if (text.includes('\0')) throw metadataError(source, 'contains a NUL byte');
  const body = text.replace(/^\uFEFF/, '');
  const fields: HeaderField[] = [];
  let current: { name: string; parts: string[]; line: number; size: number; multiline: boolean } | undefined;

  const finish = (): void => {
    if (current === undefined) return;
    const value = current.multiline ? current.parts.join('\n') : current.parts.join('');
    fields.push({ name: current.name, value: value.trim(), line: current.line });
    current = undefined;
  };

  const breaks = new RegExp(LINE_BREAK.source, 'g');
  let offset = 0;
  let lineNumber = 0;
  while (offset < body.length) {
    breaks.lastIndex = offset;
    const match = breaks.exec(body);
    const line = match === null ? body.slice(offset) : body.slice(offset, match.index);
    offset = match === null ? body.length : match.index + match[0].length;
    lineNumber++;
    if (line === '') {
      finish();
      return { fields, body: body.slice(offset) };
    }
    if (line.startsWith(' ') || line.startsWith('\t')) {
      if (current === undefined) throw metadataError(source, `line ${lineNumber} is a continuation line with no field before it`);
      const part = current.multiline ? line.replace(MULTILINE_PREFIX, '') : line;
      current.size += part.length;
      if (!current.multiline && current.size > limits.maxFieldBytes) {
        throw metadataError(source, `field "${printable(current.name, 40)}" on line ${current.line} is longer than ${limits.maxFieldBytes} bytes`);
      }
      current.parts.push(part);
      continue;
    }
    const field = FIELD_LINE.exec(line);
    if (field === null) {
      throw metadataError(source, `line ${lineNumber} is not a "Name: value" field: "${printable(line, 60)}"`);
    }
    finish();
    if (fields.length >= limits.maxHeaders) throw metadataError(source, `has more than ${limits.maxHeaders} fields`);
    const name = field[1] as string;
    const value = field[2] as string;
    const isMultiline = multiline.has(name.toLowerCase());
    if (!isMultiline && value.length > limits.maxFieldBytes) {
      throw metadataError(source, `field "${printable(name, 40)}" on line ${lineNumber} is longer than ${limits.maxFieldBytes} bytes`);
    }
    current = { name, parts: [value], line: lineNumber, size: value.length, multiline: isMultiline };
  }
  finish();
  return { fields };
}

// ---------------------------------------------------------------------------------------------
// Core metadata

export interface ProjectUrl {
  label: string;
  url: string;
}

/** A PEP 508 dependency specifier, split into its parts (the parts are not further validated). */
export interface Requirement {
  /** As written. */
  raw: string;
  name: string;
  normalizedName: string;
  extras: string[];
  /** Version specifiers, e.g. `>=1.0,<2`; empty when there are none. */
  specifier: string;
  /** Direct reference (`name @ url`). */
  url?: string;
  /** Environment marker after `;`. */
  marker?: string;
}

export interface CoreMetadata {
  metadataVersion: string;
  name: string;
  normalizedName: string;
  /** As written in the file. */
  version: string;
  /** PEP 440 normalized. */
  normalizedVersion: string;
  summary?: string;
  /** The body for metadata 2.1+, else the `Description` field. */
  description?: string;
  descriptionContentType?: string;
  keywords?: string;
  homePage?: string;
  downloadUrl?: string;
  author?: string;
  authorEmail?: string;
  maintainer?: string;
  maintainerEmail?: string;
  license?: string;
  /** SPDX expression (metadata 2.4). */
  licenseExpression?: string;
  licenseFiles: string[];
  requiresPython?: string;
  /** Each `Requires-Dist` as written. */
  requiresDist: string[];
  /** The same, parsed. */
  requirements: Requirement[];
  requiresExternal: string[];
  providesExtra: string[];
  providesDist: string[];
  obsoletesDist: string[];
  classifiers: string[];
  projectUrls: ProjectUrl[];
  platforms: string[];
  supportedPlatforms: string[];
  /** Fields the sdist leaves to the build backend (metadata 2.2, PEP 643). */
  dynamic: string[];
  /** Every field as written, by lowercase name, values in order. */
  fields: Map<string, string[]>;
  /** Things accepted but worth knowing, e.g. a repeated single-use field (the first one counts). */
  warnings: string[];
}

export interface ParsedMetadata {
  metadata: CoreMetadata;
  /** The decoded text exactly as shipped. */
  text: string;
}

export interface ParseMetadataOptions {
  /** Names the file in messages. */
  source?: string;
  limits?: Partial<MetadataLimits>;
}

const IDENTITY_FIELDS = ['metadata-version', 'name', 'version'] as const;

const SINGLE_FIELDS = new Set([
  'metadata-version',
  'name',
  'version',
  'summary',
  'description',
  'description-content-type',
  'keywords',
  'home-page',
  'download-url',
  'author',
  'author-email',
  'maintainer',
  'maintainer-email',
  'license',
  'license-expression',
  'requires-python',
]);

/**
 * Parses core metadata from bytes (strict UTF-8) or text. Throws INVALID_ARCHIVE naming the
 * source and the field for anything malformed: a missing or repeated Name/Version/Metadata-Version,
 * an invalid name, PEP 440 version, Requires-Python or Requires-Dist name, or a limit exceeded.
 */
export function parseCoreMetadata(data: Buffer | string, options: ParseMetadataOptions = {}): ParsedMetadata {
  const source = options.source ?? 'core metadata';
  const limits = { ...DEFAULT_METADATA_LIMITS, ...options.limits };
  const text = typeof data === 'string' ? data : decodeMetadataBytes(data, source, limits.maxBytes);
  const parsed = parseHeaders(text, { source, limits });

  const fields = new Map<string, string[]>();
  const warnings: string[] = [];
  for (const field of parsed.fields) {
    const key = field.name.toLowerCase();
    const values = fields.get(key);
    if (values === undefined) {
      fields.set(key, [field.value]);
      continue;
    }
    if ((IDENTITY_FIELDS as readonly string[]).includes(key)) {
      // Tools that read the first and tools that read the last would see two projects.
      throw metadataError(source, `has ${values.length + 1} "${field.name}" fields (line ${field.line}); it must have one`);
    }
    if (SINGLE_FIELDS.has(key)) warnings.push(`"${field.name}" appears more than once; the first one counts`);
    values.push(field.value);
  }
  const one = (key: string): string | undefined => {
    const value = fields.get(key)?.[0];
    return value === undefined || value === '' ? undefined : value;
  };
  const all = (key: string): string[] => (fields.get(key) ?? []).filter((v) => v !== '');
  const required = (key: string, label: string): string => {
    const value = one(key);
    if (value === undefined) throw metadataError(source, `has no "${label}" field`);
    return value;
  };

  const metadataVersion = required('metadata-version', 'Metadata-Version');
  // Core metadata spec: tools must refuse an unknown major version.
  if (!/^[12]\.[0-9]{1,3}$/.test(metadataVersion)) {
    throw metadataError(source, `has Metadata-Version "${printable(metadataVersion, 20)}"; versions 1.0 to 2.x are supported`);
  }
  const name = required('name', 'Name');
  if (!isValidProjectName(name)) throw metadataError(source, `has an invalid Name "${printable(name, 80)}"`);
  const version = required('version', 'Version');
  const normalizedVersion = normalizeVersion(version);
  if (normalizedVersion === undefined) throw metadataError(source, `has an invalid PEP 440 Version "${printable(version, 80)}"`);

  const requiresPython = one('requires-python');
  // The index publishes it as data-requires-python and pip acts on it: it must parse.
  if (requiresPython !== undefined && !validRequiresPython(requiresPython)) {
    throw metadataError(source, `has an invalid Requires-Python "${printable(requiresPython, 80)}"`);
  }

  const requiresDist = all('requires-dist');
  const requirements = requiresDist.map((raw) => {
    const requirement = parseRequirement(raw);
    if (requirement === undefined) throw metadataError(source, `has an invalid Requires-Dist "${printable(raw, 80)}"`);
    return requirement;
  });

  const dynamic = all('dynamic');
  for (const entry of dynamic) {
    // Core metadata 2.2: these can never be dynamic.
    if (['name', 'version', 'metadata-version'].includes(entry.toLowerCase())) {
      throw metadataError(source, `marks "${printable(entry, 40)}" as Dynamic, which the specification forbids`);
    }
  }

  // Metadata 2.1 moved the description into the body; earlier files may still carry a body.
  let description = one('description');
  if (parsed.body !== undefined && parsed.body.trim() !== '') {
    if (description !== undefined) warnings.push('both a Description field and a message body; the body counts');
    description = parsed.body;
  }

  const metadata: CoreMetadata = {
    metadataVersion,
    name,
    normalizedName: normalizeProjectName(name),
    version,
    normalizedVersion,
    licenseFiles: all('license-file'),
    requiresDist,
    requirements,
    // Metadata 1.1 `Requires` lists module names: kept in `fields`, not mixed with these.
    requiresExternal: all('requires-external'),
    providesExtra: all('provides-extra'),
    providesDist: all('provides-dist'),
    obsoletesDist: all('obsoletes-dist'),
    classifiers: all('classifier'),
    projectUrls: all('project-url').map(parseProjectUrl),
    platforms: all('platform'),
    supportedPlatforms: all('supported-platform'),
    dynamic,
    fields,
    warnings,
  };
  const optional: [keyof CoreMetadata, string][] = [
    ['summary', 'summary'],
    ['descriptionContentType', 'description-content-type'],
    ['keywords', 'keywords'],
    ['homePage', 'home-page'],
    ['downloadUrl', 'download-url'],
    ['author', 'author'],
    ['authorEmail', 'author-email'],
    ['maintainer', 'maintainer'],
    ['maintainerEmail', 'maintainer-email'],
    ['license', 'license'],
    ['licenseExpression', 'license-expression'],
  ];
  const target = metadata as unknown as Record<string, unknown>;
  for (const [key, field] of optional) {
    const value = one(field);
    if (value !== undefined) target[key] = value;
  }
  if (requiresPython !== undefined) metadata.requiresPython = requiresPython;
  if (description !== undefined) metadata.description = description;
  return { metadata, text };
}

function validRequiresPython(value: string): boolean {
  if (value.length > 1024) return false;
  // Specifier sets are comma separated; the library wants no empty clause.
  return value.split(',').every((clause) => clause.trim() !== '' && validRange(clause.trim()));
}

function parseProjectUrl(value: string): ProjectUrl {
  const comma = value.indexOf(',');
  if (comma === -1) return { label: '', url: value.trim() };
  return { label: value.slice(0, comma).trim(), url: value.slice(comma + 1).trim() };
}

const REQUIREMENT_NAME = /^\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*/;

/**
 * Splits a PEP 508 requirement into name, extras, version specifier, URL and marker. Only the
 * name and extras are validated: the gate matches on names, and pip itself judges the rest.
 */
export function parseRequirement(raw: string): Requirement | undefined {
  const head = REQUIREMENT_NAME.exec(raw);
  if (head === null) return undefined;
  const name = head[1] as string;
  if (!isValidProjectName(name)) return undefined;
  let rest = raw.slice(head[0].length);
  let extras: string[] = [];
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close === -1) return undefined;
    extras = rest
      .slice(1, close)
      .split(',')
      .map((e) => e.trim())
      .filter((e) => e !== '');
    if (!extras.every(isValidProjectName)) return undefined;
    rest = rest.slice(close + 1).trimStart();
  }
  // A URL may contain `;`, so PEP 508 ends it at " ;" (whitespace before the semicolon).
  let marker: string | undefined;
  let url: string | undefined;
  if (rest.startsWith('@')) {
    const end = /\s;/.exec(rest);
    url = (end === null ? rest.slice(1) : rest.slice(1, end.index)).trim();
    if (url === '') return undefined;
    if (end !== null) marker = rest.slice(end.index + end[0].length).trim();
  } else {
    const semicolon = rest.indexOf(';');
    if (semicolon !== -1) {
      marker = rest.slice(semicolon + 1).trim();
      rest = rest.slice(0, semicolon);
    }
  }
  let specifier = url === undefined ? rest.trim() : '';
  if (specifier.startsWith('(') && specifier.endsWith(')')) specifier = specifier.slice(1, -1).trim();
  if (specifier !== '' && !/^[<>=!~]/.test(specifier)) return undefined;
  const requirement: Requirement = { raw, name, normalizedName: normalizeProjectName(name), extras, specifier };
  if (url !== undefined) requirement.url = url;
  if (marker !== undefined) {
    if (marker === '') return undefined;
    requirement.marker = marker;
  }
  return requirement;
}
