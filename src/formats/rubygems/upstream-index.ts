import { StockadeError } from '../../errors.js';
import { rubyGemsScheme } from '../../security/versions/rubygems.js';
import { splitVersionKey, versionKey } from './publish.js';
import { GEM_OPERATORS, type GemRequirement, isValidGemName } from './spec-yaml.js';

/**
 * Readers for what a RubyGems upstream says, all hostile input: the compact index (`/info/NAME`,
 * `/versions`) in the line formats of the compact_index reference implementation, and the
 * versions API (`/api/v1/versions/NAME.json`), the one place an upstream gives publish times.
 * Every line and field is bounded; anything malformed refuses the whole document (the remote
 * engine then caches nothing), except in the times document, where an unreadable entry only
 * loses its time (and so counts as fresh under a cooldown).
 */

/** Versions (lines) of one gem's info file. */
const MAX_INFO_LINES = 100_000;
const MAX_INFO_LINE = 64 * 1024;
const MAX_DEPENDENCIES = 1_000;
const MAX_REQUIREMENT_PARTS = 20;
const MAX_VERSION_LENGTH = 128;
/** One line of `/versions` lists every version of a gem. */
const MAX_VERSIONS_LINE = 1024 * 1024;
const MAX_TIME_ENTRIES = 200_000;
const CHECKSUM = /^[0-9a-f]{64}$/;
const PLATFORM = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const REQUIREMENT = /^(=|!=|>=|<=|~>|>|<)\s*(\S+)$/;
/** `NAME V1,V2,-V3 MD5`: names and versions as the format allows, bounded separately. */
const VERSIONS_LINE = /^([A-Za-z0-9_][A-Za-z0-9._-]*) ([0-9A-Za-z._,-]+) ([0-9a-f]{32})$/;

export interface UpstreamInfoLine {
  /** `1.0.0` or `1.0.0-x86_64-linux`, as stored versions are keyed. */
  key: string;
  /** The line as the upstream wrote it; served unchanged, so unfiltered info keeps its MD5. */
  raw: string;
  sha256: string;
  dependencies: { name: string; requirements: GemRequirement[] }[];
}

export interface UpstreamGemInfo {
  name: string;
  /** In the upstream's order. */
  lines: UpstreamInfoLine[];
  byKey: Map<string, UpstreamInfoLine>;
}

export interface UpstreamVersionsFile {
  createdAt: string | null;
  /** `[name, "v1,v2,-v3"]` per line, in the upstream's order; a name may have several lines. */
  lines: [name: string, versions: string][];
}

const invalid = (why: string) => new StockadeError('VALIDATION_FAILED', [why]);

function parseVersion(text: string, where: string): string {
  if (text.length > MAX_VERSION_LENGTH || !rubyGemsScheme.isValid(text)) throw invalid(`${where}: "${text.slice(0, 40)}" is not a RubyGems version`);
  return text;
}

/** `>= 1.0&< 2`: the parts of one requirement as the compact index joins them. */
export function parseRequirements(text: string, where: string): GemRequirement[] {
  const parts = text.split('&');
  if (parts.length > MAX_REQUIREMENT_PARTS) throw invalid(`${where}: too many requirement parts`);
  return parts.map((part) => {
    const match = REQUIREMENT.exec(part.trim());
    if (!match || !(GEM_OPERATORS as readonly string[]).includes(match[1] as string)) throw invalid(`${where}: "${part.slice(0, 40)}" is not a requirement`);
    return [match[1] as GemRequirement[0], parseVersion(match[2] as string, where)];
  });
}

function parseDependencies(text: string, where: string): UpstreamInfoLine['dependencies'] {
  if (text.trim() === '') return [];
  const deps = text.split(',');
  if (deps.length > MAX_DEPENDENCIES) throw invalid(`${where}: too many dependencies`);
  return deps.map((dep) => {
    const colon = dep.indexOf(':');
    const name = colon < 0 ? dep : dep.slice(0, colon);
    if (!isValidGemName(name)) throw invalid(`${where}: "${name.slice(0, 40)}" is not a gem name`);
    return { name, requirements: colon < 0 ? [] : parseRequirements(dep.slice(colon + 1), where) };
  });
}

/** `VERSION[-PLATFORM] DEP:REQ&REQ,…|checksum:SHA256[,ruby:REQ][,rubygems:REQ]`. */
function parseInfoLine(raw: string, name: string): UpstreamInfoLine {
  const where = `info/${name}`;
  if (raw.length > MAX_INFO_LINE) throw invalid(`${where}: a line is longer than ${MAX_INFO_LINE} characters`);
  const bar = raw.indexOf('|');
  if (bar < 0) throw invalid(`${where}: a line has no "|"`);
  const head = raw.slice(0, bar);
  const space = head.indexOf(' ');
  const key = space < 0 ? head : head.slice(0, space);
  const { version, platform } = splitVersionKey(key);
  parseVersion(version, where);
  if (!PLATFORM.test(platform)) throw invalid(`${where}: "${platform.slice(0, 40)}" is not a platform`);
  let sha256 = '';
  for (const field of raw.slice(bar + 1).split(',')) {
    const colon = field.indexOf(':');
    const label = colon < 0 ? field : field.slice(0, colon);
    const value = field.slice(colon + 1);
    // ruby: and rubygems: are checked, other fields (added by newer servers) are passed on.
    if (label === 'checksum') sha256 = value;
    else if (label === 'ruby' || label === 'rubygems') parseRequirements(value, where);
  }
  if (!CHECKSUM.test(sha256)) throw invalid(`${where}: version ${key} has no SHA-256 checksum`);
  return { key, raw, sha256, dependencies: parseDependencies(space < 0 ? '' : head.slice(space + 1), where) };
}

/** An upstream `/info/NAME`: `---` and one line per version (and platform). */
export function parseInfoFile(body: string, name: string): UpstreamGemInfo {
  if (body !== '---' && !body.startsWith('---\n')) throw invalid(`info/${name} does not start with ---`);
  const rawLines = body.slice(4).split('\n');
  if (rawLines[rawLines.length - 1] === '') rawLines.pop();
  if (rawLines.length > MAX_INFO_LINES) throw invalid(`info/${name} has more than ${MAX_INFO_LINES} versions`);
  const info: UpstreamGemInfo = { name, lines: [], byKey: new Map() };
  for (const raw of rawLines) {
    const line = parseInfoLine(raw, name);
    if (info.byKey.has(line.key)) throw invalid(`info/${name} lists ${line.key} twice`);
    info.lines.push(line);
    info.byKey.set(line.key, line);
  }
  return info;
}

/** An upstream `/versions`: header lines (`created_at: …`), `---`, then `NAME VERSIONS MD5` lines. */
export function parseVersionsFile(body: string): UpstreamVersionsFile {
  const separator = body.startsWith('---\n') ? 0 : body.indexOf('\n---\n');
  if (separator < 0) throw invalid('versions has no --- line');
  const header = separator === 0 ? '' : body.slice(0, separator);
  const createdAt = /^created_at: (\S{1,64})$/m.exec(header)?.[1] ?? null;
  const file: UpstreamVersionsFile = { createdAt, lines: [] };
  let start = separator === 0 ? 4 : separator + 5;
  while (start < body.length) {
    let end = body.indexOf('\n', start);
    if (end < 0) end = body.length;
    const line = body.slice(start, end);
    start = end + 1;
    if (line === '') continue;
    const match = line.length <= MAX_VERSIONS_LINE ? VERSIONS_LINE.exec(line) : null;
    if (!match || !isValidGemName(match[1] as string)) throw invalid(`versions has a malformed line: "${line.slice(0, 60)}"`);
    file.lines.push([match[1] as string, match[2] as string]);
  }
  return file;
}

/** Every version (key) a `/versions` line list offers for `name`, yanks (`-V`) applied. */
export function versionsOf(file: UpstreamVersionsFile, name: string): string[] {
  const offered = new Set<string>();
  for (const [lineName, versions] of file.lines) {
    if (lineName !== name) continue;
    for (const v of versions.split(',')) {
      if (v.startsWith('-')) offered.delete(v.slice(1));
      else if (v !== '') offered.add(v);
    }
  }
  return [...offered];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * `/api/v1/versions/NAME.json`: `[{ number, platform, created_at, … }]`. Returns each version
 * key's publish time (ISO-8601); entries without a readable one are left out.
 */
export function parseVersionTimes(body: string): Map<string, string> {
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch {
    throw new StockadeError('INVALID_JSON', ['the versions document is not JSON']);
  }
  if (!Array.isArray(doc)) throw invalid('the versions document is not a JSON array');
  if (doc.length > MAX_TIME_ENTRIES) throw invalid(`the versions document has more than ${MAX_TIME_ENTRIES} entries`);
  const times = new Map<string, string>();
  for (const entry of doc) {
    if (!isObject(entry) || typeof entry.number !== 'string' || typeof entry.created_at !== 'string') continue;
    const platform = typeof entry.platform === 'string' ? entry.platform : 'ruby';
    if (entry.number.length > MAX_VERSION_LENGTH || !rubyGemsScheme.isValid(entry.number) || !PLATFORM.test(platform)) continue;
    const at = Date.parse(entry.created_at.slice(0, 64));
    if (Number.isNaN(at)) continue;
    times.set(versionKey(entry.number, platform), new Date(at).toISOString());
  }
  return times;
}
