import { createHash, type Hash } from 'node:crypto';
import { StockadeError } from '../../errors.js';
import type { ContentView } from '../../security/types.js';
import { createContentView, DEFAULT_VIEW_BUDGET, type ViewBudget, type ViewEntryInput } from '../../security/view.js';
import { printable } from '../npm/names.js';
import { quote } from './archive-paths.js';
import { DEFAULT_METADATA_LIMITS, parseCoreMetadata, parseHeaders, type CoreMetadata, type MetadataLimits } from './metadata.js';
import { normalizeProjectName, parseWheelFilename, sameVersion, type WheelFilename } from './names.js';
import { openZip, type ZipEntryInfo, type ZipLimits } from './zip.js';

/**
 * Reads a wheel (binary distribution format, PEP 427/491) written by anyone, without extracting
 * it. The file name, the `.dist-info` directory and METADATA must name the same project and
 * version; RECORD must list every file with a matching hash and size. Dangerous archives are
 * UNSAFE_ARCHIVE, anything pip would refuse or could read two ways is INVALID_ARCHIVE.
 */

export interface WheelLimits extends ZipLimits {
  /** Largest RECORD file. */
  maxRecordBytes: number;
  /** Largest WHEEL file. */
  maxWheelFileBytes: number;
  metadata: MetadataLimits;
}

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

export const DEFAULT_WHEEL_LIMITS: Readonly<WheelLimits> = Object.freeze({
  // The largest wheels (CUDA builds of ML frameworks) hold ~20k files.
  maxEntries: 100_000,
  // Those same wheels unpack to a few GiB. Bodies are hashed as they stream and only the view
  // budget is held, so this bounds CPU time, not memory.
  maxUnpackedBytes: 4 * GiB,
  // Wheels typically unpack at 2-5:1; deflate itself tops out near 1032:1.
  maxRatio: 200,
  ratioGraceBytes: 16 * MiB,
  maxDepth: 64,
  maxPathLength: 4096,
  // ~150 bytes a line: room for far more files than maxEntries allows.
  maxRecordBytes: 32 * MiB,
  maxWheelFileBytes: 64 * KiB,
  metadata: DEFAULT_METADATA_LIMITS,
});

export interface WheelInfo {
  /** `Wheel-Version`, e.g. `1.0`. */
  wheelVersion: string;
  generator?: string;
  rootIsPurelib: boolean;
  /** `Tag` lines, e.g. `py3-none-any`. */
  tags: string[];
  build?: string;
  /** Every field by lowercase name. */
  fields: Map<string, string[]>;
}

export interface RecordEntry {
  path: string;
  /** Python hashlib name, e.g. `sha256`; absent for RECORD itself. */
  algorithm?: string;
  /** urlsafe base64 without padding. */
  digest?: string;
  size?: number;
}

export interface WheelFile {
  path: string;
  size: number;
  /** Unix permission bits when the wheel was built on unix (pip keeps the executable bit). */
  mode?: number;
}

export interface WheelContents {
  /** As in METADATA. */
  name: string;
  normalizedName: string;
  /** As in METADATA. */
  version: string;
  filename: WheelFilename;
  /** `{name}-{version}.dist-info`, as in the archive. */
  distInfoDir: string;
  metadata: CoreMetadata;
  /** The exact METADATA bytes: what PEP 658 `.metadata` files must serve. */
  metadataBytes: Buffer;
  /** METADATA decoded (strict UTF-8). */
  metadataText: string;
  wheelInfo: WheelInfo;
  /** Regular files, in archive order. */
  files: WheelFile[];
  record: { verified: boolean; entries: RecordEntry[] };
  unpackedSize: number;
  /** Archive paths (`demo/__init__.py`, `demo-1.0.data/scripts/x`, `x.pth`), for the gate. */
  view: ContentView;
}

export interface ParseWheelOptions {
  limits?: Partial<Omit<WheelLimits, 'metadata'>> & { metadata?: Partial<MetadataLimits> };
  view?: Partial<ViewBudget>;
  /** Check RECORD hashes and sizes (default true). When false, `record.verified` is false. */
  verifyRecord?: boolean;
}

// Python hashlib names allowed in RECORD → node names. The spec forbids md5 and sha1.
const RECORD_ALGORITHMS: Record<string, string> = {
  sha256: 'sha256',
  sha384: 'sha384',
  sha512: 'sha512',
  sha3_256: 'sha3-256',
  sha3_384: 'sha3-384',
  sha3_512: 'sha3-512',
  blake2b: 'blake2b512',
  blake2s: 'blake2s256',
};

function invalid(why: string): StockadeError {
  return new StockadeError('INVALID_ARCHIVE', [why]);
}

export async function parseWheel(data: Buffer, filename: string, options: ParseWheelOptions = {}): Promise<WheelContents> {
  const limits: WheelLimits = {
    ...DEFAULT_WHEEL_LIMITS,
    ...options.limits,
    metadata: { ...DEFAULT_WHEEL_LIMITS.metadata, ...options.limits?.metadata },
  };
  const budget: ViewBudget = { ...DEFAULT_VIEW_BUDGET, ...options.view };
  const verify = options.verifyRecord ?? true;
  const parsedName = parseWheelFilename(filename);
  const where = `wheel "${printable(filename, 120)}"`;
  const zip = await openZip(data, where, limits);
  try {
    const entries = zip.entries;
    const symlink = entries.find((e) => e.type === 'symlink');
    if (symlink !== undefined) {
      // pip writes a symlink entry as a file holding the target; unzip makes a link. Never both.
      throw new StockadeError('UNSAFE_ARCHIVE', [`entry ${quote(symlink.path)} in ${where} is a symbolic link`]);
    }
    const distInfoDir = findDistInfo(entries, parsedName, where);
    const byPath = new Map(entries.map((e) => [e.path, e]));
    const member = (name: string): ZipEntryInfo => {
      const entry = byPath.get(`${distInfoDir}/${name}`);
      if (entry === undefined || entry.type !== 'file') throw invalid(`${where} has no ${distInfoDir}/${name} file`);
      return entry;
    };

    const wheelInfo = parseWheelFile(await zip.readAll(member('WHEEL'), limits.maxWheelFileBytes), `${where}: ${distInfoDir}/WHEEL`);
    const metadataBytes = await zip.readAll(member('METADATA'), limits.metadata.maxBytes);
    const { metadata, text: metadataText } = parseCoreMetadata(metadataBytes, {
      source: `${where}: ${distInfoDir}/METADATA`,
      limits: limits.metadata,
    });
    if (metadata.normalizedName !== parsedName.normalizedName) {
      throw invalid(`${distInfoDir}/METADATA says Name "${printable(metadata.name, 80)}" but the file name says "${parsedName.name}" (${where})`);
    }
    if (!sameVersion(metadata.version, parsedName.version)) {
      throw invalid(`${distInfoDir}/METADATA says Version "${printable(metadata.version, 80)}" but the file name says "${parsedName.version}" (${where})`);
    }

    const recordPath = `${distInfoDir}/RECORD`;
    const recordSource = `${where}: ${recordPath}`;
    const record = parseRecord(await zip.readAll(member('RECORD'), limits.maxRecordBytes), recordSource);
    const unverified = new Set([recordPath, `${recordPath}.jws`, `${recordPath}.p7s`]);

    const keep = chooseBodies(entries, distInfoDir, budget);
    const files: WheelFile[] = [];
    const inputs: ViewEntryInput[] = [];
    let unpackedSize = 0;
    for (const entry of entries) {
      if (entry.type === 'directory') {
        inputs.push({ path: entry.path, type: 'directory', size: 0, mode: entry.mode });
        continue;
      }
      const row = record.get(entry.path);
      const checked = verify && !unverified.has(entry.path);
      if (checked && row === undefined) {
        throw invalid(`${quote(entry.path)} is not listed in ${recordPath} (${where}): every file must be`);
      }
      let hash: Hash | undefined;
      if (checked && row !== undefined) {
        if (row.algorithm === undefined || row.digest === undefined || row.size === undefined) {
          throw invalid(`${recordSource} lists ${quote(entry.path)} without a hash and size`);
        }
        hash = createHash(RECORD_ALGORITHMS[row.algorithm] as string);
      }
      const chunks: Buffer[] | undefined = keep.has(entry) ? [] : undefined;
      const size = await zip.inflate(entry, (chunk) => {
        hash?.update(chunk);
        chunks?.push(chunk);
      });
      if (hash !== undefined && row !== undefined) {
        const digest = hash.digest('base64url');
        if (digest !== row.digest) {
          throw invalid(`${quote(entry.path)} does not match its ${row.algorithm} hash in ${recordPath} (${where}): the file was changed after the wheel was built`);
        }
        if (size !== row.size) {
          throw invalid(`${quote(entry.path)} is ${size} bytes but ${recordPath} says ${row.size} (${where})`);
        }
      }
      unpackedSize += size;
      const file: WheelFile = { path: entry.path, size };
      if (entry.mode !== 0) file.mode = entry.mode;
      files.push(file);
      const input: ViewEntryInput = { path: entry.path, type: 'file', size, mode: entry.mode };
      if (chunks !== undefined) input.body = Buffer.concat(chunks, size);
      inputs.push(input);
    }
    if (verify) {
      for (const path of record.keys()) {
        const entry = byPath.get(path);
        if (entry === undefined || entry.type !== 'file') throw invalid(`${recordSource} lists ${quote(path)}, which the wheel does not contain`);
      }
    }

    return {
      name: metadata.name,
      normalizedName: metadata.normalizedName,
      version: metadata.version,
      filename: parsedName,
      distInfoDir,
      metadata,
      metadataBytes,
      metadataText,
      wheelInfo,
      files,
      record: { verified: verify, entries: [...record.values()] },
      unpackedSize,
      view: createContentView(inputs, budget),
    };
  } finally {
    zip.close();
  }
}

/** Exactly one top-level `{name}-{version}.dist-info`, matching the file name; `.data` likewise. */
function findDistInfo(entries: ZipEntryInfo[], parsedName: WheelFilename, where: string): string {
  const top = new Set<string>();
  for (const entry of entries) {
    const slash = entry.path.indexOf('/');
    if (slash !== -1) top.add(entry.path.slice(0, slash));
    else if (entry.type === 'directory') top.add(entry.path);
  }
  const distInfos = [...top].filter((d) => d.endsWith('.dist-info'));
  if (distInfos.length === 0) throw invalid(`${where} has no .dist-info directory`);
  if (distInfos.length > 1) {
    throw invalid(`${where} has ${distInfos.length} .dist-info directories (${distInfos.map((d) => quote(d, 80)).join(', ')}); it must have one`);
  }
  const distInfo = distInfos[0] as string;
  const stem = distInfo.slice(0, -'.dist-info'.length);
  const parts = stem.split('-');
  const [name, version] = parts;
  if (
    parts.length !== 2 ||
    name === undefined ||
    version === undefined ||
    normalizeProjectName(name) !== parsedName.normalizedName ||
    !sameVersion(version.replace(/_/g, '-'), parsedName.version)
  ) {
    throw invalid(`${where} has the directory ${quote(distInfo)}, which does not match the file name's ${parsedName.name}-${parsedName.version}`);
  }
  for (const dir of top) {
    // pip installs `{stem}.data/<scheme>/…` into the scheme's folders: a second one would be
    // copied as plain package data by some installers and into bin/ by others.
    if (dir.endsWith('.data') && dir !== `${stem}.data`) {
      throw invalid(`${where} has the directory ${quote(dir)}; the only .data directory may be "${stem}.data"`);
    }
  }
  return distInfo;
}

function parseWheelFile(bytes: Buffer, source: string): WheelInfo {
  const text = bytes.toString('utf8');
  const { fields: list } = parseHeaders(text, { source, limits: { maxBytes: bytes.length + 1, maxFieldBytes: 4 * KiB, maxHeaders: 1000 } });
  const fields = new Map<string, string[]>();
  for (const field of list) {
    const key = field.name.toLowerCase();
    fields.set(key, [...(fields.get(key) ?? []), field.value]);
  }
  const wheelVersion = fields.get('wheel-version')?.[0];
  if (wheelVersion === undefined) throw invalid(`${source} has no Wheel-Version field`);
  // Binary distribution format: installers must refuse a higher major version.
  if (!/^1\.[0-9]+$/.test(wheelVersion)) throw invalid(`${source} has Wheel-Version "${printable(wheelVersion, 20)}"; only 1.x is supported`);
  const info: WheelInfo = {
    wheelVersion,
    rootIsPurelib: fields.get('root-is-purelib')?.[0]?.toLowerCase() === 'true',
    tags: fields.get('tag') ?? [],
    fields,
  };
  const generator = fields.get('generator')?.[0];
  if (generator !== undefined) info.generator = generator;
  const build = fields.get('build')?.[0];
  if (build !== undefined) info.build = build;
  return info;
}

/**
 * RECORD is CSV as Python's csv module writes it: `path,algorithm=digest,size`, fields quoted
 * with `"` when they hold a comma, quote or line break.
 */
export function parseRecord(bytes: Buffer, source: string): Map<string, RecordEntry> {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw invalid(`${source} is not valid UTF-8`);
  }
  const rows = parseCsv(text, source);
  const record = new Map<string, RecordEntry>();
  rows.forEach((row, index) => {
    const line = index + 1;
    if (row.length === 1 && row[0] === '') return;
    if (row.length !== 3) throw invalid(`${source} row ${line} has ${row.length} fields, not 3 (path,hash,size)`);
    const [path, hash, size] = row as [string, string, string];
    if (path === '') throw invalid(`${source} row ${line} has an empty path`);
    if (record.has(path)) throw invalid(`${source} lists ${quote(path)} twice`);
    const entry: RecordEntry = { path };
    if (hash !== '') {
      const eq = hash.indexOf('=');
      const algorithm = eq === -1 ? hash : hash.slice(0, eq);
      if (!Object.hasOwn(RECORD_ALGORITHMS, algorithm)) {
        throw invalid(`${source} row ${line} uses the hash "${printable(algorithm, 20)}"; sha256 or stronger is required`);
      }
      const digest = hash.slice(eq + 1);
      if (eq === -1 || !/^[A-Za-z0-9_-]+$/.test(digest)) {
        throw invalid(`${source} row ${line} has a malformed hash (urlsafe base64 without padding is expected)`);
      }
      entry.algorithm = algorithm;
      entry.digest = digest;
    }
    if (size !== '') {
      if (!/^[0-9]{1,15}$/.test(size)) throw invalid(`${source} row ${line} has an invalid size "${printable(size, 20)}"`);
      entry.size = Number(size);
    }
    record.set(path, entry);
  });
  return record;
}

function parseCsv(text: string, source: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
        i++;
        continue;
      }
      field += c;
      i++;
      continue;
    }
    if (c === '"' && field === '') {
      quoted = true;
      i++;
    } else if (c === ',') {
      row.push(field);
      field = '';
      i++;
    } else if (c === '\n' || c === '\r') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i += c === '\r' && text[i + 1] === '\n' ? 2 : 1;
    } else {
      field += c;
      i++;
    }
  }
  if (quoted) throw invalid(`${source} ends inside a quoted field`);
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

/**
 * Which bodies to hold for the view, decided from the declared sizes (inflating never exceeds
 * them): what pip runs or puts on the import path first, then everything else in archive order.
 */
function chooseBodies(entries: ZipEntryInfo[], distInfoDir: string, budget: ViewBudget): Set<ZipEntryInfo> {
  const stem = distInfoDir.slice(0, -'.dist-info'.length);
  const priority = (e: ZipEntryInfo): number => {
    if (e.path.startsWith(`${distInfoDir}/`)) return 0;
    // `.pth` files run at every interpreter start; scripts land on PATH.
    if (/^[^/]+\.pth$/.test(e.path) || e.path.startsWith(`${stem}.data/scripts/`)) return 0;
    if (e.path.startsWith(`${stem}.data/`) && /^(purelib|platlib)\/[^/]+\.pth$/.test(e.path.slice(stem.length + 6))) return 0;
    if (/\.pth$/.test(e.path) || e.path.endsWith('/__init__.py')) return 1;
    return 2;
  };
  const files = entries.filter((e) => e.type === 'file').map((e, index) => ({ e, index, p: priority(e) }));
  files.sort((a, b) => a.p - b.p || a.index - b.index);
  const keep = new Set<ZipEntryInfo>();
  let held = 0;
  for (const { e } of files) {
    if (e.size <= budget.maxFileBytes && held + e.size <= budget.maxTotalBytes) {
      keep.add(e);
      held += e.size;
    }
  }
  return keep;
}
