import { open, readdir, stat } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { convertNodeSecurityWg, isNodeSecurityWgAdvisory, isNodeSecurityWgIndex } from './nodejs-security-wg.js';
import { AdvisoryFormatError, parseOsv } from './osv.js';
import { convertRubysec, isRubysecAdvisory } from './rubysec.js';
import type { Advisory } from './types.js';
import { TotalLimitError, ZipArchive, type ZipLimits } from './zip.js';

/**
 * Reading advisories from a file, a folder or a zip archive, in any of three formats told apart
 * by their shape: OSV records (JSON or YAML; pypa/advisory-database, osv.dev exports), Node.js
 * security WG advisories (JSON) and rubysec advisories (YAML). Every file read produces at least
 * one item, so a malformed file is reported and the import goes on.
 */

export type AdvisoryFormat = 'osv' | 'nodejs-security-wg' | 'rubysec';

export interface ReadItem {
  /**
   * Where it came from: the file path as given, or the path inside the folder or archive
   * (`/`-separated); `#<n>` (or `#<key>`) picks one record of a file holding several.
   */
  source: string;
  /** The format the record was read as. */
  format?: AdvisoryFormat;
  advisory?: Advisory;
  /** Why this file or record was not read. */
  error?: string;
  /** Read, with something lost on the way (a range a converter could not express, …). */
  warnings?: string[];
  /** Deliberately not read (a symbolic link, an index of records read from their own files). */
  skipped?: string;
}

export interface ReadOptions {
  /** Largest advisory file read (bytes). Default 32 MiB. */
  maxFileBytes?: number;
  /** Records in one file (a JSON array, a multi-document YAML file). Default 1,000,000. */
  maxRecordsPerFile?: number;
  /** Limits for zip archives (see ZipLimits). */
  zip?: Partial<ZipLimits>;
}

const MiB = 1024 * 1024;
const ADVISORY_EXTENSIONS = new Set(['.json', '.yaml', '.yml']);
const MAX_DEPTH = 32;

interface Settings {
  maxFileBytes: number;
  maxRecordsPerFile: number;
  zip: Partial<ZipLimits>;
}

function settingsOf(options: ReadOptions): Settings {
  return {
    maxFileBytes: options.maxFileBytes ?? 32 * MiB,
    maxRecordsPerFile: options.maxRecordsPerFile ?? 1_000_000,
    zip: options.zip ?? {},
  };
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function isAdvisoryFile(name: string): boolean {
  return ADVISORY_EXTENSIONS.has(extname(name).toLowerCase());
}

/** Hidden files and folders (`.git`, `.id-allocator`) and macOS resource forks are not advisories. */
function isHidden(relativePath: string): boolean {
  return relativePath.split('/').some((part) => part.startsWith('.') || part === '__MACOSX');
}

function stem(name: string): string {
  const base = basename(name);
  const ext = extname(base);
  return ext ? base.slice(0, -ext.length) : base;
}

/** The parsed content of one file: one document, or an error. */
function parseDocument(name: string, bytes: Buffer): { doc: unknown } | { error: string } {
  let text = bytes.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const ext = extname(name).toLowerCase();
  const looksJson = ext === '.json' || (ext !== '.yaml' && ext !== '.yml' && /^\s*[[{]/.test(text));
  if (looksJson) {
    try {
      return { doc: JSON.parse(text) as unknown };
    } catch (error) {
      return { error: `not valid JSON: ${message(error)}` };
    }
  }
  try {
    // Scalars stay strings (only null and booleans are typed): an unquoted version `1.10` must
    // not become the number 1.1. Aliases are bounded (billion-laughs), duplicate keys refused.
    const docs = parseAllDocuments(text, {
      schema: 'failsafe',
      customTags: ['null', 'bool'],
      uniqueKeys: true,
      prettyErrors: true,
    });
    if (!Array.isArray(docs)) return { error: 'empty YAML file' };
    const values: unknown[] = [];
    for (const doc of docs) {
      const problem = doc.errors[0];
      if (problem) return { error: `not valid YAML: ${problem.message.split('\n', 1)[0]}` };
      values.push(doc.toJS({ maxAliasCount: 100 }));
    }
    if (values.length === 0) return { error: 'empty YAML file' };
    return { doc: values.length === 1 ? values[0] : values };
  } catch (error) {
    return { error: `not valid YAML: ${message(error)}` };
  }
}

function recordId(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const id = Object.hasOwn(value, 'id') ? (value as Record<string, unknown>).id : undefined;
  return typeof id === 'string' && id.length <= 100 ? id : undefined;
}

function isOsvShaped(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  return Object.hasOwn(value, 'id') && (Object.hasOwn(value, 'modified') || Object.hasOwn(value, 'affected') || Object.hasOwn(value, 'schema_version'));
}

/** One record of any of the three formats → an item. */
function readRecord(source: string, value: unknown, fileName: string): ReadItem {
  let format: AdvisoryFormat | undefined;
  try {
    const warnings: string[] = [];
    if (isOsvShaped(value) || (!isNodeSecurityWgAdvisory(value) && !isRubysecAdvisory(value) && recordId(value) !== undefined)) {
      format = 'osv';
      const advisory = parseOsv(value, { warnings });
      return { source, format, advisory, ...(warnings.length > 0 ? { warnings } : {}) };
    }
    let converted;
    if (isNodeSecurityWgAdvisory(value)) {
      format = 'nodejs-security-wg';
      converted = convertNodeSecurityWg(value);
    } else if (isRubysecAdvisory(value)) {
      format = 'rubysec';
      converted = convertRubysec(value, { fileName: stem(fileName) });
    } else {
      return {
        source,
        error:
          'not an advisory: expected an OSV record (id, modified), a Node.js security WG advisory ' +
          '(module_name, vulnerable_versions) or a rubysec advisory (gem, title, date)',
      };
    }
    let advisory: Advisory;
    try {
      advisory = parseOsv(converted.osv, { warnings });
    } catch (error) {
      if (error instanceof AdvisoryFormatError) throw new AdvisoryFormatError('', `converted to OSV: ${error.message}`);
      throw error;
    }
    const item: ReadItem = { source, format, advisory };
    warnings.unshift(...converted.warnings);
    if (warnings.length > 0) item.warnings = warnings;
    return item;
  } catch (error) {
    const id = format === 'osv' ? recordId(value) : undefined;
    const text = error instanceof AdvisoryFormatError ? error.message : `could not be read: ${message(error)}`;
    return { source, ...(format ? { format } : {}), error: id ? `${id}: ${text}` : text };
  }
}

/** Tracks ids across one read, to flag the same advisory coming from two places. */
class SeenIds {
  private readonly where = new Map<string, string>();
  note(item: ReadItem): ReadItem {
    const id = item.advisory?.id;
    if (id === undefined) return item;
    const first = this.where.get(id);
    if (first === undefined) this.where.set(id, item.source);
    else (item.warnings ??= []).push(`${id} was already read from ${first}`);
    return item;
  }
  has(id: string): boolean {
    return this.where.has(id);
  }
}

/** All records of one parsed file. */
function* recordsOf(source: string, doc: unknown, settings: Settings, seen: SeenIds): Generator<ReadItem> {
  if (Array.isArray(doc)) {
    if (doc.length > settings.maxRecordsPerFile) {
      yield { source, error: `holds ${doc.length} records, more than the limit of ${settings.maxRecordsPerFile}` };
      return;
    }
    if (doc.length === 0) {
      yield { source, skipped: 'an empty list' };
      return;
    }
    for (let i = 0; i < doc.length; i++) yield seen.note(readRecord(`${source}#${i}`, doc[i], source));
    return;
  }
  if (isNodeSecurityWgIndex(doc)) {
    const keys = Object.keys(doc);
    if (keys.length > settings.maxRecordsPerFile) {
      yield { source, error: `holds ${keys.length} records, more than the limit of ${settings.maxRecordsPerFile}` };
      return;
    }
    for (const key of keys) yield seen.note(readRecord(`${source}#${key}`, doc[key], `${key}.json`));
    return;
  }
  yield seen.note(readRecord(source, doc, source));
}

/**
 * The Node.js security WG index (`vuln/npm/index.json`) repeats every advisory of the folder.
 * Read last, it only contributes records not found in their own files.
 */
function* indexRecords(source: string, doc: Record<string, unknown>, seen: SeenIds): Generator<ReadItem> {
  let repeated = 0;
  for (const key of Object.keys(doc)) {
    if (seen.has(`NSWG-ECO-${key}`)) {
      repeated++;
      continue;
    }
    yield seen.note(readRecord(`${source}#${key}`, doc[key], `${key}.json`));
  }
  yield { source, format: 'nodejs-security-wg', skipped: `index of ${Object.keys(doc).length} advisories; ${repeated} of them already read from their own files` };
}

async function readFileBounded(path: string, maxBytes: number): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    if (size > maxBytes) throw new Error(`larger than the limit of ${maxBytes} bytes`);
    const buffer = Buffer.alloc(size);
    let offset = 0;
    while (offset < size) {
      const { bytesRead } = await handle.read(buffer, offset, size - offset, offset);
      if (bytesRead === 0) break;
      offset += bytesRead;
    }
    return buffer.subarray(0, offset);
  } finally {
    await handle.close();
  }
}

type WalkItem = { relative: string; absolute: string } | { relative: string; skipped: string } | { relative: string; error: string };

async function* walk(root: string, relative: string, depth: number): AsyncGenerator<WalkItem> {
  let entries;
  try {
    entries = await readdir(relative ? join(root, relative) : root, { withFileTypes: true });
  } catch (error) {
    yield { relative: relative || '.', error: `cannot list the folder: ${message(error)}` };
    return;
  }
  // Byte order of the full relative paths (what `LC_ALL=C sort` gives): a folder sorts as its
  // name plus `/`, so `a-b/x` comes before `a/x`.
  const key = (entry: (typeof entries)[number]) => Buffer.from(entry.isDirectory() ? `${entry.name}/` : entry.name, 'utf8');
  entries.sort((a, b) => Buffer.compare(key(a), key(b)));
  for (const entry of entries) {
    const rel = relative ? `${relative}/${entry.name}` : entry.name;
    if (isHidden(entry.name)) continue;
    if (entry.isSymbolicLink()) {
      yield { relative: rel, skipped: 'symbolic link, not followed' };
    } else if (entry.isDirectory()) {
      if (depth >= MAX_DEPTH) yield { relative: rel, error: `folders nested deeper than ${MAX_DEPTH} levels are not read` };
      else yield* walk(root, rel, depth + 1);
    } else if (entry.isFile() && isAdvisoryFile(entry.name)) {
      yield { relative: rel, absolute: join(root, rel) };
    }
  }
}

async function* readFolder(root: string, settings: Settings): AsyncGenerator<ReadItem> {
  const seen = new SeenIds();
  const indexes: { source: string; absolute: string }[] = [];
  for await (const item of walk(root, '', 0)) {
    if ('skipped' in item) yield { source: item.relative, skipped: item.skipped };
    else if ('error' in item) yield { source: item.relative, error: item.error };
    else {
      let bytes: Buffer;
      try {
        bytes = await readFileBounded(item.absolute, settings.maxFileBytes);
      } catch (error) {
        yield { source: item.relative, error: message(error) };
        continue;
      }
      const parsed = parseDocument(item.relative, bytes);
      if ('error' in parsed) yield { source: item.relative, error: parsed.error };
      else if (isNodeSecurityWgIndex(parsed.doc)) indexes.push({ source: item.relative, absolute: item.absolute });
      else yield* recordsOf(item.relative, parsed.doc, settings, seen);
    }
  }
  for (const index of indexes) {
    // Read again rather than held: an index can be large.
    const parsed = parseDocument(index.source, await readFileBounded(index.absolute, settings.maxFileBytes));
    if ('doc' in parsed && isNodeSecurityWgIndex(parsed.doc)) yield* indexRecords(index.source, parsed.doc, seen);
  }
}

async function* readZip(path: string, settings: Settings): AsyncGenerator<ReadItem> {
  let archive: ZipArchive;
  try {
    archive = await ZipArchive.open(path, settings.zip);
  } catch (error) {
    yield { source: path, error: `cannot read the zip archive: ${message(error)}` };
    return;
  }
  const seen = new SeenIds();
  try {
    const indexes: { source: string; entry: Parameters<ZipArchive['read']>[0] }[] = [];
    try {
      for await (const item of archive.entries()) {
        if (item.kind === 'problem') {
          yield { source: item.name, error: item.problem };
          continue;
        }
        if (isHidden(item.name) || !isAdvisoryFile(item.name)) continue;
        let bytes: Buffer;
        try {
          bytes = await archive.read(item.entry);
        } catch (error) {
          if (error instanceof TotalLimitError) {
            yield { source: path, error: `stopped reading: ${error.message}` };
            return;
          }
          yield { source: item.name, error: message(error) };
          continue;
        }
        const parsed = parseDocument(item.name, bytes);
        if ('error' in parsed) yield { source: item.name, error: parsed.error };
        else if (isNodeSecurityWgIndex(parsed.doc)) indexes.push({ source: item.name, entry: item.entry });
        else yield* recordsOf(item.name, parsed.doc, settings, seen);
      }
    } catch (error) {
      yield { source: path, error: `corrupt zip archive: ${message(error)}` };
      return;
    }
    for (const index of indexes) {
      let bytes: Buffer;
      try {
        bytes = await archive.read(index.entry);
      } catch (error) {
        yield { source: index.source, error: message(error) };
        continue;
      }
      const parsed = parseDocument(index.source, bytes);
      if ('doc' in parsed && isNodeSecurityWgIndex(parsed.doc)) yield* indexRecords(index.source, parsed.doc, seen);
    }
  } finally {
    archive.close();
  }
}

async function isZipFile(path: string): Promise<boolean> {
  if (extname(path).toLowerCase() === '.zip') return true;
  const handle = await open(path, 'r');
  try {
    const head = Buffer.alloc(4);
    const { bytesRead } = await handle.read(head, 0, 4, 0);
    return bytesRead === 4 && head.readUInt32LE(0) === 0x04034b50;
  } finally {
    await handle.close();
  }
}

/**
 * Reads every advisory under `path`: one `.json`/`.yaml`/`.yml` file (holding one record, a
 * JSON array of records, or several YAML documents), a folder (recursively, in byte order of
 * the relative paths; hidden entries skipped, symbolic links reported and not followed), or a
 * `.zip` archive (read as hostile, see zip.ts; entries in archive order). Yields one item per
 * record, error or skipped file.
 */
export async function* readAdvisories(path: string, options: ReadOptions = {}): AsyncGenerator<ReadItem> {
  const settings = settingsOf(options);
  let info;
  try {
    info = await stat(path);
  } catch (error) {
    yield { source: path, error: message(error) };
    return;
  }
  if (info.isDirectory()) {
    yield* readFolder(path, settings);
    return;
  }
  if (!info.isFile()) {
    yield { source: path, error: 'not a file or folder' };
    return;
  }
  let zip: boolean;
  try {
    zip = await isZipFile(path);
  } catch (error) {
    yield { source: path, error: message(error) };
    return;
  }
  if (zip) {
    yield* readZip(path, settings);
    return;
  }
  let bytes: Buffer;
  try {
    bytes = await readFileBounded(path, settings.maxFileBytes);
  } catch (error) {
    yield { source: path, error: message(error) };
    return;
  }
  yield* readAdvisoryText(path, bytes, options);
}

/**
 * The advisories in one file's content (e.g. an upload); `name` decides JSON or YAML by its
 * extension and names the items.
 */
export function readAdvisoryText(name: string, content: Buffer | string, options: ReadOptions = {}): ReadItem[] {
  const settings = settingsOf(options);
  const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
  if (bytes.length > settings.maxFileBytes) return [{ source: name, error: `larger than the limit of ${settings.maxFileBytes} bytes` }];
  const parsed = parseDocument(name, bytes);
  if ('error' in parsed) return [{ source: name, error: parsed.error }];
  return [...recordsOf(name, parsed.doc, settings, new SeenIds())];
}
