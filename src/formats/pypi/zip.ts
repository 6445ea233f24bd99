import * as zlib from 'node:zlib';
import yauzl from 'yauzl';
import { StockadeError } from '../../errors.js';
import { printable } from '../npm/names.js';
import { checkEntryPath, NameRegistry, quote, type PathLimits } from './archive-paths.js';

/**
 * Reads a zip archive held in memory (a wheel or a zip sdist) as hostile input. Everything the
 * central directory declares is checked before anything is inflated: entry count, names, types,
 * encryption, compression method, declared sizes against the total and ratio budgets, local
 * headers that disagree with the central directory, and entries whose data overlap (the
 * overlapping-file zip bomb). Inflating then stops at each entry's declared size, and the CRC-32
 * is checked, as Python's zipfile (and so pip) does.
 */

export interface ZipLimits extends PathLimits {
  /** Most entries in the central directory, folders included. */
  maxEntries: number;
  /** Largest total uncompressed size. */
  maxUnpackedBytes: number;
  /** Highest uncompressed:compressed ratio, for one entry and for the archive, past `ratioGraceBytes`. */
  maxRatio: number;
  /** Size an entry, or the archive, may reach whatever its ratio: small files compress very well. */
  ratioGraceBytes: number;
}

export interface ZipEntryInfo {
  path: string;
  type: 'file' | 'directory' | 'symlink';
  /** Declared uncompressed size; inflating never yields more. */
  size: number;
  /** Permission bits (`& 0o7777`) when the archive was made on unix, else 0. */
  mode: number;
  entry: yauzl.Entry;
}

export interface OpenedZip {
  entries: ZipEntryInfo[];
  /** Streams one entry's bytes into `sink`; resolves to the byte count. */
  inflate(info: ZipEntryInfo, sink: (chunk: Buffer) => void): Promise<number>;
  /** The whole body of a small entry, refused past `maxBytes`. */
  readAll(info: ZipEntryInfo, maxBytes: number): Promise<Buffer>;
  close(): void;
}

const UTF8_FLAG = 0x800;
const ENCRYPTED_FLAG = 0x1;
const UNICODE_PATH_EXTRA = 0x7075;
const UNIX_HOST = 3;
const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;

const SPECIAL_TYPES: Record<number, string> = {
  0o010000: 'a FIFO',
  0o020000: 'a character device',
  0o060000: 'a block device',
  0o140000: 'a socket',
};

const COMPRESSION_NAMES: Record<number, string> = { 9: 'deflate64', 12: 'bzip2', 14: 'lzma', 93: 'zstd', 95: 'xz' };

function invalid(why: string): StockadeError {
  return new StockadeError('INVALID_ARCHIVE', [why]);
}

function unsafe(why: string): StockadeError {
  return new StockadeError('UNSAFE_ARCHIVE', [why]);
}

function detail(error: unknown): string {
  return printable(error instanceof Error ? error.message : String(error), 120);
}

/** `where` names the archive in messages, e.g. `wheel "demo-1.0-py3-none-any.whl"`. */
export async function openZip(data: Buffer, where: string, limits: ZipLimits): Promise<OpenedZip> {
  let zip: yauzl.ZipFile;
  try {
    zip = await yauzl.fromBufferPromise(data, { lazyEntries: true, decodeStrings: false, validateEntrySizes: true, strictFileNames: true });
  } catch (error) {
    throw invalid(`${where} is not a valid zip archive (${detail(error)})`);
  }
  try {
    if (zip.entryCount > limits.maxEntries) {
      throw unsafe(`${where} has ${zip.entryCount} entries, more than the limit of ${limits.maxEntries}`);
    }
    const entries = await listEntries(zip, data, where, limits);
    return {
      entries,
      inflate: (info, sink) => inflate(zip, info, where, sink),
      async readAll(info, maxBytes) {
        if (info.size > maxBytes) throw invalid(`${quote(info.path)} in ${where} is ${info.size} bytes, more than the limit of ${maxBytes}`);
        const chunks: Buffer[] = [];
        const size = await inflate(zip, info, where, (chunk) => chunks.push(chunk));
        return Buffer.concat(chunks, size);
      },
      close: () => zip.close(),
    };
  } catch (error) {
    zip.close();
    throw error;
  }
}

async function listEntries(zip: yauzl.ZipFile, data: Buffer, where: string, limits: ZipLimits): Promise<ZipEntryInfo[]> {
  const entries: ZipEntryInfo[] = [];
  const names = new NameRegistry(where);
  const spans: { start: number; end: number; path: string }[] = [];
  let declared = 0;
  const archiveBudget = Math.min(limits.maxUnpackedBytes, Math.max(limits.ratioGraceBytes, data.length * limits.maxRatio));
  try {
    for await (const entry of zip.eachEntry()) {
      const info = describeEntry(entry, where, limits);
      names.add({ path: info.path, type: info.type });
      declared += info.size;
      if (declared > archiveBudget) {
        const why =
          archiveBudget === limits.maxUnpackedBytes
            ? `the limit of ${limits.maxUnpackedBytes} bytes`
            : `${archiveBudget} bytes (a ratio above ${limits.maxRatio}:1 for a ${data.length}-byte archive): likely a zip bomb`;
        throw unsafe(`${where} declares more uncompressed data than ${why}, at entry ${quote(info.path)}`);
      }
      const header = await zip.readLocalFileHeaderPromise(entry).catch((error: unknown) => {
        throw invalid(`entry ${quote(info.path)} in ${where} has a bad local header (${detail(error)})`);
      });
      if (!header.fileName.equals(entry.fileNameRaw as unknown as Buffer)) {
        // Python's zipfile refuses this; streaming extractors trust the local name instead.
        throw unsafe(`entry ${quote(info.path)} in ${where} has another name in its local header (${quote(header.fileName.toString('latin1'), 60)})`);
      }
      spans.push({ start: entry.relativeOffsetOfLocalHeader, end: header.fileDataStart + entry.compressedSize, path: info.path });
      entries.push(info);
    }
  } catch (error) {
    if (error instanceof StockadeError) throw error;
    throw invalid(`${where} has a corrupt central directory (${detail(error)})`);
  }
  names.checkAncestors();
  spans.sort((a, b) => a.start - b.start);
  for (let i = 1; i < spans.length; i++) {
    const before = spans[i - 1] as (typeof spans)[number];
    const current = spans[i] as (typeof spans)[number];
    if (current.start < before.end) {
      throw unsafe(`entries ${quote(before.path)} and ${quote(current.path)} in ${where} overlap (an overlapping-entry zip bomb or a disguised file)`);
    }
  }
  return entries;
}

function decodeName(entry: yauzl.Entry, where: string): string {
  const raw = entry.fileNameRaw as unknown as Buffer;
  let name: string;
  if ((entry.generalPurposeBitFlag & UTF8_FLAG) !== 0) {
    try {
      name = new TextDecoder('utf-8', { fatal: true }).decode(raw);
    } catch {
      throw invalid(`${where} has an entry name that is flagged UTF-8 but is not (${quote(raw.toString('latin1'), 60)})`);
    }
  } else if (raw.every((byte) => byte < 0x80)) {
    name = raw.toString('latin1');
  } else {
    // Without the flag Python reads cp437 and other tools the local code page or UTF-8.
    throw invalid(`${where} has an entry name with non-ASCII bytes and no UTF-8 flag (${quote(raw.toString('latin1'), 60)}): tools decode it differently`);
  }
  for (const extra of entry.extraFields) {
    // Python ignores the Info-ZIP Unicode Path field, unzip honours it: one entry, two names.
    if (extra.id === UNICODE_PATH_EXTRA && extra.data.length > 5 && extra.data.subarray(5).toString('utf8') !== name) {
      throw unsafe(`entry ${quote(name)} in ${where} carries a second name in a Unicode Path extra field`);
    }
  }
  return name;
}

function describeEntry(entry: yauzl.Entry, where: string, limits: ZipLimits): ZipEntryInfo {
  const raw = decodeName(entry, where);
  const { path, directory } = checkEntryPath(raw, where, limits);
  if ((entry.generalPurposeBitFlag & ENCRYPTED_FLAG) !== 0) {
    throw unsafe(`entry ${quote(raw)} in ${where} is encrypted, so its contents cannot be inspected`);
  }
  if (entry.compressionMethod !== 0 && entry.compressionMethod !== 8) {
    const name = COMPRESSION_NAMES[entry.compressionMethod] ?? `method ${entry.compressionMethod}`;
    throw invalid(`entry ${quote(raw)} in ${where} uses ${name} compression; only stored and deflate are supported`);
  }
  const unix = entry.versionMadeBy >> 8 === UNIX_HOST;
  const unixMode = unix ? entry.externalFileAttributes >>> 16 : 0;
  const format = unixMode & S_IFMT;
  let type: ZipEntryInfo['type'] = directory ? 'directory' : 'file';
  if (format === S_IFLNK) {
    if (directory) throw invalid(`entry ${quote(raw)} in ${where} is a symlink with a folder name`);
    type = 'symlink';
  } else if (SPECIAL_TYPES[format] !== undefined) {
    throw unsafe(`entry ${quote(raw)} in ${where} is ${SPECIAL_TYPES[format]}`);
  } else if ((format === S_IFDIR && !directory) || (format === S_IFREG && directory)) {
    throw invalid(`entry ${quote(raw)} in ${where} has a ${directory ? 'folder' : 'file'} name but ${directory ? 'file' : 'folder'} attributes`);
  }
  if (directory && entry.uncompressedSize !== 0) {
    throw invalid(`folder entry ${quote(raw)} in ${where} has ${entry.uncompressedSize} bytes of data`);
  }
  const size = entry.uncompressedSize;
  if (size > limits.ratioGraceBytes && size / Math.max(entry.compressedSize, 1) > limits.maxRatio) {
    throw unsafe(
      `entry ${quote(raw)} in ${where} declares ${size} bytes from ${entry.compressedSize} compressed (ratio above ${limits.maxRatio}:1): likely a zip bomb`,
    );
  }
  return { path, type, size, mode: unixMode & 0o7777, entry };
}

async function inflate(zip: yauzl.ZipFile, info: ZipEntryInfo, where: string, sink: (chunk: Buffer) => void): Promise<number> {
  if (info.type === 'directory') return 0;
  let stream: NodeJS.ReadableStream;
  try {
    stream = await zip.openReadStreamPromise(info.entry);
  } catch (error) {
    throw invalid(`entry ${quote(info.path)} in ${where} cannot be read (${detail(error)})`);
  }
  let size = 0;
  let crc = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      size += chunk.length;
      // yauzl stops at the declared size too; this guards the sink whatever yauzl does.
      if (size > info.size) throw new Error('too many bytes in the stream');
      crc = crc32(chunk, crc);
      sink(chunk);
    }
  } catch (error) {
    if (error instanceof StockadeError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    if (/too many bytes/.test(message)) {
      throw unsafe(`entry ${quote(info.path)} in ${where} inflates to more than its declared ${info.size} bytes: likely a zip bomb`);
    }
    throw invalid(`entry ${quote(info.path)} in ${where} is corrupt (${detail(error)})`);
  } finally {
    (stream as unknown as { destroy?: () => void }).destroy?.();
  }
  if (size !== info.size) throw invalid(`entry ${quote(info.path)} in ${where} has ${size} bytes, not the declared ${info.size}`);
  if (crc !== info.entry.crc32) throw invalid(`entry ${quote(info.path)} in ${where} fails its CRC-32 check`);
  return size;
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

const nativeCrc32 = (zlib as { crc32?: (data: Buffer, value?: number) => number }).crc32;

/** CRC-32 (zip, gzip); node's own zlib.crc32 arrived in Node 20.15. */
export function crc32(data: Buffer, previous = 0): number {
  if (nativeCrc32 !== undefined) return nativeCrc32(data, previous);
  let crc = (previous ^ 0xffffffff) >>> 0;
  for (let i = 0; i < data.length; i++) crc = (CRC_TABLE[(crc ^ (data[i] as number)) & 0xff] as number) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
